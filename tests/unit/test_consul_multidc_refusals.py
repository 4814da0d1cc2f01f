"""The consul role's multi-datacenter refusals, run by ansible-playbook on inventories/multidc.

Each case fails in validate.yml's first templating tasks, on the controller, before the role
contacts any host (the hosts' connection would time out at once anyway, so a run that went
further could change nothing). One line per host, naming the value.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK_BIN = Path(sys.executable).parent / "ansible-playbook"
INVENTORY_BIN = Path(sys.executable).parent / "ansible-inventory"
NOWHERE = {"ansible_connection": "ssh", "ansible_ssh_timeout": 1}
SERVERS = ("consul1", "consul2", "consul3", "dc2-servers")


def _env(collections):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(collections), ANSIBLE_NOCOLOR="1", ANSIBLE_RETRY_FILES_ENABLED="0",
               ANSIBLE_HOST_KEY_CHECKING="0")
    return env


def run(collections, hosts, extra=None, inventory_extra=None):
    play = collections.parent / "play.yml"
    play.write_text(json.dumps([{"name": "consul", "hosts": hosts, "gather_facts": False,
                                 "roles": [{"role": "sdstack.consul.consul"}]}]))
    cmd = [str(PLAYBOOK_BIN), "-i", str(ROOT / "inventories" / "multidc")]
    if inventory_extra:
        inv = collections.parent / "extra.json"
        inv.write_text(json.dumps(inventory_extra))
        cmd += ["-i", str(inv)]
    cmd += [str(play), "-e", json.dumps(dict(NOWHERE, **(extra or {})))]
    done = subprocess.run(cmd, cwd=collections.parent, env=_env(collections), capture_output=True, text=True,
                          timeout=120, check=False)
    return done.returncode, done.stdout + done.stderr


def failures(out):
    """host -> msg of each fatal line."""
    got = {}
    for line in out.splitlines():
        if line.startswith("fatal: ["):
            got[line[len("fatal: ["):line.index("]")]] = json.loads(line.split("=> ", 1)[1])["msg"]
    return got


def _check(rc, out, expected):
    assert rc != 0 and "Traceback" not in out, out[-3000:]
    got = failures(out)
    assert set(got) == set(expected), out[-3000:]
    for host, message in expected.items():
        assert "\n" not in got[host] and got[host].endswith(message), (host, got[host])
    assert "unreachable=1" not in out, "a host was contacted: " + out[-3000:]


def test_the_example_inventory_lists_two_datacenters(collections):
    done = subprocess.run([str(INVENTORY_BIN), "-i", str(ROOT / "inventories" / "multidc"), "--list"],
                          env=_env(collections), capture_output=True, text=True, timeout=120, check=True)
    hostvars = json.loads(done.stdout)["_meta"]["hostvars"]
    assert {h: v["consul_datacenter"] for h, v in hostvars.items()} == {
        "consul1": "dc1", "consul2": "dc1", "consul3": "dc1", "app1": "dc1", "monitor": "dc1",
        "dc2-servers": "dc2", "app2": "dc2"}
    assert {v["consul_primary_datacenter"] for v in hostvars.values()} == {"dc1"}
    assert [i["name"] for i in hostvars["dc2-servers"]["consul_instances"]] == ["node1", "node2", "node3"]


def test_a_server_without_a_datacenter_among_several_is_refused(collections):
    extra = {"consul_servers": {"hosts": {"consul4": {"ansible_host": "10.0.1.14"}}}}
    rc, out = run(collections, "consul_servers", inventory_extra=extra)
    message = ("consul_datacenter is not set for server consul4 while others name theirs (dc1, dc2): with several"
               " datacenters set it for every server, in group_vars or host_vars")
    _check(rc, out, {h: message for h in SERVERS + ("consul4",)})


def test_a_primary_without_servers_is_refused(collections):
    rc, out = run(collections, "consul_servers", {"consul_primary_datacenter": "dc3"})
    _check(rc, out, {h: "consul_primary_datacenter: 'dc3' has no servers (datacenters with servers: dc1, dc2)"
                     for h in SERVERS})


def test_acls_across_datacenters_without_a_primary_are_refused(collections):
    rc, out = run(collections, "consul_servers", {"consul_primary_datacenter": "", "consul_acl": True,
                                                  "consul_secrets_dir": "/nonexistent/secrets"})
    _check(rc, out, {h: "consul_primary_datacenter: required with ACLs across several datacenters (dc1, dc2): name"
                        " the one that holds the authoritative ACLs" for h in SERVERS})


@pytest.mark.parametrize("name,dc1,dc2", [
    ("consul_secrets_dir", "/srv/consul/fed", "/srv/consul/dc2"),
    ("consul_gossip_encryption", True, False),
])
def test_datacenters_with_different_gossip_keys_are_refused(collections, name, dc1, dc2):
    extra = {"dc1": {"vars": {name: dc1}}, "dc2": {"vars": {name: dc2}}}
    rc, out = run(collections, "consul_servers", inventory_extra=extra)
    message = ("datacenters disagree on %s: %s %r on consul1 (dc1), %s %r on dc2-servers (dc2): WAN gossip needs the"
               " same gossip key and TLS the same CA in every datacenter, and both come from consul_secrets_dir"
               % (name, name, dc1, name, dc2))
    _check(rc, out, {h: message for h in SERVERS})


def test_a_retry_join_override_mixing_datacenters_is_refused(collections):
    extra = {"dc2": {"vars": {"consul_extra_config": {"retry_join": ["10.0.1.11:8301"]}}}}
    rc, out = run(collections, "consul_servers", inventory_extra=extra)
    message = ("retry_join of node1 (datacenter dc2) names 10.0.1.11:8301, server consul1 of datacenter dc1: a"
               " datacenter's servers join only each other over LAN (the other datacenters are joined over WAN)")
    _check(rc, out, {h: message for h in SERVERS})


def test_a_client_in_a_datacenter_without_servers_is_refused(collections):
    extra = {"consul_clients": {"hosts": {"app3": {"ansible_host": "10.0.3.21", "consul_datacenter": "dc3"}}}}
    # app3 alone: the other clients would go on to their (unreachable) servers' precheck.
    rc, out = run(collections, "app3", inventory_extra=extra)
    _check(rc, out, {"app3": "consul_datacenter of app3: 'dc3' has no servers (datacenters with servers: dc1, dc2)"})
