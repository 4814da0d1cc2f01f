"""Bad input against the running load balancer: each run fails with one clear line, and nginx's
files (certificates and keys included), master and workers are exactly as before (no reload,
no restart), still serving."""

import json

import pytest
from sdstack_molecule.refusals import assert_doc_declares, assert_refused, case_id

from lb_lab import SITE, get, nginx_state, run_lb

OTHER_SITE = "/etc/nginx/sites-enabled/zz-consul-lb-test"
HOST = "lb1"
# Declared exceptions to "the recap says changed=0", with the reason (docs/bad-input.md names the same).
MAY_CHANGE = dict.fromkeys(
    ["tls-cert-not-pem", "tls-key-of-another-cert", "upstream-ca-not-pem"],
    "only nginx -t reads the files: the candidate site and its certificates and keys are installed for it, then"
    " the rescue removes them and puts the previous site back; nginx's files and processes unchanged")
MAY_CHANGE["clash-with-another-site"] = ("only nginx -t on the whole tree sees the clash: the candidate site is in"
                                         " place for it, then the previous site is put back; nginx's files and"
                                         " processes unchanged")


@pytest.fixture
def unchanged(lb):
    before = nginx_state(lb)
    yield
    assert nginx_state(lb) == before, "a rejected run changed nginx"
    assert get("/v1/status/leader").status_code == 200


@pytest.mark.parametrize("extra,message", [
    # Passes every check of the role; only nginx knows the directive's values.
    ({"consul_lb_extra_directives": ["proxy_buffering maybe;"]},
     'nginx rejected the consul_lb site, the live configuration is unchanged: nginx: [emerg] invalid value "maybe" in '
     '"proxy_buffering" directive, it must be "on" or "off" in %s:' % SITE),
    ({"consul_lb_upstream_servers": [], "consul_lb_consul_group": "nobody"},
     "no upstream for the Consul load balancer: consul_lb_upstream_servers is empty and the inventory group 'nobody' "
     "(consul_lb_consul_group) has no hosts"),
    ({"consul_lb_upstream_servers": ["10.89.20.51"]},
     "consul_lb_upstream_servers: '10.89.20.51' is not host:port with a port in 1-65535"),
    ({"consul_lb_proxy_read_timeout": "abc"},
     "consul_lb_proxy_read_timeout: 'abc' is not an nginx time (e.g. 660s, 11m, 1m30s, 500ms)"),
    ({"consul_lb_listen_port": 70000}, "consul_lb_listen_port: 70000 is not a port number (1-65535)"),
    # nginx -t accepts a port another service of the host holds; only the reload would fail.
    ({"consul_lb_listen_port": 8500},
     "port 8500 on lb1 is used by both nginx (consul_lb_listen_port) and consul node1 (http port)"),
    ({"consul_lb_listen_port": "http"}, "argument 'consul_lb_listen_port' is of type str and we were unable to convert"
                                        " to int: \"'http'\" cannot be converted to an int"),
    ({"consul_lb_proxy_next_upstream": ["error", "http_418"]},
     "value of consul_lb_proxy_next_upstream must be one or more of: error, timeout, invalid_header, http_500, http_502,"
     " http_503, http_504, http_403, http_404, http_429, non_idempotent. Got no match for: http_418"),
    # A quote would end the header value and let the rest inject directives.
    ({"consul_lb_cors_allow_origin": '*" always; include /etc/passwd; #'},
     "consul_lb_cors_allow_origin: '*\" always; include /etc/passwd; #' must not contain double quotes"),
    # TLS. @name@ is a file of the session's PKI (conftest.pki).
    ({"consul_lb_upstream_scheme": "https"},
     "consul_lb_upstream_ca_src is required when consul_lb_upstream_scheme is https"),
    ({"consul_lb_upstream_scheme": "https", "consul_lb_upstream_ca_src": "@ca@",
      "consul_lb_upstream_client_cert_src": "@client_cert@"},
     "consul_lb_upstream_client_cert_src and consul_lb_upstream_client_key_src go together, but only "
     "consul_lb_upstream_client_cert_src is set"),
    ({"consul_lb_tls": True, "consul_lb_tls_cert_src": "@lb_cert@"},
     "consul_lb_tls_key_src is required when consul_lb_tls is true"),
    ({"consul_lb_tls": True},
     "consul_lb_tls_cert_src and consul_lb_tls_key_src are required when consul_lb_tls is true"),
    ({"consul_lb_tls": True, "consul_lb_tls_cert_src": "@dir@/missing.pem", "consul_lb_tls_key_src": "@lb_key@"},
     "consul_lb_tls_cert_src: '@dir@/missing.pem' is not a readable file on the controller"),
    ({"consul_lb_tls": True, "consul_lb_tls_port": 80, "consul_lb_tls_cert_src": "@lb_cert@",
      "consul_lb_tls_key_src": "@lb_key@"},
     "consul_lb_tls_port: 80 is not a port number (1-65535) other than consul_lb_listen_port (80)"),
    ({"consul_lb_tls": True, "consul_lb_tls_cert_src": "@lb_cert@", "consul_lb_tls_key_src": "@lb_key@",
      "consul_lb_cors_allow_origin": "*"},
     "consul_lb_cors_allow_origin: '*' is refused with TLS on (consul_lb_tls or consul_lb_upstream_scheme https)"),
    # Only nginx reads the files: it must reject them before the live site points at them, and
    # the message names the variable the file came from.
    ({"consul_lb_tls": True, "consul_lb_tls_cert_src": "@not_pem@", "consul_lb_tls_key_src": "@lb_key@"},
     ("nginx rejected the consul_lb site, the live configuration is unchanged: nginx: [emerg] cannot load "
      "certificate", "(front-cert from consul_lb_tls_cert_src: @not_pem@)")),
    ({"consul_lb_tls": True, "consul_lb_tls_cert_src": "@lb_cert@", "consul_lb_tls_key_src": "@lb_next_key@"},
     ("nginx rejected the consul_lb site, the live configuration is unchanged: nginx: [emerg] SSL_CTX_use_PrivateKey",
      "key values mismatch", "(front-key from consul_lb_tls_key_src: @lb_next_key@)")),
    ({"consul_lb_upstream_scheme": "https", "consul_lb_upstream_ca_src": "@not_pem@"},
     ("nginx rejected the consul_lb site, the live configuration is unchanged: nginx: [emerg]",
      "(upstream-ca from consul_lb_upstream_ca_src: @not_pem@)")),
], ids=["nginx-rejects-directive", "empty-upstream", "upstream-without-port", "bad-timeout", "port-out-of-range",
        "port-of-consul", "port-not-int", "bad-next-upstream-choice", "quote-in-header", "https-without-ca",
        "client-cert-without-key", "tls-without-key", "tls-without-cert-and-key", "tls-cert-missing", "tls-port-is-http-port",
        "wildcard-cors-with-tls", "tls-cert-not-pem", "tls-key-of-another-cert", "upstream-ca-not-pem"])
def test_rejected_and_nothing_changed(unchanged, request, tmp_path, pki, extra, message):
    def fill(text):
        for name, path in pki.items():
            text = text.replace("@%s@" % name, path)
        return text

    inv = tmp_path / "empty-group.yml"
    inv.write_text(json.dumps({"all": {"children": {"nobody": {"hosts": {}}}}}))
    rc, out = run_lb(json.loads(fill(json.dumps(extra))), "-i", str(inv))
    parts = (message,) if isinstance(message, str) else message
    assert_refused(rc, out, [HOST], *map(fill, parts), may_change=MAY_CHANGE.get(case_id(request)))


@pytest.fixture
def other_default_site(lb):
    """Another site that is the default server of port 8081: valid next to the live site."""
    lb.check_output("printf 'server { listen 8081 default_server; return 204; }\\n' > %s" % OTHER_SITE)
    try:
        assert lb.run("nginx -t -q").rc == 0
        yield
    finally:
        lb.check_output("rm -f %s" % OTHER_SITE)


def test_clash_with_another_site_puts_the_previous_site_back(lb, other_default_site, unchanged):
    # The candidate alone is fine; with the other site nginx refuses two default servers on
    # one port, after the candidate was already in place.
    rc, out = run_lb({"consul_lb_listen_port": 8081})
    assert_refused(rc, out, [HOST], "nginx rejected the consul_lb site, the live configuration is unchanged: nginx: "
                   "[emerg] a duplicate default server for 0.0.0.0:8081",
                   may_change=MAY_CHANGE.get("clash-with-another-site"))
    assert "Put the previous site back" in out
    assert lb.file(SITE).contains("listen 80 default_server;")


def test_declared_exceptions_are_the_documented_ones():
    assert_doc_declares(__file__, "changed>0", MAY_CHANGE)
