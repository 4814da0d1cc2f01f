"""CORS is opt-in; when on, the header is on every response, errors included (`always`).
Changing the site reloads nginx: same master, new workers, and nothing in flight is cut."""

import pytest

from lb_lab import LEADERS, consul_answers, converge_lb, get, lb1_recap, nginx_state

ORIGIN = "https://ui.example.test"


@pytest.fixture
def cors_on(lb):
    before = nginx_state(lb)
    out = converge_lb({"consul_lb_cors_allow_origin": ORIGIN,
                      "consul_lb_response_headers": {"X-Content-Type-Options": "nosniff"}})
    try:
        yield before, nginx_state(lb)
    finally:
        # Back to the defaults, given as -e key=value strings: the site must come back byte for byte.
        out = converge_lb({}, "-e", "consul_lb_listen_port=80", "-e", "consul_lb_ip_hash=true",
                          "-e", "consul_lb_upstream_keepalive=16", "-e", "consul_lb_proxy_buffering=false",
                          "-e", "consul_lb_default_server=yes")
        assert lb1_recap(out).get("changed"), "restoring the default site changed nothing"
        restored = nginx_state(lb)
        assert restored["files"] == before["files"] and restored["master"] == before["master"]


def test_cors_header_always_sent_when_opted_in(cors_on):
    before, after = cors_on
    # Reloaded, not restarted.
    assert after["master"] == before["master"] and after["workers"] != before["workers"]
    for path, status in (("/v1/status/leader", 200), ("/v1/kv/consul-lb-test/missing", 404),
                         ("/v1/catalog/service/x?index=abc", 400)):
        r = get(path)
        assert r.status_code == status, path
        assert status != 200 or r.json() in LEADERS, r.text[:200]
        assert r.headers.get("Access-Control-Allow-Origin") == ORIGIN, (path, r.headers)
        assert r.headers.get("X-Content-Type-Options") == "nosniff", (path, r.headers)


def test_cors_header_gone_again_after_the_default_run():
    for r in consul_answers(headers={"Origin": ORIGIN}):
        assert "Access-Control-Allow-Origin" not in r.headers, (r.url, r.headers)
