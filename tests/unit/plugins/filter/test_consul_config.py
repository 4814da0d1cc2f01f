"""consul_agent_config / consul_agent_secrets: the lab's files unchanged, and every version's form."""

import os

import pytest
from ansible.errors import AnsibleFilterError
from ansible.plugins.filter.core import to_nice_json

from ansible_collections.sdstack.consul.plugins.filter import consul_config as cfg
from ansible_collections.sdstack.consul.plugins.filter import consul_topology as topo
from consul_role_settings import DEFAULTS, SEED_INSTANCES, repo_yaml as _yaml, settings

ROOT = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..")
GOLDEN = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "consul_golden")
LINES = ("1.8.7", "1.12.9", "1.14.10", "1.16.6", "1.21.2")


SECURE = dict(consul_tls=True, consul_acl=True, consul_gossip_encryption=True)


def seed_cluster(address="10.89.20.31"):
    """The seed and secure scenarios: one host, three servers told apart by ports."""
    hv = {"seed": {"consul_advertise_address": address, "consul_instances": SEED_INSTANCES}}
    return topo.consul_instances(hv, ["seed"], DEFAULTS["consul_data_root"], DEFAULTS["consul_ports"])


def vm_cluster():
    """inventories/cluster: one server per VM on Consul's default ports."""
    hosts = _yaml("inventories", "cluster", "hosts.yml")["all"]["hosts"]
    names = ["consul1", "consul2", "consul3"]
    return topo.consul_instances({h: hosts[h] for h in names}, names, DEFAULTS["consul_data_root"],
                                 DEFAULTS["consul_ports"])


SCENARIOS = {
    "seed": (seed_cluster, {}),
    "seed-secure": (seed_cluster, SECURE),
    "cluster": (vm_cluster, {}),
    "cluster-secure": (vm_cluster, SECURE),
}


def render(scenario, version):
    """consul.json of every instance of a scenario, for one version."""
    build, over = SCENARIOS[scenario]
    cluster = build()
    return [cfg.consul_agent_config(i, cluster, version, settings(**over)) for i in cluster]


def nice_json(data):
    """What the task writes: Ansible's to_nice_json(indent=2) and a final newline."""
    return to_nice_json(data, indent=2) + "\n"


def _golden(scenario, node, name):
    with open(os.path.join(GOLDEN, scenario, node, name), encoding="utf-8") as f:
        return f.read()


@pytest.mark.parametrize("scenario,address,over", [("seed", "10.89.20.31", {}), ("secure", "10.89.20.71", SECURE)])
def test_lab_consul_json_is_unchanged(scenario, address, over):
    cluster = seed_cluster(address)
    for inst in cluster:
        got = cfg.consul_agent_config(inst, cluster, "1.8.7", settings(**over))
        assert nice_json(got) == _golden(scenario, inst["name"], "consul.json")


def test_lab_cluster_consul_json_is_unchanged():
    names = ["consul1", "consul2", "consul3"]
    hv = {h: _yaml("molecule", "cluster", "inventory", "host_vars", h + ".yml") for h in names}
    cluster = topo.consul_instances(hv, names, DEFAULTS["consul_data_root"], DEFAULTS["consul_ports"])
    for inst in cluster:
        got = cfg.consul_agent_config(inst, cluster, "1.8.7", settings())
        assert nice_json(got) == _golden("cluster", inst["name"], "consul.json")


def test_seed_secrets_json_is_empty():
    assert nice_json(cfg.consul_agent_secrets("", "", "1.8.7")) == _golden("seed", "node1", "secrets.json")


def test_secure_secrets_json_is_unchanged():
    got = cfg.consul_agent_secrets("GOSSIP-KEY-PLACEHOLDER\n", "AGENT-TOKEN-PLACEHOLDER\n", "1.8.7")
    assert nice_json(got) == _golden("secure", "node1", "secrets.json")


def test_secure_secrets_carry_gossip_key_and_agent_token():
    got = cfg.consul_agent_secrets("a2V5\n", "0b1c-token\n", "1.21.2")
    assert got == {"encrypt": "a2V5", "acl": {"tokens": {"agent": "0b1c-token"}}}


@pytest.mark.parametrize("version,ui", [("1.8.7", {"ui": True}), ("1.9.0", {"ui_config": {"enabled": True}}),
                                        ("1.21.2", {"ui_config": {"enabled": True}})])
def test_ui_key_follows_the_version(version, ui):
    got = render("seed", version)[0]
    assert {k: got[k] for k in ("ui", "ui_config") if k in got} == ui


def test_instance_ui_wins_and_strings_read_as_ansible_bools():
    cluster = seed_cluster()
    inst = dict(cluster[0], ui="no")
    assert cfg.consul_agent_config(inst, cluster, "1.8.7", settings())["ui"] is False
    assert cfg.consul_agent_config(cluster[0], cluster, "1.8.7", settings(consul_ui="false"))["ui"] is False


def test_tls_before_1_12_is_top_level():
    got = render("seed-secure", "1.11.10")[1]
    assert "tls" not in got
    assert (got["ca_file"], got["tls_min_version"], got["verify_incoming_https"]) == \
        ("/etc/consul.d/tls/ca.pem", "tls12", False)
    assert got["ports"]["http"] == -1 and got["ports"]["https"] == 8510


def test_tls_from_1_12_is_the_stanza():
    got = render("seed-secure", "1.12.0")[0]
    assert not {"ca_file", "cert_file", "key_file", "verify_incoming_rpc", "verify_incoming_https",
                "verify_outgoing", "verify_server_hostname", "tls_min_version"} & set(got)
    assert got["tls"] == {
        "defaults": {"ca_file": "/etc/consul.d/tls/ca.pem", "cert_file": "/etc/consul.d/tls/server.pem",
                     "key_file": "/etc/consul.d/tls/server-key.pem", "verify_outgoing": True,
                     "tls_min_version": "TLSv1_2"},
        "internal_rpc": {"verify_incoming": True, "verify_server_hostname": True},
        "https": {"verify_incoming": False},
    }


def test_grpc_ports_written_disabled_from_1_14_only():
    assert not {"grpc", "grpc_tls"} & set(render("seed", "1.13.9")[0]["ports"])
    assert {k: v for k, v in render("seed", "1.14.0")[0]["ports"].items() if "grpc" in k} == \
        {"grpc": -1, "grpc_tls": -1}


def test_operator_grpc_port_is_written_for_old_versions_too():
    cluster = seed_cluster()
    inst = dict(cluster[0], ports=dict(cluster[0]["ports"], grpc=8502))
    assert cfg.consul_agent_config(inst, cluster, "1.8.7", settings())["ports"]["grpc"] == 8502


def test_extra_config_merges_recursively_instance_last():
    cluster = seed_cluster()
    inst = dict(cluster[0], extra_config={"performance": {"leave_drain_time": "1s"}, "log_level": "WARN"})
    got = cfg.consul_agent_config(inst, cluster, "1.8.7", settings(consul_extra_config={"log_level": "DEBUG"}))
    assert got["performance"] == {"raft_multiplier": 1, "leave_drain_time": "1s"} and got["log_level"] == "WARN"


def _effective_ports(config, version):
    """Every port the agent binds: the written ones, and the version's defaults for the rest."""
    ports = dict(config["ports"])
    if cfg.consul_version_tuple(version)[:2] >= (1, 14):
        ports.setdefault("grpc_tls", 8503)
    return [p for p in ports.values() if p != -1]


@pytest.mark.parametrize("scenario", ["seed", "seed-secure"])
def test_seed_for_1_21_uses_no_port_twice(scenario):
    used = [p for c in render(scenario, "1.21.2") for p in _effective_ports(c, "1.21.2")]
    assert len(used) == len(set(used)) == 15


@pytest.mark.parametrize("version,message", [
    ("latest", "consul_version: 'latest' is not a Consul release (like 1.21.2)"),
    ("1.21", "consul_version: '1.21' is not a Consul release (like 1.21.2)"),
    (1.8, "consul_version: 1.8 is not a Consul release (like 1.21.2)"),
    ("1.7.14", "consul_version: 1.7.14 is older than 1.8, the oldest release this role configures"),
])
def test_bad_versions_are_one_line(version, message):
    with pytest.raises(AnsibleFilterError) as e:
        render("seed", version)
    assert str(e.value) == message


@pytest.mark.parametrize("version", ["1.9.0-rc1", "1.9.0rc1", "v1.8.7", "1.16.0+ent"])
def test_release_strings_with_tags_are_read(version):
    assert cfg.consul_version_tuple(version)[:2] in ((1, 9), (1, 8), (1, 16))


@pytest.mark.parametrize("over,message", [
    ({"consul_acl": True, "consul_acl_default_policy": "block"},
     "consul_acl_default_policy: 'block' is not one of allow, deny"),
    ({"consul_acl": True, "consul_acl_down_policy": "cache"},
     "consul_acl_down_policy: 'cache' is not one of allow, deny, extend-cache, async-cache"),
    ({"consul_raft_multiplier": "fast"}, "consul_raft_multiplier: 'fast' is not a whole number"),
    ({"consul_tls": "maybe"}, "consul_tls: 'maybe' is not a boolean"),
    ({"consul_extra_config": ["a"]}, "consul_extra_config: ['a'] is not a mapping"),
])
def test_bad_settings_are_one_line(over, message):
    cluster = seed_cluster()
    with pytest.raises(AnsibleFilterError) as e:
        cfg.consul_agent_config(cluster[0], cluster, "1.8.7", settings(**over))
    assert str(e.value) == message


def test_settings_must_be_complete():
    cluster = seed_cluster()
    with pytest.raises(AnsibleFilterError, match="^consul settings: missing acl$"):
        cfg.consul_agent_config(cluster[0], cluster, "1.8.7", {k: v for k, v in settings().items() if k != "acl"})


def test_grpc_tls_before_1_14_is_refused():
    cluster = seed_cluster()
    inst = dict(cluster[0], ports=dict(cluster[0]["ports"], grpc_tls=8503))
    with pytest.raises(AnsibleFilterError) as e:
        cfg.consul_agent_config(inst, cluster, "1.12.9", settings())
    assert str(e.value) == "ports.grpc_tls of node1: 8503 needs Consul 1.14 or later (consul_version is 1.12.9)"


@pytest.mark.parametrize("pname", ["grpc", "grpc_tls"])
def test_grpc_ports_are_in_the_collision_check(pname):
    instances = [dict(i, ports=dict(i["ports"], **{pname: 8503})) for i in SEED_INSTANCES[:2]]
    with pytest.raises(AnsibleFilterError) as e:
        topo.consul_instances({"seed": {"consul_advertise_address": "10.0.0.1", "consul_instances": instances}}, ["seed"])
    assert str(e.value) == "port 8503 on 10.0.0.1 is used by both node1 (%s) and node2 (%s)" % (pname, pname)


@pytest.mark.parametrize("over,expected", [
    ({}, {"secure": False, "scheme": "http", "ca_path": ""}),
    ({"consul_gossip_encryption": "yes"}, {"secure": True, "scheme": "http", "ca_path": ""}),
    ({"consul_acl": True}, {"secure": True, "scheme": "http", "ca_path": ""}),
    ({"consul_tls": True}, {"secure": True, "scheme": "https", "ca_path": "/etc/consul.d/tls/ca.pem"}),
])
def test_security_view(over, expected):
    assert cfg.consul_security(settings(**over)) == expected


def test_security_view_refuses_a_non_boolean():
    with pytest.raises(AnsibleFilterError, match="^consul_gossip_encryption: 'sometimes' is not a boolean$"):
        cfg.consul_security(settings(consul_gossip_encryption="sometimes"))


@pytest.mark.parametrize("version", LINES)
@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
def test_every_agent_serves_prometheus_metrics_without_host_names(scenario, version):
    # /v1/agent/metrics?format=prometheus answers only with a retention time above zero.
    for config in render(scenario, version):
        assert config["telemetry"] == {"prometheus_retention_time": "60s", "disable_hostname": True}


def test_telemetry_can_be_tuned_through_extra_config():
    over = settings(consul_extra_config={"telemetry": {"prometheus_retention_time": "5m"}})
    cluster = seed_cluster()
    config = cfg.consul_agent_config(cluster[0], cluster, "1.21.2", over)
    assert config["telemetry"] == {"prometheus_retention_time": "5m", "disable_hostname": True}


# Issue 13: the role now passes each agent its datacenter's servers and the federation keys
# (consul_federation, consul_datacenter_servers, consul_wan_settings). With one datacenter and no
# primary the lab's files must come out byte for byte as before.
@pytest.mark.parametrize("scenario,address,over", [("seed", "10.89.20.31", {}), ("secure", "10.89.20.71", SECURE)])
def test_lab_consul_json_is_unchanged_through_the_federation_model(scenario, address, over):
    from ansible_collections.sdstack.consul.plugins.filter import consul_federation as fed
    hv = {"seed": {"consul_advertise_address": address, "consul_instances": SEED_INSTANCES}}
    servers = topo.consul_instances(hv, ["seed"], DEFAULTS["consul_data_root"], DEFAULTS["consul_ports"])
    s = settings(**over)
    federation = fed.consul_federation(servers, hv, "", s["acl"], s["datacenter"])
    cluster = fed.consul_datacenter_servers(federation, s["datacenter"], "seed")
    for inst in cluster:
        wan = fed.consul_wan_settings(federation, s["datacenter"], True, s["acl"])
        got = cfg.consul_agent_config(inst, cluster, "1.8.7", s, wan)
        assert nice_json(got) == _golden(scenario, inst["name"], "consul.json")


def test_lab_cluster_consul_json_is_unchanged_through_the_federation_model():
    from ansible_collections.sdstack.consul.plugins.filter import consul_federation as fed
    names = ["consul1", "consul2", "consul3"]
    hv = {h: dict(_yaml("molecule", "cluster", "inventory", "host_vars", h + ".yml"),
                  **_yaml("inventories", "cluster", "group_vars", "consul_servers.yml")) for h in names}
    servers = topo.consul_instances(hv, names, DEFAULTS["consul_data_root"], DEFAULTS["consul_ports"])
    federation = fed.consul_federation(servers, hv, "", False, "dc1")
    cluster = fed.consul_datacenter_servers(federation, "dc1", "consul1")
    for inst in cluster:
        got = cfg.consul_agent_config(inst, cluster, "1.8.7", settings(),
                                      fed.consul_wan_settings(federation, "dc1", True, False))
        assert nice_json(got) == _golden("cluster", inst["name"], "consul.json")
