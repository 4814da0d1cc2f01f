"""The consul role's multi-datacenter refusals, run by ansible-playbook on inventories/multidc.

Each case fails in validate.yml's first templating tasks, on the controller, before the role
contacts any host (the hosts' connection would time out at once anyway, so a run that went
further could change nothing). One line per host, naming the value.
"""

import functools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from role_refusals import ROOT, check_refused, clean_env, run_consul_role

run = functools.partial(run_consul_role, inventory="multidc")
INVENTORY_BIN = Path(sys.executable).parent / "ansible-inventory"
SERVERS = ("consul1", "consul2", "consul3", "dc2-servers")


def test_the_example_inventory_lists_two_datacenters(collections):
    done = subprocess.run([str(INVENTORY_BIN), "-i", str(ROOT / "inventories" / "multidc"), "--list"],
                          env=clean_env(collections), capture_output=True, text=True, timeout=120, check=True)
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
    check_refused(rc, out, {h: message for h in SERVERS + ("consul4",)})


def test_a_primary_without_servers_is_refused(collections):
    rc, out = run(collections, "consul_servers", {"consul_primary_datacenter": "dc3"})
    check_refused(rc, out, {h: "consul_primary_datacenter: 'dc3' has no servers (datacenters with servers: dc1, dc2)"
                            for h in SERVERS})


def test_acls_across_datacenters_without_a_primary_are_refused(collections):
    rc, out = run(collections, "consul_servers", {"consul_primary_datacenter": "", "consul_acl": True,
                                                  "consul_secrets_dir": "/nonexistent/secrets"})
    check_refused(rc, out, {h: "consul_primary_datacenter: required with ACLs across several datacenters (dc1, dc2): name"
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
    check_refused(rc, out, {h: message for h in SERVERS})


def test_a_retry_join_override_mixing_datacenters_is_refused(collections):
    extra = {"dc2": {"vars": {"consul_extra_config": {"retry_join": ["10.0.1.11:8301"]}}}}
    rc, out = run(collections, "consul_servers", inventory_extra=extra)
    message = ("retry_join of node1 (datacenter dc2) names 10.0.1.11:8301, server consul1 of datacenter dc1: a"
               " datacenter's servers join only each other over LAN (the other datacenters are joined over WAN)")
    check_refused(rc, out, {h: message for h in SERVERS})


def test_a_client_in_a_datacenter_without_servers_is_refused(collections):
    extra = {"consul_clients": {"hosts": {"app3": {"ansible_host": "10.0.3.21", "consul_datacenter": "dc3"}}}}
    # app3 alone: the other clients would go on to their (unreachable) servers' precheck.
    rc, out = run(collections, "app3", inventory_extra=extra)
    check_refused(rc, out, {"app3": "consul_datacenter of app3: 'dc3' has no servers (datacenters with servers: dc1, dc2)"})
