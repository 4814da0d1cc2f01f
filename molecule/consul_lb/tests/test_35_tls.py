"""HTTPS for clients (consul_lb_tls) with a CA and certificates made on the controller, and HTTPS
to the servers (consul_lb_upstream_scheme https). The scenario's Consul speaks plain HTTP, so the
upstream side runs against a small TLS terminator on lb1 in front of one Consul server, which
requires nginx's client certificate, as a Consul server with verify_incoming does. The module
ends with the default site back, byte for byte."""

import base64
import re
import ssl
import textwrap

import pytest
import requests

from lb_lab import SITE, converge_lb, get, lb1_recap, nginx_state
from sdstack_molecule.polling import wait_for

HTTPS = "https://10.89.20.51"
LEADERS = {"10.89.20.51:8300", "10.89.20.51:8310", "10.89.20.51:8320"}
FILES_DIR = "/etc/nginx/consul_lb"
ORIGIN = "https://ops.example.com"
TERMINATOR_DIR = "/root/consul-lb-test-tls"
TERMINATOR_UNIT = "consul-lb-test-tls"
TERMINATOR_PORT = 9501

# stdlib only (lb1's python3): TLS in front of node1's plain HTTP port; one log line per
# accepted connection with the client certificate's CN.
TERMINATOR = textwrap.dedent("""
    import asyncio, ssl, sys
    d, port = sys.argv[1], int(sys.argv[2])
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH, cafile=d + "/ca.pem")
    ctx.load_cert_chain(d + "/server.pem", d + "/server-key.pem")
    ctx.verify_mode = ssl.CERT_REQUIRED

    async def pipe(reader, writer):
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    async def handle(reader, writer):
        subject = dict(x[0] for x in writer.get_extra_info("peercert")["subject"])
        print("connection from", subject["commonName"], flush=True)
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", 8500)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer), return_exceptions=True)

    async def main():
        server = await asyncio.start_server(handle, "10.89.20.51", port, ssl=ctx)
        await server.serve_forever()

    asyncio.run(main())
""")


def front(pki, cert="lb"):
    return {"consul_lb_tls": True, "consul_lb_tls_cert_src": pki[cert + "_cert"],
            "consul_lb_tls_key_src": pki[cert + "_key"]}


def upstream_https(pki, **more):
    return dict({"consul_lb_upstream_scheme": "https", "consul_lb_upstream_ca_src": pki["ca"],
                 "consul_lb_upstream_client_cert_src": pki["client_cert"],
                 "consul_lb_upstream_client_key_src": pki["client_key"],
                 "consul_lb_upstream_servers": ["10.89.20.51:%d" % TERMINATOR_PORT]}, **more)


def apply(lb, extra):
    """Rerun the LB play; return nginx's state before and after."""
    before = nginx_state(lb)
    out = converge_lb(extra)
    return before, nginx_state(lb), out


def served_certificate():
    return ssl.get_server_certificate(("10.89.20.51", 443), timeout=10)


def pem_equal(a, b):
    return ssl.PEM_cert_to_DER_cert(a) == ssl.PEM_cert_to_DER_cert(b)


@pytest.fixture(scope="module", autouse=True)
def default_site_back(lb):
    """After the module: the default run restores the plain site and removes the certificates."""
    before = nginx_state(lb)
    yield
    converge_lb({})
    restored = nginx_state(lb)
    assert restored["files"] == before["files"] and restored["master"] == before["master"]
    assert not lb.file(FILES_DIR).exists
    assert get("/v1/status/leader").status_code == 200


@pytest.fixture(scope="module")
def terminator(lb, pki):
    files = {"ca.pem": pki["ca"], "server.pem": pki["server_cert"], "server-key.pem": pki["server_key"]}
    lb.check_output("mkdir -p -m 0700 %s" % TERMINATOR_DIR)
    for name, path in files.items():
        with open(path, "rb") as f:
            lb.check_output("echo %s | base64 -d > %s/%s" % (base64.b64encode(f.read()).decode(), TERMINATOR_DIR, name))
    lb.check_output("echo %s | base64 -d > %s/terminator.py"
                    % (base64.b64encode(TERMINATOR.encode()).decode(), TERMINATOR_DIR))
    lb.check_output("systemd-run --unit %s --property StandardOutput=file:%s/log python3 %s/terminator.py %s %d"
                    % (TERMINATOR_UNIT, TERMINATOR_DIR, TERMINATOR_DIR, TERMINATOR_DIR, TERMINATOR_PORT))
    try:
        wait_for(lambda: lb.run("python3 -c 'import socket; socket.create_connection((\"10.89.20.51\", %d), 1)'"
                                % TERMINATOR_PORT).rc == 0, 20, "the TLS terminator listening")
        yield
    finally:
        lb.run("systemctl stop %s" % TERMINATOR_UNIT)
        lb.run("rm -rf %s" % TERMINATOR_DIR)


def terminator_connections(lb):
    return lb.check_output("cat %s/log" % TERMINATOR_DIR).splitlines()


def test_https_for_clients_verified_against_the_ca(lb, pki):
    before, after, _out = apply(lb, front(pki))
    # Reloaded, not restarted.
    assert after["master"] == before["master"] and after["workers"] != before["workers"]
    leader = requests.get(HTTPS + "/v1/status/leader", verify=pki["ca"], timeout=10)
    assert leader.status_code == 200 and leader.json() in LEADERS
    # Verification is real: another CA's client refuses the certificate.
    with pytest.raises(requests.exceptions.SSLError):
        requests.get(HTTPS + "/v1/status/leader", verify=pki["lb_cert"], timeout=10)
    # Plain HTTP only redirects, keeping the path and query.
    plain = get("/v1/kv/x?recurse=1")
    assert plain.status_code == 301 and plain.headers["Location"] == HTTPS + "/v1/kv/x?recurse=1"
    page = requests.get(HTTPS + "/ui", verify=pki["ca"], timeout=10)
    assert page.status_code == 200 and page.url == HTTPS + "/ui/"
    assert "<title>Consul by HashiCorp</title>" in page.text
    # Installed as the site names them; the key root-only.
    conf = lb.file(SITE).content_string
    cert = re.search(r"ssl_certificate (%s/front-cert-[0-9a-f]{16}\.pem);" % FILES_DIR, conf).group(1)
    key = re.search(r"ssl_certificate_key (%s/front-key-[0-9a-f]{16}\.pem);" % FILES_DIR, conf).group(1)
    assert (lb.file(cert).user, lb.file(cert).group, lb.file(cert).mode) == ("root", "root", 0o644)
    assert (lb.file(key).user, lb.file(key).group, lb.file(key).mode) == ("root", "root", 0o600)
    assert "listen 443 ssl default_server;" in conf and "ssl_protocols TLSv1.2 TLSv1.3;" in conf
    with open(pki["lb_cert"]) as f:
        assert pem_equal(served_certificate(), f.read())


def test_https_rerun_changes_nothing(lb, pki):
    out = converge_lb(front(pki))
    assert lb1_recap(out).get("changed") == 0, out[-3000:]


def test_certificate_change_reloads_and_drops_the_old_files(lb, pki):
    before, after, _out = apply(lb, front(pki, "lb_next"))
    assert after["master"] == before["master"] and after["workers"] != before["workers"]
    with open(pki["lb_next_cert"]) as f:
        wanted = f.read()
    wait_for(lambda: pem_equal(served_certificate(), wanted), 10, "nginx serving the new certificate")
    assert len(lb.check_output("ls %s" % FILES_DIR).split()) == 2
    assert requests.get(HTTPS + "/v1/status/leader", verify=pki["ca"], timeout=10).status_code == 200


def test_https_end_to_end_with_a_client_certificate(lb, pki, terminator):
    """client -HTTPS-> nginx -HTTPS, client certificate-> terminator -> Consul node1; plain HTTP
    proxied too when the redirect is off."""
    apply(lb, dict(front(pki), consul_lb_tls_redirect_http=False,
                   **upstream_https(pki, consul_lb_cors_allow_origin=ORIGIN)))
    conf = lb.file(SITE).content_string
    for directive in ("proxy_pass https://consul_lb_servers;", "proxy_ssl_verify on;",
                      "proxy_ssl_name server.dc1.consul;", "proxy_ssl_server_name on;",
                      "proxy_ssl_protocols TLSv1.2 TLSv1.3;", "proxy_ssl_session_reuse on;"):
        assert directive in conf, directive
    for directive, name in (("proxy_ssl_trusted_certificate", "upstream-ca"),
                            ("proxy_ssl_certificate", "upstream-client-cert"),
                            ("proxy_ssl_certificate_key", "upstream-client-key")):
        assert re.search(r"%s %s/%s-[0-9a-f]{16}\.pem;" % (directive, FILES_DIR, name), conf), directive
    assert lb.run("nginx -t -q").rc == 0

    known = len(terminator_connections(lb))
    for attempt in range(6):
        r = requests.get(HTTPS + "/v1/agent/self", verify=pki["ca"], timeout=10)
        assert r.status_code == 200 and r.json()["Config"]["NodeName"] == "node1", attempt
        # An exact origin still works with TLS.
        assert r.headers.get("Access-Control-Allow-Origin") == ORIGIN
    assert get("/v1/agent/self").json()["Config"]["NodeName"] == "node1"
    new = terminator_connections(lb)[known:]
    # nginx showed its client certificate, and kept the TLS connections open: at most one
    # per worker for seven requests.
    assert new and set(new) == {"connection from client"}, new
    assert len(new) <= int(lb.check_output("pgrep -c -P $(systemctl show -p MainPID --value nginx)")), new


def test_upstream_certificate_must_name_the_datacenter(lb, pki, terminator):
    apply(lb, upstream_https(pki, consul_lb_upstream_tls_server_name="server.dc2.consul"))
    r = get("/v1/status/leader")
    assert r.status_code == 502, r.status_code
    assert lb.run("grep -F 'upstream SSL certificate does not match \"server.dc2.consul\"'"
                  " /var/log/nginx/consul_lb.error.log").rc == 0


def test_plain_http_servers_are_not_trusted(lb, pki):
    """HTTPS towards the scenario's plain-HTTP Consul: nginx starts and passes `nginx -t`, but
    answers 502 (the handshake fails), never the servers' plain answer."""
    apply(lb, {"consul_lb_upstream_scheme": "https", "consul_lb_upstream_ca_src": pki["ca"]})
    assert lb.run("nginx -t -q").rc == 0
    assert get("/v1/status/leader").status_code == 502
    assert lb.run("grep -F 'SSL_do_handshake() failed' /var/log/nginx/consul_lb.error.log").rc == 0
