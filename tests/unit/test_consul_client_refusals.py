"""The consul role's client-agent refusals, run by ansible-playbook on the shipped cluster inventory.

Each case fails in a task that only templates on the controller (set_fact, assert), before the
role contacts any host; the hosts' connection is made to time out at once anyway, so a run that
went further could change nothing. The lab repeats them against a running cluster
(molecule/cluster/tests/test_clients_bad_input.py).
"""

import functools

from role_refusals import check_refused, run_consul_role

run = functools.partial(run_consul_role, inventory="cluster")


def test_a_host_in_both_groups_stops_every_client(collections):
    rc, out = run(collections, "consul_clients", inventory_extra={"consul_clients": {"hosts": {"consul1": None}}})
    both = "a host runs a server or a client agent, not both"
    check_refused(rc, out, dict(
        {h: "consul1 is in both the Consul servers' and the clients' group: " + both for h in ("app1", "app2", "monitor")},
        consul1="consul1 is in both consul_servers (consul_group) and consul_clients (consul_clients_group): " + both))


def test_an_unknown_servers_group_is_named(collections):
    rc, out = run(collections, "consul_servers", {"consul_group": "consul_sevrers"})
    check_refused(rc, out, {h: "consul_group: 'consul_sevrers' is not an inventory group (the Consul servers' group)"
                            for h in ("consul1", "consul2", "consul3")})


def test_an_unknown_clients_group_is_named(collections):
    rc, out = run(collections, "consul_clients", {"consul_clients_group": "apps"})
    check_refused(rc, out, {h: "consul_clients_group: 'apps' is not an inventory group (%s runs the consul role but is not in"
                               " consul_servers either)" % h for h in ("app1", "app2", "monitor")})


def test_a_client_node_name_taken_by_a_server_is_refused(collections):
    rc, out = run(collections, "consul_clients",
                  inventory_extra={"consul_clients": {"hosts": {"consul1.apps": {"ansible_host": "10.0.0.41"}}}})
    message = "node name consul1 is used twice (on consul1 and consul1.apps): node names must be unique"
    check_refused(rc, out, {h: message for h in ("app1", "app2", "monitor", "consul1.apps")})
