"""Registering 500 services in bulk against a real Consul 1.8.7 agent on loopback, no lab needed.

Starts Consul 1.8.7 from the lab mirror (its SHA256 checked against the SHA256SUMS beside it) as a
`-dev` agent on 127.0.0.1 only, every port free and chosen at start (DNS and gRPC off), killed at
the end whatever happens. Then, each run from an agent without the services (removed with raw
deregistrations in between, and checked), times:

  * raw: a loop of 500 `PUT /v1/agent/service/register?replace-existing-checks=true` from Python
    (requests, one kept-alive session): the baseline, measured in the same run;
  * this checkout's `consul_service` bulk form in one `ansible-playbook` run (connection local,
    localhost): the whole run, the task alone (from a callback), and what the module reports in
    its result (`stats`: module_seconds, write_seconds, counts);
  * the same playbook again with the services registered (nothing written): Ansible's own cost of a
    task with a 500-element argument;
  * the module alone: its `main()` timed in a fresh Python with the same arguments;
  * with `--before REF`, the same playbook and module-alone runs of REF's collection
    (`git archive`), e.g. main before a change: before/after in one run.

Each service has meta and a TCP check (like bench/discovery.py's registration bench).
Writes bench/results/bulk_registration-<time>.json; bench/tables.py turns it into the table of
docs/benchmarks.md. Run it under `nice -n 19` on a shared machine: the ratios within one run count.
"""

import argparse
import hashlib
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from common import REPO, BenchError, LoadSampler, api, commit, sh, wait_for, finish_result, raw_register

CONSUL_VERSION = "1.8.7"
ZIP = "consul_%s_linux_amd64.zip" % CONSUL_VERSION
SUMS = "consul_%s_SHA256SUMS" % CONSUL_VERSION

PLAY = """
- name: Bench bulk registration
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: One task for every service
      sdstack.consul.consul_service:
        url: "{{ bench_url }}"
        state: "{{ bench_state }}"
        services: "{{ bench_services }}"
"""

# Times the task and keeps the module's result (stats) for the bench; enabled only for its runs.
CALLBACK = '''
import json, os, time
from ansible.plugins.callback import CallbackBase


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "bench_task"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_task_start(self, task, is_conditional):
        self._t0 = time.monotonic()

    def v2_runner_on_ok(self, result):
        res = getattr(result, "result", None)
        res = res if isinstance(res, dict) else result._result
        with open(os.environ["BENCH_TASK_FILE"], "w") as f:
            json.dump({"task_s": time.monotonic() - self._t0, "changed": res.get("changed"),
                       "stats": res.get("stats")}, f)
'''

# main() of the module in a fresh Python, timed around the call; the module prints its result.
MODULE_ALONE = '''
import json, sys, time
from ansible.module_utils.testing import patch_module_args
from ansible_collections.sdstack.consul.plugins.modules import consul_service
args = json.load(open(sys.argv[1]))
with patch_module_args(args):
    t0 = time.monotonic()
    try:
        consul_service.main()
    except SystemExit:
        pass
    sys.stderr.write("BENCH_MAIN_SECONDS %.6f\\n" % (time.monotonic() - t0))
'''


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def unpack_consul(mirror, workdir):
    """The binary from the mirror's zip, after checking the zip against the SHA256SUMS beside it."""
    folder = Path(mirror) / "hashicorp" / "consul" / CONSUL_VERSION
    zpath, sums = folder / ZIP, folder / SUMS
    if not zpath.is_file() or not sums.is_file():
        raise BenchError("no %s with its %s in %s (the lab mirror: make lab-up, or --mirror)" % (ZIP, SUMS, folder))
    want = [line.split()[0] for line in sums.read_text().splitlines() if line.strip().endswith(ZIP)]
    got = hashlib.sha256(zpath.read_bytes()).hexdigest()
    if want != [got]:
        raise BenchError("%s: SHA256 %s, %s says %s" % (zpath, got, sums.name, want or "nothing"))
    with zipfile.ZipFile(zpath) as z:
        z.extract("consul", workdir)
    binary = Path(workdir) / "consul"
    binary.chmod(0o755)
    return binary, got


class DevAgent:
    """`consul agent -dev` on 127.0.0.1 only, on free ports; stopped (killed if need be) on exit."""

    def __init__(self, binary, workdir):
        self.binary, self.workdir = binary, Path(workdir)
        self.ports = {k: free_port() for k in ("http", "server", "serf_lan", "serf_wan")}
        self.ports.update(dns=-1, grpc=-1)
        self.url = "http://127.0.0.1:%d" % self.ports["http"]
        self.proc = None

    def __enter__(self):
        cfg = self.workdir / "agent.json"
        cfg.write_text(json.dumps({
            "node_name": "bench", "bind_addr": "127.0.0.1", "client_addr": "127.0.0.1", "ports": self.ports,
            "log_level": "WARN", "disable_update_check": True, "disable_anonymous_signature": True}))
        log = open(self.workdir / "agent.log", "wb")  # pylint: disable=consider-using-with
        self.proc = subprocess.Popen([str(self.binary), "agent", "-dev", "-config-file", str(cfg)],
                                     stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for(self._ready, 60, "the dev agent's leader")
        except BaseException:
            self.__exit__()
            raise
        return self

    def _ready(self):
        if self.proc.poll() is not None:
            raise BenchError("consul exited: %s" % (self.workdir / "agent.log").read_text()[-2000:])
        try:
            return bool(api("GET", self.url + "/v1/status/leader", timeout=2)[1])
        except BenchError:
            return False  # not listening yet

    def __exit__(self, *exc):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def version(self):
        return api("GET", self.url + "/v1/agent/self", timeout=10)[1]["Config"]["Version"]


def services(n, agent_port):
    return [{"id": "bulk-%03d" % i, "name": "bulk-svc", "tags": ["bench"], "address": "127.0.0.1", "port": 10000 + i,
             "meta": {"app": "bench", "n": str(i)},
             "checks": [{"tcp": "127.0.0.1:%d" % agent_port, "interval": "60s", "timeout": "2s"}]} for i in range(n)]


def registered(url):
    return sorted(s for s in api("GET", url + "/v1/agent/services", timeout=30)[1] if s.startswith("bulk-"))


def clear(url):
    for sid in registered(url):
        api("PUT", url + "/v1/agent/service/deregister/" + sid, timeout=30)
    if registered(url):
        raise BenchError("services left after removing them")


class Collection:
    """A collections path holding one version of sdstack.consul: this checkout, or a git ref's tree."""

    def __init__(self, workdir, ref=None):
        self.ref = ref
        if ref is None:
            self.path = REPO / "collections"  # links back to this checkout (see ansible.cfg)
            return
        self.path = Path(workdir) / ("collection-" + ref.replace("/", "_"))
        dest = self.path / "ansible_collections" / "sdstack" / "consul"
        dest.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", ref, "plugins", "meta", "galaxy.yml"], cwd=REPO,
                                 capture_output=True, check=False)
        if archive.returncode:
            raise BenchError("git archive %s: %s" % (ref, archive.stderr.decode()[-500:]))
        subprocess.run(["tar", "-x", "-C", str(dest)], input=archive.stdout, check=True)
        self.commit = sh("git", "rev-parse", "--short", ref).strip()

    def env(self, workdir):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
        # An empty configuration: nothing of the checkout's ansible.cfg nor of the caller's.
        cfg = Path(workdir) / "ansible.cfg"
        cfg.write_text("[defaults]\n")
        env.update(ANSIBLE_COLLECTIONS_PATH=str(self.path), ANSIBLE_CONFIG=str(cfg), ANSIBLE_NOCOLOR="1",
                   ANSIBLE_CALLBACK_PLUGINS=str(Path(workdir) / "callbacks"), ANSIBLE_CALLBACKS_ENABLED="bench_task",
                   ANSIBLE_LOCALHOST_WARNING="False", ANSIBLE_INVENTORY_UNPARSED_WARNING="False",
                   BENCH_TASK_FILE=str(Path(workdir) / "task.json"), PYTHONPATH=str(self.path))
        for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
            env.pop(name, None)  # loopback only
        return env


def playbook(coll, workdir, url, state, svcs, changes=True):
    work = Path(workdir)
    (work / "callbacks").mkdir(exist_ok=True)
    (work / "callbacks" / "bench_task.py").write_text(CALLBACK)
    (work / "play.yml").write_text(PLAY)
    (work / "vars.json").write_text(json.dumps({"bench_url": url, "bench_state": state, "bench_services": svcs,
                                                "ansible_python_interpreter": sys.executable}))
    task_file = work / "task.json"
    task_file.unlink(missing_ok=True)
    t0 = time.monotonic()
    run = subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,",
                          str(work / "play.yml"), "-e", "@%s" % (work / "vars.json")],
                         cwd=workdir, env=coll.env(workdir), capture_output=True, text=True, check=False)
    wall = time.monotonic() - t0
    if run.returncode or not task_file.exists():
        sys.stderr.write(run.stdout[-3000:] + run.stderr[-2000:])
        raise BenchError("ansible-playbook (%s) rc=%d" % (coll.ref or "this checkout", run.returncode))
    task = json.loads(task_file.read_text())
    if task["changed"] is not changes:
        raise BenchError("the bulk task reported changed=%s, expected %s" % (task["changed"], changes))
    return wall, task


def module_alone(coll, workdir, url, svcs):
    args = Path(workdir) / "module_args.json"
    args.write_text(json.dumps({"url": [url], "services": svcs}))
    run = subprocess.run([sys.executable, "-c", MODULE_ALONE, str(args)], cwd=workdir, env=coll.env(workdir),
                         capture_output=True, text=True, check=False)
    marks = [line.split()[1] for line in run.stderr.splitlines() if line.startswith("BENCH_MAIN_SECONDS ")]
    try:
        result = json.loads(run.stdout)
    except ValueError:
        result = {}
    if run.returncode or not marks or result.get("failed") or result.get("changed") is not True:
        sys.stderr.write(run.stdout[-2000:] + run.stderr[-2000:])
        raise BenchError("module alone (%s) did not register the services" % (coll.ref or "this checkout"))
    return float(marks[0])


def one_run(url, svcs, workdir, after, before):
    out = {}

    def fresh(form, measure):
        clear(url)
        value = measure()
        n = len(registered(url))
        if n != len(svcs):
            raise BenchError("%s registered %d of %d services" % (form, n, len(svcs)))
        return value

    out["raw_s"] = fresh("raw", lambda: raw_register(url, svcs, timeout=30))
    wall, task = fresh("playbook", lambda: playbook(after, workdir, url, "present", svcs))
    stats = task["stats"] or {}
    if stats.get("created") != len(svcs) or stats.get("written") != len(svcs):
        raise BenchError("the module's stats do not count %d created services: %r" % (len(svcs), stats))
    out.update(playbook_s=wall, task_s=task["task_s"], module_s=stats["module_seconds"],
               module_write_s=stats["write_seconds"], module_read_s=stats["read_seconds"], stats=stats)
    # Again with everything registered: what the task costs when nothing is written.
    wall, task = playbook(after, workdir, url, "present", svcs, changes=False)
    if (task["stats"] or {}).get("unchanged") != len(svcs):
        raise BenchError("the rerun did not find the %d services unchanged: %r" % (len(svcs), task["stats"]))
    out.update(rerun_playbook_s=wall, rerun_task_s=task["task_s"], rerun_module_s=task["stats"]["module_seconds"])
    out["module_main_s"] = fresh("module alone", lambda: module_alone(after, workdir, url, svcs))
    if before is not None:
        wall, task = fresh("playbook of %s" % before.ref, lambda: playbook(before, workdir, url, "present", svcs))
        out.update(before_playbook_s=wall, before_task_s=task["task_s"])
        out["before_module_main_s"] = fresh("module alone of %s" % before.ref,
                                            lambda: module_alone(before, workdir, url, svcs))
    clear(url)
    return out


def on_sigterm(signum, _frame):
    sys.exit(128 + signum)  # through the finally blocks that stop the agent


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--services", type=int, default=500)
    ap.add_argument("--before", metavar="REF", help="also time this git ref's collection (e.g. main before a change)")
    ap.add_argument("--mirror", default=str(Path(os.environ.get("LAB_STATE", REPO / ".lab")) / "cache" / "mirror"),
                    help="the lab mirror holding hashicorp/consul/%s (default: .lab/cache/mirror)" % CONSUL_VERSION)
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, on_sigterm)
    res = {"bench": "bulk_registration", "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "commit": commit(), "args": vars(args)}
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-bulk-") as workdir, LoadSampler() as load:
        binary, sha = unpack_consul(args.mirror, workdir)
        after = Collection(workdir)
        before = Collection(workdir, args.before) if args.before else None
        if before is not None:
            res["before_commit"] = before.commit
        with DevAgent(binary, workdir) as agent:
            res["consul"] = {"version": agent.version(), "zip_sha256": sha, "mode": "-dev, 127.0.0.1"}
            svcs = services(args.services, agent.ports["http"])
            for i in range(args.runs):
                runs.append(one_run(agent.url, svcs, workdir, after, before))
                print("run %d: %s" % (i + 1, {k: round(v, 2) for k, v in runs[-1].items() if k != "stats"}),
                      file=sys.stderr)
    keys = [k for k in runs[0] if k != "stats"]
    res["registration"] = {k: [round(r[k], 3) for r in runs] for k in keys}
    res["module_stats"] = [r["stats"] for r in runs]
    finish_result("bulk_registration", res, load)


if __name__ == "__main__":
    main()
