"""End-to-end checks of the discovery pipeline built by playbooks/site.yml, shared by the seed
scenario (one host; Prometheus asks nginx) and the cluster scenario (Prometheus asks two
servers itself). Independent clients only: Prometheus's HTTP API through `requests`,
Consul's through python-consul2. Expectations come from the scenario's inventory.

A scenario runs them by importing the test class and testinfra_hosts from this module.
"""

import os
import time
from pathlib import Path

import consul
import requests
import yaml
from testinfra.utils.ansible_runner import AnsibleRunner

from sdstack_molecule.playbook_run import run_module

RUNNER = AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("prometheus")
# Platform name -> lab address, from the scenario's own molecule.yml.
ADDRESS = {p["name"]: p["ip"] for p in yaml.safe_load(
    (Path(os.environ["MOLECULE_SCENARIO_DIRECTORY"]) / "molecule.yml").read_text())["platforms"]}
HTTP = requests.Session()
HTTP.trust_env = False  # lab addresses only

# What each shipped exporter registers: job, service id, port (from the role defaults) and the
# meta the inventory gives it.
EXPORTERS = {
    "node_exporter": dict(job="consul-node-exporter", service="node-exporter", port=9100),
    "cadvisor": dict(job="consul-cadvisor-exporter", service="cadvisor-exporter", port=8080),
}


def _meta(group, host):
    return RUNNER.get_variables(host)["%s_service_meta" % group]


def _prometheus(host):
    return "http://%s:9090" % ADDRESS[host.backend.get_hostname()]


def expected_targets():
    """(job, scrape URL) -> labels, for every exporter host of the inventory."""
    out = {}
    for group, e in EXPORTERS.items():
        for h in RUNNER.get_hosts(group):
            url = "http://%s:%d/metrics" % (ADDRESS[h], e["port"])
            out[(e["job"], url)] = _meta(group, h)
    return out


def active_targets(base):
    data = HTTP.get(base + "/api/v1/targets", params={"state": "active"}, timeout=5).json()
    return {(t["labels"]["job"], t["scrapeUrl"]): t for t in data["data"]["activeTargets"]}


def poll(fn, timeout, interval=0.5):
    """fn() -> (done, value); returns the last value once done or at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        done, value = fn()
        if done or time.monotonic() > deadline:
            return value
        time.sleep(interval)


def _all_up(base, want):
    def probe():
        got = active_targets(base)
        ok = all(k in got and got[k]["health"] == "up" for k in want)
        return ok, got
    return probe


class TestDiscoveryPipeline:
    """Consul registrations become Prometheus targets, and module changes move them."""

    def test_seed_services_are_up_targets_in_their_jobs_with_consul_meta_labels(self, host):
        base, want = _prometheus(host), expected_targets()
        assert len(want) >= 2, "both seed services are in the inventory"
        # First scrape happens up to one scrape interval after discovery.
        got = poll(_all_up(base, want), 90)
        for key, meta in want.items():
            assert key in got, "missing target %s in job %s; have %s" % (key[1], key[0], sorted(got))
            assert got[key]["health"] == "up", got[key]
            labels = got[key]["labels"]
            assert {k: labels.get(k) for k in meta} == meta, labels
        # The keep regexes put each service in its own job only.
        jobs = {job for job, _url in got}
        assert all(k in want for k in got if k[0] in {e["job"] for e in EXPORTERS.values()}), sorted(got)
        assert {e["job"] for e in EXPORTERS.values()} <= jobs

    def test_discovery_asks_the_configured_consul_addresses(self, host):
        base = _prometheus(host)
        loaded = yaml.safe_load(HTTP.get(base + "/api/v1/status/config", timeout=5).json()["data"]["yaml"])
        jobs = {j["job_name"]: j for j in loaded["scrape_configs"]}
        for job in RUNNER.get_variables(host.backend.get_hostname())["prometheus_consul_jobs"]:
            servers = [sd["server"] for sd in jobs[job["job_name"]]["consul_sd_configs"]]
            assert servers == job["servers"]

    def test_consul_checks_of_the_seed_services_pass(self):
        for group, e in EXPORTERS.items():
            for h in RUNNER.get_hosts(group):
                c = consul.Consul(host=ADDRESS[h], port=8500, timeout=10)

                def probe(c=c, service=e["service"]):
                    nodes = c.health.service(service)[1]
                    st = [chk["Status"] for n in nodes for chk in n["Checks"] if chk["ServiceID"] == service]
                    return bool(st) and set(st) == {"passing"}, st
                assert set(poll(probe, 60) or ["none"]) == {"passing"}, (h, e["service"])

    def test_module_registration_and_deregistration_move_the_target(self, host):
        """A second registration of a real node_exporter appears as a target; deregistering it with
        the module (on the owning agent) removes the target again."""
        base = _prometheus(host)
        owner = RUNNER.get_hosts("node_exporter")[0]
        args = dict(url="http://127.0.0.1:8500", id="pipeline-probe", name="pipeline-probe", tags=["node-exporter"],
                    address="127.0.0.1", port=9100, meta={"app": "probe"})
        key = ("consul-node-exporter", "http://127.0.0.1:9100/metrics")
        try:
            r = run_module(owner, "sdstack.consul.consul_service", args)
            assert r["changed"], r
            got = poll(lambda: (key in active_targets(base), active_targets(base)), 60)
            assert key in got and got[key]["labels"].get("app") == "probe"
        finally:
            r = run_module(owner, "sdstack.consul.consul_service", dict(args, state="absent"))
        assert r["changed"], r
        got = poll(lambda: (key not in active_targets(base), active_targets(base)), 60)
        assert key not in got
