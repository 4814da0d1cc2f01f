import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter import consul_topology as topo

SEED = [
    {"name": "node1", "ports": {"http": 8500, "dns": 8600, "server": 8300, "serf_lan": 8301, "serf_wan": 8302}},
    {"name": "node2", "ports": {"http": 8510, "dns": 8610, "server": 8310, "serf_lan": 8311, "serf_wan": 8312}},
    {"name": "node3", "ports": {"http": 8520, "dns": 8620, "server": 8320, "serf_lan": 8321, "serf_wan": 8322}},
]


def seed_host(instances=None):
    return {"seed": {"ansible_host": "172.30.12.100", "consul_instances": instances or SEED}}


def cluster_hosts(n=3):
    return {"c%d.example.org" % i: {"ansible_host": "10.0.0.%d" % i} for i in range(1, n + 1)}


def test_seed_topology_one_host_three_instances():
    got = topo.consul_instances(seed_host(), ["seed"])
    assert [i["name"] for i in got] == ["node1", "node2", "node3"]
    assert {i["address"] for i in got} == {"172.30.12.100"}
    assert got[1]["ports"] == dict(SEED[1]["ports"], grpc=-1, grpc_tls=-1)
    assert got[2]["data_dir"] == "/opt/consul/node3"
    assert topo.consul_retry_join(got) == ["172.30.12.100:8301", "172.30.12.100:8311", "172.30.12.100:8321"]
    assert topo.consul_http_urls(got) == ["http://172.30.12.100:8500", "http://172.30.12.100:8510",
                                          "http://172.30.12.100:8520"]


def test_cluster_topology_defaults_from_inventory_alone():
    hv = cluster_hosts()
    hv["c2.example.org"]["consul_advertise_address"] = "192.168.0.2"  # wins over ansible_host
    got = topo.consul_instances(hv, list(hv))
    assert [i["name"] for i in got] == ["c1", "c2", "c3"]
    assert [i["address"] for i in got] == ["10.0.0.1", "192.168.0.2", "10.0.0.3"]
    assert all(i["ports"] == topo.DEFAULT_PORTS for i in got)


def test_partial_ports_are_filled_from_the_defaults():
    got = topo.consul_instances(seed_host([{"name": "a", "ports": {"http": 9500}}]), ["seed"], default_ports={"dns": -1})
    assert got[0]["ports"] == dict(topo.DEFAULT_PORTS, http=9500, dns=-1)


def test_colliding_ports_name_both_instances():
    bad = [dict(SEED[0]), {"name": "node2", "ports": dict(SEED[1]["ports"], serf_lan=8301)}]
    with pytest.raises(AnsibleFilterError) as e:
        topo.consul_instances(seed_host(bad), ["seed"])
    assert str(e.value) == "port 8301 on 172.30.12.100 is used by both node1 (serf_lan) and node2 (serf_lan)"


def test_default_ports_collide_when_a_host_runs_two_instances():
    with pytest.raises(AnsibleFilterError, match="port 8500 on 172.30.12.100 is used by both a \\(http\\) and b"):
        topo.consul_instances(seed_host([{"name": "a"}, {"name": "b"}]), ["seed"])


def test_disabled_ports_never_collide():
    insts = [{"name": "a", "ports": {"dns": -1}}, {"name": "b", "ports": {"dns": -1, "http": 1, "server": 2,
                                                                          "serf_lan": 3, "serf_wan": 4}}]
    assert len(topo.consul_instances(seed_host(insts), ["seed"])) == 2


@pytest.mark.parametrize("instances,needle", [
    ([{"name": "a"}, {"name": "a", "ports": {"http": 1, "dns": 2, "server": 3, "serf_lan": 4, "serf_wan": 5}}],
     "node name a is used twice"),
    ([{"name": "a", "ports": {"http": 70000}}], "port http: 70000 is not a port number"),
    ([{"name": "a", "ports": {"http": "web"}}], "port http: 'web' is not a port number"),
    ([{"name": "a", "ports": {"htp": 1}}], "unknown port name(s) htp"),
    ([{"name": "a", "datadir": "/x"}], "unknown key(s) datadir"),
    ([{"ports": {}}], "each instance needs a name"),
    ([{"name": "a", "data_dir": "/d"}, {"name": "b", "data_dir": "/d", "ports": {
        "http": 1, "dns": 2, "server": 3, "serf_lan": 4, "serf_wan": 5}}], "data_dir /d on seed is used by both a and b"),
])
def test_bad_instances_fail_with_one_line(instances, needle):
    with pytest.raises(AnsibleFilterError) as e:
        topo.consul_instances(seed_host(instances), ["seed"])
    assert needle in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("hostvars,message", [
    ({"c1": {"consul_advertise_address": "10.0.0.300"}}, "consul_advertise_address of c1: '10.0.0.300' is not an IP address"),
    ({"c1": {"consul_advertise_address": "not-an-ip"}}, "consul_advertise_address of c1: 'not-an-ip' is not an IP address"),
    # A host name cannot be bound to, even when it resolves.
    ({"c1": {"consul_advertise_address": "c1.example.org", "ansible_host": "10.0.0.1"}},
     "consul_advertise_address of c1: 'c1.example.org' is not an IP address"),
    ({"c1": {"ansible_host": "10.0.0.300"}}, "address of c1: '10.0.0.300' (from ansible_host) is neither an IP address "
                                             "nor a host name"),
    ({"bad_host!": {}}, "address of bad_host!: 'bad_host!' (from inventory host name) is neither"),
    ({"c1": {"ansible_host": "10.0.0.1", "consul_client_address": "0.0.0.0 not-an-ip"}},
     "consul_client_address of c1: 'not-an-ip' is not an IP address (in '0.0.0.0 not-an-ip')"),
    ({"c1": {"ansible_host": "10.0.0.1", "consul_client_address": "127.0.0.1 10.0.0.300"}},
     "consul_client_address of c1: '10.0.0.300' is not an IP address"),
], ids=["advertise-bad-octet", "advertise-name", "advertise-host-name", "ansible-host-bad-octet", "host-name-invalid",
        "client-name", "client-bad-octet"])
def test_bad_addresses_fail_with_one_line_naming_host_and_value(hostvars, message):
    with pytest.raises(AnsibleFilterError) as e:
        topo.consul_instances(hostvars, list(hostvars))
    assert str(e.value).startswith(message) and "\n" not in str(e.value), str(e.value)


@pytest.mark.parametrize("hv,address", [
    ({"consul_advertise_address": "fd00::11"}, "fd00::11"),
    ({"ansible_host": "consul1.example.org"}, "consul1.example.org"),  # the load balancer may reach servers by name
    ({}, "c1"),
    ({"ansible_host": "10.0.0.1", "consul_client_address": "0.0.0.0"}, "10.0.0.1"),
    ({"ansible_host": "10.0.0.1", "consul_client_address": "127.0.0.1 ::1 10.0.0.1"}, "10.0.0.1"),
    ({"ansible_host": "10.0.0.1", "consul_client_address": '{{ GetPrivateInterfaces | attr "address" }}'}, "10.0.0.1"),
    ({"ansible_host": "10.0.0.1", "consul_client_address": ""}, "10.0.0.1"),
], ids=["ipv6", "ansible-host-name", "inventory-name", "client-any", "client-several", "client-sockaddr-template",
        "client-default"])
def test_good_addresses_pass_unchanged(hv, address):
    assert [i["address"] for i in topo.consul_instances({"c1": hv}, ["c1"])] == [address]


def test_empty_group_is_an_error():
    with pytest.raises(AnsibleFilterError, match="Consul group is empty"):
        topo.consul_instances({}, [])


@pytest.mark.parametrize("n,warning", [
    (1, "a single server has no fault tolerance"),
    (2, "2 servers tolerate no more failures than 1"),
    (4, "4 servers tolerate no more failures than 3"),
    (3, None),
    (5, None),
])
def test_server_count_warnings(monkeypatch, n, warning):
    seen = []
    monkeypatch.setattr(topo.display, "warning", seen.append)
    got = topo.consul_instances(cluster_hosts(n), list(cluster_hosts(n)))
    assert topo.consul_bootstrap_expect(got) == n
    if warning is None:
        assert seen == []
    else:
        assert len(seen) == 1 and warning in seen[0]
