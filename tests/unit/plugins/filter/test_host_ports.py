from pathlib import Path

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.consul_lb import consul_lb_site
from ansible_collections.sdstack.consul.plugins.filter.host_ports import FilterModule, host_ports, role_defaults

ROOT = Path(__file__).resolve().parents[4]
LB_DEFAULTS = yaml.safe_load((ROOT / "roles" / "consul_lb" / "defaults" / "main.yml").read_text())
SEED_INSTANCES = yaml.safe_load((ROOT / "inventories" / "seed" / "group_vars" / "consul_servers.yml").read_text())
HOST = "consul-seed"
# The seed's one host runs every role (molecule/seed/molecule.yml).
SEED_GROUPS = {g: [HOST] for g in ("consul_servers", "node_exporter", "cadvisor", "consul_lb", "prometheus")}


def seed_hostvars(**more):
    return {HOST: dict(SEED_INSTANCES, consul_advertise_address="10.89.20.31", **more)}


def seed_ports(hostvars=None, groups=None, **lb):
    """What the consul_lb role checks on the seed host: the site's listeners against the host."""
    hostvars = hostvars or seed_hostvars()
    site = consul_lb_site(dict(LB_DEFAULTS, **{"consul_lb_" + k: v for k, v in lb.items()}), hostvars, [HOST])
    return host_ports(hostvars, HOST, SEED_GROUPS if groups is None else groups, site["listeners"])


def refused(**kwargs):
    with pytest.raises(AnsibleFilterError) as e:
        seed_ports(**kwargs)
    assert "\n" not in str(e.value)
    return str(e.value)


def test_seed_host_ports():
    ports = seed_ports()
    assert [p["port"] for p in ports] == [80, 8080, 8300, 8301, 8302, 8310, 8311, 8312, 8320, 8321, 8322, 8500, 8510,
                                          8520, 8600, 8610, 8620, 9090, 9100]
    users = {p["port"]: p["user"] for p in ports}
    assert users[80] == "nginx (consul_lb_listen_port)"
    assert users[9090] == "prometheus (prometheus_web_listen_address)"
    assert users[9100] == "node_exporter (node_exporter_listen_address)"
    assert users[8080] == "cadvisor (cadvisor_listen_ip/cadvisor_port)"
    assert users[8510] == "consul node2 (http port)"


def test_nginx_on_prometheus_port():
    assert refused(listen_port=9090) == ("port 9090 on consul-seed is used by both nginx (consul_lb_listen_port) and"
                                         " prometheus (prometheus_web_listen_address)")


def test_listen_address_without_port():
    msg = refused(hostvars=seed_hostvars(node_exporter_listen_address="0.0.0.0"))
    assert msg == "node_exporter_listen_address of consul-seed: '0.0.0.0' has no port (host:port, for example" \
                  " 0.0.0.0:9100 or :9100)"


@pytest.mark.parametrize("more,lb,message", [
    ({}, {"tls": True, "tls_cert_src": "c", "tls_key_src": "k", "tls_port": 8500},
     "port 8500 on consul-seed is used by both nginx (consul_lb_tls_port) and consul node1 (http port)"),
    ({"cadvisor_port": 9100}, {},
     "port 9100 on consul-seed is used by both node_exporter (node_exporter_listen_address) and cadvisor"
     " (cadvisor_listen_ip/cadvisor_port)"),
    ({"prometheus_web_listen_address": "0.0.0.0:8600"}, {},
     "port 8600 on consul-seed is used by both consul node1 (dns port) and prometheus"),
    ({"prometheus_web_listen_address": "0.0.0.0:http"}, {},
     "prometheus_web_listen_address of consul-seed: 'http' is not a port number (1-65535)"),
    ({"prometheus_web_listen_address": "[::1]:0"}, {}, "prometheus_web_listen_address of consul-seed: '0' is not a"),
    ({"cadvisor_port": "x"}, {}, "cadvisor_port of consul-seed: 'x' is not a port number (1-65535)"),
    ({"cadvisor_port": True}, {}, "cadvisor_port of consul-seed: True is not a port number"),
    ({"node_exporter_listen_address": ""}, {}, "node_exporter_listen_address of consul-seed: '' has no port"),
    ({"node_exporter_listen_address": "[::1]"}, {}, "node_exporter_listen_address of consul-seed: '[::1]' has no port"),
])
def test_clashes_and_missing_ports(more, lb, message):
    assert message in refused(hostvars=seed_hostvars(**more), **lb)


def test_different_addresses_do_not_clash():
    hostvars = seed_hostvars(prometheus_web_listen_address="127.0.0.1:9100",
                             node_exporter_listen_address="10.89.20.31:9100")
    assert [p for p in seed_ports(hostvars) if p["port"] == 9100] == [
        {"port": 9100, "address": "10.89.20.31", "user": "node_exporter (node_exporter_listen_address)"},
        {"port": 9100, "address": "127.0.0.1", "user": "prometheus (prometheus_web_listen_address)"}]
    # A wildcard clashes with any address.
    hostvars = seed_hostvars(prometheus_web_listen_address="[::]:9100", node_exporter_listen_address="10.0.0.1:9100")
    assert "port 9100 on consul-seed is used by both prometheus" in refused(hostvars=hostvars)


def test_roles_the_host_does_not_run_are_ignored():
    # Only Consul and nginx here (the consul_lb scenario's host): Prometheus's port is free.
    groups = {"consul_servers": [HOST], "consul_lb": [HOST], "prometheus": ["other"]}
    assert [p["port"] for p in seed_ports(groups=groups, listen_port=9090)][-1] == 9090
    # Other group names for the roles.
    hostvars = seed_hostvars()
    with pytest.raises(AnsibleFilterError, match="port 9090 on consul-seed is used by both nginx"):
        host_ports(hostvars, HOST, {"metrics": [HOST]}, [{"port": 9090, "address": "", "user": "nginx (x)"}],
                   {"prometheus": "metrics"})
    assert host_ports(hostvars, HOST, {}, None) == []


def test_defaults_come_from_the_roles():
    assert role_defaults("prometheus")["prometheus_web_listen_address"] == "0.0.0.0:9090"
    assert role_defaults("node_exporter")["node_exporter_listen_address"] == ":9100"
    assert role_defaults("cadvisor")["cadvisor_port"] == 8080


def test_registered():
    assert FilterModule().filters() == {"host_ports": host_ports}


def test_same_specific_address_clashes():
    hostvars = seed_hostvars(prometheus_web_listen_address="127.0.0.1:9100",
                             node_exporter_listen_address="127.0.0.1:9100")
    assert refused(hostvars=hostvars) == ("port 9100 on consul-seed is used by both prometheus"
                                          " (prometheus_web_listen_address) and node_exporter"
                                          " (node_exporter_listen_address)")


def test_disabled_consul_ports_are_free():
    instances = [dict(i, ports=dict(i["ports"], dns=-1)) if i["name"] == "node1" else i
                 for i in SEED_INSTANCES["consul_instances"]]
    hostvars = {HOST: {"consul_instances": instances, "consul_advertise_address": "10.89.20.31",
                       "prometheus_web_listen_address": ":8600"}}
    ports = seed_ports(hostvars)
    assert [p["user"] for p in ports if p["port"] == 8600] == ["prometheus (prometheus_web_listen_address)"]
    assert min(p["port"] for p in ports) == 80


def test_cluster_monitor_host_ports():
    # molecule/cluster's monitor: nginx and Prometheus, the Consul servers on other hosts.
    hostvars = {"monitor": {}, "consul1": {"consul_advertise_address": "10.89.20.21"}}
    groups = {"consul_servers": ["consul1"], "consul_lb": ["monitor"], "prometheus": ["monitor"]}
    own = [{"port": 80, "address": "", "user": "nginx (consul_lb_listen_port)"}]
    assert [(p["port"], p["user"]) for p in host_ports(hostvars, "monitor", groups, own)] == [
        (80, "nginx (consul_lb_listen_port)"), (9090, "prometheus (prometheus_web_listen_address)")]


# What playbooks/site.yml checks before any role runs: nginx's site from its variables too.
BEFORE_ROLES = {"consul_lb": "consul_lb"}


def preflight(hostvars=None, groups=None):
    return host_ports(hostvars or seed_hostvars(), HOST, SEED_GROUPS if groups is None else groups,
                      role_groups=BEFORE_ROLES)


def preflight_refused(**more):
    with pytest.raises(AnsibleFilterError) as e:
        preflight(seed_hostvars(**more))
    assert "\n" not in str(e.value)
    return str(e.value)


def test_preflight_sees_what_the_role_sees_on_the_seed():
    assert preflight() == seed_ports()
    tls = {"consul_lb_tls": True, "consul_lb_tls_port": 8443, "consul_lb_listen_address": "10.89.20.31"}
    site_tls = {"tls": True, "tls_cert_src": "c", "tls_key_src": "k", "tls_port": 8443, "listen_address": "10.89.20.31"}
    assert preflight(seed_hostvars(**tls)) == seed_ports(**site_tls)
    assert [p for p in preflight(seed_hostvars(**tls)) if p["user"].startswith("nginx")] == [
        {"port": 80, "address": "10.89.20.31", "user": "nginx (consul_lb_listen_port)"},
        {"port": 8443, "address": "10.89.20.31", "user": "nginx (consul_lb_tls_port)"}]


def test_preflight_refuses_nginx_on_prometheus_port():
    assert preflight_refused(consul_lb_listen_port=9090) == (
        "port 9090 on consul-seed is used by both nginx (consul_lb_listen_port) and prometheus"
        " (prometheus_web_listen_address)")


def test_preflight_refuses_a_listen_address_without_port():
    assert preflight_refused(node_exporter_listen_address="0.0.0.0") == (
        "node_exporter_listen_address of consul-seed: '0.0.0.0' has no port (host:port, for example 0.0.0.0:9100"
        " or :9100)")


@pytest.mark.parametrize("more,message", [
    ({"consul_lb_listen_port": 8500},
     "port 8500 on consul-seed is used by both nginx (consul_lb_listen_port) and consul node1 (http port)"),
    ({"consul_lb_tls": "yes", "consul_lb_tls_port": 9100},
     "port 9100 on consul-seed is used by both nginx (consul_lb_tls_port) and node_exporter"),
    ({"consul_lb_listen_port": 70000}, "consul_lb_listen_port of consul-seed: 70000 is not a port number (1-65535)"),
    ({"consul_lb_listen_port": "http"}, "consul_lb_listen_port of consul-seed: 'http' is not a port number"),
    ({"consul_lb_tls": True, "consul_lb_tls_port": 0}, "consul_lb_tls_port of consul-seed: 0 is not a port number"),
    ({"consul_lb_tls": True, "consul_lb_tls_port": 80},
     "port 80 on consul-seed is used by both nginx (consul_lb_listen_port) and nginx (consul_lb_tls_port)"),
])
def test_preflight_checks_nginx_ports(more, message):
    assert message in preflight_refused(**more)


def test_preflight_ignores_the_tls_port_with_tls_off():
    # Port 9100 is node_exporter's: nginx does not listen on its TLS port while TLS is off.
    assert [p["port"] for p in preflight(seed_hostvars(consul_lb_tls_port=9100))] == [p["port"] for p in preflight()]


def test_nginx_counts_only_when_its_group_is_named():
    # The role's own call passes nginx's listeners in `own` and no consul_lb group: nginx once.
    hostvars = seed_hostvars(consul_lb_listen_port=9090)
    assert 9090 in [p["port"] for p in host_ports(hostvars, HOST, SEED_GROUPS, role_groups={"consul": "consul_servers"})]
    assert [p["user"] for p in seed_ports() if p["port"] == 80] == ["nginx (consul_lb_listen_port)"]
    # A host outside the named group runs no nginx.
    assert [p["port"] for p in preflight(groups=dict(SEED_GROUPS, consul_lb=["other"]))][0] == 8080
    assert [p["port"] for p in host_ports(hostvars, HOST, {"lb": [HOST]}, role_groups={"consul_lb": "lb"})] == [9090]
