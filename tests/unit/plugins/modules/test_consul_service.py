"""consul_service against the answers of a real Consul 1.8.7 agent, replayed from cassettes
(tests/unit/replay.py; recorded by tests/unit/fixtures/consul_1.8.7/cassettes/record.py).

Every cassette starts from an agent without services. Where a test reads the agent itself (after
the module ran), that read is recorded too, so its answer is what Consul did, not what we expect."""

import json
import socket

import pytest
from ansible.module_utils import _internal as module_internal

from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import ConsulClient
from ansible_collections.sdstack.consul.plugins.modules import consul_service
from replay import AGENT_URL, sent

READS = [("GET", "/v1/agent/services"), ("GET", "/v1/agent/checks")]
REGISTER = ("PUT", "/v1/agent/service/register?replace-existing-checks=true")

SEED_NODE_EXPORTER = dict(
    id="node-exporter", name="node-exporter", tags=["node-exporter"], address="127.0.0.1", port=19100,
    meta={"app": "spring-boot", "team": "appgroup", "project": "bigdata"},
    weights={"passing": 10, "warning": 1},
    checks=[{"http": "http://127.0.0.1:19100/", "interval": "10s"}])


@pytest.fixture
def run(consul_service_on_cassette):
    return consul_service_on_cassette


@pytest.fixture
def agent(cassette):
    """The agent itself, for setting up and reading back around a module run."""
    return ConsulClient([AGENT_URL])


def bodies(cassette):
    """The JSON bodies the test's PUTs sent."""
    return [json.loads(r.body) if r.body else None for r in cassette.sent if r.method == "PUT"]


def counts(stats):
    return {k: v for k, v in stats.items() if not k.endswith("_seconds")}


def checks_of(agent, sid):
    return sorted(k for k, c in agent.get("/v1/agent/checks").body.items() if c["ServiceID"] == sid)


def test_register_sends_the_seed_payload_with_a_replace_value_consul_honours(run, cassette):
    r = run(**SEED_NODE_EXPORTER)
    assert r["changed"] and r["action"] == "created", r
    assert sent(cassette) == READS + [REGISTER]
    body, = bodies(cassette)
    assert body["Weights"] == {"Passing": 10, "Warning": 1} and body["Meta"]["team"] == "appgroup"
    assert body["Checks"][0]["CheckID"] == "service:node-exporter"
    assert body["Checks"][0]["HTTP"] == "http://127.0.0.1:19100/" and body["Checks"][0]["Interval"] == "10s"


@pytest.mark.parametrize("svc", [SEED_NODE_EXPORTER, dict(name="svc-b")], ids=["seed", "name-only"])
def test_second_run_changes_nothing(run, cassette, svc):
    # Consul fills in defaults (ID, Tags, Weights, check names); the module must read them as its own.
    run(**svc)
    r = run(**svc)
    assert r["changed"] is False and r["action"] == "none", r
    assert sent(cassette) == READS + [REGISTER] + READS


def test_check_change_is_seen_although_the_agent_hides_definitions(run):
    run(**SEED_NODE_EXPORTER)
    changed = {**SEED_NODE_EXPORTER, "checks": [{"http": "http://127.0.0.1:19100/", "interval": "5s"}]}
    r = run(**changed)
    assert r["changed"] and r["action"] == "updated"
    assert r["diff"]["before"]["Checks"][0]["Notes"] != r["diff"]["after"]["Checks"][0]["Notes"]
    assert run(**changed)["changed"] is False


def test_stale_check_of_a_hand_registered_service_is_replaced(run, agent):
    run(**SEED_NODE_EXPORTER)
    # Registered by hand with two checks: Consul names them service:cadvisor-exporter:1 and :2.
    agent.put("/v1/agent/service/register", body={
        "ID": "cadvisor-exporter", "Name": "cadvisor-exporter", "Port": 19101, "Checks": [
            {"Name": "metrics", "HTTP": "http://127.0.0.1:19100/", "Interval": "5s"},
            {"Name": "port", "TCP": "127.0.0.1:19101", "Interval": "5s"}]})
    assert checks_of(agent, "cadvisor-exporter") == ["service:cadvisor-exporter:1", "service:cadvisor-exporter:2"]
    r = run(id="cadvisor-exporter", name="cadvisor-exporter", port=19101,
            checks=[{"name": "metrics", "http": "http://127.0.0.1:19100/", "interval": "5s"}])
    assert r["changed"]
    assert checks_of(agent, "cadvisor-exporter") == ["service:cadvisor-exporter"]
    # Other services' checks are untouched.
    assert checks_of(agent, "node-exporter") == ["service:node-exporter"]


def test_check_mode_and_diff_write_nothing(run, cassette):
    r = run(_ansible_check_mode=True, _ansible_diff=True, **SEED_NODE_EXPORTER)
    assert r["changed"] and sent(cassette) == READS
    assert r["diff"]["before"] == {} and r["diff"]["after"]["Service"] == "node-exporter"


def test_deregister_and_deregister_again(run, agent):
    run(**SEED_NODE_EXPORTER)
    r = run(id="node-exporter", state="absent")
    assert r["changed"] and r["action"] == "deleted"
    assert "node-exporter" not in agent.get("/v1/agent/services").body
    assert checks_of(agent, "node-exporter") == []
    r = run(id="node-exporter", state="absent")
    assert r["changed"] is False


def test_bulk_reads_twice_whatever_the_count(run, cassette, agent):
    svcs = [dict(name="svc-%03d" % i, port=9000 + i, checks=[{"tcp": "127.0.0.1:%d" % (9000 + i), "interval": "10s"}])
            for i in range(20)]
    r = run(services=svcs)
    assert r["changed"] and [x["action"] for x in r["services"]] == ["created"] * 20
    assert [req for req in sent(cassette) if req[0] == "GET"] == READS
    assert counts(r["stats"]) == dict(read=0, written=20, created=20, updated=0, deleted=0, unchanged=0)
    svcs[7]["port"] = 1
    svcs.append(dict(name="svc-003", state="absent"))
    svcs.pop(3)
    r = run(services=svcs)
    assert [x["id"] for x in r["services"] if x["changed"]] == ["svc-007", "svc-003"]
    # The agent listed the 20; one updated, one deleted, the 18 others compared equal.
    assert counts(r["stats"]) == dict(read=20, written=2, created=0, updated=1, deleted=1, unchanged=18)
    times = {k: r["stats"][k] for k in ("read_seconds", "write_seconds", "module_seconds")}
    assert all(isinstance(t, float) and t >= 0 for t in times.values()), times
    assert times["module_seconds"] >= times["read_seconds"] + times["write_seconds"], times
    assert sent(cassette)[-4:] == READS + [REGISTER, ("PUT", "/v1/agent/service/deregister/svc-003")]
    assert "svc-003" not in agent.get("/v1/agent/services").body


def test_bulk_validates_everything_before_the_first_write(run, cassette):
    svcs = [dict(name="ok"), dict(name="bad", checks=[{"http": "http://x/", "tcp": "x:1", "interval": "1s"}])]
    r = run(services=svcs)
    assert r["failed"] and r["msg"] == "services[1]: service bad check 1: give exactly one of http, tcp, ttl, grpc " \
                                       "(got http, tcp)"
    assert sent(cassette) == []


@pytest.mark.parametrize("args,msg", [
    (dict(name="s", checks=[{"interval": "10s"}]), "service: service s check 1: give exactly one of http, tcp, ttl, grpc (got none)"),
    (dict(name="s", checks=[{"http": "http://x/"}]), "service: service s check 1: a http check needs an interval"),
    (dict(name="s", checks=[{"tcp": "x:1", "interval": "10 seconds"}]),
     "service: service s check 1: interval '10 seconds' is not a duration like 10s, 1m30s or 500ms"),
    (dict(name="s", meta={"bad key!": "x"}), "service: service s: meta key 'bad key!' may hold only letters, digits"),
    (dict(name="s", port=70000), "service: service s: port 70000 is not in 0-65535"),
    (dict(name="s", weights={"passing": 0}), "service: service s: weights need passing >= 1"),
    (dict(name="s", url=[AGENT_URL, "http://127.0.0.2:8500"]), "url: agent endpoints are node-local"),
    (dict(services=[{"name": "a"}, {"name": "a"}]), "services: id(s) given twice: a"),
    (dict(services=[{"name": "a"}, {"name": "b", "port": "http"}]), "services[1]: argument 'port' is of type str"),
    (dict(services=[{"name": "a", "tgas": ["x"]}]), "services[0]: unknown option tgas. Supported parameters include: address,"),
    (dict(name="s", address="10.0.0.300"), "service: service s: address '10.0.0.300' is neither an IP address nor a host"),
    (dict(name="s", address="not an ip"), "service: service s: address 'not an ip' is neither"),
    (dict(name="s", meta={"consul-version": "1"}), "service: service s: meta key 'consul-version': the prefix 'consul-' "
                                                   "is reserved for Consul"),
    (dict(name="s", meta={"k%d" % i: "v" for i in range(65)}), "service: service s: meta has 65 keys, Consul allows 64"),
    (dict(name="s", meta={"k": "v" * 513}), "service: service s: meta k is 513 characters long, Consul allows 512"),
    (dict(name="s", checks=[{"http": "127.0.0.1:9100/metrics", "interval": "10s"}]),
     "service: service s check 1: http '127.0.0.1:9100/metrics' is not an http:// or https:// URL"),
    (dict(name="s", checks=[{"tcp": "127.0.0.1", "interval": "10s"}]),
     "service: service s check 1: tcp '127.0.0.1' is not host:port with a port in 1-65535"),
    (dict(name="s", checks=[{"tcp": "127.0.0.1:0", "interval": "10s"}]), "service: service s check 1: tcp '127.0.0.1:0'"),
    (dict(name="s", checks=[{"script": "/bin/true", "interval": "10s"}]), "Unsupported parameters for"),
    (dict(services=[{"name": "a", "checks": [{"scirpt": "/bin/true", "interval": "1s"}]}]), "services[0]: unknown option"),
])
def test_bad_input_is_one_line_and_writes_nothing(run, cassette, args, msg):
    r = run(**args)
    assert r["failed"] and r["msg"].startswith(msg) and "\n" not in r["msg"], r["msg"]
    assert sent(cassette) == []


@pytest.mark.parametrize("address,tcp", [
    ("10.0.0.3", "10.0.0.3:9100"), ("fd00::3", "[fd00::3]:9100"), ("node3.example.org", "node3.example.org:9100"),
    ("node_3", "localhost:1"),
], ids=["ipv4", "ipv6", "host-name", "underscore"])
def test_good_addresses_and_tcp_targets_are_registered(run, cassette, address, tcp):
    r = run(name="s", address=address, checks=[{"tcp": tcp, "interval": "10s"}])
    assert r["changed"] and not r.get("failed"), r
    assert bodies(cassette)[0]["Address"] == address


def test_consuls_own_400_text_is_the_message(run):
    # A zero interval passes the module's duration check; Consul refuses it.
    r = run(name="s", checks=[{"http": "http://127.0.0.1:19100/", "interval": "0s"}])
    assert r["failed"]
    assert r["msg"] == ("service s: PUT /v1/agent/service/register: HTTP 400: "
                        "Invalid check: Interval must be > 0 for Script, HTTP, or TCP checks")


def test_unreachable_agent(run_module):
    # A bound loopback port nobody listens on refuses connections: nothing to record.
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = "http://127.0.0.1:%d" % closed.getsockname()[1]
        r = run_module(consul_service, None, url=[url], name="s")
    assert r["failed"] and r["msg"].startswith("no Consul agent reachable: %s (" % url), r["msg"]
    assert "refused" in r["msg"]


def test_dns_unsafe_name_warns(run, monkeypatch):
    # Other tests load controller code in this process, which makes module warnings go to the
    # controller's display instead of the result; a real module run is never on the controller.
    monkeypatch.setattr(module_internal, "is_controller", False)
    r = run(name="node-exporter-172.30.12.100")
    assert not r.get("failed"), r
    assert any("not DNS-safe" in json.dumps(w) for w in r.get("warnings", [])), r


def test_token_never_in_output_nor_in_the_cassette(run, cassette):
    r = run(token="s3cr3t-t0ken", **SEED_NODE_EXPORTER)
    assert r["changed"]
    assert "s3cr3t-t0ken" not in json.dumps(r)
    assert not any("X-Consul-Token" in req.headers for req in cassette.sent)
