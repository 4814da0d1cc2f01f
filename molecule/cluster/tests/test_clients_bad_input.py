"""Bad input about client agents, against the running cluster: each run fails with a one-line
reason naming the value, and the live configuration, binary and agents of every server and
client are left exactly as they were."""

import json
import subprocess
from pathlib import Path

import consul
import pytest
from sdstack_molecule.host_state import CONSUL_BINARY, file_identity
from sdstack_molecule.playbook_run import run_playbook
from sdstack_molecule.refusals import assert_refused

HERE = Path(__file__).resolve().parent
SERVERS = ["consul1", "consul2", "consul3"]
CLIENTS = ["monitor", "app1", "app2"]
ADDRESSES = {"consul1": "10.89.20.21", "consul2": "10.89.20.22", "consul3": "10.89.20.23"}
testinfra_hosts = ["consul1"]  # the checks below address every host themselves


def podman(*args):
    return subprocess.run(["podman", *args], check=True, capture_output=True, text=True).stdout


def snapshot():
    """Bytes of every live agent config, the binary's identity, and each agent's PID, per host."""
    return {h: podman("exec", h, "sh", "-c",
                      file_identity(CONSUL_BINARY)
                      + " sha256sum /etc/consul.d/*/consul.json /etc/consul.d/*/secrets.json"
                      " /etc/systemd/system/consul@.service; systemctl show -p MainPID -p ActiveEnterTimestamp"
                      " 'consul@*'")
            for h in SERVERS + CLIENTS}


@pytest.fixture
def unchanged():
    before = snapshot()
    yield
    assert snapshot() == before, "a rejected run changed the live cluster"


def run(playbook, extra, tmp_path=None, groups=None):
    more = []
    if groups:
        inv = tmp_path / "extra.yml"
        inv.write_text(json.dumps(groups))
        more = ["-i", str(inv)]
    return run_playbook(HERE.parent / playbook, extra, *more)


def test_a_host_in_both_groups_is_refused_on_every_host(unchanged, tmp_path):
    # consul1 (a server) also listed as a client: the clients' play refuses on every host.
    rc, out = run("clients.yml", {}, tmp_path, {"consul_clients": {"hosts": {"consul1": None}}})
    assert_refused(rc, out, ["consul1"] + CLIENTS, "consul1 is in both ",
                   "a host runs a server or a client agent, not both")


def test_a_client_that_reaches_no_server_names_the_addresses_tried(unchanged):
    # Nothing listens on port 9 of the servers: the client could never join.
    rc, out = run("clients.yml", {"consul_ports": {"serf_lan": 9}, "consul_client_precheck_timeout": 2})
    tried = ", ".join("%s:9" % ADDRESSES[s] for s in SERVERS)
    for h in CLIENTS:
        assert_refused(rc, out, [h], "consul client %s reaches none of its servers (tried %s): nothing was changed"
                       % (h, tried))


@pytest.mark.parametrize("playbook,extra,hosts,message", [
    ("consul.yml", {"consul_group": "consul_sevrers"}, SERVERS,
     "consul_group: 'consul_sevrers' is not an inventory group (the Consul servers' group)"),
    ("clients.yml", {"consul_clients_group": "apps"}, CLIENTS,
     "consul_clients_group: 'apps' is not an inventory group ({host} runs the consul role but is not in"
     " consul_servers either)"),
], ids=["unknown-servers-group", "unknown-clients-group"])
def test_an_unknown_group_name_is_refused(unchanged, playbook, extra, hosts, message):
    rc, out = run(playbook, extra)
    for h in hosts:
        assert_refused(rc, out, [h], message.format(host=h))


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost"])
def test_a_registration_on_a_named_agent_without_a_reachable_address_is_refused(unchanged, address):
    # app1 pretends it cannot run an agent: its node_exporter would register on consul1's, with an
    # address consul1 (and Prometheus) would resolve to themselves.
    addresses = (("consul1", "10.89.20.21"), ("app1", "10.89.20.25"))
    agents = {h: consul.Consul(host=a, port=8500, timeout=10) for h, a in addresses}
    before = {h: sorted(c.agent.services()) for h, c in agents.items()}
    rc, out = run_playbook(HERE.parent / "node_exporter.yml",
                           {"node_exporter_consul_agent_host": "consul1", "node_exporter_service_address": address},
                           "--limit", "app1")
    assert_refused(rc, out, ["app1"], "node_exporter of app1 registers on consul1's agent"
                   " (node_exporter_consul_agent_host) but has no address consul1 can reach (got %r):"
                   " set node_exporter_service_address" % address)
    assert {h: sorted(c.agent.services()) for h, c in agents.items()} == before
