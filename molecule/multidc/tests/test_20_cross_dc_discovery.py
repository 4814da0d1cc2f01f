"""Discovery across datacenters: dc1's Prometheus lists dc2's node_exporter as an up target of
the `datacenter: dc2` job, labelled dc=dc2 from Consul's answer (datacenter_label), and dc1's own
under dc=dc1; a service registered on
dc2's agent becomes a target in dc1's Prometheus (5 times, median latency recorded in
<ephemeral dir>/multidc-discovery.json)."""

import statistics
import time

from conftest import ADDRESS, DC1_HOSTS, DC2_HOST, JOB, active_targets, agent_args, node_exporter_url, write_artifact
from sdstack_molecule.playbook_run import run_module
from sdstack_molecule.polling import wait_for

ROUNDS = 5
PROBE = dict(name="xdc-probe", tags=["node-exporter"], address=ADDRESS[DC2_HOST],
             port=9100)


def _targets_of(job):
    return [t for t in active_targets() if t["labels"].get("job") == job]


def test_dc2_node_exporter_is_an_up_target_in_dc1_prometheus_labelled_dc2():
    def dc2_up():
        got = {t["scrapeUrl"]: t for t in _targets_of(JOB["dc2"])}
        t = got.get(node_exporter_url(DC2_HOST))
        return t if t and t["health"] == "up" else None
    target = wait_for(dc2_up, 90, "dc2's node_exporter up in job %s" % JOB["dc2"])
    assert target["labels"].get("dc") == "dc2", target["labels"]
    # The dc2 job holds dc2's exporters only: the query went to dc2's catalog, not dc1's.
    assert {t["scrapeUrl"] for t in _targets_of(JOB["dc2"])} == {node_exporter_url(DC2_HOST)}


def test_dc1_node_exporters_are_up_targets_labelled_dc1_and_only_dc1():
    want = {node_exporter_url(h) for h in DC1_HOSTS}

    def dc1_up():
        got = {t["scrapeUrl"]: t for t in _targets_of(JOB["dc1"])}
        return got if set(got) == want and all(t["health"] == "up" for t in got.values()) else None
    got = wait_for(dc1_up, 90, "dc1's node_exporters up in job %s, nothing else" % JOB["dc1"])
    assert {t["labels"].get("dc") for t in got.values()} == {"dc1"}, got


def _probe_target(i):
    return [t for t in _targets_of(JOB["dc2"]) if t["labels"].get("probe") == str(i)]


def test_registration_in_dc2_reaches_dc1_prometheus_median_of_five():
    rounds = []
    try:
        for i in range(ROUNDS):
            args = agent_args(**PROBE, id="xdc-probe-%d" % i, meta={"probe": str(i)})
            before = time.monotonic()
            r = run_module(DC2_HOST, "sdstack.consul.consul_service", args)
            registered = time.monotonic()
            assert r["changed"], r
            listed = wait_for(lambda i=i: _probe_target(i), 60, "probe %d of dc2 listed in dc1's Prometheus" % i,
                              interval=0.2)
            seen = time.monotonic()
            assert listed[0]["labels"].get("dc") == "dc2", listed
            rounds.append({"round": i, "module_s": round(registered - before, 2),
                           "registered_to_target_s": round(seen - registered, 2),
                           "module_start_to_target_s": round(seen - before, 2)})
            r = run_module(DC2_HOST, "sdstack.consul.consul_service", dict(args, state="absent"))
            assert r["changed"], r
            wait_for(lambda i=i: not _probe_target(i), 60, "probe %d gone from dc1's Prometheus" % i, interval=0.2)
    finally:
        for i in range(ROUNDS):
            run_module(DC2_HOST, "sdstack.consul.consul_service",
                       agent_args(**PROBE, id="xdc-probe-%d" % i, state="absent"))
    median = statistics.median(r["registered_to_target_s"] for r in rounds)
    write_artifact("multidc-discovery.json", {
        "rounds": rounds, "median_registered_to_target_s": median,
        "median_module_start_to_target_s": statistics.median(r["module_start_to_target_s"] for r in rounds),
        "path": "consul_service on mdc2-seed's node1 -> dc2 catalog -> WAN -> dc1 nginx (?dc=dc2) -> Prometheus"})
    assert len(rounds) == ROUNDS
    # Prometheus's refresh (2s) plus its 5s discovery->scrape hand-over; a minute means something is wrong.
    assert median < 30, rounds
