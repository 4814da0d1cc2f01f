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
Writes bench/results/discovery-<time>.json and prints a Markdown table.
"""

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

import requests

from consul_cluster import REPO, sh, wait_for

HOST = "consul-seed"
ADDR = "10.89.20.31"
AGENT = "http://%s:8500" % ADDR
PROMETHEUS = "http://%s:9090" % ADDR
JOB = "consul-node-exporter"
SESSION = requests.Session()
SESSION.trust_env = False  # lab addresses only, never through a proxy

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
    """Scrape URLs Prometheus currently lists for a job."""
    try:
        data = SESSION.get(PROMETHEUS + "/api/v1/targets", params={"state": "active"}, timeout=2).json()
    except (requests.RequestException, ValueError):
        return set()
    return {t["scrapeUrl"] for t in data["data"]["activeTargets"] if t["labels"].get("job") == job}


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
    r = SESSION.put(AGENT + "/v1/agent/service/register", json=svc, timeout=5)
    r.raise_for_status()
    t0 = time.monotonic()
    wait_for(lambda: url in targets(JOB), 180, "target %s listed" % url)
    added = time.monotonic() - t0
    random_phase(rng, refresh, pauses)
    SESSION.put(AGENT + "/v1/agent/service/deregister/" + svc["ID"], timeout=5).raise_for_status()
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
    return [s for s in SESSION.get(AGENT + "/v1/agent/services", timeout=10).json() if s.startswith(prefix)]


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


def raw_puts(services):
    t0 = time.monotonic()
    for s in services:
        body = {"ID": s["id"], "Name": s["name"], "Tags": s["tags"], "Address": s["address"], "Port": s["port"],
                "Meta": s["meta"], "Checks": [{"TCP": c["tcp"], "Interval": c["interval"], "Timeout": c["timeout"]}
                                              for c in s["checks"]]}
        SESSION.put(AGENT + "/v1/agent/service/register", params={"replace-existing-checks": "true"},
                    json=body, timeout=10).raise_for_status()
    return time.monotonic() - t0


def clear(services, workdir):
    playbook("bulk", "absent", services, workdir)
    if registered("bulk-"):
        raise SystemExit("bulk services left after cleanup")


def registration_once(services, workdir):
    out = {}
    for form in ("bulk", "loop", "raw"):
        clear(services, workdir)
        out[form] = raw_puts(services) if form == "raw" else playbook(form, "present", services, workdir)
        n = len(registered("bulk-"))
        if n != len(services):
            raise SystemExit("%s registered %d of %d services" % (form, n, len(services)))
    clear(services, workdir)
    return out


def med(xs):
    return statistics.median(xs)


def fmt(xs):
    return ", ".join("%.2f" % x for x in xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3, help="runs of the 500-service registration benchmark")
    ap.add_argument("--latency-runs", type=int, default=7, help="registrations timed per refresh_interval")
    ap.add_argument("--seed", type=int, default=20261126, help="seed of the random pauses before each change")
    ap.add_argument("--services", type=int, default=500)
    ap.add_argument("--keep", action="store_true", help="leave the scenario's host running")
    ap.add_argument("--only", choices=["latency", "registration"], help="run one of the two benchmarks")
    args = ap.parse_args()
    res = {"runs": args.runs, "latency_runs": args.latency_runs, "seed": args.seed, "services": args.services}
    rng = random.Random(args.seed)
    try:
        sh("molecule", "destroy", "-s", "seed")
        sh("molecule", "create", "-s", "seed")
        sh("molecule", "converge", "-s", "seed")
        for refresh in (30, 2) if args.only != "registration" else ():
            set_refresh(refresh)
            pauses = []
            runs = [discovery_once(i, refresh, rng, pauses) for i in range(args.latency_runs)]
            res["refresh_%ds" % refresh] = {
                "added": [r[0] for r in runs], "removed": [r[1] for r in runs], "pauses": pauses}
            print("refresh %ds: %s" % (refresh, runs), file=sys.stderr)
        if args.only != "registration":
            sh("molecule", "converge", "-s", "seed")  # back to the shipped configuration
        if args.only != "latency":
            with tempfile.TemporaryDirectory() as workdir:
                runs = [registration_once(services_500(args.services), workdir) for run in range(args.runs)]
            res["registration"] = {f: [r[f] for r in runs] for f in ("bulk", "loop", "raw")}
            print("registration: %s" % runs, file=sys.stderr)
    finally:
        if not args.keep:
            sh("molecule", "destroy", "-s", "seed")
    out = REPO / "bench" / "results" / ("discovery-%s.json" % time.strftime("%Y%m%dT%H%M%S"))
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(res, indent=2))
    print("| measure | median | runs | ratio |\n|---|---|---|---|")
    if "refresh_2s" in res:
        latency_table(res["refresh_2s"], res["refresh_30s"])
    if "registration" in res:
        registration_table(res["registration"], args.services)


def latency_table(fast, slow):
    print("| registration → target listed, refresh_interval 30s (Prometheus's default) | %.2f s | %s | baseline |"
          % (med(slow["added"]), fmt(slow["added"])))
    print("| registration → target listed, refresh_interval 2s (the role's default) | %.2f s | %s | %.2f × 30s |"
          % (med(fast["added"]), fmt(fast["added"]), med(fast["added"]) / med(slow["added"])))
    print("| deregistration → target gone, refresh_interval 30s | %.2f s | %s | baseline |"
          % (med(slow["removed"]), fmt(slow["removed"])))
    print("| deregistration → target gone, refresh_interval 2s | %.2f s | %s | %.2f × 30s |"
          % (med(fast["removed"]), fmt(fast["removed"]), med(fast["removed"]) / med(slow["removed"])))


def registration_table(reg, n):
    print("| %d services, raw HTTP PUTs from Python (floor) | %.2f s | %s | baseline |"
          % (n, med(reg["raw"]), fmt(reg["raw"])))
    for form, what in (("bulk", "consul_service bulk form, one task"), ("loop", "loop of single-service tasks")):
        print("| %d services, %s | %.2f s | %s | %.1f × raw |"
              % (n, what, med(reg[form]), fmt(reg[form]), med(reg[form]) / med(reg["raw"])))


if __name__ == "__main__":
    main()
