"""host_address: one answer to "where is this host reached", for every role."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.host_address import FilterModule, host_address


@pytest.mark.parametrize("hv,expected", [
    ({"consul_advertise_address": "10.0.0.5", "ansible_host": "10.0.0.1"}, "10.0.0.5"),
    ({"consul_advertise_address": "", "ansible_host": "10.0.0.1"}, "10.0.0.1"),
    ({"ansible_host": "c1.example.org"}, "c1.example.org"),
    ({}, "h1"),
    ({"consul_advertise_address": "fd00::5"}, "fd00::5"),
])
def test_advertise_address_then_ansible_host_then_name(hv, expected):
    assert host_address({"h1": hv}, "h1") == expected


@pytest.mark.parametrize("hv,expected", [
    ({"ansible_host": "c1.example.org"}, ""),
    ({}, ""),
    ({"ansible_host": "10.0.0.1"}, "10.0.0.1"),
    ({"consul_advertise_address": "10.0.0.5"}, "10.0.0.5"),
])
def test_ip_only_drops_host_names(hv, expected):
    assert host_address({"h1": hv}, "h1", ip_only=True) == expected


@pytest.mark.parametrize("hostvars,host,message", [
    ({"h1": {"consul_advertise_address": "c1.example.org"}}, "h1",
     "consul_advertise_address of h1: 'c1.example.org' is not an IP address"),
    ({"h1": {"ansible_host": "bad host"}}, "h1",
     "address of h1: 'bad host' (from ansible_host) is neither an IP address nor a host name"),
    ({"h_1": {}}, "h_1", "address of h_1: 'h_1' (from inventory host name) is neither an IP address nor a host name"),
    ({"h1": {}}, "h2", "host_address: 'h2' is not a host of the inventory"),
])
def test_bad_addresses_are_one_line(hostvars, host, message):
    with pytest.raises(AnsibleFilterError) as e:
        host_address(hostvars, host)
    assert str(e.value) == message


def test_is_the_public_filter():
    assert FilterModule().filters()["host_address"] is host_address
