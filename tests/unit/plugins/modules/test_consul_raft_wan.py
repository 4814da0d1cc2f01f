"""consul_raft across datacenters: WAN federation (datacenters, wan_members) and another datacenter's
Raft (datacenter), against a real Consul 1.8.7 federation replayed from cassettes (tests/unit/replay.py).

Recorded by tests/unit/fixtures/consul_1.8.7/cassettes/record_wan.py: dc1 is one server (node1) and a
client agent, dc2 three servers (node1, node2, node3), each test in the state its ``wan_state`` marker
names (unmarked: healthy). What the recording decided (which dc2 follower crashed, the statuses the
WAN pool settled on) is in wan_federation.json next to the cassettes.
"""

import json
import os
import re
from pathlib import Path

import pytest

from ansible_collections.sdstack.consul.plugins.modules import consul_raft
from replay import CASSETTES, RECORDING, sent

DC1_URL = "http://127.0.0.1:18560"
DC2_URL = "http://127.0.0.2:18570"
CLIENT_URL = "http://127.0.0.1:18596"
DC2 = ["node1", "node2", "node3"]
FEDERATION = {"dc1": ["node1"], "dc2": DC2}

ONE_READ = [("GET", "/v1/status/leader"), ("GET", "/v1/operator/raft/configuration?stale="),
            ("GET", "/v1/agent/members"), ("GET", "/v1/operator/autopilot/health")]
DC2_RAFT_READ = [("GET", "/v1/status/leader?dc=dc2"), ("GET", "/v1/operator/raft/configuration?stale=&dc=dc2"),
                 ("GET", "/v1/agent/members?wan=1"), ("GET", "/v1/operator/autopilot/health?dc=dc2")]
WAN_READ = [("GET", "/v1/agent/members?wan=1"), ("GET", "/v1/status/leader?dc=dc1"),
            ("GET", "/v1/status/leader?dc=dc2")]


def facts():
    if RECORDING:
        return json.loads(os.environ["SDSTACK_WAN_FACTS"])
    return json.loads((CASSETTES / "wan_federation.json").read_text())


@pytest.fixture
def raft(run_module, cassette):  # pylint: disable=unused-argument
    def go(**args):
        args.setdefault("url", [DC1_URL])
        return run_module(consul_raft, None, **args)
    return go


# --- healthy: every server alive over WAN, both datacenters with a leader ----------------------

def test_a_federation_with_every_server_alive_and_both_leaders_passes(raft, cassette):
    r = raft(expected_voters=["node1"], wan_members=FEDERATION)
    assert not r.get("failed"), r
    assert r["changed"] is False and r["unmet"] == []
    # Two nodes are called node1: the pool tells them apart by datacenter, not by name.
    assert sorted((m["datacenter"], m["name"], m["status"], m["role"]) for m in r["wan_members"]) == [
        ("dc1", "node1", "alive", "consul"), ("dc2", "node1", "alive", "consul"), ("dc2", "node2", "alive", "consul"),
        ("dc2", "node3", "alive", "consul")]
    assert r["wan_leaders"]["dc1"] == {"address": "127.0.0.1:18360", "error": ""}
    # dc2's servers' Raft (server) ports; which one leads is the election's choice.
    assert r["wan_leaders"]["dc2"] in ({"address": "127.0.0.2:%d" % port, "error": ""} for port in (18370, 18380, 18390))
    assert sent(cassette) == ONE_READ + WAN_READ


def test_any_server_of_the_federation_sees_the_same_pool(raft, cassette):
    r = raft(url=[DC2_URL], wan_members=FEDERATION)
    assert not r.get("failed"), r
    assert sent(cassette) == ONE_READ + WAN_READ


def test_datacenters_need_one_alive_server_a_count_needs_that_many(raft, cassette):
    assert not raft(datacenters=["dc1", "dc2"]).get("failed")
    assert not raft(datacenters=["dc1"], wan_members={"dc2": 3}).get("failed")
    r = raft(wan_members={"dc2": 4})
    assert r["failed"] and r["msg"] == "dc2: WAN servers 3/4 alive", r["msg"]


def test_a_datacenter_that_never_joined_is_named_without_asking_its_leader(raft, cassette):
    r = raft(datacenters=["dc1", "dc2", "dc3"])
    assert r["failed"] and r["msg"] == "dc3 not in the WAN federation (known: dc1, dc2)", r["msg"]
    assert sent(cassette) == ONE_READ + WAN_READ
    assert set(r["wan_leaders"]) == {"dc1", "dc2"}


def test_a_server_that_is_no_wan_member_of_its_datacenter_is_named(raft, cassette):
    r = raft(wan_members={"dc2": ["node1", "node2", "node4"]})
    assert r["failed"] and r["msg"] == "dc2: WAN servers 2/3 alive, node4 not a WAN member", r["msg"]
    # node2 is a dc2 server: dc1 has none of that name.
    r = raft(wan_members={"dc1": ["node1", "node2"]})
    assert r["failed"] and r["msg"] == "dc1: WAN servers 1/2 alive, node2 not a WAN member", r["msg"]


def test_another_datacenters_raft_is_read_through_the_local_server(raft, cassette):
    r = raft(datacenter="dc2", expected_voters=DC2, require_healthy=True, min_failure_tolerance=1)
    assert not r.get("failed"), r
    assert r["leader"]["node"] in DC2 and r["leader"]["address"].startswith("127.0.0.2:") and r["leader_error"] == ""
    assert (r["voters"], r["failure_tolerance"], r["healthy_servers"]) == (DC2, 1, DC2)
    # dc2's WAN members, not dc1's LAN (which has its own node1).
    assert sorted((m["name"], m["datacenter"], m["address"]) for m in r["members"]) == [
        (n, "dc2", "127.0.0.2") for n in DC2]
    assert sent(cassette) == DC2_RAFT_READ
    assert "wan_members" not in r


def test_a_datacenter_that_does_not_exist_says_what_consul_said(raft, cassette):
    r = raft(datacenter="dc3", expected_voters=3)
    assert r["failed"] and r["msg"] == "dc3: no leader (No path to datacenter); dc3: voters 0/3", r["msg"]
    assert r["leader_error"] == "No path to datacenter"


def test_a_client_agent_knows_no_wan_members(raft, cassette):
    # Its Raft reads are forwarded to dc1's server and pass; only the WAN pool is unknown to it.
    r = raft(url=[CLIENT_URL], expected_voters=["node1"], wan_members={"dc1": ["node1"]})
    assert r["failed"] and r["msg"] == "no WAN members in the answer (client agents know none: give server URLs)"
    assert r["wan_members"] == [] and r["wan_leaders"] == {}
    assert sent(cassette) == ONE_READ + [("GET", "/v1/agent/members?wan=1")]


def test_check_mode_reads_the_same(raft, cassette):
    r = raft(datacenter="dc2", wan_members=FEDERATION, _ansible_check_mode=True)
    assert not r.get("failed") and r["changed"] is False, r
    assert sent(cassette) == DC2_RAFT_READ + WAN_READ


@pytest.mark.parametrize("args,msg", [
    (dict(datacenter="DC2"), "datacenter: 'DC2' is not a datacenter name (lowercase letters, digits, _ and -)"),
    (dict(datacenters=["dc1", "dc 2"]),
     "datacenters: 'dc 2' is not a datacenter name (lowercase letters, digits, _ and -)"),
    (dict(datacenters=["dc1", "dc1"]), "datacenters: dc1 given twice"),
    (dict(wan_members={"Dc2": 1}), "wan_members: 'Dc2' is not a datacenter name (lowercase letters, digits, _ and -)"),
    (dict(wan_members={"dc2": []}), "wan_members.dc2: give a number or a list of node names, got []"),
    (dict(wan_members={"dc2": None}), "wan_members.dc2: give the datacenter's server names or their number"),
    (dict(wan_members={"dc2": 0}), "wan_members.dc2: 0 is not a positive number of servers"),
    (dict(wan_members={"dc2": True}), "wan_members.dc2: give a number or a list of node names, not True"),
    (dict(wan_members={"dc2": ["node1", "node1"]}), "wan_members.dc2: node1 given twice"),
    (dict(wan_members={"dc2": ["node1.dc2"]}),
     "wan_members.dc2: give node names without the datacenter, node1 not node1.dc2"),
    # ansible-core's own check, before the module's.
    (dict(wan_members=["dc1", "dc2"]),
     "argument 'wan_members' is of type list and we were unable to convert to dict: <class 'list'> cannot be "
     "converted to a dict"),
], ids=["upper-case-dc", "space-in-dc", "dc-twice", "bad-dc-key", "no-servers", "null-servers", "zero-servers",
        "bool-servers", "server-twice", "wan-name", "list-not-dict"])
def test_bad_arguments_fail_before_any_read(args, msg, raft, cassette):
    r = raft(**args)
    assert r["failed"] and r["msg"] == msg, r["msg"]
    assert sent(cassette) == []


def test_a_bare_datacenter_name_list_is_comma_separated(raft, cassette):
    r = raft(datacenters="dc1,dc2,dc3")
    assert r["failed"] and r["msg"] == "dc3 not in the WAN federation (known: dc1, dc2)", r["msg"]


# --- dc2_one_down: a dc2 follower crashed; dc2 keeps a quorum --------------------------------

@pytest.mark.wan_state("dc2_one_down")
def test_a_crashed_server_is_named_with_its_wan_status_while_its_datacenter_keeps_a_leader(raft, cassette):
    f = facts()
    victim, status = f["dc2_one_down_victim"], f["dc2_one_down_victim_status"]
    r = raft(wan_members=FEDERATION)
    assert r["failed"] and r["msg"] == "dc2: WAN servers 2/3 alive, %s %s" % (victim, status), r["msg"]
    assert r["wan_leaders"]["dc2"]["address"] and r["wan_leaders"]["dc2"]["error"] == ""
    # "at least one alive server and a leader" still holds.
    assert not raft(datacenters=["dc1", "dc2"]).get("failed")
    assert not raft(wan_members={"dc2": 2}).get("failed")


@pytest.mark.wan_state("dc2_one_down")
def test_the_crashed_server_is_a_missing_voter_of_dc2_read_through_dc1(raft, cassette):
    victim = facts()["dc2_one_down_victim"]
    r = raft(datacenter="dc2", expected_voters=DC2)
    assert r["failed"] and r["msg"] == "dc2: voters 2/3, %s missing" % victim, r["msg"]
    assert r["leader"]["node"] in DC2 and r["leader"]["node"] != victim


# --- dc2_down: every dc2 server crashed ------------------------------------------------------

@pytest.mark.wan_state("dc2_down")
def test_a_lost_datacenter_is_named_with_each_of_its_servers_and_dc1_is_unaffected(raft, cassette):
    statuses = facts()["dc2_down_status"]
    r = raft(expected_voters=["node1"], require_healthy=True, wan_members=FEDERATION)
    servers = ", ".join("%s %s" % (n, statuses[n]) for n in DC2)
    # Consul's reason varies with the moment and the server it tried: "rpc error getting client: failed to get
    # conn: dial tcp ...: connect: connection refused", "Remote DC has no server currently reachable", ...
    assert r["failed"] and re.fullmatch(r"dc2: no leader \([^;]+\); "
                                        r"dc2: WAN servers 0/3 alive, " + re.escape(servers), r["msg"]), r["msg"]
    assert r["leader"]["node"] == "node1" and r["healthy"] is True
    assert r["wan_leaders"]["dc2"]["address"] == "" and r["wan_leaders"]["dc1"]["address"] == "127.0.0.1:18360"


@pytest.mark.wan_state("dc2_down")
def test_a_lost_datacenter_fails_the_any_server_form_too(raft, cassette):
    statuses = facts()["dc2_down_status"]
    r = raft(datacenters=["dc1", "dc2"])
    assert r["failed"] and r["msg"].startswith("dc2: no leader ("), r["msg"]
    assert r["msg"].endswith("; dc2: no WAN server alive, " + ", ".join("%s %s" % (n, statuses[n]) for n in DC2))
    assert not raft(datacenters=["dc1"]).get("failed")


@pytest.mark.wan_state("dc2_down")
def test_a_lost_datacenters_raft_read_through_dc1_names_what_consul_said(raft, cassette):
    r = raft(datacenter="dc2", expected_voters=DC2)
    assert r["failed"] and re.fullmatch(r"dc2: no leader \([^;]+\); dc2: voters 0/3, node1, node2, node3 missing",
                                        r["msg"]), r["msg"]
    assert r["leader_error"] and r["voters"] == [] and r["healthy"] is None


# --- dc2_back: dc2's servers started again on their data; nobody runs a join ------------------

@pytest.fixture
def replay_without_pauses(monkeypatch):
    """The recording paused between polls; a replay need not wait for answers that are already there."""
    if not RECORDING:
        monkeypatch.setattr(consul_raft.time, "sleep", lambda _seconds: None)


@pytest.mark.wan_state("dc2_back")
@pytest.mark.usefixtures("replay_without_pauses")
def test_a_datacenter_back_rejoins_by_itself_and_wait_sees_it(raft, cassette):
    if RECORDING:
        # The recorder starts dc2's servers now (record_wan.py): the first read sees dc2 still down.
        Path(os.environ["SDSTACK_WAN_TRIGGER"]).touch()
    r = raft(wan_members=FEDERATION, wait=True, wait_timeout=120, poll_interval=2)
    assert not r.get("failed"), r
    assert all(m["status"] == "alive" for m in r["wan_members"])
    # Several rounds of reads: it waited (the first ones saw dc2 down), then the last one passed.
    reads = sent(cassette)
    assert reads.count(ONE_READ[0]) > 1 and reads[-len(ONE_READ + WAN_READ):] == ONE_READ + WAN_READ


@pytest.mark.wan_state("dc2_back")
@pytest.mark.usefixtures("replay_without_pauses")
def test_a_datacenter_back_heals_its_raft_too(raft, cassette):
    # The crashed follower autopilot removed comes back as a non-voter and is promoted once stable.
    r = raft(datacenter="dc2", expected_voters=DC2, require_healthy=True, wait=True, wait_timeout=180,
             poll_interval=5)
    assert not r.get("failed"), r
    assert r["voters"] == DC2 and r["non_voters"] == []
    polls = len(sent(cassette)) // len(DC2_RAFT_READ)
    assert sent(cassette) == DC2_RAFT_READ * polls
