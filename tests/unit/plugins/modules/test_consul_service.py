"""consul_service against a fake agent that behaves like the recorded Consul 1.8.7 one
(tests/unit/fixtures/consul_1.8.7/agent_services): same response shapes, same defaults,
`Definition: {}` on checks, and replace-existing-checks honoured only for "true" or a bare flag."""

import io
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from urllib.response import addinfourl
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError
from ansible.module_utils import _internal as module_internal

from ansible_collections.sdstack.consul.plugins.modules import consul_service

FIX = Path(__file__).resolve().parents[2] / "fixtures" / "consul_1.8.7" / "agent_services"
URL = "http://127.0.0.1:8500"


def fixture(name):
    return json.loads((FIX / name).read_text())


class Agent:
    """A node-local agent: services and checks in memory, the way 1.8.7 stores and reports them."""

    def __init__(self, services=None, checks=None, reject=None):
        self.services = dict(services or {})
        self.checks = dict(checks or {})
        self.calls = []
        self.reject = reject  # (status, body) answered to every register
        self.reachable = True

    def __call__(self, url, method="GET", data=None, **kw):
        if not self.reachable:
            raise URLError(ConnectionRefusedError(111, "Connection refused"))
        parts = urlsplit(url)
        self.calls.append((method, parts.path, parse_qs(parts.query, keep_blank_values=True),
                           json.loads(data) if data else None))
        if method == "GET" and parts.path == "/v1/agent/services":
            return self._ok(self.services)
        if method == "GET" and parts.path == "/v1/agent/checks":
            return self._ok(self.checks)
        if method == "PUT" and parts.path == "/v1/agent/service/register":
            if self.reject:
                raise HTTPError(url, self.reject[0], "", {}, io.BytesIO(self.reject[1].encode()))
            self._register(json.loads(data), parse_qs(parts.query, keep_blank_values=True))
            return self._ok(None)
        if method == "PUT" and parts.path.startswith("/v1/agent/service/deregister/"):
            sid = parts.path.rsplit("/", 1)[1]
            self.services.pop(sid, None)
            self.checks = {k: c for k, c in self.checks.items() if c["ServiceID"] != sid}
            return self._ok(None)
        raise AssertionError("unexpected %s %s" % (method, url))

    def _register(self, body, query):
        sid = body.get("ID") or body["Name"]
        self.services[sid] = {
            "ID": sid, "Service": body["Name"], "Tags": body.get("Tags") or [], "Meta": body.get("Meta") or {},
            "Port": body.get("Port", 0), "Address": body.get("Address", ""),
            "Weights": body.get("Weights") or {"Passing": 1, "Warning": 1},
            "EnableTagOverride": body.get("EnableTagOverride", False)}
        # Recorded: "=1" and "=false" keep stale checks; "true" and the bare flag replace them.
        if query.get("replace-existing-checks", [None])[0] in ("true", ""):
            self.checks = {k: c for k, c in self.checks.items() if c["ServiceID"] != sid}
        for c in body.get("Checks") or []:
            kind = next(k.lower() for k in ("HTTP", "TCP", "TTL", "GRPC") if c.get(k))
            self.checks[c["CheckID"]] = {
                "Node": "node1", "CheckID": c["CheckID"], "Name": c["Name"], "Status": "critical",
                "Notes": c.get("Notes", ""), "Output": "", "ServiceID": sid, "ServiceName": body["Name"],
                "ServiceTags": body.get("Tags") or [], "Type": kind, "Definition": {}, "CreateIndex": 0,
                "ModifyIndex": 0}

    @staticmethod
    def _ok(body):
        return addinfourl(io.BytesIO(b"" if body is None else json.dumps(body).encode()), {}, "", 200)

    def writes(self):
        return [c for c in self.calls if c[0] == "PUT"]


SEED_NODE_EXPORTER = dict(
    id="node-exporter", name="node-exporter", tags=["node-exporter"], address="127.0.0.1", port=19100,
    meta={"app": "spring-boot", "team": "appgroup", "project": "bigdata"},
    weights={"passing": 10, "warning": 1},
    checks=[{"http": "http://127.0.0.1:19100/", "interval": "10s"}])


@pytest.fixture
def run(run_module):
    def go(agent, **args):
        args.setdefault("url", [URL])
        return run_module(consul_service, agent, **args)
    return go


def test_register_sends_the_seed_payload_with_a_replace_value_consul_honours(run):
    agent = Agent()
    r = run(agent, **SEED_NODE_EXPORTER)
    assert r["changed"] and r["action"] == "created", r
    (method, path, query, body), = agent.writes()
    assert query == {"replace-existing-checks": ["true"]}
    assert body["Weights"] == {"Passing": 10, "Warning": 1} and body["Meta"]["team"] == "appgroup"
    assert body["Checks"][0]["CheckID"] == "service:node-exporter"
    assert body["Checks"][0]["HTTP"] == "http://127.0.0.1:19100/" and body["Checks"][0]["Interval"] == "10s"
    # What the agent then reports has the shape recorded from 1.8.7.
    assert set(agent.services["node-exporter"]) <= set(fixture("03_get_services.json")["body"]["node-exporter"])


def test_second_run_changes_nothing(run):
    agent = Agent()
    run(agent, **SEED_NODE_EXPORTER)
    r = run(agent, **SEED_NODE_EXPORTER)
    assert r["changed"] is False and r["action"] == "none"
    assert len(agent.writes()) == 1


def test_check_change_is_seen_although_the_agent_hides_definitions(run):
    agent = Agent()
    run(agent, **SEED_NODE_EXPORTER)
    changed = {**SEED_NODE_EXPORTER, "checks": [{"http": "http://127.0.0.1:19100/", "interval": "5s"}]}
    r = run(agent, **changed)
    assert r["changed"] and r["action"] == "updated"
    assert r["diff"]["before"]["Checks"][0]["Notes"] != r["diff"]["after"]["Checks"][0]["Notes"]


def test_stale_check_of_a_hand_registered_service_is_replaced(run):
    # The recorded agent state: cadvisor-exporter with two checks (one critical TCP).
    checks = fixture("06_get_checks_tcp_critical.json")["body"]
    services = {"cadvisor-exporter": dict(fixture("03_get_services.json")["body"]["node-exporter"],
                                          ID="cadvisor-exporter", Service="cadvisor-exporter", Port=19101)}
    agent = Agent(services, checks)
    r = run(agent, id="cadvisor-exporter", name="cadvisor-exporter", port=19101,
            checks=[{"name": "metrics", "http": "http://127.0.0.1:19100/", "interval": "5s"}])
    assert r["changed"]
    left = sorted(k for k, c in agent.checks.items() if c["ServiceID"] == "cadvisor-exporter")
    assert left == ["service:cadvisor-exporter"]
    # Other services' checks are untouched.
    assert "service:node-exporter" in agent.checks


def test_check_mode_and_diff_write_nothing(run):
    agent = Agent()
    r = run(agent, _ansible_check_mode=True, _ansible_diff=True, **SEED_NODE_EXPORTER)
    assert r["changed"] and agent.writes() == []
    assert r["diff"]["before"] == {} and r["diff"]["after"]["Service"] == "node-exporter"


def test_deregister_and_deregister_again(run):
    agent = Agent()
    run(agent, **SEED_NODE_EXPORTER)
    r = run(agent, id="node-exporter", state="absent")
    assert r["changed"] and r["action"] == "deleted" and "node-exporter" not in agent.services
    assert not any(c["ServiceID"] == "node-exporter" for c in agent.checks.values())
    r = run(agent, id="node-exporter", state="absent")
    assert r["changed"] is False


def test_bulk_reads_twice_whatever_the_count(run):
    agent = Agent()
    svcs = [dict(name="svc-%03d" % i, port=9000 + i, checks=[{"tcp": "127.0.0.1:%d" % (9000 + i), "interval": "10s"}])
            for i in range(50)]
    r = run(agent, services=svcs)
    assert r["changed"] and [x["action"] for x in r["services"]] == ["created"] * 50
    assert [c[1] for c in agent.calls if c[0] == "GET"] == ["/v1/agent/services", "/v1/agent/checks"]
    svcs[7]["port"] = 1
    svcs.append(dict(name="svc-003", state="absent"))
    svcs.pop(3)
    r = run(agent, services=svcs)
    assert [x["id"] for x in r["services"] if x["changed"]] == ["svc-007", "svc-003"]
    assert "svc-003" not in agent.services


def test_bulk_validates_everything_before_the_first_write(run):
    agent = Agent()
    svcs = [dict(name="ok"), dict(name="bad", checks=[{"http": "http://x/", "tcp": "x:1", "interval": "1s"}])]
    r = run(agent, services=svcs)
    assert r["failed"] and r["msg"] == "services[1]: service bad check 1: give exactly one of http, tcp, ttl, grpc " \
                                       "(got http, tcp)"
    assert agent.writes() == []


@pytest.mark.parametrize("args,msg", [
    (dict(name="s", checks=[{"interval": "10s"}]), "service: service s check 1: give exactly one of http, tcp, ttl, grpc (got none)"),
    (dict(name="s", checks=[{"http": "http://x/"}]), "service: service s check 1: a http check needs an interval"),
    (dict(name="s", checks=[{"tcp": "x:1", "interval": "10 seconds"}]),
     "service: service s check 1: interval '10 seconds' is not a duration like 10s, 1m30s or 500ms"),
    (dict(name="s", meta={"bad key!": "x"}), "service: service s: meta key 'bad key!' may hold only letters, digits"),
    (dict(name="s", port=70000), "service: service s: port 70000 is not in 0-65535"),
    (dict(name="s", weights={"passing": 0}), "service: service s: weights need passing >= 1"),
    (dict(name="s", url=[URL, "http://127.0.0.2:8500"]), "url: agent endpoints are node-local"),
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
def test_bad_input_is_one_line_and_writes_nothing(run, args, msg):
    agent = Agent()
    r = run(agent, **args)
    assert r["failed"] and r["msg"].startswith(msg) and "\n" not in r["msg"], r["msg"]
    assert agent.writes() == []


@pytest.mark.parametrize("address,tcp", [
    ("10.0.0.3", "10.0.0.3:9100"), ("fd00::3", "[fd00::3]:9100"), ("node3.example.org", "node3.example.org:9100"),
    ("node_3", "localhost:1"),
])
def test_good_addresses_and_tcp_targets_pass(run, address, tcp):
    r = run(Agent(), name="s", address=address, checks=[{"tcp": tcp, "interval": "10s"}])
    assert not r.get("failed"), r


def test_consuls_own_400_text_is_the_message(run):
    rec = fixture("11_register_bad_check_no_interval.json")
    agent = Agent(reject=(rec["status"], rec["body"]))
    r = run(agent, name="s")
    assert r["failed"]
    assert r["msg"] == "service s: PUT /v1/agent/service/register: HTTP 400: " + rec["body"].strip()


def test_unreachable_agent(run):
    agent = Agent()
    agent.reachable = False
    r = run(agent, name="s")
    assert r["failed"] and r["msg"].startswith("no Consul agent reachable: http://127.0.0.1:8500 (")


def test_dns_unsafe_name_warns(run, monkeypatch):
    # Other tests load controller code in this process, which makes module warnings go to the
    # controller's display instead of the result; a real module run is never on the controller.
    monkeypatch.setattr(module_internal, "is_controller", False)
    r = run(Agent(), name="node-exporter-172.30.12.100")
    assert not r.get("failed")
    assert any("not DNS-safe" in json.dumps(w) for w in r.get("warnings", [])), r


def test_token_never_in_output(run):
    r = run(Agent(), token="s3cr3t-t0ken", **SEED_NODE_EXPORTER)
    assert "s3cr3t-t0ken" not in json.dumps(r)
