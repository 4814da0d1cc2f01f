"""consul_federation and friends: datacenters from inventory, who joins whom over LAN and WAN,
what an agent's configuration adds, and the one-line refusals of a federation that cannot work.

The example inventory inventories/multidc (dc1: three servers one per VM, dc2: the seed's three
servers on one host) is read as Ansible reads it; single-datacenter output is held to the golden
files by test_consul_config.py, and here to an empty federation block."""


import pytest
from ansible.errors import AnsibleFilterError
from ansible.inventory.manager import InventoryManager
from ansible.parsing.dataloader import DataLoader
from ansible.vars.manager import VariableManager

from ansible_collections.sdstack.consul.plugins.filter import consul_federation as fed
from ansible_collections.sdstack.consul.plugins.filter import consul_topology as topo
from ansible_collections.sdstack.consul.plugins.filter.consul_config import consul_agent_config, consul_agent_secrets
from consul_role_settings import DEFAULTS, ROOT, SEED_INSTANCES, settings


def inventory(name):
    """hostvars and groups of a shipped inventory, as a play sees them (no facts)."""
    loader = DataLoader()
    inv = InventoryManager(loader=loader, sources=[str(ROOT / "inventories" / name)])
    variables = VariableManager(loader=loader, inventory=inv)
    hostvars = {h.name: dict(variables.get_vars(host=h)) for h in inv.get_hosts()}
    groups = {g: [h.name for h in inv.groups[g].get_hosts()] for g in inv.groups}
    return hostvars, groups


@pytest.fixture(name="multidc", scope="module")
def fixture_multidc():
    hostvars, groups = inventory("multidc")
    servers = topo.consul_instances(hostvars, groups["consul_servers"])
    return hostvars, groups, servers


def federation(multidc, **kw):
    hostvars, servers = multidc[0], multidc[2]
    kw.setdefault("primary", hostvars["consul1"]["consul_primary_datacenter"])
    return fed.consul_federation(servers, hostvars, **kw)


def refusal(call, *args, **kw):
    with pytest.raises(AnsibleFilterError) as e:
        call(*args, **kw)
    assert "\n" not in str(e.value)
    return str(e.value)


# A small two-datacenter inventory built in place: dc1 one server per VM, dc2 the seed's shape.
def two_dcs(**over):
    hv = {
        "a1": {"ansible_host": "10.0.1.1", "consul_datacenter": "dc1"},
        "a2": {"ansible_host": "10.0.1.2", "consul_datacenter": "dc1"},
        "a3": {"ansible_host": "10.0.1.3", "consul_datacenter": "dc1"},
        "b": {"ansible_host": "10.0.2.1", "consul_datacenter": "dc2", "consul_instances": SEED_INSTANCES},
    }
    for host, values in over.items():
        hv[host] = dict(hv[host], **values)
        hv[host] = {k: v for k, v in hv[host].items() if v is not None}
    return hv, topo.consul_instances(hv, list(hv))


# --- The model ---------------------------------------------------------------------------------

def test_the_example_inventory_has_two_datacenters_in_inventory_order(multidc):
    got = federation(multidc)
    assert got["datacenters"] == ["dc1", "dc2"] and got["several"] and got["primary"] == "dc1"
    assert {s["name"]: s["datacenter"] for s in got["servers"]} == {
        "consul1": "dc1", "consul2": "dc1", "consul3": "dc1", "node1": "dc2", "node2": "dc2", "node3": "dc2"}


def test_each_datacenter_is_its_own_cluster(multidc):
    got = federation(multidc)
    dc1 = fed.consul_datacenter_servers(got, "dc1")
    dc2 = fed.consul_datacenter_servers(got, "dc2")
    assert topo.consul_retry_join(dc1) == ["10.0.1.11:8301", "10.0.1.12:8301", "10.0.1.13:8301"]
    assert topo.consul_retry_join(dc2) == ["10.0.2.10:8301", "10.0.2.10:8311", "10.0.2.10:8321"]
    assert topo.consul_bootstrap_expect(dc1) == 3 and topo.consul_bootstrap_expect(dc2) == 3


def test_wan_join_lists_every_server_of_the_other_datacenters_on_its_own_serf_wan_port(multidc):
    got = federation(multidc)
    assert fed.consul_retry_join_wan(got, "dc1") == ["10.0.2.10:8302", "10.0.2.10:8312", "10.0.2.10:8322"]
    assert fed.consul_retry_join_wan(got, "dc2") == ["10.0.1.11:8302", "10.0.1.12:8302", "10.0.1.13:8302"]


def test_a_disabled_serf_wan_port_is_not_joined():
    hv, servers = two_dcs()
    servers[3]["ports"]["serf_wan"] = -1
    got = fed.consul_federation(servers, hv)
    assert fed.consul_retry_join_wan(got, "dc1") == ["10.0.2.1:8312", "10.0.2.1:8322"]


def test_three_datacenters_join_both_others():
    hv, servers = two_dcs()
    hv["c"] = {"ansible_host": "10.0.3.1", "consul_datacenter": "dc3"}
    servers = topo.consul_instances(hv, list(hv))
    got = fed.consul_federation(servers, hv)
    assert got["datacenters"] == ["dc1", "dc2", "dc3"]
    assert fed.consul_retry_join_wan(got, "dc3") == [
        "10.0.1.1:8302", "10.0.1.2:8302", "10.0.1.3:8302", "10.0.2.1:8302", "10.0.2.1:8312", "10.0.2.1:8322"]


def test_one_datacenter_has_no_wan_and_takes_the_hosts_name():
    hv = {"s": {"ansible_host": "10.0.0.1", "consul_instances": SEED_INSTANCES}}
    servers = topo.consul_instances(hv, ["s"])
    got = fed.consul_federation(servers, hv, local_datacenter="east")
    assert (got["datacenters"], got["several"], got["primary"]) == (["east"], False, "")
    assert fed.consul_retry_join_wan(got, "east") == []
    assert fed.consul_wan_settings(got, "east", True, True) == {}
    assert fed.consul_datacenter_servers(got, "east") == got["servers"]


def test_every_server_in_one_named_datacenter_is_one_datacenter():
    hv, servers = two_dcs(b={"consul_datacenter": "dc1", "ansible_host": "10.0.2.1"})
    got = fed.consul_federation(servers, hv)
    assert (got["datacenters"], got["several"]) == (["dc1"], False)


def test_servers_left_to_the_default_join_an_explicit_dc1():
    # dc1 is the role's default: hosts without consul_datacenter are in it, with explicit dc1 hosts.
    hv, servers = two_dcs(a1={"consul_datacenter": None}, b={"consul_datacenter": "dc1"})
    assert fed.consul_federation(servers, hv)["datacenters"] == ["dc1"]
    assert fed.DEFAULT_DATACENTER == DEFAULTS["consul_datacenter"]


# --- What consul.json gets -------------------------------------------------------------------------

def render(multidc, node, acl=False, version="1.8.7", client=None):
    """consul.json of one server (or, with ``client``, of that host's client agent), wired as the role does."""
    hostvars, groups, servers = multidc
    got = federation(multidc, acl=acl)
    if client:
        dc = hostvars[client]["consul_datacenter"]
        inst = dict(topo.consul_instances(hostvars, [client])[0], client=True)
        server = False
    else:
        inst = next(s for s in got["servers"] if s["name"] == node)
        dc = inst["datacenter"]
        server = True
    cluster = fed.consul_datacenter_servers(got, dc)
    wan = fed.consul_wan_settings(got, dc, server, acl)
    return cfg_render(inst, cluster, version, settings(consul_datacenter=dc, consul_acl=acl), wan)


def cfg_render(inst, cluster, version, s, wan):
    return consul_agent_config(inst, cluster, version, s, wan)


def test_a_dc1_server_joins_dc1_over_lan_and_dc2_over_wan(multidc):
    got = render(multidc, "consul2")
    assert got["datacenter"] == "dc1" and got["bootstrap_expect"] == 3
    assert got["retry_join"] == ["10.0.1.11:8301", "10.0.1.12:8301", "10.0.1.13:8301"]
    assert got["retry_join_wan"] == ["10.0.2.10:8302", "10.0.2.10:8312", "10.0.2.10:8322"]
    assert got["primary_datacenter"] == "dc1"
    assert "acl" not in got


def test_a_dc2_seed_shaped_server_joins_its_own_instances_and_dc1_over_wan(multidc):
    got = render(multidc, "node2")
    assert got["datacenter"] == "dc2" and got["bootstrap_expect"] == 3
    assert got["retry_join"] == ["10.0.2.10:8301", "10.0.2.10:8311", "10.0.2.10:8321"]
    assert got["retry_join_wan"] == ["10.0.1.11:8302", "10.0.1.12:8302", "10.0.1.13:8302"]
    assert got["ports"]["serf_wan"] == 8312 and got["primary_datacenter"] == "dc1"


def test_token_replication_on_servers_outside_the_primary_only(multidc):
    dc2 = render(multidc, "node1", acl=True)
    dc1 = render(multidc, "consul1", acl=True)
    assert dc2["acl"] == {"enabled": True, "default_policy": "deny", "down_policy": "extend-cache",
                          "enable_token_replication": True}
    assert "enable_token_replication" not in dc1["acl"]


def test_client_agents_join_their_own_datacenter_and_know_the_primary(multidc):
    app2 = render(multidc, None, client="app2")
    assert app2["datacenter"] == "dc2" and app2["server"] is False
    assert app2["retry_join"] == ["10.0.2.10:8301", "10.0.2.10:8311", "10.0.2.10:8321"]
    assert app2["primary_datacenter"] == "dc1" and "retry_join_wan" not in app2
    monitor = render(multidc, None, client="monitor", acl=True)
    assert monitor["retry_join"] == ["10.0.1.11:8301", "10.0.1.12:8301", "10.0.1.13:8301"]
    assert "enable_token_replication" not in monitor["acl"]


def test_a_named_primary_is_written_with_one_datacenter_too():
    hv = {"s": {"ansible_host": "10.0.0.1", "consul_instances": SEED_INSTANCES}}
    got = fed.consul_federation(topo.consul_instances(hv, ["s"]), hv, primary="dc1", local_datacenter="dc1")
    assert fed.consul_wan_settings(got, "dc1", False) == {"primary_datacenter": "dc1"}


def test_extra_config_still_wins_over_the_federation_keys(multidc):
    got = federation(multidc)
    inst = dict(next(s for s in got["servers"] if s["name"] == "consul1"), extra_config={"retry_join_wan": ["x:1"]})
    out = consul_agent_config(inst, fed.consul_datacenter_servers(got, "dc1"), "1.8.7", settings(),
                              fed.consul_wan_settings(got, "dc1"))
    assert out["retry_join_wan"] == ["x:1"]


def test_the_replication_token_hook_goes_to_secrets_json():
    assert consul_agent_secrets("", "agent-s", "1.8.7", replication_token="repl-s\n") == {
        "acl": {"tokens": {"agent": "agent-s", "replication": "repl-s"}}}
    assert consul_agent_secrets("", "", "1.8.7", replication_token="repl-s") == {
        "acl": {"tokens": {"replication": "repl-s"}}}


def test_the_replication_token_exists_only_with_acls_across_datacenters_and_a_primary(multidc):
    tokens = fed.consul_replication_acl_tokens(federation(multidc, acl=True), True)
    assert [t["name"] for t in tokens] == ["acl-replication"]
    # What Consul asks of it: write ACL objects, and read what secondaries replicate beside them.
    rules = tokens[0]["rules"]
    assert 'acl = "write"' in rules and 'operator = "write"' in rules
    assert 'service_prefix "" { policy = "read" intentions = "read" }' in rules
    assert fed.consul_replication_acl_tokens(federation(multidc, acl=True), False) == []
    assert fed.consul_replication_acl_tokens(federation(multidc), "no") == []
    hv = {"s": {"ansible_host": "10.0.0.1", "consul_instances": SEED_INSTANCES}}
    one = fed.consul_federation(topo.consul_instances(hv, ["s"]), hv, primary="dc1", acl=True, local_datacenter="dc1")
    assert fed.consul_replication_acl_tokens(one, True) == []


def test_each_call_returns_its_own_copy_of_the_token():
    hv = {"a": {"ansible_host": "10.0.0.1", "consul_datacenter": "dc1"},
          "b": {"ansible_host": "10.0.0.2", "consul_datacenter": "dc2"}}
    got = fed.consul_federation(topo.consul_instances(hv, ["a", "b"]), hv, primary="dc1", acl=True)
    fed.consul_replication_acl_tokens(got, True)[0]["name"] = "changed"
    assert fed.consul_replication_acl_tokens(got, True)[0]["name"] == "acl-replication"


# --- Refusals ---------------------------------------------------------------------------------------

def test_a_server_without_a_datacenter_among_several_is_refused():
    hv, servers = two_dcs(a2={"consul_datacenter": None})
    assert refusal(fed.consul_federation, servers, hv) == (
        "consul_datacenter is not set for server a2 while others name theirs (dc1, dc2): with several datacenters"
        " set it for every server, in group_vars or host_vars")


def test_a_server_left_to_the_default_beside_one_other_named_datacenter_is_refused():
    # Two datacenters in effect: the default dc1 and east.
    hv, servers = two_dcs(a1={"consul_datacenter": "east"}, a2={"consul_datacenter": "east"},
                          a3={"consul_datacenter": "east"}, b={"consul_datacenter": None})
    assert refusal(fed.consul_federation, servers, hv).startswith("consul_datacenter is not set for server b while")


def test_a_primary_without_servers_is_refused():
    hv, servers = two_dcs()
    assert refusal(fed.consul_federation, servers, hv, primary="dc3") == (
        "consul_primary_datacenter: 'dc3' has no servers (datacenters with servers: dc1, dc2)")


def test_a_primary_without_servers_is_refused_with_one_datacenter_too():
    hv = {"s": {"ansible_host": "10.0.0.1"}}
    assert refusal(fed.consul_federation, topo.consul_instances(hv, ["s"]), hv, primary="dc2",
                   local_datacenter="dc1") == (
        "consul_primary_datacenter: 'dc2' has no servers (datacenters with servers: dc1)")


def test_acls_across_datacenters_need_a_primary():
    hv, servers = two_dcs()
    assert refusal(fed.consul_federation, servers, hv, acl=True) == (
        "consul_primary_datacenter: required with ACLs across several datacenters (dc1, dc2): name the one that"
        " holds the authoritative ACLs")
    assert fed.consul_federation(servers, hv, acl=True, primary="dc2")["primary"] == "dc2"


def test_a_bad_datacenter_name_is_refused():
    hv, servers = two_dcs(b={"consul_datacenter": "dc 2"})
    assert refusal(fed.consul_federation, servers, hv) == (
        "consul_datacenter of b: 'dc 2' is not a datacenter name (letters, digits, _ and - only)")


def test_a_client_in_a_datacenter_without_servers_is_refused():
    hv, servers = two_dcs()
    got = fed.consul_federation(servers, hv)
    assert refusal(fed.consul_datacenter_servers, got, "dc3", "app3") == (
        "consul_datacenter of app3: 'dc3' has no servers (datacenters with servers: dc1, dc2)")


@pytest.mark.parametrize("name,b_value,shown", [
    ("consul_secrets_dir", "/srv/secrets/dc2", "'/srv/secrets/dc2'"),
    ("consul_gossip_encryption", False, "False"),
    ("consul_tls", "no", "False"),
])
def test_datacenters_that_do_not_share_gossip_key_or_ca_are_refused(name, b_value, shown):
    shared = {"consul_secrets_dir": "/srv/secrets/fed", "consul_gossip_encryption": True, "consul_tls": True}
    hv, servers = two_dcs(a1=shared, a2=shared, a3=shared, b=dict(shared, **{name: b_value}))
    msg = refusal(fed.consul_federation, servers, hv)
    assert msg.startswith("datacenters disagree on %s: %s %r on a1 (dc1), %s %s on b (dc2): "
                          % (name, name, shared[name], name, shown)), msg
    assert msg.endswith("WAN gossip needs the same gossip key and TLS the same CA in every datacenter, and both come"
                        " from consul_secrets_dir")


def test_an_unset_shared_setting_counts_as_the_roles_default():
    hv, servers = two_dcs(b={"consul_gossip_encryption": "false", "consul_secrets_dir": ""})
    assert fed.consul_federation(servers, hv)["several"]
    assert dict(fed.SHARED) == {k: DEFAULTS[k] for k in dict(fed.SHARED)}


def test_acl_on_in_one_datacenter_only_is_refused():
    hv, servers = two_dcs(b={"consul_acl": True})
    assert refusal(fed.consul_federation, servers, hv) == (
        "datacenters disagree on consul_acl: consul_acl False on a1 (dc1), consul_acl True on b (dc2): ACLs are one"
        " system across datacenters")


def test_a_retry_join_override_naming_another_datacenters_server_is_refused():
    # The same name for two server sets: an override that makes b's instances join dc1's servers.
    hv, servers = two_dcs(b={"consul_extra_config": {"retry_join": ["10.0.1.1:8301"]}})
    assert refusal(fed.consul_federation, servers, hv) == (
        "retry_join of node1 (datacenter dc2) names 10.0.1.1:8301, server a1 of datacenter dc1: a datacenter's"
        " servers join only each other over LAN (the other datacenters are joined over WAN)")


def test_retry_join_overrides_that_differ_within_one_datacenter_are_refused():
    hv, servers = two_dcs(a1={"consul_extra_config": {"retry_join": ["10.0.1.1:8301", "10.0.1.2:8301"]}},
                          a2={"consul_extra_config": {"retry_join": ["10.0.1.3:8301"]}})
    assert refusal(fed.consul_federation, servers, hv) == (
        "retry_join of a1 and a2 (both datacenter dc1) list different servers: 10.0.1.1:8301, 10.0.1.2:8301 vs"
        " 10.0.1.3:8301: one datacenter name, one server set")


def test_the_same_retry_join_override_on_every_server_of_a_datacenter_is_accepted():
    same = {"consul_extra_config": {"retry_join": ["10.0.1.2:8301", "10.0.1.1:8301"]}}
    hv, servers = two_dcs(a1=same, a2={"consul_extra_config": {"retry_join": ["10.0.1.1:8301", "10.0.1.2:8301"]}})
    assert fed.consul_federation(servers, hv)["several"]


def test_an_instance_override_is_read_too():
    inst = [dict(SEED_INSTANCES[0], extra_config={"retry_join": ["10.0.1.3:8301"]})] + SEED_INSTANCES[1:]
    hv, servers = two_dcs(b={"consul_instances": inst})
    assert refusal(fed.consul_federation, servers, hv).startswith(
        "retry_join of node1 (datacenter dc2) names 10.0.1.3:8301, server a3 of datacenter dc1")


def test_checks_across_datacenters_stay_off_with_one():
    # One datacenter: the role's behaviour is as before issue 13 (no new refusal can fire).
    hv = {"a": {"ansible_host": "10.0.0.1", "consul_acl": True,
                "consul_extra_config": {"retry_join": ["10.9.9.9:8301"]}},
          "b": {"ansible_host": "10.0.0.2", "consul_secrets_dir": "/x",
                "consul_extra_config": {"retry_join": ["10.8.8.8:8301"]}}}
    got = fed.consul_federation(topo.consul_instances(hv, ["a", "b"]), hv, acl=True)
    assert not got["several"]


def test_server_and_acl_read_as_ansible_bools(multidc):
    got = federation(multidc, acl=True)
    assert fed.consul_wan_settings(got, "dc2", "False", "true") == {"primary_datacenter": "dc1"}
    assert fed.consul_wan_settings(got, "dc2", "yes", "true")["acl"] == {"enable_token_replication": True}
