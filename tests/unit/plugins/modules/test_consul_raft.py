"""consul_raft against HTTP answers recorded from real Consul 1.8.7 servers
(tests/unit/fixtures/consul_1.8.7, see its README)."""

import io
import json
from pathlib import Path

import pytest
from urllib.response import addinfourl
from ansible.module_utils.six.moves.urllib.error import HTTPError, URLError

from ansible_collections.sdstack.consul.plugins.modules import consul_raft

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "consul_1.8.7"
A, B = "http://127.0.0.1:8500", "http://127.0.0.1:8510"
ALL = ["node1", "node2", "node3"]


def recorded(state):
    out = {}
    for f in (FIXTURES / state).glob("*.json"):
        d = json.loads(f.read_text())
        out[d["path"]] = (d["status"], d["body"])
    return out


class Cluster:
    """open_url stand-in: serves recorded states; a list of states is served one per full read."""

    def __init__(self, states, down=()):
        self.states = [recorded(s) for s in ([states] if isinstance(states, str) else states)]
        self.down = set(down)
        self.leader_reads = 0

    def __call__(self, url, **kw):
        base, _sep, rest = url.partition("/v1/")
        if base in self.down:
            raise URLError(ConnectionRefusedError(111, "Connection refused"))
        path = "/v1/" + rest
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


def test_count_form_of_expected_voters(run):
    assert not run(Cluster("healthy"), expected_voters=3).get("failed")
    r = run(Cluster("healthy"), expected_voters=5)
    assert r["failed"] and r["msg"] == "voters 3/5"


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


def test_bootstrapping_single_server(run):
    r = run(Cluster("bootstrapping"), expected_voters=ALL)
    assert r["failed"] and r["msg"].startswith("no leader; voters 0/3")


def test_wait_polls_until_the_cluster_is_ready(run):
    cluster = Cluster(["bootstrapping", "leaderless", "healthy"])
    r = run(cluster, expected_voters=ALL, wait=True, wait_timeout=10, poll_interval=0.01)
    assert not r.get("failed"), r
    assert cluster.leader_reads == 3


def test_wait_timeout_message_says_how_long(run):
    r = run(Cluster("leaderless"), expected_voters=ALL, wait=True, wait_timeout=0.2,
            poll_interval=0.05)
    assert r["failed"] and r["msg"].startswith("no leader after 0s; voters 1/3")
    assert r["elapsed"] >= 0.2


def test_unreachable_first_url_uses_the_next(run):
    r = run(Cluster("healthy", down=[A]), url=[A, B], expected_voters=ALL)
    assert not r.get("failed"), r


def test_all_unreachable_is_one_line(run):
    r = run(Cluster("healthy", down=[A, B]), url=[A, B])
    assert r["failed"] and "\n" not in r["msg"]
    assert r["msg"].startswith("no Consul agent reachable: http://127.0.0.1:8500 (")
    assert "Traceback" not in json.dumps(r)


@pytest.mark.parametrize("value,needle", [
    (0, "0 is not a positive number"),
    (True, "not True"),
    ({"a": 1}, "got {'a': 1}"),
    ([], "got []"),
])
def test_bad_expected_voters(run, value, needle):
    r = run(Cluster("healthy"), expected_voters=value)
    assert r["failed"] and r["msg"].startswith("expected_voters: ") and needle in r["msg"]


def test_check_mode_reads_the_same(run):
    r = run(Cluster("healthy"), expected_voters=ALL, _ansible_check_mode=True)
    assert not r.get("failed") and r["changed"] is False


def test_token_never_in_output(run):
    r = run(Cluster("one_down"), token="t0ps3cret-token", require_healthy=True)
    assert "t0ps3cret-token" not in json.dumps(r)
