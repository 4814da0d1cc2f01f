"""exporter_registration: own agent by default; a named agent needs a reachable address and warns."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter import exporter_registration as reg

HV = {
    "consul1": {"ansible_host": "10.0.0.11"},
    "app1": {"ansible_host": "10.0.0.21"},
    "legacy.example.org": {"ansible_host": "10.0.0.99"},
    "nameless": {},
    "local": {"ansible_host": "127.0.0.1"},
}


def test_own_agent_by_default(monkeypatch):
    warned = []
    monkeypatch.setattr(reg.display, "warning", warned.append)
    assert reg.exporter_registration(HV, "app1", "node_exporter", "node-exporter") == {
        "agent_host": "", "address": "10.0.0.21", "id": "node-exporter"}
    assert reg.exporter_registration(HV, "app1", "node_exporter", "node-exporter", "app1", "10.1.1.1") == {
        "agent_host": "", "address": "10.1.1.1", "id": "node-exporter"}
    assert warned == []


def test_named_agent_carries_the_hosts_address_its_own_id_and_a_warning(monkeypatch):
    warned = []
    monkeypatch.setattr(reg.display, "warning", warned.append)
    got = reg.exporter_registration(HV, "legacy.example.org", "node_exporter", "node-exporter", "consul1")
    assert got == {"agent_host": "consul1", "address": "10.0.0.99", "id": "node-exporter-legacy"}
    assert warned == ["node_exporter of legacy.example.org is registered on consul1's Consul agent, not its own: the"
                      " service and its check go with that agent (when consul1 is down or leaves, node_exporter of"
                      " legacy.example.org leaves the catalog and Prometheus's targets)"]


@pytest.mark.parametrize("host,address,got", [("nameless", "", "''"), ("local", "", "'127.0.0.1'"),
                                              ("app1", "localhost", "'localhost'")])
def test_named_agent_without_a_reachable_address_is_one_line(host, address, got):
    with pytest.raises(AnsibleFilterError) as e:
        reg.exporter_registration(HV, host, "cadvisor", "cadvisor-exporter", "consul1", address)
    assert str(e.value) == ("cadvisor of %s registers on consul1's agent (cadvisor_consul_agent_host) but has no address"
                            " consul1 can reach (got %s): set cadvisor_service_address" % (host, got))


def test_an_agent_host_outside_the_inventory_is_named():
    with pytest.raises(AnsibleFilterError) as e:
        reg.exporter_registration(HV, "app1", "node_exporter", "node-exporter", "consul9")
    assert str(e.value) == "node_exporter_consul_agent_host of app1: 'consul9' is not a host of the inventory"
