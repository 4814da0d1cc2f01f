"""Prometheus (9090) and node_exporter (9100) behind their web config under the secure profile:
HTTPS with a certificate from the cluster's CA and basic auth with passwords chosen once on the
controller. Anonymous and plain-HTTP requests are refused; the right credentials get the real
answer; Prometheus scrapes node_exporter and itself with its own user."""

import pytest
import requests
from sdstack_molecule.polling import wait_for

from conftest import ADDR, CA, SECRETS, get, token

PROM = "https://%s:9090" % ADDR
NODE = "https://%s:9100" % ADDR


def password(user):
    return (SECRETS / "web" / ("%s.password" % user)).read_text().strip()


def prom_get(path, user="admin", **kw):
    return requests.get(PROM + path, auth=(user, password(user)), verify=CA, timeout=10, **kw)


@pytest.mark.parametrize("url", [PROM + "/-/ready", NODE + "/metrics"], ids=["prometheus", "node_exporter"])
def test_plain_http_is_refused(url):
    plain = url.replace("https://", "http://")
    try:
        r = requests.get(plain, timeout=10)
    except requests.ConnectionError:
        return
    # Go's TLS listener answers a plain request with 400 and no metrics.
    assert r.status_code == 400 and "HTTPS" in r.text, (r.status_code, r.text[:200])


@pytest.mark.parametrize("url", [PROM + "/-/ready", PROM + "/api/v1/targets", NODE + "/metrics"],
                         ids=["prometheus-ready", "prometheus-api", "node_exporter"])
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


@pytest.mark.parametrize("user", ["admin", "prometheus"])
def test_node_exporter_answers_with_metrics(user):
    r = requests.get(NODE + "/metrics", auth=(user, password(user)), verify=CA, timeout=10)
    assert r.status_code == 200, r.status_code
    assert "node_exporter_build_info{" in r.text and "node_cpu_seconds_total{" in r.text


def test_the_web_config_holds_hashes_only(box):
    for path, group in (("/etc/prometheus/web.yml", "prometheus"), ("/etc/node_exporter/web.yml", "node-exp")):
        f = box.file(path)
        assert (f.user, f.group, f.mode) == ("root", group, 0o640), path
        text = f.content_string
        assert "$2b$" in text and "tls_server_config" in text, path
        for user in ("admin", "prometheus"):
            assert password(user) not in text, (path, user)
    assert box.file("/etc/node_exporter/web-key.pem").mode == 0o640


def test_prometheus_scrapes_node_exporter_and_itself_with_its_user(box):
    def up():
        targets = prom_get("/api/v1/targets").json()["data"]["activeTargets"]
        found = {t["labels"]["job"]: t for t in targets
                 if t["labels"].get("job") in ("consul-node-exporter", "prometheus") and t["health"] == "up"}
        return found if len(found) == 2 else None
    found = wait_for(up, 90, "node_exporter and Prometheus itself scraped over HTTPS", interval=2)
    assert found["consul-node-exporter"]["scrapeUrl"] == "https://%s:9100/metrics" % ADDR
    assert found["prometheus"]["scrapeUrl"].startswith("https://127.0.0.1:9090/")
    # The scrape really carried the credentials: node_exporter's series are in the store.
    result = prom_get("/api/v1/query", params={"query": 'node_exporter_build_info{job="consul-node-exporter"}'})
    assert result.json()["data"]["result"], result.text
    conf = box.file("/etc/prometheus/prometheus.yml").content_string
    assert "password: %s" % password("prometheus") in conf and "username: prometheus" in conf


def test_consul_checks_node_exporter_without_its_password():
    # The node-exporter service's check connects only (TCP): a password in an HTTP check's
    # definition would show to every reader of the agent's checks.
    checks = get("/v1/agent/checks", token("bootstrap")).json()
    mine = [c for c in checks.values() if c.get("ServiceID") == "node-exporter"]
    assert mine and all(c["Status"] == "passing" for c in mine), mine
    assert all(c.get("Type") in ("tcp", "") for c in mine), mine
    assert password("prometheus") not in str(checks) and password("admin") not in str(checks)
