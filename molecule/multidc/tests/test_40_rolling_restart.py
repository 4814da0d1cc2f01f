"""playbooks/rolling_restart.yml across two datacenters: every dc1 step before every dc2 step, each
datacenter's leader restarted last, and a poller sampling both datacenters' leaders (each asked
through its own servers) never saw both without a leader at once. Steps and samples in
<ephemeral dir>/multidc-rolling-restart.json."""

import calendar
import json
import threading
import time

from conftest import API, REPORTS, SERVERS, WAN_AUTH, leader_of, write_artifact
from sdstack_molecule.playbook_run import converge
from sdstack_molecule.wan_checks import wait_for_federation

REPORT = REPORTS / "multidc-rolling-restart-steps.json"


class LeaderPoller(threading.Thread):
    """Samples (time, dc1 leader, dc2 leader) every 0.2 s until stopped."""

    def __init__(self):
        super().__init__(daemon=True)
        self.samples = []
        self.stopped = threading.Event()

    def run(self):
        while not self.stopped.is_set():
            self.samples.append((time.time(), leader_of("dc1", timeout=0.5), leader_of("dc2", timeout=0.5)))
            self.stopped.wait(0.2)


def _epoch(iso):
    """'2026-12-01T15:31:56.123456Z' (the role's now(utc=true)) -> epoch seconds."""
    base, frac = iso.rstrip("Z").split(".")
    return calendar.timegm(time.strptime(base, "%Y-%m-%dT%H:%M:%S")) + float("0." + frac)


def test_rolling_restart_goes_datacenter_by_datacenter_leader_last_never_two_leaderless():
    wait_for_federation(API["dc1"][0], SERVERS, timeout=60, **WAN_AUTH)
    REPORT.unlink(missing_ok=True)
    poller = LeaderPoller()
    poller.start()
    try:
        converge("sdstack.consul.rolling_restart", dict(rolling_restart_report=str(REPORT)), timeout=1200)
    finally:
        poller.stopped.set()
        poller.join(10)
    steps = json.loads(REPORT.read_text())
    both_leaderless = [s for s in poller.samples if not s[1] and not s[2]]
    write_artifact("multidc-rolling-restart.json", {
        "steps": steps, "samples": len(poller.samples),
        "dc1_leaderless_samples": sum(1 for s in poller.samples if not s[1]),
        "dc2_leaderless_samples": sum(1 for s in poller.samples if not s[2]),
        "both_leaderless": both_leaderless})
    dcs = [s["datacenter"] for s in steps]
    # Every server of both datacenters restarted once, dc1's (first in inventory) before dc2's.
    assert sorted(s["node"] for s in steps) == sorted(SERVERS["dc1"] + SERVERS["dc2"]), steps
    assert dcs == ["dc1"] * 3 + ["dc2"] * 3, dcs
    for dc in ("dc1", "dc2"):
        own = [s for s in steps if s["datacenter"] == dc]
        assert [s["node"] for s in own if s["node"] in SERVERS[dc]] == [s["node"] for s in own], own
        for s in own[:-1]:
            assert s["node"] != s["leader_before"], s
        assert own[-1]["node"] == own[-1]["leader_before"], own[-1]
    # One datacenter finished before the next began (times from the report, not only the order).
    last_dc1 = max(_epoch(s["in_sync_at"]) for s in steps if s["datacenter"] == "dc1")
    first_dc2 = min(_epoch(s["restarted_at"]) for s in steps if s["datacenter"] == "dc2")
    assert last_dc1 <= first_dc2, (last_dc1, first_dc2)
    assert poller.samples, "the leader poller took no sample"
    assert not both_leaderless, "both datacenters leaderless at once: %s" % both_leaderless[:5]
    wait_for_federation(API["dc1"][0], SERVERS, timeout=120, **WAN_AUTH)
