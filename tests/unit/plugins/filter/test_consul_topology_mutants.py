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
    assert instances({"name": "a"})[0]["ports"] == dict(http=8500, dns=8600, server=8300, serf_lan=8301, serf_wan=8302)


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
