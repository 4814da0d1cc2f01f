"""Prometheus (9090) and node_exporter (9100, on the server host and on the client host) behind
their web config under the secure profile: HTTPS with a certificate from the cluster's CA and
basic auth with passwords chosen once on the controller. Anonymous and plain-HTTP requests are
refused; the right credentials get the real answer; Prometheus scrapes node_exporter and itself
with its own user. cAdvisor has no such protection (its --http_auth_file guards only its web UI):
the last test keeps that gap in sight."""

import pytest
import requests
from sdstack_molecule.polling import wait_for

from conftest import ADDR, CA, CLIENT_ADDR, SECRETS, get, token

PROM = "https://%s:9090" % ADDR
NODE = "https://%s:9100" % ADDR
# node_exporter of the client host (secure-app1), issued its own certificate by the same CA.
APP_NODE = "https://%s:9100" % CLIENT_ADDR
CADVISOR = "http://%s:8080" % CLIENT_ADDR


def password(user):
    return (SECRETS / "web" / ("%s.password" % user)).read_text().strip()


def prom_get(path, user="admin", **kw):
    return requests.get(PROM + path, auth=(user, password(user)), verify=CA, timeout=10, **kw)


@pytest.mark.parametrize("url", [PROM + "/-/ready", NODE + "/metrics", APP_NODE + "/metrics"],
                         ids=["prometheus", "node_exporter", "node_exporter-client-host"])
def test_plain_http_is_refused(url):
    plain = url.replace("https://", "http://")
    try:
        r = requests.get(plain, timeout=10)
    except requests.ConnectionError:
        return
    # Go's TLS listener answers a plain request with 400 and no metrics.
    assert r.status_code == 400 and "HTTPS" in r.text, (r.status_code, r.text[:200])


@pytest.mark.parametrize("url", [PROM + "/-/ready", PROM + "/api/v1/targets", NODE + "/metrics", APP_NODE + "/metrics"],
                         ids=["prometheus-ready", "prometheus-api", "node_exporter", "node_exporter-client-host"])
def test_anonymous_and_wrong_password_are_refused(url):
    anonymous = requests.get(url, verify=CA, timeout=10)
    assert anonymous.status_code == 401, (anonymous.status_code, anonymous.text[:200])
    assert "node_cpu_seconds_total" not in anonymous.text and "activeTargets" not in anonymous.text
    wrong = requests.get(url, auth=("admin", password("admin") + "x"), verify=CA, timeout=10)
    assert wrong.status_code == 401, wrong.status_code
    unknown = requests.get(url, auth=("nobody", password("admin")), verify=CA, timeout=10)
    assert unknown.status_code == 401, unknown.status_code


def test_prometheus_answers_the_operator():
    ready = prom_get("/-/ready")
    assert ready.status_code == 200 and "Ready" in ready.text, (ready.status_code, ready.text)
    build = prom_get("/api/v1/status/buildinfo").json()
    assert build["status"] == "success" and build["data"]["version"].startswith("2.24.1"), build


@pytest.mark.parametrize("base", [NODE, APP_NODE], ids=["server-host", "client-host"])
@pytest.mark.parametrize("user", ["admin", "prometheus"])
def test_node_exporter_answers_with_metrics(user, base):
    r = requests.get(base + "/metrics", auth=(user, password(user)), verify=CA, timeout=10)
    assert r.status_code == 200, r.status_code
    assert "node_exporter_build_info{" in r.text and "node_cpu_seconds_total{" in r.text


def test_the_web_config_holds_hashes_only(box, app_box):
    for host, path, group in ((box, "/etc/prometheus/web.yml", "prometheus"),
                              (box, "/etc/node_exporter/web.yml", "node-exp"),
                              (app_box, "/etc/node_exporter/web.yml", "node-exp")):
        f = host.file(path)
        assert (f.user, f.group, f.mode) == ("root", group, 0o640), path
        text = f.content_string
        assert "$2b$" in text and "tls_server_config" in text, path
        for user in ("admin", "prometheus"):
            assert password(user) not in text, (path, user)
    assert box.file("/etc/node_exporter/web-key.pem").mode == 0o640
    assert app_box.file("/etc/node_exporter/web-key.pem").mode == 0o640


def test_prometheus_scrapes_node_exporter_and_itself_with_its_user(box):
    # Every target by job and scrape URL: job consul-node-exporter has one per host.
    want = {("consul-node-exporter", "https://%s:9100/metrics" % ADDR),
            ("consul-node-exporter", "https://%s:9100/metrics" % CLIENT_ADDR)}

    def up():
        targets = prom_get("/api/v1/targets").json()["data"]["activeTargets"]
        found = {(t["labels"].get("job"), t["scrapeUrl"]): t for t in targets if t["health"] == "up"}
        own = [t for (job, _url), t in found.items() if job == "prometheus"]
        return (found, own) if want <= set(found) and len(own) == 1 else None
    _found, own = wait_for(up, 90, "node_exporter of both hosts and Prometheus itself scraped over HTTPS", interval=2)
    assert own[0]["scrapeUrl"].startswith("https://127.0.0.1:9090/"), own[0]["scrapeUrl"]
    # The scrapes really carried the credentials: each node_exporter's series are in the store.
    for addr in (ADDR, CLIENT_ADDR):
        query = 'node_exporter_build_info{job="consul-node-exporter",instance="%s:9100"}' % addr
        result = prom_get("/api/v1/query", params={"query": query})
        assert result.json()["data"]["result"], (query, result.text)
    conf = box.file("/etc/prometheus/prometheus.yml").content_string
    assert "password: %s" % password("prometheus") in conf and "username: prometheus" in conf


@pytest.mark.parametrize("addr", [ADDR, CLIENT_ADDR], ids=["server-agent", "client-agent"])
def test_consul_checks_node_exporter_without_its_password(addr):
    # The node-exporter service's check connects only (TCP): a password in an HTTP check's
    # definition would show to every reader of the agent's checks. Each host's own agent.
    checks = get("/v1/agent/checks", token("bootstrap"), addr=addr).json()
    mine = [c for c in checks.values() if c.get("ServiceID") == "node-exporter"]
    assert mine and all(c["Status"] == "passing" for c in mine), mine
    assert all(c.get("Type") in ("tcp", "") for c in mine), mine
    assert password("prometheus") not in str(checks) and password("admin") not in str(checks)


def test_cadvisor_metrics_are_served_over_plain_http():
    # What Prometheus scrapes on the client host: the real metrics, over HTTP (cAdvisor has no TLS).
    r = requests.get(CADVISOR + "/metrics", timeout=10)
    assert r.status_code == 200 and "cadvisor_version_info{" in r.text, (r.status_code, r.text[:200])


# cAdvisor's --http_auth_file guards only its web UI, never /metrics or /api (google/cadvisor#3401,
# #3686; the lab's Debian build has no web UI at all): nothing in the collection closes cAdvisor yet
# (docs/exporters.md). When something does, this test passes and strict xfail turns that into a
# failure: drop the mark then. Only an assertion is the expected failure: a cAdvisor that does not
# answer at all fails the test.
CADVISOR_OPEN = "cAdvisor serves /metrics to anyone (docs/exporters.md)"


@pytest.mark.xfail(strict=True, raises=AssertionError, reason=CADVISOR_OPEN)
def test_cadvisor_refuses_anonymous_metrics():
    anonymous = requests.get(CADVISOR + "/metrics", timeout=10)
    # 401 with no metrics body: a 502 or an empty answer must not count as "refused".
    assert anonymous.status_code == 401 and "cadvisor_version_info" not in anonymous.text, anonymous.status_code
    right = requests.get(CADVISOR + "/metrics", auth=("prometheus", password("prometheus")), timeout=10)
    assert right.status_code == 200 and "cadvisor_version_info{" in right.text, right.status_code
