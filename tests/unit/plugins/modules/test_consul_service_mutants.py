"""consul_service's option spec and messages at their edges, and what it sends and returns for
the options the other tests leave out. Consul's answers are replayed from cassettes recorded on a
real 1.8.7 agent (tests/unit/replay.py); a test that must fail before any request has no cassette,
so a request it sent would fail it."""

import json

import pytest

from replay import AGENT_URL, sent

READS = [("GET", "/v1/agent/services"), ("GET", "/v1/agent/checks")]
REGISTER = ("PUT", "/v1/agent/service/register?replace-existing-checks=true")


@pytest.fixture
def run(consul_service_on_cassette):
    return consul_service_on_cassette


def bodies(cassette):
    return [json.loads(r.body) for r in cassette.sent if r.method == "PUT" and r.body]


@pytest.mark.parametrize("args,msg", [
    (dict(name="s", state="gone"), "value of state must be one of: present, absent, got: gone"),
    (dict(services=[{"name": "a", "state": "gone"}]),
     "services[0]: value of state must be one of: present, absent, got: gone"),
    (dict(services=[{"name": "a"}], name="a"), "parameters are mutually exclusive: services|name"),
    (dict(services=[{"name": "a"}], id="a"), "parameters are mutually exclusive: services|id"),
    (dict(name="s", url=[AGENT_URL, "http://127.0.0.2:8500"]),
     "url: agent endpoints are node-local; give the one agent that owns the services (got 2 URLs)"),
    (dict(id="s"), "service: a service to register needs a name"),
    (dict(services=[{"state": "absent"}]), "services[0]: give the id (or name) of the service to deregister"),
    (dict(services=[{"name": "a"}, {"name": "b"}, {"name": "a"}, {"name": "b"}]), "services: id(s) given twice: a, b"),
    (dict(services=[{"name": "a", "id": "x"}, {"name": "b", "id": "x"}]), "services: id(s) given twice: x"),
])
def test_refusals_name_what_is_wrong_and_write_nothing(run, cassette, args, msg):
    r = run(**args)
    assert r["failed"] and r["msg"] == msg, r["msg"]
    assert sent(cassette) == []


def test_every_error_of_an_element_is_listed(run, cassette):
    r = run(services=[{"name": "a", "port": "http", "tgas": ["x"]}])
    assert r["failed"] and r["msg"].startswith("services[0]: "), r["msg"]
    errors = r["msg"][len("services[0]: "):].split("; ")
    assert len(errors) == 2 and errors[0].startswith("argument 'port' is of type str"), r["msg"]
    assert errors[1].startswith("unknown option tgas. Supported parameters include: address,"), r["msg"]
    assert sent(cassette) == []


def test_services_must_be_mappings(run, cassette):
    r = run(services=["svc-a"])
    assert r["failed"] and "services" in r["msg"] and "\n" not in r["msg"], r
    assert sent(cassette) == []


def test_bulk_same_name_other_ids_then_deregister_by_id_alone(run, cassette):
    svcs = [{"name": "svc-a", "id": "a1", "state": "present"}, {"name": "svc-a", "id": "a2"}]
    r = run(services=svcs, _ansible_diff=True)
    assert [(x["id"], x["action"]) for x in r["services"]] == [("a1", "created"), ("a2", "created")], r
    assert all("diff" not in x for x in r["services"]), r
    assert r["diff"]["before"] == {"a1": {}, "a2": {}}, r["diff"]
    assert {k: v["ID"] for k, v in r["diff"]["after"].items()} == {"a1": "a1", "a2": "a2"}, r["diff"]
    r = run(services=[{"id": "a1", "state": "absent"}])
    assert [(x["id"], x["action"]) for x in r["services"]] == [("a1", "deleted")], r
    assert sent(cassette) == READS + [REGISTER, REGISTER] + READS + [("PUT", "/v1/agent/service/deregister/a1")]


FULL = dict(
    name="svc-full", tags=["v1", 2021], port=19300, enable_tag_override=True, weights={"passing": 10},
    checks=[
        dict(name="metrics", check_id="svc-full-metrics", http="http://127.0.0.1:19300/metrics", interval="10s",
             timeout="2s", deregister_critical_service_after="10m", method="HEAD",
             header={"X-A": "1", "X-B": ["2", "3"]}, tls_skip_verify=True, notes="see the runbook"),
        dict(ttl="30s"),
        dict(grpc="127.0.0.1:19301/health", interval="10s"),
    ])


def test_every_option_reaches_consul_and_reads_back_the_same(run, cassette):
    r = run(**FULL)
    assert r["changed"] and r["action"] == "created", r
    body, = bodies(cassette)
    assert body["Tags"] == ["v1", "2021"] and body["EnableTagOverride"] is True
    assert body["Weights"] == {"Passing": 10, "Warning": 1}
    metrics, ttl, grpc = body["Checks"]
    assert {k: v for k, v in metrics.items() if k != "Notes"} == dict(
        CheckID="svc-full-metrics", Name="metrics", HTTP="http://127.0.0.1:19300/metrics", Interval="10s",
        Timeout="2s", DeregisterCriticalServiceAfter="10m", Method="HEAD", Header={"X-A": ["1"], "X-B": ["2", "3"]},
        TLSSkipVerify=True)
    assert metrics["Notes"].startswith("see the runbook [sdstack.consul def:")
    assert ttl["TTL"] == "30s" and ttl["CheckID"] == "service:svc-full:2"
    assert grpc["GRPC"] == "127.0.0.1:19301/health" and grpc["CheckID"] == "service:svc-full:3"
    # Results are not masked: no option of the service is a secret.
    assert r["service"]["Weights"] == {"Passing": 10, "Warning": 1} and r["service"]["Port"] == 19300
    again = run(**FULL)
    assert again["changed"] is False, again["diff"]
    assert sent(cassette) == READS + [REGISTER] + READS


def test_keeping_other_checks_sends_no_replace_parameter(run, cassette):
    r = run(name="svc-keep", replace_existing_checks=False)
    assert r["changed"], r
    assert sent(cassette) == READS + [("PUT", "/v1/agent/service/register")]
