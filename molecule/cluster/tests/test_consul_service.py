"""consul_service on a real Consul 1.8.7 agent, checked with python-consul2 and plain HTTP."""

import consul
import pytest
import requests
from sdstack_molecule.playbook_run import ModuleFailed, module_failure, run_module

testinfra_hosts = ["consul2"]
AGENT = "http://127.0.0.1:8500"
ADDR = "10.89.20.22"


def svc(host, check_mode=False, **args):
    """consul_service on the host's own agent; a failed run raises with the module's msg."""
    args.setdefault("url", AGENT)
    return run_module(host, "sdstack.consul.consul_service", args, check=check_mode)


def agent_checks(service_id):
    c = consul.Consul(host=ADDR, port=8500)
    return sorted(k for k, v in c.agent.checks().items() if v["ServiceID"] == service_id)


@pytest.fixture
def cleanup(host):
    yield
    svc(host, id="demo-exporter", state="absent")
    requests.put("http://%s:8500/v1/agent/service/deregister/hand-made" % ADDR, timeout=5)


def test_register_idempotent_and_stale_check_removed(host, cleanup):
    two = [{"name": "metrics", "http": "http://%s:8500/v1/status/leader" % ADDR, "interval": "5s"},
           {"name": "port", "tcp": "%s:8500" % ADDR, "interval": "5s"}]
    r = svc(host, id="demo-exporter", name="demo-exporter", tags=["node-exporter"], port=8500, address=ADDR,
            meta={"app": "spring-boot", "team": "appgroup", "project": "bigdata"},
            weights={"passing": 10, "warning": 1}, checks=two)
    assert r["changed"] and r["action"] == "created", r
    got = consul.Consul(host=ADDR, port=8500).agent.services()["demo-exporter"]
    assert got["Meta"] == {"app": "spring-boot", "team": "appgroup", "project": "bigdata"}
    # python-consul2 cannot send Weights; the module can.
    assert got["Weights"] == {"Passing": 10, "Warning": 1}
    assert agent_checks("demo-exporter") == ["service:demo-exporter:1", "service:demo-exporter:2"]

    again = svc(host, id="demo-exporter", name="demo-exporter", tags=["node-exporter"], port=8500, address=ADDR,
                meta={"app": "spring-boot", "team": "appgroup", "project": "bigdata"},
                weights={"passing": 10, "warning": 1}, checks=two)
    assert again["changed"] is False

    one = svc(host, id="demo-exporter", name="demo-exporter", tags=["node-exporter"], port=8500, address=ADDR,
              meta={"app": "spring-boot", "team": "appgroup", "project": "bigdata"},
              weights={"passing": 10, "warning": 1}, checks=two[:1])
    assert one["changed"]
    assert agent_checks("demo-exporter") == ["service:demo-exporter"]


def test_seeds_replace_flag_keeps_the_stale_check_ours_does_not(host, cleanup):
    base = "http://%s:8500/v1/agent/service/register" % ADDR
    body = {"ID": "hand-made", "Name": "hand-made", "Checks": [
        {"CheckID": "a", "Name": "a", "TCP": "%s:8500" % ADDR, "Interval": "5s"},
        {"CheckID": "b", "Name": "b", "TCP": "%s:8500" % ADDR, "Interval": "5s"}]}
    requests.put(base, json=body, timeout=5).raise_for_status()
    body["Checks"] = body["Checks"][:1]
    requests.put(base + "?replace-existing-checks=1", json=body, timeout=5).raise_for_status()
    assert agent_checks("hand-made") == ["a", "b"], "'=1' should have kept the stale check"
    r = svc(host, id="hand-made", name="hand-made",
            checks=[{"check_id": "a", "name": "a", "tcp": "%s:8500" % ADDR, "interval": "5s"}])
    assert r["changed"]
    assert agent_checks("hand-made") == ["a"]


def test_check_mode_and_deregister(host, cleanup):
    r = svc(host, name="demo-exporter", port=1, check_mode=True)
    assert r["changed"] and "demo-exporter" not in consul.Consul(host=ADDR, port=8500).agent.services()
    svc(host, name="demo-exporter", port=1)
    r = svc(host, id="demo-exporter", state="absent")
    assert r["changed"] and "demo-exporter" not in consul.Consul(host=ADDR, port=8500).agent.services()
    assert svc(host, id="demo-exporter", state="absent")["changed"] is False


BULK = ["bulk-demo-%02d" % i for i in range(20)]


@pytest.fixture
def bulk_cleanup(host):
    yield
    svc(host, services=[{"id": sid, "state": "absent"} for sid in BULK])


def test_bulk_form_over_one_connection_counts_what_it_did(host, bulk_cleanup):
    """The bulk form on a real server agent (state on disk, not -dev): every service lands with its check,
    and the result's stats count what was created, updated, deleted and left alone."""
    services = [dict(id=sid, name="bulk-demo", port=10000 + i, address=ADDR, tags=["bulk"], meta={"n": str(i)},
                     checks=[{"tcp": "%s:8500" % ADDR, "interval": "30s"}]) for i, sid in enumerate(BULK)]
    r = svc(host, services=services)
    stats = r["stats"]
    assert (stats["created"], stats["written"], stats["unchanged"]) == (20, 20, 0), stats
    assert stats["module_seconds"] >= stats["write_seconds"] > 0, stats
    listed = consul.Consul(host=ADDR, port=8500).agent.services()
    assert sorted(k for k in listed if k.startswith("bulk-demo-")) == BULK
    assert listed["bulk-demo-07"]["Meta"] == {"n": "7"} and agent_checks("bulk-demo-07") == ["service:bulk-demo-07"]

    services[3]["port"] = 1
    services[19] = {"id": BULK[19], "state": "absent"}
    stats = svc(host, services=services)["stats"]
    assert stats["read"] >= 20 and (stats["updated"], stats["deleted"], stats["written"], stats["unchanged"]) == (
        1, 1, 2, 18), stats
    listed = consul.Consul(host=ADDR, port=8500).agent.services()
    assert listed["bulk-demo-03"]["Port"] == 1 and BULK[19] not in listed

    again = svc(host, services=services)
    assert again["changed"] is False and (again["stats"]["written"], again["stats"]["unchanged"]) == (0, 20), again


def test_consuls_400_is_one_line(host):
    r = module_failure(host, "sdstack.consul.consul_service",
                       dict(url=AGENT, name="bad", meta={"k": "v"}, checks=[{"http": "http://x/", "interval": "0s"}]))
    assert "HTTP 400" in r["msg"] and "\n" not in r["msg"], r


def test_a_failed_module_fails_the_test(host):
    """The helper every test uses raises on a module failure, with the module's own message (the
    result testinfra's host.ansible() gives under ansible-core 2.19 reads as a mere no-change)."""
    with pytest.raises(ModuleFailed, match=r"port.*'not-a-port'.*int"):
        svc(host, name="bad-argument", port="not-a-port")
