"""consul_instances: Consul's own default ports, every documented instance key, lazy undefined
host variables, port edges and whole error lines."""

import jinja2
import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter import consul_topology as topo


def instances(instance, **host):
    return topo.consul_instances({"h": dict({"ansible_host": "10.0.0.1", "consul_instances": [instance]}, **host)},
                                 ["h"])


def refusal(instance):
    with pytest.raises(AnsibleFilterError) as e:
        instances(instance)
    return str(e.value)


def test_an_instance_without_ports_listens_where_consul_does_by_default():
    expected = dict(http=8500, dns=8600, server=8300, serf_lan=8301, serf_wan=8302, grpc=-1, grpc_tls=-1)
    assert instances({"name": "a"})[0]["ports"] == expected


def test_every_documented_instance_key_is_accepted_and_passed_on():
    got = instances({"name": "a", "ports": {}, "data_dir": "/d", "log_level": "debug", "ui": True,
                     "extra_config": {"performance": {"raft_multiplier": 1}}})[0]
    assert (got["data_dir"], got["log_level"], got["ui"], got["extra_config"]) == (
        "/d", "debug", True, {"performance": {"raft_multiplier": 1}})


def test_an_undefined_host_variable_counts_as_unset():
    got = instances({"name": "a"}, consul_advertise_address=jinja2.StrictUndefined(name="consul_advertise_address"))
    assert got[0]["address"] == "10.0.0.1"


@pytest.mark.parametrize("port", [1, 65535, -1])
def test_port_edges_are_accepted(port):
    assert instances({"name": "a", "ports": {"http": port}})[0]["ports"]["http"] == port


@pytest.mark.parametrize("port,message", [
    (65536, "consul_instances[0] of h (a) port http: 65536 is not a port number (1-65535, or -1 to disable)"),
    (0, "consul_instances[0] of h (a) port http: 0 is not a port number (1-65535, or -1 to disable)"),
    (True, "consul_instances[0] of h (a) port http: True is not a port number (1-65535, or -1 to disable)"),
    (None, "consul_instances[0] of h (a) port http: None is not a port number"),
])
def test_bad_ports_are_one_whole_line(port, message):
    assert refusal({"name": "a", "ports": {"http": port}}) == message


def test_empty_addresses_count_as_unset():
    assert instances({"name": "a"}, consul_advertise_address="")[0]["address"] == "10.0.0.1"
    assert topo.consul_instances({"h1": {"ansible_host": ""}}, ["h1"])[0]["address"] == "h1"


def test_a_client_address_that_is_no_string_is_left_to_consul():
    assert instances({"name": "a"}, consul_client_address=["10.0.0.1"])[0]["address"] == "10.0.0.1"


def test_an_instance_without_extra_config_has_an_empty_one():
    assert instances({"name": "a"})[0]["extra_config"] == {}


def test_a_disabled_port_does_not_stop_the_collision_check_of_the_next_ones():
    two = [{"name": "a", "ports": {"dns": -1}}, {"name": "b", "ports": {"dns": -1, "http": 1, "server": 2, "serf_wan": 4}}]
    with pytest.raises(AnsibleFilterError, match="port 8301 on 10.0.0.1 is used by both a \\(serf_lan\\) and b"):
        topo.consul_instances({"h": {"ansible_host": "10.0.0.1", "consul_instances": two}}, ["h"])


@pytest.mark.parametrize("declared,message", [
    ({"name": "a"}, "consul_instances of h must be a list of instances"),
    ([{"ports": {}}], "consul_instances[0] of h: each instance needs a name"),
    ([{"name": "a", "b": 1, "c": 2}], "consul_instances[0] of h: unknown key(s) b, c (known: data_dir, extra_config, "
                                      "log_level, name, ports, ui)"),
    ([{"name": "a", "ports": {"x": 1, "y": 2}}], "consul_instances[0] of h (a): unknown port name(s) x, y (known: http, "
                                                 "dns, server, serf_lan, serf_wan, grpc, grpc_tls)"),
    ([{"name": "a"}, {"name": "a", "ports": {"http": 1, "dns": 2, "server": 3, "serf_lan": 4, "serf_wan": 5}}],
     "node name a is used twice (on h and h): node names must be unique"),
], ids=["not-a-list", "nameless", "unknown-keys", "unknown-ports", "name-twice"])
def test_bad_declarations_are_whole_lines(declared, message):
    with pytest.raises(AnsibleFilterError) as e:
        topo.consul_instances({"h": {"ansible_host": "10.0.0.1", "consul_instances": declared}}, ["h"])
    assert str(e.value) == message


def test_an_empty_group_is_a_whole_line():
    with pytest.raises(AnsibleFilterError) as e:
        topo.consul_instances({}, [])
    assert str(e.value) == "no Consul server instances: the Consul group is empty"


def test_a_shared_data_dir_is_a_whole_line():
    ports = {"http": 1, "dns": 2, "server": 3, "serf_lan": 4, "serf_wan": 5}
    two = [{"name": "a", "data_dir": "/d"}, {"name": "b", "data_dir": "/d", "ports": ports}]
    with pytest.raises(AnsibleFilterError) as e:
        topo.consul_instances({"h": {"ansible_host": "10.0.0.1", "consul_instances": two}}, ["h"])
    assert str(e.value) == "data_dir /d on h is used by both a and b"


@pytest.mark.parametrize("n,warning", [
    (1, "Consul: a single server has no fault tolerance; use 3 or 5 servers in production"),
    (4, "Consul: 4 servers tolerate no more failures than 3; use an odd number"),
])
def test_server_count_warnings_are_whole_lines(monkeypatch, n, warning):
    seen = []
    monkeypatch.setattr(topo.display, "warning", seen.append)
    topo.consul_bootstrap_expect([{}] * n)
    assert seen == [warning]


def test_registered_under_their_names():
    assert topo.FilterModule().filters() == {
        "consul_instances": topo.consul_instances, "consul_folders": topo.consul_folders,
        "consul_retry_join": topo.consul_retry_join, "consul_http_urls": topo.consul_http_urls,
        "consul_bootstrap_expect": topo.consul_bootstrap_expect}
