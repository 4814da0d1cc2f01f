"""_wan_state's judging, which consul_raft prints for wan_members and datacenters: each phrase names
its datacenter, each condition at its edges. The members are shaped as _raft_state.wan_members
returns them (test_consul_raft_wan.py covers the reading, on recorded answers)."""

import pytest

from ansible_collections.sdstack.consul.plugins.module_utils._wan_state import evaluate_wan


def wan(pool, leaders=None):
    """pool: {dc: {node: status}}; leaders: {dc: address or (address, error)}, default every dc led."""
    members = [dict(name=n, datacenter=dc, status=st) for dc, nodes in pool.items() for n, st in nodes.items()]
    leaders = {dc: "10.0.0.1:8300" for dc in pool} if leaders is None else leaders
    return dict(wan_members=members, wan_leaders={
        dc: dict(address=v, error="") if isinstance(v, str) else dict(address=v[0], error=v[1])
        for dc, v in leaders.items()})


POOL = {"dc1": {"a": "alive"}, "dc2": {"b": "alive", "c": "failed", "d": "left"}}


@pytest.mark.parametrize("expected,unmet", [
    ({"dc1": None, "dc2": None}, []),
    ({"dc1": 1, "dc2": 1}, []),
    ({"dc2": 2}, ["dc2: WAN servers 1/2 alive, c failed, d left"]),
    ({"dc2": ["b"]}, []),
    ({"dc2": ["b", "c"]}, ["dc2: WAN servers 1/2 alive, c failed"]),
    ({"dc2": ["d", "b", "x"]}, ["dc2: WAN servers 1/3 alive, d left, x not a WAN member"]),
    # a is dc1's: in dc2 it is no member.
    ({"dc2": ["a"]}, ["dc2: WAN servers 0/1 alive, a not a WAN member"]),
    ({"dc3": None, "dc0": 1}, ["dc0 not in the WAN federation (known: dc1, dc2)",
                               "dc3 not in the WAN federation (known: dc1, dc2)"]),
], ids=["any", "count-1", "count-short", "names-ok", "name-down", "names-mixed", "other-dcs-name", "unknown-dcs"])
def test_servers_alive_per_datacenter(expected, unmet):
    assert evaluate_wan(wan(POOL), expected) == unmet


def test_no_alive_server_names_every_one():
    pool = {"dc2": {"n1": "failed", "n2": "leaving"}}
    assert evaluate_wan(wan(pool, {"dc2": ""}), {"dc2": None}) == [
        "dc2: no leader", "dc2: no WAN server alive, n1 failed, n2 leaving"]


def test_a_missing_leader_says_consuls_reason_first():
    w = wan(POOL, {"dc1": "10.0.0.1:8300", "dc2": ("", "No path to datacenter")})
    assert evaluate_wan(w, {"dc1": ["a"], "dc2": ["b"]}) == ["dc2: no leader (No path to datacenter)"]


def test_a_datacenter_whose_leader_was_not_read_has_none():
    assert evaluate_wan(wan(POOL, {}), {"dc1": None}) == ["dc1: no leader"]


def test_an_empty_pool_is_one_phrase_whatever_was_expected():
    assert evaluate_wan(dict(wan_members=[], wan_leaders={}), {"dc1": None, "dc2": ["x"]}) == [
        "no WAN members in the answer (client agents know none: give server URLs)"]


def test_datacenters_not_expected_are_not_judged():
    assert evaluate_wan(wan(POOL, {"dc1": "10.0.0.1:8300"}), {"dc1": None}) == []
