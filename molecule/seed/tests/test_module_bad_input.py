"""Bad input to the collection's modules (and the consul role's addresses) against the seed's
three real Consul agents: each run fails with one line naming the bad value, reports no change,
and leaves every agent's services and checks, every config file and every process as they were;
node_exporter's and cAdvisor's registrations stay intact."""

import time
from pathlib import Path

import pytest
import requests
import testinfra
from sdstack_molecule.host_state import CONSUL_BINARY, file_identity
from sdstack_molecule.refusals import assert_refused
from sdstack_molecule.playbook_run import run_playbook

ADDR = "10.89.20.31"
HTTP_PORTS = (8500, 8510, 8520)
AGENT = "http://127.0.0.1:8500"  # node1's agent, where the exporters are registered
PLAYBOOK = Path(__file__).resolve().parents[1] / "modules.yml"
HOST = "consul-seed"
# Over `podman exec`: two reads per case, without an Ansible run each.
HOST_IO = testinfra.get_host("podman://" + HOST)
HTTP = requests.Session()
HTTP.trust_env = False  # lab addresses only, never through a proxy


def _agent_state():
    """Services and checks as each agent holds them. A check's Output is the last probe's text (it
    changes on every run of the check) and its Status the last probe's verdict (seen flipping on a
    loaded run, where an agent's own HTTP check timed out between two cases): both are left out,
    while every field of its definition is compared."""
    out = {}
    for port in HTTP_PORTS:
        base = "http://%s:%d/v1/agent/" % (ADDR, port)
        checks = HTTP.get(base + "checks", timeout=10).json()
        out[port] = dict(services=HTTP.get(base + "services", timeout=10).json(),
                         checks={k: {f: v for f, v in c.items() if f not in ("Output", "Status")} for k, c in checks.items()})
    return out


def _host_state():
    """Config files, units, and the PIDs of every service the seed runs: a restart or a reload
    (a handler) would change one of them."""
    return HOST_IO.check_output(
        file_identity(CONSUL_BINARY) + " sha256sum /etc/consul.d/*/consul.json /etc/systemd/system/consul@.service;"
        " for u in consul@node1 consul@node2 consul@node3 node_exporter cadvisor nginx prometheus; do"
        " echo $u $(systemctl show -p MainPID -p ActiveEnterTimestamp -p NRestarts --value $u); done")


@pytest.fixture(scope="module", autouse=True)
def healthy_cluster():
    """An earlier test stops and restarts one server: start from a healthy three-voter cluster."""
    deadline = time.monotonic() + 90
    while True:
        try:
            r = HTTP.get("http://%s:8500/v1/operator/autopilot/health" % ADDR, timeout=5)
            if r.status_code == 200 and r.json()["Healthy"] and len(r.json()["Servers"]) == 3:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            pytest.fail("the seed's cluster is not healthy with three servers after 90s")
        time.sleep(1)


@pytest.fixture
def unchanged():
    before = (_agent_state(), _host_state())
    yield
    after = (_agent_state(), _host_state())
    assert after[0] == before[0], "a refused call changed an agent's services or checks"
    assert after[1] == before[1], "a refused call changed a file or (re)started a service"
    services = after[0][8500]["services"]
    assert {"node-exporter", "cadvisor-exporter"} <= set(services), sorted(services)


SERVICE = [
    # Consul has script checks, but this module does not run arbitrary commands on agents.
    ({"name": "bad-check", "checks": [{"script": "/bin/true", "interval": "10s"}]},
     "Unsupported parameters for (sdstack.consul.consul_service) module: checks.script."),
    ({"services": [{"name": "bad-check", "checks": [{"htttp": "http://127.0.0.1:9100/", "interval": "10s"}]}]},
     "services[0]: unknown option checks.htttp."),
    ({"name": "bad-check", "checks": [{"interval": "10s"}]},
     "service: service bad-check check 1: give exactly one of http, tcp, ttl, grpc (got none)"),
    ({"name": "bad-check", "checks": [{"http": "127.0.0.1:9100/metrics", "interval": "10s"}]},
     "service: service bad-check check 1: http '127.0.0.1:9100/metrics' is not an http:// or https:// URL"),
    ({"name": "bad-check", "checks": [{"tcp": "127.0.0.1:9100", "interval": "10 seconds"}]},
     "service: service bad-check check 1: interval '10 seconds' is not a duration like 10s, 1m30s or 500ms"),
    ({"name": "bad-address", "address": "10.0.0.300", "port": 9100},
     "service: service bad-address: address '10.0.0.300' is neither an IP address nor a host name"),
    ({"name": "bad-port", "port": 70000}, "service: service bad-port: port 70000 is not in 0-65535"),
    ({"name": "bad-port", "port": "http"}, "argument 'port' is of type str and we were unable to convert to int"),
    ({"name": "bad-meta", "meta": {"consul-version": "1.8.7"}},
     "service: service bad-meta: meta key 'consul-version': the prefix 'consul-' is reserved for Consul"),
    ({"name": "bad-meta", "meta": {"team name": "x"}},
     "service: service bad-meta: meta key 'team name' may hold only letters, digits, '_' and '-' (1-128)"),
    ({"name": "unreachable", "url": "http://127.0.0.1:1"},
     "no Consul agent reachable: http://127.0.0.1:1 ([Errno 111] Connection refused)"),
    ({"name": "not-http", "url": "ftp://127.0.0.1:8500"}, "url: 'ftp://127.0.0.1:8500' is not an http:// or https:// URL"),
    ({"name": "two-agents", "url": [AGENT, "http://127.0.0.1:8510"]},
     "url: agent endpoints are node-local; give the one agent that owns the services (got 2 URLs)"),
    ({"services": [{"name": "dup"}, {"name": "other", "id": "dup"}]}, "services: id(s) given twice: dup"),
    # The first element is valid: it must not be written when the second is not.
    ({"services": [{"name": "bulk-ok", "port": 1}, {"name": "bulk-bad", "port": 70000}]},
     "services[1]: service bulk-bad: port 70000 is not in 0-65535"),
]

# A refusal that waiting cannot mend comes at once: well under this wait_timeout.
WAIT = 120

RAFT = [
    ({"expected_voters": ["node1", "node2", "node3", "node4"]},
     "voters 3/4, node4 missing (node4: no such server in this cluster)"),
    ({"expected_voters": ["node1", "node2", "node3"], "min_failure_tolerance": 2, "wait": True, "wait_timeout": WAIT},
     "min_failure_tolerance: 2 can never hold with 3 voters (at most 1: a quorum of 2 must survive)"),
    ({"expected_voters": 0}, "expected_voters: 0 is not a positive number of voters"),
    ({"url": "http://127.0.0.1:1"}, "no Consul agent reachable: http://127.0.0.1:1 ([Errno 111] Connection refused)"),
    ({"synced_node": {"name": "node2", "url": AGENT}}, "node2: the given URL answers as node 'node1'"),
]

ROLE = [
    ({"consul_advertise_address": "10.0.0.300"}, "consul_advertise_address of consul-seed: '10.0.0.300' is not an IP address"),
    ({"consul_advertise_address": "not-an-ip"}, "consul_advertise_address of consul-seed: 'not-an-ip' is not an IP address"),
    ({"consul_client_address": "0.0.0.0 not-an-ip"},
     "consul_client_address of consul-seed: 'not-an-ip' is not an IP address (in '0.0.0.0 not-an-ip')"),
]


def _run(module, extra):
    """The run's return code and output, and how long it took."""
    start = time.monotonic()
    rc, out = run_playbook(PLAYBOOK, dict(extra, module=module))
    return rc, out, time.monotonic() - start


@pytest.mark.parametrize("args,message", SERVICE, ids=[
    "script-check", "misspelled-check-kind-bulk", "check-without-kind", "http-check-not-a-url", "bad-interval",
    "invalid-address", "port-out-of-range", "port-not-int", "reserved-meta-key", "meta-key-with-space",
    "agent-unreachable", "url-not-http", "two-urls", "bulk-duplicate-id", "bulk-bad-second-element"])
def test_consul_service_refuses(unchanged, args, message):
    rc, out, _log = _run("consul_service", {"module_args": dict({"url": AGENT}, **args)})
    assert_refused(rc, out, [HOST], message)


@pytest.mark.parametrize("args,message", RAFT, ids=[
    "unknown-voter", "impossible-tolerance", "zero-voters", "unreachable", "synced-node-wrong-url"])
def test_consul_raft_refuses(unchanged, args, message):
    urls = ["http://127.0.0.1:%d" % p for p in HTTP_PORTS]
    rc, out, took = _run("consul_raft", {"module_args": dict({"url": urls}, **args)})
    msg = assert_refused(rc, out, [HOST], message)[HOST]
    assert msg.startswith(message), msg
    # The whole playbook run, Ansible's start included, in a quarter of the wait it was given.
    assert took < WAIT / 4, "refused after %.0fs with wait_timeout %ds" % (took, WAIT)


@pytest.mark.parametrize("extra,message", ROLE, ids=["advertise-bad-octet", "advertise-not-an-ip", "client-not-an-ip"])
def test_consul_role_refuses_bad_addresses(unchanged, extra, message):
    rc, out, _log = _run("consul_role", extra)
    assert_refused(rc, out, [HOST], message)
