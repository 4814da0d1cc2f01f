"""Benchmarks of the discovery pipeline on the `seed` scenario (one host: three Consul servers,
node_exporter, cAdvisor, nginx, Prometheus, all from playbooks/site.yml).

Measured in one run, each several times (medians reported):
  * registration -> target listed in Prometheus's /api/v1/targets, and deregistration -> target
    gone, with the collection's refresh_interval (2s) and with Prometheus's default (30s) as the
    baseline; the service is a second registration of the real node_exporter, timed from the
    moment the agent acknowledged the PUT;
  * registering 500 services: the consul_service bulk form (one task) versus a loop of
    single-service tasks versus raw HTTP PUTs from Python (the floor), each on an empty agent.

Runs Molecule's `seed` scenario steps; needs the lab up (`make bench` does that).
Writes bench/results/discovery-<time>.json; bench/tables.py turns it into docs/benchmarks.md's tables.
"""

import argparse
import json
import random
import sys
import tempfile
import time
from pathlib import Path

from common import BenchError, LoadSampler, api, commit, sh, wait_for, finish_result, raw_register

HOST = "consul-seed"
ADDR = "10.89.20.31"
AGENT = "http://%s:8500" % ADDR
PROMETHEUS = "http://%s:9090" % ADDR
JOB = "consul-node-exporter"

BULK_PLAY = """
- name: Bench registrations
  hosts: consul_servers
  gather_facts: false
  tasks:
    - name: One task for every service
      sdstack.consul.consul_service:
        url: http://127.0.0.1:8500
        state: "{{ bench_state }}"
        services: "{{ bench_services }}"
      when: bench_form == 'bulk'
    - name: One task per service
      sdstack.consul.consul_service:
        url: http://127.0.0.1:8500
        state: "{{ bench_state }}"
        id: "{{ item.id }}"
        name: "{{ item.name }}"
        tags: "{{ item.tags }}"
        address: "{{ item.address }}"
        port: "{{ item.port }}"
        meta: "{{ item.meta }}"
        checks: "{{ item.checks }}"
      loop: "{{ bench_services }}"
      loop_control:
        label: "{{ item.id }}"
      when: bench_form == 'loop'
"""


def targets(job):
    """Scrape URLs Prometheus currently lists for a job; an error answer aborts the bench."""
    url = PROMETHEUS + "/api/v1/targets"
    body = api("GET", url, params={"state": "active"})[1]
    try:
        if body["status"] != "success":
            raise KeyError("status")
        return {t["scrapeUrl"] for t in body["data"]["activeTargets"] if t["labels"].get("job") == job}
    except (KeyError, TypeError):
        raise BenchError("GET %s: not a successful targets answer: %r" % (url, str(body)[:200])) from None


def bench_service(i):
    # The real node_exporter under a second ID and port-less alias address: a distinct target.
    return {"ID": "bench-ne-%d" % i, "Name": "bench-node-exporter", "Tags": ["node-exporter"],
            "Address": "127.0.0.%d" % (i + 2), "Port": 9100, "Meta": {"app": "bench"}}


# Prometheus works on fixed clocks: Consul SD waits refresh_interval after each answer, and the discovery
# and scrape managers hand over changes on 5 s tickers. A change made right after the previous one was
# observed lands at the same point of those cycles every time (just after a tick: the worst case). Real
# registrations arrive at random moments, so each change is made after a random pause longer than the
# cycles; the pauses come from a seeded generator and are kept in the results.
TICK = 5.0


def random_phase(rng, refresh, pauses):
    pause = rng.uniform(0, refresh + TICK)
    pauses.append(round(pause, 2))
    time.sleep(pause)


def discovery_once(i, refresh, rng, pauses):
    svc = bench_service(i)
    url = "http://%s:%d/metrics" % (svc["Address"], svc["Port"])
    wait_for(lambda: url not in targets(JOB), 180, "a clean target list")
    random_phase(rng, refresh, pauses)
    api("PUT", AGENT + "/v1/agent/service/register", json=svc)
    t0 = time.monotonic()
    wait_for(lambda: url in targets(JOB), 180, "target %s listed" % url)
    added = time.monotonic() - t0
    random_phase(rng, refresh, pauses)
    api("PUT", AGENT + "/v1/agent/service/deregister/" + svc["ID"])
    t0 = time.monotonic()
    wait_for(lambda: url not in targets(JOB), 180, "target %s gone" % url)
    return added, time.monotonic() - t0


def set_refresh(seconds):
    jobs = [{"job_name": JOB, "servers": ["127.0.0.1:80"], "tags_regex": ".*node-exporter.*",
             "refresh_interval": "%ds" % seconds},
            {"job_name": "consul-cadvisor-exporter", "servers": ["127.0.0.1:80"], "tags_regex": ".*cadvisor-exporter.*",
             "refresh_interval": "%ds" % seconds}]
    sh("molecule", "converge", "-s", "seed", "--", "-e", json.dumps({"prometheus_consul_jobs": jobs}))


def services_500(n):
    return [{"id": "bulk-%03d" % i, "name": "bulk-svc", "tags": ["bench"], "address": ADDR, "port": 10000 + i,
             "meta": {"app": "bench", "n": str(i)},
             "checks": [{"tcp": "%s:9100" % ADDR, "interval": "60s", "timeout": "2s"}]} for i in range(n)]


def registered(prefix):
    return [s for s in api("GET", AGENT + "/v1/agent/services", timeout=10)[1] if s.startswith(prefix)]


def playbook(form, state, services, workdir):
    play = Path(workdir) / "bench_registrations.yml"
    play.write_text(BULK_PLAY)
    inventory = Path(workdir) / "hosts.yml"
    inventory.write_text(json.dumps({"consul_servers": {"hosts": {HOST: {
        "ansible_connection": "containers.podman.podman", "ansible_python_interpreter": "/usr/bin/python3"}}}}))
    extra = Path(workdir) / "bench_vars.json"
    extra.write_text(json.dumps({"bench_form": form, "bench_state": state, "bench_services": services}))
    t0 = time.monotonic()
    sh("ansible-playbook", "-i", str(inventory), str(play), "-e", "@%s" % extra)
    return time.monotonic() - t0


def clear(services, workdir):
    playbook("bulk", "absent", services, workdir)
    if registered("bulk-"):
        raise BenchError("bulk services left after cleanup")


def registration_once(services, workdir, forms):
    out = {}
    for form in forms:
        clear(services, workdir)
        out[form] = raw_register(AGENT, services) if form == "raw" else playbook(form, "present", services, workdir)
        n = len(registered("bulk-"))
        if n != len(services):
            raise BenchError("%s registered %d of %d services" % (form, n, len(services)))
    clear(services, workdir)
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3, help="runs of the 500-service registration benchmark")
    ap.add_argument("--latency-runs", type=int, default=7, help="registrations timed per refresh_interval")
    ap.add_argument("--seed", type=int, default=20261126, help="seed of the random pauses before each change")
    ap.add_argument("--services", type=int, default=500)
    ap.add_argument("--keep", action="store_true", help="leave the scenario's host running")
    ap.add_argument("--only", choices=["latency", "registration"], help="run one of the two benchmarks")
    ap.add_argument("--forms", default="bulk,loop,raw",
                    help="registration forms to time (raw is the baseline and always runs): bulk,loop,raw")
    args = ap.parse_args()
    forms = [f for f in ("bulk", "loop", "raw") if f in args.forms.split(",") or f == "raw"]
    res = {"bench": "discovery", "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": commit(),
           "args": vars(args)}
    rng = random.Random(args.seed)
    with LoadSampler() as load:
        try:
            sh("molecule", "destroy", "-s", "seed")
            sh("molecule", "create", "-s", "seed")
            sh("molecule", "converge", "-s", "seed")
            for refresh in (30, 2) if args.only != "registration" else ():
                set_refresh(refresh)
                pauses = []
                runs = [discovery_once(i, refresh, rng, pauses) for i in range(args.latency_runs)]
                res["refresh_%ds" % refresh] = {
                    "added": [round(r[0], 2) for r in runs], "removed": [round(r[1], 2) for r in runs],
                    "pauses": pauses}
                print("refresh %ds: %s" % (refresh, runs), file=sys.stderr)
            if args.only != "registration":
                sh("molecule", "converge", "-s", "seed")  # back to the shipped configuration
            if args.only != "latency":
                with tempfile.TemporaryDirectory() as workdir:
                    runs = [registration_once(services_500(args.services), workdir, forms) for _run in range(args.runs)]
                res["registration"] = {f: [round(r[f], 2) for r in runs] for f in forms}
                print("registration: %s" % runs, file=sys.stderr)
        finally:
            if not args.keep:
                sh("molecule", "destroy", "-s", "seed")
    finish_result("discovery", res, load)


if __name__ == "__main__":
    main()
