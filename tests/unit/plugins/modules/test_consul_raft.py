"""consul_raft against HTTP answers recorded from real Consul 1.8.7 servers.

Tests a single server can answer replay cassettes (tests/unit/replay.py, recorded by
tests/unit/fixtures/consul_1.8.7/cassettes/record.py against its one-server agents). Those that need
three servers (a follower down, two down, a sequence of states) still serve the JSON recorded from a
three-server cluster (tests/unit/fixtures/consul_1.8.7, see its README) through Cluster below.
"""

import io
import json
import re
from pathlib import Path

import pytest
from urllib.response import addinfourl
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError

from ansible_collections.sdstack.consul.plugins.modules import consul_raft
from replay import AGENT_URL, sent

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "consul_1.8.7"
A, B = "http://127.0.0.1:8500", "http://127.0.0.1:8510"
ALL = ["node1", "node2", "node3"]
# The recorder's server without a leader (cassettes/record.py); nothing listens on port 9.
LEADERLESS_URL = "http://127.0.0.1:18520"
CLOSED = "http://127.0.0.1:9"


def recorded(state):
    out = {}
    for f in (FIXTURES / state).glob("*.json"):
        d = json.loads(f.read_text())
        out[d["path"]] = (d["status"], d["body"])
    return out


class Cluster:
    """open_url stand-in: serves recorded states; a list of states is served one per full read."""

    def __init__(self, states, down=(), selves=None):
        self.states = [recorded(s) for s in ([states] if isinstance(states, str) else states)]
        self.down = set(down)
        self.leader_reads = 0
        # base URL -> successive /v1/agent/self bodies of that one server (the last one repeats);
        # None in the list: that server refuses connections at that read.
        self.selves = {b: list(v) for b, v in (selves or {}).items()}
        self.self_reads = {}

    def __call__(self, url, **kw):
        base, _sep, rest = url.partition("/v1/")
        path = "/v1/" + rest
        if base in self.selves and path == "/v1/agent/self":
            n = self.self_reads[base] = self.self_reads.get(base, 0) + 1
            body = self.selves[base][min(n, len(self.selves[base])) - 1]
            if body is None:
                raise URLError(ConnectionRefusedError(111, "Connection refused"))
            return addinfourl(io.BytesIO(json.dumps(body).encode()), {}, url, 200)
        if base in self.down:
            raise URLError(ConnectionRefusedError(111, "Connection refused"))
        if path == "/v1/status/leader":
            self.leader_reads += 1
        state = self.states[min(self.leader_reads, len(self.states)) - 1]
        # Recorded paths carry the flag parameter as Consul's CLI sends it ("?stale").
        status, body = state.get(path.replace("=", "")) or state[path.split("?")[0]]
        raw = body.encode() if isinstance(body, str) and status >= 400 else json.dumps(body).encode()
        if status >= 400:
            raise HTTPError(url, status, "error", {}, io.BytesIO(raw))
        return addinfourl(io.BytesIO(raw), {}, url, status)


@pytest.fixture
def run(run_module):
    def go(cluster, **args):
        args.setdefault("url", [A])
        return run_module(consul_raft, cluster, **args)
    return go


def test_healthy_cluster_passes_every_condition(run):
    r = run(Cluster("healthy"), expected_voters=ALL, require_healthy=True, min_failure_tolerance=1)
    assert not r.get("failed"), r
    assert r["changed"] is False
    assert r["leader"] == {"node": "node3", "address": "127.0.0.1:8320"}
    assert r["voters"] == ALL and r["non_voters"] == []
    assert r["failure_tolerance"] == 1 and r["healthy"] is True and r["unmet"] == []
    assert {m["name"]: (m["status"], m["role"]) for m in r["members"]} == {n: ("alive", "consul") for n in ALL}


def test_count_form_of_expected_voters(run_module, cassette):
    assert not run_module(consul_raft, None, url=[AGENT_URL], expected_voters=1).get("failed")
    r = run_module(consul_raft, None, url=[AGENT_URL], expected_voters=5)
    assert r["failed"] and r["msg"] == "voters 1/5"


def test_follower_down_autopilot_429_is_unhealthy_not_an_error(run):
    r = run(Cluster("one_down"), require_healthy=True, min_failure_tolerance=1)
    assert r["failed"]
    assert r["msg"] == "autopilot unhealthy (node2); failure tolerance 0 < 1"
    assert r["healthy"] is False and r["failure_tolerance"] == 0
    # Read-only even when failing.
    assert r["changed"] is False


def test_voter_autopilot_lost_counts_as_missing_before_serf_notices(run):
    # Recorded ~3 s after SIGKILL: Serf still says alive, autopilot already lost contact.
    r = run(Cluster("one_down"), expected_voters=ALL)
    assert r["failed"] and r["msg"] == "voters 2/3, node2 missing"
    r = run(Cluster("one_down"), expected_voters=3)
    assert r["failed"] and r["msg"] == "voters 2/3, node2 down"


def test_voter_dropped_from_autopilots_list_counts_as_missing(run):
    cluster = Cluster("healthy")
    status, body = cluster.states[0]["/v1/operator/autopilot/health"]
    body = dict(body, Healthy=False, FailureTolerance=0, Servers=[x for x in body["Servers"] if x["Name"] != "node1"])
    cluster.states[0]["/v1/operator/autopilot/health"] = (status, body)
    r = run(cluster, expected_voters=ALL)
    assert r["failed"] and r["msg"] == "voters 2/3, node1 missing"


def test_leaderless_names_what_is_missing(run):
    r = run(Cluster("leaderless"), expected_voters=ALL, require_healthy=True)
    assert r["failed"]
    assert r["msg"].startswith("no leader; voters 1/3, ")
    assert "node2, node3 missing" in r["msg"]
    assert r["leader"] == {"node": "", "address": ""}
    assert r["healthy"] is None


def test_bootstrapping_single_server(run_module, cassette):
    r = run_module(consul_raft, None, url=[LEADERLESS_URL], expected_voters=["leaderless", "node2", "node3"])
    assert r["failed"] and r["msg"].startswith("no leader; voters 0/3, leaderless, node2, node3 missing"), r["msg"]


def test_wait_polls_until_the_cluster_is_ready(run):
    cluster = Cluster(["bootstrapping", "leaderless", "healthy"])
    r = run(cluster, expected_voters=ALL, wait=True, wait_timeout=10, poll_interval=0.01)
    assert not r.get("failed"), r
    assert cluster.leader_reads == 3


def test_wait_timeout_message_says_how_long(run):
    r = run(Cluster("leaderless"), expected_voters=ALL, wait=True, wait_timeout=0.2,
            poll_interval=0.05)
    # The message rounds the time actually waited, which a loaded machine stretches past the timeout.
    assert r["failed"] and re.match(r"no leader after \d+s; voters 1/3", r["msg"]), r["msg"]
    assert r["elapsed"] >= 0.2


def test_unreachable_first_url_uses_the_next(run):
    r = run(Cluster("healthy", down=[A]), url=[A, B], expected_voters=ALL)
    assert not r.get("failed"), r


def test_all_unreachable_is_one_line(run_module):
    r = run_module(consul_raft, None, url=[CLOSED, CLOSED.replace(":9", ":1")])
    assert r["failed"] and "\n" not in r["msg"]
    assert r["msg"].startswith("no Consul agent reachable: http://127.0.0.1:9 (")
    assert "Traceback" not in json.dumps(r)


@pytest.mark.parametrize("value,needle", [
    (0, "0 is not a positive number"),
    (True, "not True"),
    ({"a": 1}, "got {'a': 1}"),
    ([], "got []"),
])
def test_bad_expected_voters(run_module, cassette, value, needle):
    r = run_module(consul_raft, None, url=[AGENT_URL], expected_voters=value)
    assert r["failed"] and r["msg"].startswith("expected_voters: ") and needle in r["msg"]
    assert sent(cassette) == []


@pytest.mark.parametrize("args,msg", [
    (dict(expected_voters=ALL, min_failure_tolerance=2),
     "min_failure_tolerance: 2 can never hold with 3 voters (at most 1: a quorum of 2 must survive)"),
    (dict(min_failure_tolerance=-1), "min_failure_tolerance: -1 is negative"),
    (dict(expected_voters=["node1", "node2", "node1"]), "expected_voters: node1 given twice"),
    (dict(wait=True, poll_interval=0), "poll_interval: 0.0 is not a positive number of seconds"),
    (dict(wait=True, wait_timeout=-5), "wait_timeout: -5.0 is not a positive number of seconds"),
    (dict(synced_node=dict(name="node2", url=B, min_index=-1)), "synced_node.min_index: -1 is negative"),
], ids=["impossible-tolerance", "negative-tolerance", "voter-twice", "zero-poll", "negative-wait", "negative-index"])
def test_impossible_conditions_fail_before_any_read(args, msg, run_module, cassette):
    r = run_module(consul_raft, None, url=[AGENT_URL], **args)
    assert r["failed"] and r["msg"] == msg, r["msg"]
    assert sent(cassette) == []


def test_a_tolerance_count_form_may_grow_with_more_voters(run):
    # "at least 3 voters": five could tolerate 2, so this is judged on the cluster's answer.
    r = run(Cluster("healthy"), expected_voters=3, min_failure_tolerance=2)
    assert r["failed"] and r["msg"] == "failure tolerance 1 < 2", r["msg"]


def test_an_unknown_expected_voter_is_named_as_not_in_the_configuration(run):
    r = run(Cluster("healthy"), expected_voters=ALL + ["nodee4"])
    assert r["failed"] and r["msg"] == "voters 3/4, nodee4 missing (nodee4: no such server in this cluster)", r["msg"]


def test_check_mode_reads_the_same(run_module, cassette):
    r = run_module(consul_raft, None, url=[AGENT_URL], expected_voters=["plain"], _ansible_check_mode=True)
    assert not r.get("failed") and r["changed"] is False
    assert len(sent(cassette)) == 4


def test_token_never_in_output(run_module, cassette):
    r = run_module(consul_raft, None, url=[AGENT_URL], token="t0ps3cret-token", expected_voters=3)
    assert r["failed"] and "t0ps3cret-token" not in json.dumps(r)


# --- synced_node: proof that a restarted server's new process caught up -------------------

def agent_self(recorded_state, node=None, **raft):
    """A recorded /v1/agent/self body, optionally renamed and with changed raft stats."""
    body = recorded(recorded_state)["/v1/agent/self"][1]
    body = json.loads(json.dumps(body))
    if node:
        body["Config"]["NodeName"] = node
    body["Stats"]["raft"].update({k: str(v) for k, v in raft.items()})
    return body


def test_reports_autopilot_servers_last_index_and_running_versions(run):
    r = run(Cluster("healthy"))
    assert r["last_index"] == 11
    assert {s["name"]: (s["voter"], s["healthy"], s["leader"], s["version"]) for s in r["servers"]} == {
        "node1": (True, True, False, "1.8.7"), "node2": (True, True, False, "1.8.7"),
        "node3": (True, True, True, "1.8.7")}
    assert {m["version"] for m in r["members"]} == {"1.8.7"}
    assert "synced_node" not in r


def test_leaderless_has_no_autopilot_view(run):
    r = run(Cluster("leaderless"), require_leader=False)
    assert r["servers"] == [] and r["last_index"] is None


def test_synced_node_in_contact_and_caught_up_passes(run):
    cluster = Cluster("healthy", selves={B: [agent_self("healthy", node="node2")]})
    r = run(cluster, expected_voters=ALL, require_healthy=True,
            synced_node=dict(name="node2", url=B, min_index=11))
    assert not r.get("failed"), r
    assert r["synced_node"] == {"name": "node2", "raft_state": "Follower", "last_contact": "61.545132ms",
                                "applied_index": 11, "commit_index": 11, "term": 2, "version": "1.8.7"}


def test_synced_node_fresh_process_never_contacted_fails(run):
    # A just-restarted server: Follower, last_contact "never", only its snapshot applied. Autopilot
    # (recorded healthy) still reports the old process's health: only the node itself can tell.
    fresh = agent_self("bootstrapping", node="node2", applied_index=0)
    r = run(Cluster("healthy", selves={B: [fresh]}), expected_voters=ALL, require_healthy=True,
            synced_node=dict(name="node2", url=B, min_index=11))
    assert r["failed"]
    assert r["msg"] == "node2 has heard from no leader since it started; node2 applied index 0 < 11"


def test_synced_node_behind_the_leader_fails(run):
    r = run(Cluster("healthy", selves={B: [agent_self("healthy", node="node2")]}),
            synced_node=dict(name="node2", url=B, min_index=12))
    assert r["failed"] and r["msg"] == "node2 applied index 11 < 12"


def test_synced_node_candidate_fails(run):
    r = run(Cluster("healthy", selves={B: [agent_self("leaderless", node="node2")]}),
            synced_node=dict(name="node2", url=B))
    assert r["failed"] and r["msg"] == "node2 raft state Candidate"


def test_synced_node_as_leader_passes(run):
    leader = agent_self("healthy", node="node3", state="Leader", last_contact=0)
    r = run(Cluster("healthy", selves={B: [leader]}), synced_node=dict(name="node3", url=B, min_index=11))
    assert not r.get("failed"), r


def test_synced_node_url_of_another_server_is_refused(run):
    r = run(Cluster("healthy", selves={B: [agent_self("healthy")]}), synced_node=dict(name="node2", url=B))
    assert r["failed"] and r["msg"] == "node2: the given URL answers as node 'node1'"


def test_synced_node_must_be_a_healthy_voter_unless_expected_voters_says_so(run):
    # one_down: autopilot lost node2. Its agent answering well is not enough.
    selves = {B: [agent_self("healthy", node="node2")]}
    r = run(Cluster("one_down", selves=selves), synced_node=dict(name="node2", url=B))
    assert r["failed"] and r["msg"] == "node2 is not a healthy voter"
    r = run(Cluster("one_down", selves=selves), expected_voters=ALL, synced_node=dict(name="node2", url=B))
    assert r["msg"] == "voters 2/3, node2 missing"


def test_synced_node_down_then_back_is_waited_for(run):
    selves = {B: [None, agent_self("bootstrapping", node="node2"), agent_self("healthy", node="node2")]}
    cluster = Cluster("healthy", selves=selves)
    r = run(cluster, expected_voters=ALL, require_healthy=True, synced_node=dict(name="node2", url=B, min_index=11),
            wait=True, wait_timeout=10, poll_interval=0.01)
    assert not r.get("failed"), r
    assert cluster.self_reads[B] == 3


def test_synced_node_down_names_it(run):
    r = run(Cluster("healthy", selves={B: [None]}), synced_node=dict(name="node2", url=B),
            wait=True, wait_timeout=0.1, poll_interval=0.05)
    assert r["failed"] and r["msg"].startswith("node2: no Consul agent reachable: http://127.0.0.1:8510 (")
    assert re.search(r" after \d+s$", r["msg"]) and r["synced_node"] is None


def test_synced_node_bad_url_is_one_line(run_module, cassette):
    r = run_module(consul_raft, None, url=[AGENT_URL], synced_node=dict(name="node2", url="127.0.0.1:8510"))
    assert r["failed"] and r["msg"] == "synced_node.url: '127.0.0.1:8510' is not an http:// or https:// URL"
    assert sent(cassette) == []


def test_a_stopped_server_that_left_raft_is_missing_not_unknown():
    # Seen on a real cluster: `systemctl stop` made consul3 leave Raft; Serf still lists it as left.
    from ansible_collections.sdstack.consul.plugins.module_utils._raft_state import evaluate
    state = dict(leader=dict(node="consul1", address="10.0.0.1:8300"), voters=["consul1", "consul2"], non_voters=[],
                 members=[dict(name=n, status="alive" if n != "consul3" else "left")
                          for n in ("consul1", "consul2", "consul3")],
                 healthy=False, healthy_servers=["consul1", "consul2"], unhealthy_servers=["consul3"],
                 failure_tolerance=0, servers=[dict(name="consul3")])
    assert evaluate(state, ["consul1", "consul2", "consul3"]) == ["voters 2/3, consul3 missing"]
    assert evaluate(state, ["consul1", "consul2", "consul4"]) == [
        "voters 2/3, consul4 missing (consul4: no such server in this cluster)"]
