"""Each client with its own token: Prometheus discovers, the modules register, nginx proxies HTTPS."""

import re
import time

import pytest
import requests
from sdstack_molecule.polling import wait_for
from sdstack_molecule.refusals import assert_module_refused

from conftest import ADDR, CA, SECRETS, client, get, module_failure, run_module, token
# unchanged is a fixture, used by name.
from test_50_bad_input import unchanged  # noqa: F401  pylint: disable=unused-import

# Prometheus serves HTTPS with basic auth under the secure profile (test_60_web_auth).
PROM = "https://%s:9090" % ADDR
LB = "https://%s" % ADDR


def prom_auth():
    return ("admin", (SECRETS / "web" / "admin.password").read_text().strip())


def targets():
    return requests.get(PROM + "/api/v1/targets", auth=prom_auth(), verify=CA,
                        timeout=10).json()["data"]["activeTargets"]


def test_prometheus_discovers_with_its_own_token(box):
    conf = box.file("/etc/prometheus/prometheus.yml")
    assert (conf.user, conf.group, conf.mode) == ("root", "prometheus", 0o640)
    text = conf.content_string
    assert "token: %s" % token("prometheus-sd") in text
    assert "ca_file: /etc/prometheus/consul-ca.pem" in text and "scheme: https" in text
    assert token("bootstrap") not in text
    # secure1's own target (the client host's node_exporter is a target of the same job:
    # test_32_client_agent), picked by its address, never by its place in the list.
    up = wait_for(lambda: [t for t in targets() if t["labels"].get("job") == "consul-node-exporter"
                           and t["labels"].get("instance") == "%s:9100" % ADDR and t["health"] == "up"],
                  timeout=60, what="secure1's node-exporter target up")
    assert len(up) == 1 and up[0]["labels"]["app"] == "spring-boot", up


def test_nginx_serves_https_and_verifies_the_servers(box):
    r = requests.get(LB + "/v1/status/leader", verify=CA, timeout=10)
    assert r.status_code == 200 and re.match(r'^"%s:83[0-2]0"$' % re.escape(ADDR), r.text), r.text
    # The token travels through nginx; without one the catalog is empty.
    assert requests.get(LB + "/v1/catalog/services", verify=CA, timeout=10).json() == {}
    seen = requests.get(LB + "/v1/catalog/services", headers={"X-Consul-Token": token("prometheus-sd")},
                        verify=CA, timeout=10).json()
    assert "node-exporter" in seen
    plain = requests.get("http://%s/v1/status/leader" % ADDR, allow_redirects=False, timeout=10)
    assert plain.status_code == 301 and plain.headers["Location"].startswith("https://")
    assert "Access-Control-Allow-Origin" not in r.headers
    site = box.file("/etc/nginx/conf.d/consul_lb.conf").content_string
    assert "proxy_ssl_verify on;" in site and "proxy_pass https://" in site
    assert "Access-Control-Allow-Origin" not in site


@pytest.fixture
def demo_service():
    yield "secure-demo"
    run_module("consul_service", token=token("service-registration"), id="secure-demo", state="absent")


def test_consul_service_registers_with_the_registration_token(demo_service):
    args = dict(token=token("service-registration"), id=demo_service, name=demo_service, port=9100,
                address=ADDR, tags=["node-exporter"], checks=[{"tcp": "%s:9100" % ADDR, "interval": "10s"}])
    first = run_module("consul_service", **args)
    assert first["changed"] is True, first
    assert run_module("consul_service", **args).get("changed") is False
    services = client(token("prometheus-sd")).agent.services()
    assert services[demo_service]["Port"] == 9100
    # Prometheus (read-only token) sees it as a target of the job.
    wait_for(lambda: [t for t in targets() if t["labels"].get("instance") == "%s:9100" % ADDR
                      and t["discoveredLabels"].get("__meta_consul_service") == demo_service],
             timeout=60, what="the module's registration as a target")


def test_consul_raft_with_the_bootstrap_token():
    r = run_module("consul_raft", token=token("bootstrap"), expected_voters=["node1", "node2", "node3"],
                   require_healthy=True)
    assert r["leader"]["node"] in ("node1", "node2", "node3"), r


REFUSED_WRITE = "service refused: PUT /v1/agent/service/register: HTTP 403: Permission denied: Missing service:write on refused"


@pytest.mark.parametrize("tok, message", [
    pytest.param(None, REFUSED_WRITE, id="no token"),
    pytest.param("00000000-1111-2222-3333-444444444444", "GET /v1/agent/services: HTTP 403: ACL not found",
                 id="wrong token"),
    pytest.param("prometheus-sd", REFUSED_WRITE, id="read-only token"),
])
def test_registration_refused_without_the_right_token(unchanged, tok, message):  # noqa: F811
    before = get("/v1/agent/services", token("bootstrap")).json()
    args = dict(id="refused", name="refused", port=1234)
    if tok:
        args["token"] = token(tok) if tok == "prometheus-sd" else tok
    assert_module_refused(module_failure("consul_service", **args), message)
    assert get("/v1/agent/services", token("bootstrap")).json() == before


def test_consul_raft_with_a_token_that_may_not_read_raft(unchanged):  # noqa: F811
    # Waiting cannot change what a token may read: refused at once, well under the wait given.
    wait = 120
    start = time.monotonic()
    r = module_failure("consul_raft", token=token("prometheus-sd"), expected_voters=3, require_healthy=True,
                       wait=True, wait_timeout=wait)
    took = time.monotonic() - start
    assert_module_refused(r, "GET /v1/operator/raft/configuration: HTTP 403: Permission denied"
                             " (the token needs operator:read, node:read and agent:read)")
    # The whole ad hoc run, Ansible's start included, in a quarter of the wait it was given.
    assert took < wait / 4, "refused after %.0fs with wait_timeout %ds" % (took, wait)
