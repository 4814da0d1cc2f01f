"""Benchmarks of the `cluster` topology (three Consul servers, one per lab host).

Measured in one run, side by side, each several times (medians reported):
  * cold converge: fresh hosts -> role applied, cluster with leader and 3 voters;
  * idempotent rerun of the same converge;
  * leader failover: SIGKILL of the leader's process -> a new leader agreed by both survivors,
    with performance.raft_multiplier 5 (Consul's default) and 1 (the role's default).

Runs Molecule's `cluster` scenario steps; needs the lab up (`make bench` does that).
Writes bench/results/consul_cluster-<time>.json and prints a Markdown table.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
HOSTS = {"consul1": "10.89.20.21", "consul2": "10.89.20.22", "consul3": "10.89.20.23"}
SESSION = requests.Session()
SESSION.trust_env = False  # lab addresses only, never through a proxy


def sh(*cmd, **kw):
    run = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=False, **kw)
    if run.returncode:
        sys.stderr.write(run.stdout[-4000:] + run.stderr[-2000:])
        raise SystemExit("failed (rc=%d): %s" % (run.returncode, " ".join(cmd)))
    return run.stdout


def molecule(step, *extra):
    t0 = time.monotonic()
    sh("molecule", step, "-s", "cluster", *(["--"] + list(extra) if extra else []))
    return time.monotonic() - t0


def leader(addr):
    try:
        return SESSION.get("http://%s:8500/v1/status/leader" % addr, timeout=1).json()
    except (requests.RequestException, ValueError):
        return None


def healthy():
    try:
        r = SESSION.get("http://%s:8500/v1/operator/autopilot/health" % HOSTS["consul1"], timeout=2)
        body = r.json()
        return r.status_code == 200 and body["Healthy"] and len(body["Servers"]) == 3 and body["FailureTolerance"] == 1
    except (requests.RequestException, ValueError, KeyError):
        return False


def wait_for(cond, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return
        time.sleep(0.1)
    raise SystemExit("timed out after %ss waiting for %s" % (timeout, what))


def failover_once():
    """SIGKILL the leader's consul; seconds until both survivors name the same new leader."""
    wait_for(healthy, 120, "a healthy cluster before the kill")
    old = leader(HOSTS["consul1"])
    victim = next(h for h, a in HOSTS.items() if old and old.startswith(a + ":"))
    survivors = [a for h, a in HOSTS.items() if h != victim]
    sh("podman", "exec", victim, "systemctl", "kill", "--signal=SIGKILL", "consul@%s" % victim)
    t0 = time.monotonic()

    def agreed():
        seen = {leader(a) for a in survivors}
        return len(seen) == 1 and None not in seen and "" not in seen and old not in seen

    wait_for(agreed, 60, "a new leader")
    return time.monotonic() - t0


def med(xs):
    return round(statistics.median(xs), 2)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--runs", type=int, default=3, help="cold converges (and reruns) to time")
    ap.add_argument("--kills", type=int, default=5, help="leader kills per raft_multiplier")
    args = ap.parse_args()

    res = {"cold_converge_s": [], "idempotent_rerun_s": [], "failover_s": {"5": [], "1": []}}
    try:
        for i in range(args.runs):
            molecule("destroy")
            molecule("create")
            res["cold_converge_s"].append(molecule("converge"))
            res["idempotent_rerun_s"].append(molecule("converge"))
            print("run %d: cold %.1fs, rerun %.1fs"
                  % (i + 1, res["cold_converge_s"][-1], res["idempotent_rerun_s"][-1]), file=sys.stderr)
        for mult in ("5", "1"):
            molecule("converge", "-e", "consul_raft_multiplier=%s" % mult)
            for _kill in range(args.kills):
                res["failover_s"][mult].append(failover_once())
                print("multiplier %s: failover %.2fs" % (mult, res["failover_s"][mult][-1]), file=sys.stderr)
    finally:
        molecule("destroy")

    summary = {
        "cold_converge_median_s": med(res["cold_converge_s"]),
        "idempotent_rerun_median_s": med(res["idempotent_rerun_s"]),
        "failover_median_s_multiplier_5": med(res["failover_s"]["5"]),
        "failover_median_s_multiplier_1": med(res["failover_s"]["1"]),
    }
    summary["rerun_vs_cold_ratio"] = round(summary["idempotent_rerun_median_s"] / summary["cold_converge_median_s"], 2)
    summary["failover_1_vs_5_ratio"] = round(summary["failover_median_s_multiplier_1"]
                                             / summary["failover_median_s_multiplier_5"], 2)
    out = {"when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "machine": "%d cores" % os.cpu_count(),
           "raw": res, "summary": summary}
    dest = REPO / "bench" / "results"
    dest.mkdir(parents=True, exist_ok=True)
    path = dest / ("consul_cluster-%s.json" % time.strftime("%Y%m%dT%H%M%S"))
    path.write_text(json.dumps(out, indent=2) + "\n")
    print("| measure | median | runs |\n|---|---|---|")
    print("| cold converge (3 hosts) | %.1f s | %s |" % (summary["cold_converge_median_s"], res["cold_converge_s"]))
    print("| idempotent rerun | %.1f s (x%.2f of cold) | %s |"
          % (summary["idempotent_rerun_median_s"], summary["rerun_vs_cold_ratio"], res["idempotent_rerun_s"]))
    for mult in ("5", "1"):
        print("| leader failover, raft_multiplier %s | %.2f s | %s |" % (
            mult, summary["failover_median_s_multiplier_" + mult], [round(x, 2) for x in res["failover_s"][mult]]))
    print("| failover ratio 1 vs 5 | x%.2f | |" % summary["failover_1_vs_5_ratio"])
    print("results: %s" % path.relative_to(REPO), file=sys.stderr)


if __name__ == "__main__":
    main()
