"""consul_raft's options at their edges: one read unless told to wait, and a synced_node that names
both the server and its agent, a leader that may be waived. Against the recorder's single-server
Consul 1.8.7 agents (node "plain", and "leaderless", which waits for two more servers), replayed from cassettes (tests/unit/replay.py; recorded by
tests/unit/fixtures/consul_1.8.7/cassettes/record.py)."""

import pytest

from ansible_collections.sdstack.consul.plugins.modules import consul_raft
from replay import AGENT_URL, sent

# The recorder's server without a leader, its client agent and its server that another joined as a
# non-voter (cassettes/record.py).
LEADERLESS_URL = "http://127.0.0.1:18520"
CLIENT_URL = "http://127.0.0.1:18530"
ELDER_URL = "http://127.0.0.1:18540"

ONE_READ = [("GET", "/v1/status/leader"), ("GET", "/v1/operator/raft/configuration?stale="),
            ("GET", "/v1/agent/members"), ("GET", "/v1/operator/autopilot/health")]


def test_without_wait_an_unmet_condition_fails_after_one_read(run_module, cassette):
    # A short poll and timeout: were the module to wait, it would read again at once.
    r = run_module(consul_raft, None, url=[AGENT_URL], expected_voters=3, wait_timeout=0.5, poll_interval=0.1)
    assert r["failed"] and r["msg"] == "voters 1/3", r["msg"]
    assert sent(cassette) == ONE_READ


def test_a_single_server_is_its_own_leader_and_synced_node(run_module, cassette):
    r = run_module(consul_raft, None, url=[AGENT_URL], expected_voters=["plain"], require_healthy=True,
                   synced_node=dict(name="plain", url=AGENT_URL))
    assert not r.get("failed"), r
    assert r["leader"] == {"node": "plain", "address": "127.0.0.1:18300"}
    assert (r["voters"], r["non_voters"], r["healthy_servers"], r["failure_tolerance"]) == (["plain"], [], ["plain"], 0)
    node = r["synced_node"]
    assert (node["name"], node["raft_state"], node["version"]) == ("plain", "Leader", "1.8.7")
    assert node["applied_index"] >= 1 and node["applied_index"] <= r["last_index"]
    assert sent(cassette) == ONE_READ + [("GET", "/v1/agent/self")]


@pytest.mark.parametrize("missing", ["name", "url"])
def test_synced_node_needs_both_a_name_and_a_url(run_module, missing):
    synced = {k: v for k, v in dict(name="plain", url=AGENT_URL).items() if k != missing}
    r = run_module(consul_raft, None, url=[AGENT_URL], synced_node=synced)
    assert r["failed"] and r["msg"] == "missing required arguments: %s found in synced_node" % missing, r["msg"]


def test_a_cluster_without_leader_fails_unless_the_leader_is_waived(run_module, cassette):
    r = run_module(consul_raft, None, url=[LEADERLESS_URL], require_healthy=True)
    assert r["failed"] and r["msg"] == "no leader; autopilot health unknown", r["msg"]
    assert (r["leader"], r["healthy"], r["healthy_servers"], r["servers"]) == ({"node": "", "address": ""}, None,
                                                                               None, [])
    assert [(m["name"], m["status"]) for m in r["members"]] == [("leaderless", "alive")]
    r = run_module(consul_raft, None, url=[LEADERLESS_URL], require_leader=False)
    assert not r.get("failed"), r


def test_a_synced_node_url_of_a_client_agent_has_no_raft_state(run_module, cassette):
    r = run_module(consul_raft, None, url=[AGENT_URL], synced_node=dict(name="client", url=CLIENT_URL))
    assert r["failed"] and r["msg"] == ("client is not a healthy voter; client raft state unknown; "
                                        "client applied index None < 0"), r["msg"]
    assert r["synced_node"]["raft_state"] == "" and r["synced_node"]["applied_index"] is None


def test_a_server_that_joined_and_is_not_yet_promoted_is_a_non_voter(run_module, cassette):
    r = run_module(consul_raft, None, url=[ELDER_URL], expected_voters=["elder", "newcomer"])
    assert r["failed"] and r["msg"] == "voters 1/2, newcomer missing", r["msg"]
    assert (r["voters"], r["non_voters"]) == (["elder"], ["newcomer"])
