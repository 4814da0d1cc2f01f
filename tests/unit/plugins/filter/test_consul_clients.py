"""Client agents: which hosts run one, their configuration, the reachability pre-check and the join check."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter import consul_clients as cl
from ansible_collections.sdstack.consul.plugins.filter import consul_config as cfg
from ansible_collections.sdstack.consul.plugins.filter import consul_topology as topo
from test_consul_config import DEFAULTS, SECURE, settings
from test_consul_keys import LINES, key_set, unknown_keys

HV = {
    "consul1": {"ansible_host": "10.0.0.11"}, "consul2": {"ansible_host": "10.0.0.12"},
    "consul3": {"ansible_host": "10.0.0.13"},
    "app1": {"ansible_host": "10.0.0.31"}, "app2.example.org": {"ansible_host": "10.0.0.32"},
}
SERVER_HOSTS = ["consul1", "consul2", "consul3"]
CLIENT_HOSTS = ["app1", "app2.example.org"]
GROUPS = {"consul_servers": SERVER_HOSTS, "consul_clients": CLIENT_HOSTS, "all": list(HV)}


def servers():
    return topo.consul_instances(HV, SERVER_HOSTS, DEFAULTS["consul_data_root"], DEFAULTS["consul_ports"])


def clients(hv=None, hosts=None):
    return cl.consul_client_instances(hv or HV, CLIENT_HOSTS if hosts is None else hosts, servers(),
                                      DEFAULTS["consul_data_root"], DEFAULTS["consul_ports"])


# --- which agent a host runs ------------------------------------------------------------

def test_a_host_runs_the_agent_of_its_group():
    assert cl.consul_agent_mode(GROUPS, "consul2") == "server"
    assert cl.consul_agent_mode(GROUPS, "app1") == "client"


def test_a_host_in_both_groups_is_refused():
    groups = dict(GROUPS, consul_clients=CLIENT_HOSTS + ["consul1"])
    with pytest.raises(AnsibleFilterError) as e:
        cl.consul_agent_mode(groups, "consul1")
    assert str(e.value) == ("consul1 is in both consul_servers (consul_group) and consul_clients (consul_clients_group):"
                            " a host runs a server or a client agent, not both")


def test_an_unknown_servers_group_is_named():
    with pytest.raises(AnsibleFilterError) as e:
        cl.consul_agent_mode(GROUPS, "consul1", "consul_sevrers")
    assert str(e.value) == "consul_group: 'consul_sevrers' is not an inventory group (the Consul servers' group)"


def test_an_unknown_clients_group_is_named_for_a_host_of_neither_group():
    with pytest.raises(AnsibleFilterError) as e:
        cl.consul_agent_mode(GROUPS, "app1", clients_group="apps")
    assert str(e.value) == ("consul_clients_group: 'apps' is not an inventory group (app1 runs the consul role but is"
                            " not in consul_servers either)")


def test_a_host_of_neither_group_is_refused():
    with pytest.raises(AnsibleFilterError, match=r"^monitor runs the consul role but is in neither consul_servers"):
        cl.consul_agent_mode(dict(GROUPS, monitor=["monitor"]), "monitor")


def test_inventories_without_clients_still_run_servers():
    # The seed, secure and faults inventories have no consul_clients group.
    assert cl.consul_agent_mode({"consul_servers": ["seed"]}, "seed") == "server"
    assert cl.consul_client_instances(HV, [], servers()) == []


# --- the client instances ----------------------------------------------------------------

def test_one_client_per_host_with_the_servers_shape():
    got = clients()
    assert [c["name"] for c in got] == ["app1", "app2"]
    assert [c["address"] for c in got] == ["10.0.0.31", "10.0.0.32"]
    assert all(c["client"] is True and c["ports"] == topo.DEFAULT_PORTS for c in got)
    assert got[0]["data_dir"] == "/opt/consul/app1"
    assert "client" not in servers()[0]


def test_a_client_that_is_a_server_is_refused_fleet_wide():
    with pytest.raises(AnsibleFilterError) as e:
        clients(hosts=["app1", "consul3"])
    assert str(e.value) == ("consul3 is in both the Consul servers' and the clients' group: a host runs a server or a"
                            " client agent, not both")


def test_a_client_node_name_taken_by_a_server_is_refused():
    hv = dict(HV, **{"consul1.other": {"ansible_host": "10.0.0.41"}})
    with pytest.raises(AnsibleFilterError) as e:
        clients(hv, ["consul1.other"])
    assert str(e.value) == "node name consul1 is used twice (on consul1 and consul1.other): node names must be unique"


def test_a_clients_bad_address_is_named():
    hv = dict(HV, app1={"consul_advertise_address": "10.0.0.300"})
    with pytest.raises(AnsibleFilterError, match=r"consul_advertise_address of app1: '10.0.0.300' is not an IP"):
        clients(hv)


def test_a_client_runs_one_agent():
    hv = dict(HV, app1={"ansible_host": "10.0.0.31", "consul_instances": [
        {"name": "a"}, {"name": "b", "ports": {"http": 1, "dns": 2, "server": 3, "serf_lan": 4, "serf_wan": 5}}]})
    with pytest.raises(AnsibleFilterError) as e:
        clients(hv)
    assert str(e.value) == "consul_instances of app1: a client host runs one agent, not 2"


# --- the client's configuration ----------------------------------------------------------

def test_client_config_has_no_server_keys_and_joins_the_servers():
    conf = cfg.consul_agent_config(clients()[0], servers(), "1.21.2", settings())
    assert conf["server"] is False
    for key in ("bootstrap_expect", "autopilot", "performance"):
        assert key not in conf
    assert conf["retry_join"] == ["10.0.0.11:8301", "10.0.0.12:8301", "10.0.0.13:8301"]
    assert conf["node_name"] == "app1" and conf["bind_addr"] == "10.0.0.31"
    assert conf["datacenter"] == "dc1" and conf["ports"]["serf_lan"] == 8301


def test_server_config_keeps_its_keys():
    conf = cfg.consul_agent_config(servers()[0], servers(), "1.21.2", settings())
    assert conf["server"] is True and conf["bootstrap_expect"] == 3
    assert conf["performance"] == {"raft_multiplier": 1} and conf["autopilot"] == DEFAULTS["consul_autopilot"]


@pytest.mark.parametrize("version,path", [("1.8.7", ()), ("1.21.2", ("tls", "defaults"))])
def test_client_tls_uses_its_own_certificate(version, path):
    conf = cfg.consul_agent_config(clients()[0], servers(), version, settings(**SECURE))
    tls = conf
    for part in path:
        tls = tls[part]
    assert tls["cert_file"] == "/etc/consul.d/tls/client.pem"
    assert tls["key_file"] == "/etc/consul.d/tls/client-key.pem"
    assert tls["verify_outgoing"] is True


@pytest.mark.parametrize("secure", [{}, SECURE], ids=["plain", "secure"])
@pytest.mark.parametrize("line", sorted(LINES))
def test_every_client_key_exists_in_that_line(line, secure):
    for inst in clients():
        conf = cfg.consul_agent_config(inst, servers(), LINES[line], settings(**secure))
        assert unknown_keys(conf, key_set(line)) == []


# --- reachability before any change, and the join --------------------------------------

def _waited(*reached):
    return {"results": [
        {"item": "10.0.0.11:8301", "changed": False, "failed": False, "failed_when_result": False,
         **({"state": "started", "port": 8301} if "10.0.0.11:8301" in reached else
            {"msg": "Timeout when waiting for 10.0.0.11:8301", "elapsed": 5})},
        {"item": "10.0.0.12:8301", "changed": False, "failed": False, "failed_when_result": False,
         **({"state": "started", "port": 8301} if "10.0.0.12:8301" in reached else
            {"msg": "Timeout when waiting for 10.0.0.12:8301", "elapsed": 5})},
    ]}


def test_a_client_that_reaches_no_server_names_every_address_tried():
    with pytest.raises(AnsibleFilterError) as e:
        cl.consul_join_precheck(_waited(), "app1")
    assert str(e.value) == ("consul client app1 reaches none of its servers (tried 10.0.0.11:8301, 10.0.0.12:8301):"
                            " nothing was changed")


def test_one_reachable_server_is_enough_to_join():
    assert cl.consul_join_precheck(_waited("10.0.0.12:8301"), "app1") == ["10.0.0.12:8301"]
    both = ["10.0.0.11:8301", "10.0.0.12:8301"]
    assert cl.consul_join_precheck(_waited(*both)) == both


def _member(name, status=1, build="1.8.7:abc123"):
    return {"Name": name, "Addr": "10.0.0.1", "Port": 8301, "Status": status, "Tags": {"build": build}}


def test_joined_when_every_server_and_itself_are_alive():
    members = [_member(n) for n in ("consul1", "consul2", "consul3", "app1", "app2")]
    got = cl.consul_join_state(members, servers(), "app1")
    assert got["joined"] is True and got["missing"] == []
    assert {"name": "app1", "version": "1.8.7"} in got["members"]


def test_a_failed_server_or_a_missing_self_is_not_joined():
    members = [_member("consul1"), _member("consul2", status=4), _member("consul3")]
    got = cl.consul_join_state(members, servers(), "app1")
    assert got["joined"] is False and got["missing"] == ["consul2", "app1"]


@pytest.mark.parametrize("answer", [None, "", {"errors": "ACL not found"}])
def test_no_members_list_is_not_joined(answer):
    got = cl.consul_join_state(answer, servers(), "app1")
    assert got == {"joined": False, "missing": ["consul1", "consul2", "consul3", "app1"], "members": []}


def test_a_skipped_precheck_tries_nothing():
    # Check mode skips wait_for: per item, or the whole loop.
    items = {"results": [{"item": "10.0.0.11:8301", "skipped": True, "changed": False}]}
    assert cl.consul_join_precheck(items, "app1") == []
    assert cl.consul_join_precheck({"skipped": True, "changed": False}, "app1") == []


# --- the secure profile ------------------------------------------------------------------

def test_each_client_gets_its_own_agent_token_limited_to_its_node():
    tokens = cl.consul_client_acl_tokens(clients())
    assert [t["name"] for t in tokens] == ["agent-app1", "agent-app2"]
    assert tokens[0]["rules"] == 'node "app1" { policy = "write" }\nservice_prefix "" { policy = "read" }\n'
    # The names pass the secrets layout check next to the servers' token and the operator's.
    names = cfg.consul_secrets_layout([{"name": "agent"}] + tokens + [{"name": "prometheus-sd"}], "/s", True)
    assert names == ["agent", "agent-app1", "agent-app2", "prometheus-sd"]


def test_an_operator_token_named_like_a_clients_is_refused():
    tokens = [{"name": "agent"}] + cl.consul_client_acl_tokens(clients()) + [{"name": "agent-app2"}]
    with pytest.raises(AnsibleFilterError, match="names must be unique"):
        cfg.consul_secrets_layout(tokens, "/s", True)


def test_a_host_reads_its_own_agent_token():
    assert cl.consul_agent_token_name(clients()[1:]) == "agent-app2"
    assert cl.consul_agent_token_name(servers()[:1]) == "agent"


def test_the_first_server_reached_is_enough_and_the_others_were_not_tried():
    first = {"results": [_waited("10.0.0.11:8301")["results"][0]]}
    rest = {"skipped": True, "changed": False, "results": [
        {"item": "10.0.0.12:8301", "skipped": True, "changed": False}]}
    assert cl.consul_join_precheck([first, rest], "app1") == ["10.0.0.11:8301"]


def test_the_first_server_out_of_reach_then_another_one_reached():
    first = {"results": [_waited()["results"][0]]}
    assert cl.consul_join_precheck(first, "app1", quiet=True) == []
    rest = {"results": [_waited("10.0.0.12:8301")["results"][1]]}
    assert cl.consul_join_precheck([first, rest], "app1") == ["10.0.0.12:8301"]


def test_none_reached_over_both_probes_names_every_address():
    waited = _waited()["results"]
    with pytest.raises(AnsibleFilterError) as e:
        cl.consul_join_precheck([{"results": waited[:1]}, {"results": waited[1:]}], "app1")
    assert "(tried 10.0.0.11:8301, 10.0.0.12:8301)" in str(e.value)
