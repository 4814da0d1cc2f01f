"""raft_state's judging, which consul_raft and the roles' waits print to the operator: each unmet
condition as a whole phrase, the edges of each condition, and how Serf members and autopilot
servers are normalised."""

import pytest

from ansible_collections.sdstack.consul.plugins.module_utils import _raft_state as raft_state
from ansible_collections.sdstack.consul.plugins.module_utils._raft_state import evaluate, evaluate_node


def state(leader="10.0.0.1:8300", voters=("n1", "n2", "n3"), alive=("n1", "n2", "n3"), healthy=True,
          healthy_servers=None, unhealthy_servers=(), failure_tolerance=1, others=()):
    members = [dict(name=n, status="alive" if n in alive else "failed") for n in list(voters) + list(others)]
    return dict(leader=dict(node="n1", address=leader), voters=list(voters), non_voters=[], members=members,
                healthy=healthy, healthy_servers=healthy_servers, unhealthy_servers=list(unhealthy_servers),
                failure_tolerance=failure_tolerance, servers=[])


def node(name="n2", raft_state="Follower", last_contact="12ms", applied_index=10):
    return dict(name=name, raft_state=raft_state, last_contact=last_contact, applied_index=applied_index)


@pytest.mark.parametrize("kwargs,unmet", [
    (dict(), []),
    (dict(name="n3"), ["n3: the given URL answers as node 'n2'"]),
    (dict(raft_state="Candidate"), ["n2 raft state Candidate"]),
    (dict(raft_state=""), ["n2 raft state unknown"]),
    (dict(last_contact="never"), ["n2 has heard from no leader since it started"]),
    (dict(last_contact=""), ["n2 has heard from no leader since it started"]),
    (dict(raft_state="Leader", last_contact="never"), []),
    (dict(applied_index=9), ["n2 applied index 9 < 10"]),
    (dict(applied_index=None), ["n2 applied index None < 10"]),
])
def test_a_node_in_sync_and_each_way_it_is_not(kwargs, unmet):
    name = kwargs.pop("name", "n2")
    assert evaluate_node(node(**kwargs), name, min_index=10) == unmet


def test_a_node_below_the_minimum_index_by_default_is_any_index():
    assert evaluate_node(node(applied_index=0), "n2") == []


def test_with_the_cluster_state_a_node_must_also_be_a_healthy_voter():
    assert evaluate_node(node(), "n2", state=state()) == []
    assert evaluate_node(node(), "n2", state=state(alive=("n1", "n3"))) == ["n2 is not a healthy voter"]


@pytest.mark.parametrize("kwargs,unmet", [
    (dict(), []),
    (dict(leader=""), ["no leader"]),
    (dict(expected_voters=3), []),
    (dict(expected_voters=3, alive=("n1", "n2")), ["voters 2/3, n3 down"]),
    (dict(expected_voters=4), ["voters 3/4"]),
    (dict(expected_voters=["n1", "n3"], alive=("n1", "n2")), ["voters 1/2, n3 missing"]),
    (dict(expected_voters=["n1", "n9"]), ["voters 1/2, n9 missing (n9: no such server in this cluster)"]),
    (dict(expected_voters=["n1", "n9"], others=("n9",)), ["voters 1/2, n9 missing"]),
    (dict(expected_voters=["n1"], voters=(), alive=()), ["voters 0/1, n1 missing"]),
    (dict(require_healthy=True, healthy=None), ["autopilot health unknown"]),
    (dict(require_healthy=True, healthy=False), ["autopilot unhealthy"]),
    (dict(require_healthy=True, healthy=False, unhealthy_servers=("n2", "n3")), ["autopilot unhealthy (n2, n3)"]),
    (dict(healthy=False), []),
    (dict(min_failure_tolerance=1), []),
    (dict(min_failure_tolerance=2), ["failure tolerance 1 < 2"]),
    (dict(min_failure_tolerance=0, failure_tolerance=None), ["failure tolerance unknown (need 0)"]),
    (dict(leader="", expected_voters=4, require_healthy=True, healthy=None, min_failure_tolerance=2),
     ["no leader", "voters 3/4", "autopilot health unknown", "failure tolerance 1 < 2"]),
])
def test_each_unmet_condition_is_one_phrase_most_important_first(kwargs, unmet):
    judged = {k: kwargs.pop(k) for k in ("expected_voters", "require_healthy", "min_failure_tolerance") if k in kwargs}
    assert evaluate(state(**kwargs), **judged) == unmet


def test_a_leader_may_be_waived():
    assert evaluate(state(leader=""), require_leader=False) == []


def test_autopilots_list_of_healthy_servers_limits_the_voters_that_count():
    assert evaluate(state(healthy_servers=["n1", "n2"]), expected_voters=3) == ["voters 2/3, n3 down"]


def test_serf_members_are_normalised():
    assert raft_state._member({"Name": "n1", "Addr": "10.0.0.1", "Port": 8301, "Status": 4,
                               "Tags": {"role": "consul", "build": "1.8.7:1e9e2f1"}}) == dict(
        name="n1", address="10.0.0.1", port=8301, status="failed", role="consul", version="1.8.7")
    assert raft_state._member({"Status": 9}) == dict(name="", address="", port=None, status="9", role="", version="")


def test_autopilot_servers_are_normalised():
    assert raft_state._autopilot_server({"Name": "n1", "Voter": 1, "Healthy": 0, "Leader": 1, "SerfStatus": "alive",
                                         "Version": "1.8.7", "LastIndex": 5, "LastTerm": 2,
                                         "StableSince": "2021-01-01T00:00:00Z"}) == dict(
        name="n1", voter=True, healthy=False, leader=True, serf_status="alive", version="1.8.7", last_index=5,
        last_term=2, stable_since="2021-01-01T00:00:00Z")
    assert raft_state._autopilot_server({}) == dict(name="", voter=False, healthy=False, leader=False, serf_status="",
                                                    version="", last_index=None, last_term=None, stable_since="")


@pytest.mark.parametrize("value,number", [("12", 12), (7, 7), (None, None), ("twelve", None)])
def test_raft_counters_are_numbers_or_none(value, number):
    assert raft_state._int(value) == number


@pytest.mark.parametrize("code,status", [(0, "none"), (1, "alive"), (2, "leaving"), (3, "left"), (4, "failed")])
def test_every_serf_status_code_has_its_name(code, status):
    assert raft_state._member({"Status": code})["status"] == status


def test_several_servers_down_or_unknown_are_listed_with_commas():
    assert evaluate(state(alive=("n1",)), expected_voters=3) == ["voters 1/3, n2, n3 down"]
    assert evaluate(state(), expected_voters=["n1", "n8", "n9"]) == [
        "voters 1/3, n8, n9 missing (n8, n9: no such server in this cluster)"]


@pytest.mark.parametrize("where", ["non_voters", "servers"])
def test_a_server_known_only_to_raft_as_non_voter_or_to_autopilot_is_missing_not_unknown(where):
    known = state()
    known[where] = [dict(name="n4")] if where == "servers" else ["n4"]
    assert evaluate(known, ["n1", "n4"]) == ["voters 1/2, n4 missing"]
