"""Benchmarks of the `cluster` topology (three Consul servers, one per lab host, and a monitor host).

Measured in one run, side by side, each several times (medians reported):
  * cold converge: fresh hosts -> `molecule converge` (playbooks/site.yml: Consul cluster with a
    leader and 3 voters, exporters, nginx, Prometheus);
  * idempotent rerun of the same converge (changed= of every host kept in the results);
  * leader failover: SIGKILL of the leader's process -> a new leader agreed by both survivors,
    with performance.raft_multiplier 5 (Consul's default) and 1 (the role's default).

Runs Molecule's `cluster` scenario steps; needs the lab up (`make bench` does that).
Writes bench/results/consul_cluster-<time>.json; bench/tables.py turns it into docs/benchmarks.md's table.
"""

import argparse
import re
import statistics
import sys
import time

from common import BenchError, LoadSampler, api, commit, sh, wait_for, write_result

HOSTS = {"consul1": "10.89.20.21", "consul2": "10.89.20.22", "consul3": "10.89.20.23"}
API = "http://%s:8500"
RECAP = re.compile(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)", re.M)


def molecule(step, *extra):
    t0 = time.monotonic()
    out = sh("molecule", step, "-s", "cluster", *(["--"] + list(extra) if extra else []))
    return time.monotonic() - t0, out


def changed_per_host(output):
    """changed= of each host in the last PLAY RECAP of an ansible-playbook run."""
    recap = output.rsplit("PLAY RECAP", 1)
    if len(recap) < 2:
        raise BenchError("no PLAY RECAP in molecule's output")
    return {host: int(n) for host, n in RECAP.findall(recap[1])}


def leader(addr):
    """Raft leader as this server sees it ("" while there is none); an error answer aborts."""
    return api("GET", API % addr + "/v1/status/leader")[1]


def healthy(addr):
    """Autopilot's verdict (HTTP 429 is its "unhealthy" answer, anything else but 200 aborts)."""
    status, body = api("GET", API % addr + "/v1/operator/autopilot/health", ok=(200, 429))
    try:
        return status == 200 and body["Healthy"] and len(body["Servers"]) == 3 and body["FailureTolerance"] == 1
    except (KeyError, TypeError):
        raise BenchError("autopilot health from %s is not what Consul answers: %r" % (addr, body)) from None


def failover_once(last_victim):
    """SIGKILL the leader's consul; seconds until both survivors name the same new leader.

    The previous victim may still be restarting, so the cluster is asked through another server."""
    ask = next(a for h, a in HOSTS.items() if h != last_victim)
    wait_for(lambda: healthy(ask), 120, "a healthy cluster before the kill")
    old = leader(ask)
    victim = next((h for h, a in HOSTS.items() if old.startswith(a + ":")), None)
    if victim is None:
        raise BenchError("leader %r is none of the cluster's servers %s" % (old, sorted(HOSTS.values())))
    survivors = [a for h, a in HOSTS.items() if h != victim]
    sh("podman", "exec", victim, "systemctl", "kill", "--signal=SIGKILL", "consul@%s" % victim)
    t0 = time.monotonic()

    def agreed():
        seen = {leader(a) for a in survivors}
        return len(seen) == 1 and "" not in seen and old not in seen

    wait_for(agreed, 60, "a new leader")
    return time.monotonic() - t0, victim


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--runs", type=int, default=3, help="cold converges (and reruns) to time")
    ap.add_argument("--kills", type=int, default=5, help="leader kills per raft_multiplier")
    args = ap.parse_args()

    res = {"cold_converge_s": [], "idempotent_rerun_s": [], "rerun_changed": [], "failover_s": {"5": [], "1": []}}
    started = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    with LoadSampler() as load:
        try:
            for i in range(args.runs):
                molecule("destroy")
                molecule("create")
                res["cold_converge_s"].append(round(molecule("converge")[0], 2))
                took, out = molecule("converge")
                res["idempotent_rerun_s"].append(round(took, 2))
                res["rerun_changed"].append(changed_per_host(out))
                print("run %d: cold %.1fs, rerun %.1fs, rerun changed %s" % (
                    i + 1, res["cold_converge_s"][-1], took, res["rerun_changed"][-1]), file=sys.stderr)
            victim = None
            for mult in ("5", "1"):
                molecule("converge", "-e", "consul_raft_multiplier=%s" % mult)
                for _kill in range(args.kills):
                    took, victim = failover_once(victim)
                    res["failover_s"][mult].append(round(took, 2))
                    print("multiplier %s: failover %.2fs" % (mult, took), file=sys.stderr)
        finally:
            molecule("destroy")

    write_result("consul_cluster", {
        "bench": "consul_cluster", "started": started, "finished": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "commit": commit(), "load": load.summary(), "args": vars(args),
        "converge": "molecule converge -s cluster (playbooks/site.yml on consul1-3 and monitor)",
        "raw": res})
    print("median cold %.1fs, rerun %.1fs, failover x5 %.2fs, x1 %.2fs" % (
        statistics.median(res["cold_converge_s"]), statistics.median(res["idempotent_rerun_s"]),
        statistics.median(res["failover_s"]["5"]), statistics.median(res["failover_s"]["1"])))
    print("table: python bench/tables.py", file=sys.stderr)


if __name__ == "__main__":
    main()
