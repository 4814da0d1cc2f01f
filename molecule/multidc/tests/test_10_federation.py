"""WAN federation after the cold converge: every server of both datacenters is an alive WAN
member, each datacenter has a leader, both servers' views agree, consul_raft's wan_members says so
(and names a datacenter that is missing), and dc2's catalog is reachable from dc1 (CLI, nginx).
Records the WAN join time of the cold converge in <ephemeral dir>/multidc-wan-join.json."""

import re

from conftest import (ADDRESS, API, DC1_HOSTS, DC2_HOST, HTTP, NGINX, SERVERS, WAN_AUTH, agent_args, consul_cli, podman,
                      write_artifact)
from sdstack_molecule.playbook_run import module_failure, run_module
from sdstack_molecule.wan_checks import wait_for_federation, wan_leaders, wan_members

JOURNAL_LINE = re.compile(r"^(\d+\.\d+) \S+ (.*)$")


def test_every_server_of_both_datacenters_is_alive_over_wan_from_either_side():
    for dc in ("dc1", "dc2"):
        wait_for_federation(API[dc][0], SERVERS, timeout=120, **WAN_AUTH)
        pool = wan_members(API[dc][0], **WAN_AUTH)
        # Exactly the two datacenters, exactly their servers (no stale or foreign member).
        assert {d: sorted(n) for d, n in pool.items()} == {d: sorted(n) for d, n in SERVERS.items()}, (dc, pool)
        assert all(s == "alive" for nodes in pool.values() for s in nodes.values()), (dc, pool)
        leaders = wan_leaders(API[dc][0], SERVERS, **WAN_AUTH)
        assert all(v and not v.startswith("HTTP ") for v in leaders.values()), (dc, leaders)
        # Each datacenter's leader is one of its own servers (dc2's on mdc2-seed's address).
        assert leaders["dc2"].startswith(ADDRESS[DC2_HOST] + ":"), leaders
        assert leaders["dc1"].split(":")[0] in [ADDRESS[h] for h in DC1_HOSTS], leaders


def test_consul_raft_asserts_the_federation_and_names_a_missing_datacenter():
    for host in ("mdc1-1", DC2_HOST):
        result = run_module(host, "sdstack.consul.consul_raft",
                            agent_args(wan_members=SERVERS, wait=True, wait_timeout=60))
        assert not result.get("changed"), result
    wrong = module_failure("mdc1-1", "sdstack.consul.consul_raft",
                           agent_args(wan_members={"dc3": ["x"]}))
    msg = wrong.get("msg", "")
    assert "\n" not in msg and "dc3 not in the WAN federation (known: dc1, dc2)" in msg, wrong


def test_both_datacenters_list_the_same_datacenters():
    for dc in ("dc1", "dc2"):
        got = HTTP.get(API[dc][0] + "/v1/catalog/datacenters", timeout=5).json()
        assert sorted(got) == ["dc1", "dc2"], (dc, got)


def test_consul_cli_on_a_dc1_server_lists_dc2_services():
    out = consul_cli("mdc1-1", "catalog", "services", "-datacenter", "dc2")
    assert "node-exporter" in out.split(), out
    # And its own datacenter's catalog is not dc2's: the query really crossed the WAN.
    nodes = consul_cli("mdc1-1", "catalog", "nodes", "-datacenter", "dc2")
    assert "node1" in nodes and "mdc1-1" not in nodes, nodes


def test_nginx_in_dc1_forwards_dc2_queries():
    r = HTTP.get(NGINX + "/v1/catalog/services", params={"dc": "dc2"}, timeout=10)
    assert r.status_code == 200, (r.status_code, r.text)
    assert "node-exporter" in r.json(), r.json()
    nodes = HTTP.get(NGINX + "/v1/catalog/service/node-exporter", params={"dc": "dc2"}, timeout=10).json()
    assert {n["Address"] for n in nodes} == {ADDRESS[DC2_HOST]}, nodes
    assert {n["Datacenter"] for n in nodes} == {"dc2"}, nodes


def _journal(host):
    """(epoch seconds, message) of every consul@ unit line on the host, systemd's own included."""
    out = podman("exec", host, "journalctl", "-u", "consul@*", "-o", "short-unix", "--no-pager")
    return [(float(m.group(1)), m.group(2)) for m in map(JOURNAL_LINE.match, out.splitlines()) if m]


def test_record_wan_join_time_of_the_cold_converge():
    """From the journals (the converge is over): the last server unit's first start, the first
    leadership of each datacenter, and the last cross-datacenter WAN join any server logged.
    Idempotence ran in between but restarts nothing, so the first start is the cold one."""
    first_start, leadership, wan_joins = {}, {}, []
    for host, dc in [(h, "dc1") for h in DC1_HOSTS] + [(DC2_HOST, "dc2")]:
        other = "dc2" if dc == "dc1" else "dc1"
        for t, msg in _journal(host):
            unit = re.search(r"Started (consul@[\w-]+)\.service", msg)
            if unit:
                first_start.setdefault(host + "/" + unit.group(1), t)
            if "cluster leadership acquired" in msg:
                leadership.setdefault(dc, t)
            if "serf.wan" in msg and re.search(r"EventMemberJoin: \S+\.%s\b" % other, msg):
                wan_joins.append(t)
    assert len(first_start) == 6, first_start
    assert set(leadership) == {"dc1", "dc2"}, leadership
    assert wan_joins, "no cross-datacenter WAN join logged"
    started = max(first_start.values())
    # The last join happened before the federation could be whole; it is whole now (test above).
    joined = max([max(wan_joins)] + list(leadership.values()))
    report = {"servers_started_first": min(first_start.values()), "servers_started_last": started,
              "leaders_at": leadership, "last_wan_join_at": max(wan_joins),
              "wan_join_seconds_after_last_server_start": round(joined - started, 1),
              "wan_join_seconds_after_first_server_start": round(joined - min(first_start.values()), 1)}
    write_artifact("multidc-wan-join.json", report)
    assert joined >= started - 1, report
