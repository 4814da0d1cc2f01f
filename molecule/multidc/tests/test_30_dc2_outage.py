"""Lose dc2 (all three of its servers stopped at once): dc1 keeps its leader, its reads and writes
through its nginx and its own Prometheus targets. Then dc2's servers start again, with no playbook
run, and the test measures until dc2 is back in the WAN pool with a leader. Timeline in
<ephemeral dir>/multidc-dc2-outage.json."""

import time
import uuid

from conftest import (API, DC1_HOSTS, DC2_HOST, DC2_UNITS, HTTP, JOB, NGINX, SERVERS, WAN_AUTH, active_targets, agent_args,
                      hold_for, leader_of, node_exporter_url, podman, write_artifact)
from sdstack_molecule.playbook_run import run_module
from sdstack_molecule.polling import wait_for
from sdstack_molecule.wan_checks import wait_for_federation, wan_leaders

DC1_API = API["dc1"][0]


def _dc2_unreachable_from_dc1():
    leader = wan_leaders(DC1_API, ["dc2"], **WAN_AUTH)["dc2"]
    return leader if (not leader or leader.startswith("HTTP ")) else None


def _dc1_targets_up():
    got = {t["scrapeUrl"]: t["health"] for t in active_targets() if t["labels"].get("job") == JOB["dc1"]}
    return got if got == {node_exporter_url(h): "up" for h in DC1_HOSTS} else None


def test_dc1_unaffected_while_dc2_is_down_and_dc2_rejoins_without_a_playbook():
    wait_for_federation(DC1_API, SERVERS, timeout=60, **WAN_AUTH)
    leader_before = leader_of("dc1")
    assert leader_before, "dc1 has no leader before the outage"
    timeline = {"dc1_leader_before": leader_before}
    t0 = time.time()
    restarted = False
    try:
        podman("exec", DC2_HOST, "systemctl", "stop", *DC2_UNITS)
        timeline["dc2_stopped_s"] = round(time.time() - t0, 2)
        state = podman("exec", DC2_HOST, "systemctl", "is-active", *DC2_UNITS, check=False).split()
        # Consul 1.8 exits 1 on SIGTERM, so systemd may record the stop as "failed": stopped either way.
        assert all(s in ("inactive", "failed") for s in state) and len(state) == 3, state

        # dc1 notices: a ?dc=dc2 query fails (no path, or connection refused).
        why = wait_for(_dc2_unreachable_from_dc1, 90, "dc1 seeing dc2 without a leader")
        timeline["dc2_unreachable_from_dc1_s"] = round(time.time() - t0, 2)
        timeline["dc2_leader_error"] = why

        # dc1 keeps its leader (the same one: nothing in dc1 was touched).
        assert leader_of("dc1") == leader_before

        # Local writes and reads through dc1's nginx.
        key, value = "multidc/outage", uuid.uuid4().hex
        r = HTTP.put(NGINX + "/v1/kv/" + key, data=value, timeout=10)
        assert r.status_code == 200 and r.json() is True, (r.status_code, r.text)
        r = HTTP.get(NGINX + "/v1/kv/" + key, params={"raw": "1"}, timeout=10)
        assert r.status_code == 200 and r.text == value, (r.status_code, r.text)
        r = HTTP.get(NGINX + "/v1/catalog/service/node-exporter", timeout=10)
        assert r.status_code == 200 and len(r.json()) == len(DC1_HOSTS), r.text
        timeline["dc1_kv_write_read_ok_s"] = round(time.time() - t0, 2)

        # dc1's own targets stay up in dc1's Prometheus, past a few discovery refreshes (2s) and
        # scrapes of the outage.
        wait_for(_dc1_targets_up, 30, "dc1's node_exporters up during dc2's outage")
        timeline["dc1_samples_held"] = hold_for(
            lambda: _dc1_targets_up() and leader_of("dc1") == leader_before, 15,
            "dc1's targets up and its leader unchanged during dc2's outage")
        timeline["dc1_checked_until_s"] = round(time.time() - t0, 2)

        # Back, without any playbook: only systemd starts the units the role installed.
        t_start = time.time()
        podman("exec", DC2_HOST, "systemctl", "start", *DC2_UNITS)
        restarted = True
        timeline["dc2_started_s"] = round(t_start - t0, 2)
        rejoin = wait_for_federation(DC1_API, SERVERS, timeout=180, **WAN_AUTH)
        timeline["dc2_rejoined_wan_with_leader_s"] = round(time.time() - t0, 2)
        timeline["rejoin_seconds_after_start"] = round(time.time() - t_start, 2)
        timeline["rejoin_seconds_measured_by_wait"] = round(rejoin, 2)
        # The module agrees, from both sides.
        for host in ("mdc1-1", DC2_HOST):
            run_module(host, "sdstack.consul.consul_raft",
                       agent_args(wan_members=SERVERS, wait=True, wait_timeout=60))
        assert leader_of("dc1") == leader_before, "dc1's leader changed when dc2 came back"
    finally:
        if not restarted:
            podman("exec", DC2_HOST, "systemctl", "start", *DC2_UNITS, check=False)
        write_artifact("multidc-dc2-outage.json", timeline)
