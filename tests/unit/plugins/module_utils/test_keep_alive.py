"""KeepAliveOpener against real loopback HTTP(S) servers: one connection for many requests, a connection the
server dropped replaced once, and the same answers, errors and TLS behaviour as open_url (ConsulClient run
both ways on the same server, results compared)."""

import datetime
import ipaddress
import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from ansible_collections.sdstack.consul.plugins.module_utils import _keep_alive as keep_alive
from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import ConsulClient, ConsulError
from ansible_collections.sdstack.consul.plugins.module_utils._keep_alive import KeepAliveOpener


class Handler(BaseHTTPRequestHandler):
    """GET/PUT /ok echoes what it got; /fail is Consul's 500; /redirect a 307 to /ok; /drop answers, then
    closes the connection without saying so (what an idle timeout does to a kept-alive connection)."""

    protocol_version = "HTTP/1.1"  # keep-alive unless told otherwise

    def setup(self):
        super().setup()
        self.server.connections += 1

    def log_message(self, *args):  # quiet
        pass

    def _answer(self, status, body, ctype="application/json", extra=()):
        raw = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(raw)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def _serve(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else None
        self.server.seen.append((self.command, self.path))
        path = self.path.split("?")[0]
        if path == "/fail":
            self._answer(500, "No cluster leader", "text/plain")
        elif path == "/redirect":
            self._answer(307, "", "text/plain", [("Location", "/ok")])
        else:
            self._answer(200, json.dumps({"method": self.command, "path": self.path, "body": body,
                                          "token": self.headers.get("X-Consul-Token"),
                                          "type": self.headers.get("Content-Type")}))
            if path == "/drop":
                self.close_connection = True

    do_GET = do_PUT = _serve  # noqa: N815  pylint: disable=invalid-name


@pytest.fixture(name="serve")
def serve_fixture():
    servers = []

    def start(context=None):
        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        server.connections, server.seen = 0, []
        if context is not None:
            server.socket = context.wrap_socket(server.socket, server_side=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        scheme = "https" if context is not None else "http"
        return server, "%s://127.0.0.1:%d" % (scheme, server.server_address[1])

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def both(url, **kw):
    """The same client over open_url and over a KeepAliveOpener."""
    return ConsulClient([url], **kw), ConsulClient([url], opener=KeepAliveOpener(), **kw)


def outcome(client, method, path, **kw):
    try:
        r = client.request(method, path, **kw)
        return r.status, r.body
    except ConsulError as e:
        return "error", str(e), e.status, e.body


def test_many_requests_one_connection(serve):
    server, url = serve()
    client = ConsulClient([url], token="t0k", opener=KeepAliveOpener())
    for i in range(20):
        r = client.put("/v1/agent/service/register", body={"ID": "s%d" % i}, params={"replace-existing-checks": "true"})
        assert r.status == 200 and json.loads(r.body["body"]) == {"ID": "s%d" % i}
    assert server.connections == 1, server.connections
    client.close()


def test_open_url_opens_a_connection_per_request(serve):
    # What the opener is for: the same requests through open_url.
    server, url = serve()
    client = ConsulClient([url])
    for _request in range(3):
        client.get("/ok")
    assert server.connections == 3


def test_a_connection_the_agent_dropped_is_replaced_once(serve):
    server, url = serve()
    client = ConsulClient([url], opener=KeepAliveOpener())
    assert client.get("/drop").status == 200  # the server closes it after answering, without a word
    assert client.put("/ok", body={"a": 1}).body["body"] == '{"a": 1}'
    assert server.connections == 2
    assert server.seen == [("GET", "/drop"), ("PUT", "/ok")]  # each request reached it once


@pytest.mark.parametrize("method,path,kw", [
    ("GET", "/ok", {}),
    ("PUT", "/ok", dict(body={"ID": "x", "Meta": {"k": "é"}}, params={"replace-existing-checks": "true"})),
    ("PUT", "/v1/agent/service/deregister/a%2Fb", {}),
    ("GET", "/fail", {}),
    ("GET", "/fail", dict(ok=(200, 500))),
    ("PUT", "/redirect", dict(body={})),
    ("GET", "/redirect", {}),
], ids=["get", "put-body-query", "put-no-body", "http-500", "500-accepted", "put-redirect", "get-redirect"])
def test_answers_and_errors_are_open_urls(serve, method, path, kw):
    _server, url = serve()
    via_open_url, kept_alive = both(url, token="t0k")
    assert outcome(kept_alive, method, path, **kw) == outcome(via_open_url, method, path, **kw)


def test_token_and_content_type_are_sent(serve):
    _server, url = serve()
    body = ConsulClient([url], token="t0k", opener=KeepAliveOpener()).put("/ok", body={}).body
    assert (body["token"], body["type"]) == ("t0k", "application/json")


def test_unreachable_agent_is_the_same_line():
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d" % closed.getsockname()[1]
        via_open_url, kept_alive = both(url, timeout=2)
        a, b = outcome(via_open_url, "GET", "/ok"), outcome(kept_alive, "GET", "/ok")
    assert a == b and a[1].startswith("no Consul agent reachable: %s (" % url) and "refused" in a[1], (a, b)


def test_a_proxy_from_the_environment_goes_through_open_url(monkeypatch):
    calls = []
    monkeypatch.setenv("http_proxy", "http://proxy.invalid:3128")
    opener = KeepAliveOpener(fallback=lambda url, **kw: calls.append(url) or keep_alive.Answer(200, b"{}", {}))
    assert ConsulClient(["http://10.0.0.1:8500"], opener=opener).get("/v1/agent/services").body == {}
    assert calls == ["http://10.0.0.1:8500/v1/agent/services"]
    monkeypatch.setenv("no_proxy", "10.0.0.1")
    assert not KeepAliveOpener()._through_proxy(keep_alive.urlsplit("http://10.0.0.1:8500/"))  # pylint: disable=protected-access


# TLS: a CA, a server certificate for 127.0.0.1 and a client certificate the server requires.

def _cert(subject, issuer_name, key, issuer_key, ca=False, san=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    builder = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, subject)]))
               .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_name)]))
               .public_key(key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now - datetime.timedelta(minutes=5)).not_valid_after(now + datetime.timedelta(days=1))
               .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True))
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName(san), critical=False)
    return builder.sign(issuer_key, hashes.SHA256())


@pytest.fixture(name="pki")
def pki_fixture(tmp_path):
    def key():
        return ec.generate_private_key(ec.SECP256R1())

    def write(name, obj):
        path = tmp_path / name
        if isinstance(obj, x509.Certificate):
            path.write_bytes(obj.public_bytes(serialization.Encoding.PEM))
        else:
            path.write_bytes(obj.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                               serialization.NoEncryption()))
        return str(path)

    ca_key, server_key, client_key = key(), key(), key()
    ca = _cert("test ca", "test ca", ca_key, ca_key, ca=True)
    server = _cert("server", "test ca", server_key, ca_key, san=[x509.IPAddress(ipaddress.ip_address("127.0.0.1"))])
    client = _cert("client", "test ca", client_key, ca_key)
    return dict(ca=write("ca.pem", ca), server=write("server.pem", server), server_key=write("server-key.pem", server_key),
                client=write("client.pem", client), client_key=write("client-key.pem", client_key))


@pytest.fixture(name="https_url")
def https_url_fixture(serve, pki):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(pki["server"], pki["server_key"])
    ctx.load_verify_locations(pki["ca"])
    ctx.verify_mode = ssl.CERT_REQUIRED
    return serve(ctx)


def test_tls_with_ca_and_client_certificate_on_one_connection(https_url, pki):
    server, url = https_url
    client = ConsulClient([url], ca_path=pki["ca"], client_cert=pki["client"], client_key=pki["client_key"],
                          opener=KeepAliveOpener())
    assert [client.get("/ok").status for _request in range(5)] == [200] * 5
    assert server.connections == 1


@pytest.mark.parametrize("tls", [
    dict(),  # the system's CAs do not know the test CA
    dict(validate_certs=False),  # not verified, and the client certificate still sent
    dict(ca_path="ca"),
], ids=["unknown-ca", "no-verify", "ca-path"])
def test_tls_outcomes_are_open_urls(https_url, pki, tls):
    _server, url = https_url
    tls = {k: pki[v] if k == "ca_path" else v for k, v in tls.items()}
    via_open_url, kept_alive = both(url, client_cert=pki["client"], client_key=pki["client_key"], **tls)
    a, b = outcome(via_open_url, "GET", "/ok"), outcome(kept_alive, "GET", "/ok")
    assert a == b, (a, b)
    assert (a[0] == 200) == bool(tls), a
    if not tls:
        assert "CERTIFICATE_VERIFY_FAILED" in a[1] and "\n" not in a[1]


def test_a_bad_client_key_fails_as_with_open_url(https_url, pki):
    _server, url = https_url
    via_open_url, kept_alive = both(url, ca_path=pki["ca"], client_cert=pki["client"], client_key=pki["ca"])
    a, b = outcome(via_open_url, "GET", "/ok"), outcome(kept_alive, "GET", "/ok")
    assert a == b and a[0] == "error" and "\n" not in a[1], (a, b)
