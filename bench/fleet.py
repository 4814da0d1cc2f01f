"""Fleet benchmark: how `site.yml`'s cost grows with the number of application hosts.

The shipped `inventories/cluster` shape, with N application hosts: three Consul servers (node_exporter), N
application hosts (client agent, node_exporter, cAdvisor) and a monitor host (client agent, nginx, Prometheus);
N = 2 is that inventory itself. Size `seed` is the shipped `inventories/seed` shape instead: one host with three
server instances and everything else. Hosts are lab hosts reached over SSH as root with the lab's key, like the
Molecule scenarios; the group variables are the shipped inventory's, plus the lab's release settings
(lab/lab-vars.yml).

For each N of --sizes, --runs times on fresh hosts (medians reported):
  * cold converge of sdstack.consul.site, then its rerun (which must report changed=0 on every host);
  * seconds from the cold converge's end until Prometheus lists every exporter target up (3 + N node_exporter,
    N cAdvisor);
  * registration -> target: a second registration of an application host's node_exporter on that host's agent,
    timed from the agent's acknowledgement until Prometheus lists it (--registrations per run, each after a random
    pause so the change lands anywhere in Prometheus's refresh cycle);
  * memory per lab host after the converge: resident memory of its container (cgroup total_rss), by host kind.

With --before REF, every run of a size first converges REF's tree (`git archive`: its roles, inventories and
lab settings) on fresh hosts, cold and rerun, then this checkout's: a before/after comparison measured in the same
run, written as bench/results/converge-<time>.json (registrations and memory only for this checkout).

Ansible runs with forks = the number of hosts (one batch per task), from the tree's folder (its ansible.cfg:
pipelining on). Needs the lab up (`make bench` does that); hosts are removed at the end, also on failure.
Writes bench/results/fleet-<time>.json; bench/tables.py turns it into docs/benchmarks.md's table.
"""

import argparse
import json
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import REPO, SESSION, BenchError, LoadSampler, api, commit, sh, wait_for, finish_result, result_path, \
    utc_stamp, write_result

NET = "10.89.20."
SERVERS = {"fleet-consul%d" % i: NET + str(149 + i) for i in (1, 2, 3)}
MONITOR = ("fleet-monitor", NET + "155")
SEED = ("fleet-seed", NET + "145")
APP_BASE = 160  # fleet-app<i> at 10.89.20.<160 + i>
MAX_APPS = 60
RECAP = re.compile(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)
TICK = 5.0  # Prometheus hands discovery changes over on 5 s tickers (see discovery.py)
REFRESH = 2.0  # the collection's default refresh_interval of a Consul job
LOGS = REPO / ".lab" / "logs"


def apps(n):
    return {} if n == "seed" else {"fleet-app%d" % i: NET + str(APP_BASE + i) for i in range(1, n + 1)}


def hosts_of(n):
    if n == "seed":
        return dict([SEED])
    out = dict(SERVERS)
    out.update(apps(n))
    out[MONITOR[0]] = MONITOR[1]
    return out


def start_hosts(hosts, image, network, key):
    for name, ip in hosts.items():
        sh("podman", "run", "--detach", "--replace", "--name=" + name, "--hostname=" + name, "--label=sdstack.lab=1",
           "--systemd=always", "--network=" + network, "--ip=" + ip,
           "--volume=%s.pub:/etc/ssh/lab_authorized_keys:ro" % key, image, "/sbin/init")
    for name, ip in hosts.items():
        wait_for(lambda ip=ip: ssh_banner(ip), 120, "sshd of %s (%s)" % (name, ip))


def ssh_banner(ip):
    try:
        with socket.create_connection((ip, 22), timeout=2) as s:
            return s.recv(64).startswith(b"SSH-")
    except OSError:
        return False


def remove_hosts(hosts):
    sh("podman", "rm", "--force", "--time", "0", "--ignore", *hosts)
    # The next fleet's hosts take the same addresses: a kept-alive connection to a removed host would be
    # reused and reset (a PUT is not retried), so the session forgets every pooled connection.
    SESSION.close()


def write_inventory(workdir, n, key, tree=REPO):
    """hosts.yml in the shipped cluster shape with N application hosts, or the seed's; group_vars are the shipped
    ones of `tree` (this checkout, or the before tree)."""
    inv = Path(workdir) / "inventory"
    (inv / "group_vars").mkdir(parents=True)
    for f in (tree / "inventories" / ("seed" if n == "seed" else "cluster") / "group_vars").glob("*.yml"):
        (inv / "group_vars" / f.name).symlink_to(f)
    (inv / "group_vars" / "all.yml").symlink_to(tree / "lab" / "lab-vars.yml")
    all_hosts = hosts_of(n)
    if n == "seed":
        groups = ("consul_servers", "node_exporter", "cadvisor", "consul_lb", "prometheus")
        (inv / "hosts.yml").write_text(json.dumps({"all": {
            "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(key)},
            "hosts": {SEED[0]: {"ansible_host": SEED[1], "consul_advertise_address": SEED[1]}},
            "children": {g: {"hosts": {SEED[0]: None}} for g in groups}}}, indent=1))
        return inv
    app_names = list(apps(n))
    hosts = {"all": {
        "vars": {"ansible_user": "root", "ansible_ssh_private_key_file": str(key)},
        "hosts": {h: {"ansible_host": ip, "consul_advertise_address": ip} for h, ip in all_hosts.items()},
        "children": {
            "consul_servers": {"hosts": {h: None for h in SERVERS}},
            "consul_clients": {"hosts": {h: None for h in app_names + [MONITOR[0]]}},
            "node_exporter": {"hosts": {h: None for h in list(SERVERS) + app_names}},
            "cadvisor": {"hosts": {h: None for h in app_names}},
            "consul_lb": {"hosts": {MONITOR[0]: None}},
            "prometheus": {"hosts": {MONITOR[0]: None}},
        }}}
    (inv / "hosts.yml").write_text(json.dumps(hosts, indent=1))
    return inv


def ansible_env(forks, tree=REPO):
    env = dict(os.environ)
    env.update({
        # The tree's own collection (its collections/ folder links back to it), as its ansible.cfg names it.
        "ANSIBLE_COLLECTIONS_PATH": str(tree / "collections"),
        "ANSIBLE_FORKS": str(forks), "ANSIBLE_HOST_KEY_CHECKING": "False", "ANSIBLE_INTERPRETER_PYTHON": "auto_silent",
        "ANSIBLE_SSH_ARGS": "-o ControlMaster=auto -o ControlPersist=120s -o UserKnownHostsFile=/dev/null"
                            " -o StrictHostKeyChecking=no -o IdentitiesOnly=yes -o LogLevel=ERROR",
        "XDG_CACHE_HOME": str(REPO / ".lab" / "cache" / "xdg"),
    })
    env.pop("ANSIBLE_CONFIG", None)  # the repository's ansible.cfg, as an operator running from a clone
    return env


def converge(inv, env, tree=REPO):
    """Seconds of one run of the site playbook and what it changed per host. A failed run's whole output
    goes to .lab/logs/ (the failing task can be anywhere in it), named in the abort message."""
    t0 = time.monotonic()
    run = subprocess.run(["ansible-playbook", "-i", str(inv), "sdstack.consul.site"], env=env, cwd=tree,
                         capture_output=True, text=True, check=False)
    took = time.monotonic() - t0
    recap = run.stdout.rsplit("PLAY RECAP", 1)
    rows = RECAP.findall(recap[1]) if len(recap) == 2 else []
    bad = [h for h, _changed, unreach, failed in rows if int(unreach) or int(failed)]
    if run.returncode or not rows or bad:
        LOGS.mkdir(parents=True, exist_ok=True)
        log = LOGS / ("fleet-converge-failed-%s.log" % utc_stamp())
        log.write_text(run.stdout + run.stderr)
        raise BenchError("ansible-playbook rc=%d, failed or unreachable: %s; its output: %s" % (
            run.returncode, ", ".join(bad) or "no recap", log))
    return took, {row[0]: int(row[1]) for row in rows}


def prometheus(n):
    return "http://%s:9090" % (SEED if n == "seed" else MONITOR)[1]


def active_targets(n):
    body = api("GET", prometheus(n) + "/api/v1/targets", params={"state": "active"}, timeout=10)[1]
    try:
        return body["data"]["activeTargets"]
    except (KeyError, TypeError):
        raise BenchError("Prometheus's targets answer is not what it documents: %r" % str(body)[:200]) from None


def all_up(n):
    want = {"consul-node-exporter": 1, "consul-cadvisor-exporter": 1} if n == "seed" else \
        {"consul-node-exporter": 3 + n, "consul-cadvisor-exporter": n}
    up = {j: 0 for j in want}
    for t in active_targets(n):
        job = t["labels"].get("job")
        if job in up and t.get("health") == "up":
            up[job] += 1
    return up == want


def listed(n, url):
    return any(t.get("scrapeUrl") == url for t in active_targets(n))


def registration_latencies(n, count, rng):
    """Seconds from the agent's acknowledgement of a registration until Prometheus lists the target."""
    out = []
    # The seed's first server instance serves the default HTTP port too.
    app, addr = SEED if n == "seed" else list(apps(n).items())[-1]
    agent = "http://%s:8500" % addr
    for i in range(count):
        svc = {"ID": "fleet-bench-%d" % i, "Name": "node-exporter", "Tags": ["node-exporter"],
               "Address": "127.0.0.%d" % (i + 2), "Port": 9100, "Meta": {"app": "bench"}}
        url = "http://%s:9100/metrics" % svc["Address"]
        time.sleep(rng.uniform(0, REFRESH + TICK))
        api("PUT", agent + "/v1/agent/service/register", json=svc)
        t0 = time.monotonic()
        wait_for(lambda url=url: listed(n, url), 180, "target %s of %s listed" % (url, app))
        out.append(round(time.monotonic() - t0, 2))
        api("PUT", agent + "/v1/agent/service/deregister/" + svc["ID"])
        wait_for(lambda url=url: not listed(n, url), 180, "target %s gone" % url)
    return out


def kind(host):
    return "server" if host in SERVERS else "monitor" if host == MONITOR[0] else "seed" if host == SEED[0] else "app"


def memory_mib(hosts):
    """Resident memory of each host's container (cgroup v1 total_rss, else v2 anon), MiB, by host kind."""
    out = {"server": [], "app": [], "monitor": [], "seed": []}
    for h in hosts:
        cid = sh("podman", "inspect", "-f", "{{.Id}}", h).strip()
        for stat, key in (("/sys/fs/cgroup/memory/libpod_parent/libpod-%s/memory.stat" % cid, "total_rss"),
                          ("/sys/fs/cgroup/libpod_parent/libpod-%s/memory.stat" % cid, "anon")):
            if Path(stat).exists():
                fields = dict(line.split() for line in Path(stat).read_text().splitlines())
                out[kind(h)].append(round(int(fields[key]) / 2**20, 1))
                break
        else:
            raise BenchError("no memory.stat of container %s (%s)" % (h, cid[:12]))
    return out


def before_tree(workdir, ref):
    """REF's whole tree (roles, inventories, lab settings, its collections/ link), unpacked from git."""
    tree = Path(workdir) / "before"
    tree.mkdir()
    archive = subprocess.run(["git", "archive", ref], cwd=REPO, capture_output=True, check=False)
    if archive.returncode:
        raise BenchError("git archive %s: %s" % (ref, archive.stderr.decode()[-500:]))
    subprocess.run(["tar", "-x", "-C", str(tree)], input=archive.stdout, check=True)
    return tree


def one_run(n, args, rng, image, network, key, tree=None):
    """Fresh hosts, cold converge, targets up, rerun; with this checkout (tree None) also memory and
    registrations."""
    hosts, root = hosts_of(n), tree or REPO
    with tempfile.TemporaryDirectory() as workdir:
        try:
            start_hosts(hosts, image, network, key)
            inv = write_inventory(workdir, n, key, root)
            env = ansible_env(len(hosts), root)
            cold, _cold_changed = converge(inv, env, root)
            t_end = time.monotonic()
            wait_for(lambda: all_up(n), 600, "every exporter target up")
            targets_up = time.monotonic() - t_end
            rerun, changed = converge(inv, env, root)
            dirty = {h: c for h, c in changed.items() if c}
            if dirty:
                raise BenchError("the rerun changed something: %s" % dirty)
            row = {"cold_s": round(cold, 1), "rerun_s": round(rerun, 1), "targets_up_s": round(targets_up, 1),
                   "hosts": len(hosts), "forks": len(hosts)}
            if tree is None:
                row.update(memory_mib=memory_mib(hosts), registration_to_target_s=registration_latencies(
                    n, args.registrations, rng))
        finally:
            if not args.keep:
                remove_hosts(hosts)
    print("N=%s%s: %s" % (n, " (before)" if tree else "", row), file=sys.stderr)
    return row


def size(value):
    if value == "seed":
        return value
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError("%r is neither seed nor a number of application hosts" % value) from None
    if not 1 <= n <= MAX_APPS:
        raise argparse.ArgumentTypeError("%d: sizes are 1..%d application hosts (the addresses this bench uses)"
                                         % (n, MAX_APPS))
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--sizes", type=size, nargs="+", default=[4, 8, 16],
                    help="application hosts per fleet, or seed (the one-host topology)")
    ap.add_argument("--before", metavar="REF", help="also converge this git ref's tree before each run (before/after)")
    ap.add_argument("--runs", type=int, default=3, help="fresh fleets per size")
    ap.add_argument("--registrations", type=int, default=3, help="registration -> target timings per run")
    ap.add_argument("--seed", type=int, default=20261201, help="seed of the random pauses before registrations")
    ap.add_argument("--keep", action="store_true", help="leave the last fleet's hosts running")
    args = ap.parse_args()
    image = os.environ.get("LAB_IMAGE", "localhost/sdstack-lab-bookworm")
    image = image if ":" in image.rsplit("/", 1)[-1] else image + ":latest"
    network = os.environ.get("LAB_NETWORK", "sdstack-lab")
    key = REPO / ".lab" / "ssh" / "id_ed25519"
    rng = random.Random(args.seed)
    bench = "converge" if args.before else "fleet"
    res = {"bench": bench, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "commit": commit(),
           "args": vars(args), "sizes": {}}
    # Rewritten after every run: a size the machine cannot hold keeps the sizes before it, and says where
    # and why it stopped.
    path = result_path(bench)
    with tempfile.TemporaryDirectory() as workdir, LoadSampler() as load:
        tree = None
        if args.before:
            tree = before_tree(workdir, args.before)
            res["before"] = {"ref": args.before, "commit": sh("git", "rev-parse", "--short", args.before).strip()}
            res["sizes_before"] = {}
        for n in args.sizes:
            for run in range(args.runs):
                try:
                    # Before and after alternate, so both see the machine in the same state.
                    if tree is not None:
                        row = one_run(n, args, rng, image, network, key, tree)
                        res["sizes_before"].setdefault(str(n), []).append(row)
                    row = one_run(n, args, rng, image, network, key)
                    res["sizes"].setdefault(str(n), []).append(row)
                except BenchError as exc:
                    res["stopped"] = {"size": n, "run": run + 1, "why": str(exc.code)}
                    res["load"] = load.summary()
                    write_result(bench, res, path)
                    raise
                write_result(bench, res, path)
    finish_result(bench, res, load, path)


if __name__ == "__main__":
    main()
