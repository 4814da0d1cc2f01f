"""Faults under a continuous write load.

Four kv_writer.py processes write a sequenced KV entry every 50 ms each: one through nginx and
one straight to each server's HTTP API (nginx's ip_hash pins the first to one server; the others
make every server take writes). Meanwhile these tests, in file order, (a) rolling-restart every
server with playbooks/rolling_restart.yml, (b) SIGKILL the leader, (c) SIGKILL a follower and
(d) cut the leader's host off the network and reconnect it.

Per fault, with every writer alive before and after it: each writer got at least the fault's
floor of writes acknowledged *during* the fault (a writer whose server is the victim: after its
server is back), the errors of each writer ended within the fault's bound (3x the measured
median, docs/faults.md), a leader returned within LEADER_BOUND, each victim is a voter in sync
again, every agent still holds its service and Prometheus its targets. At the end every writer
exits 0 and every acknowledged write of every writer reads back (consistent read). Figures per
fault and writer are printed and written to <ephemeral dir>/faults-report.json.
"""

import base64
import calendar
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
import yaml
from sdstack_molecule.playbook_run import converge
from sdstack_molecule.polling import wait_for
from testinfra.utils.ansible_runner import AnsibleRunner

HERE = Path(__file__).resolve().parent
RUNNER = AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("consul_servers")[:1]  # the tests address every host themselves

HOSTS = RUNNER.get_hosts("consul_servers")
ADDR = {h: RUNNER.get_variables(h)["consul_advertise_address"] for h in HOSTS}
NAME_BY_ADDR = {a: h for h, a in ADDR.items()}
HTTP = {h: "http://%s:8500" % ADDR[h] for h in HOSTS}
PLATFORMS = {p["name"]: p for p in yaml.safe_load((HERE.parent / "molecule.yml").read_text())["platforms"]}
(MON,) = RUNNER.get_hosts("consul_lb")
LB = "http://%s:80" % PLATFORMS[MON]["ip"]
# Prometheus (role prometheus) discovers the exporters through nginx.
PROMETHEUS = "http://%s:9090" % PLATFORMS[RUNNER.get_hosts("prometheus")[0]]["ip"]
PROM_JOB = "consul-node-exporter"
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"))
REPORT = EPHEMERAL / "faults-report.json"
ROLLING_REPORT = EPHEMERAL / "rolling-restart.json"
NETWORK = os.environ.get("LAB_NETWORK", "sdstack-lab")
# With raft_multiplier 1 a new leader takes 2.2-4.0 s (docs/adr/0007): a generous bound.
LEADER_BOUND = 10.0
RECOVERY_TIMEOUT = 90.0
# The exporter role registers this on every host's own agent.
SERVICE = "node-exporter"
WRITE_INTERVAL = 0.05

# Per fault, for every writer: ``floor``, acknowledged writes sent between the fault and the
# cluster being whole again (a writer whose server was down: RESUMED_FLOOR after that);
# ``window``, the longest run of errors in seconds (longest_error_stretch). From six verify runs
# (docs/faults.md): windows 3x the median of the phase's longest run, floors about a third of the
# fewest acknowledged writes measured.
LIMITS = {
    # The restarts span 12-27 s on a quiet machine (4-9 s a step, docs/rolling-restart.md); 33-58 s
    # and 527-851 writes per writer measured on a loaded one: 100 is 5 s of writes.
    "a_rolling_restart": dict(floor=100, window=4.1),
    "b_sigkill_leader": dict(floor=11, window=7.3),
    "c_sigkill_follower": dict(floor=17, window=7.2),
    # The writers whose server stays up lose 10 s of the cut to one request held by the cut leader.
    "d_network_cut": dict(floor=35, window=58.0),
}
# A writer whose server was down: acknowledged writes in the quiet tail after the cluster is
# whole again (settle 3 s + 1 s tail, 80 sends at 50 ms; 63-84 measured).
RESUMED_FLOOR = 25

PHASES = []


# --- plain HTTP views, independent of the collection's own client ----------------------------

def get(url, timeout=2.0, **params):
    return requests.get(url, params=params, timeout=timeout)


def agent_self(base):
    try:
        r = get(base + "/v1/agent/self", timeout=1.0)
        return r.json() if r.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def raft_view(host):
    """(leader node or "", raft term, raft state, last_contact) as this server's agent reports them."""
    body = agent_self(HTTP[host])
    if not body:
        return None
    raft = body["Stats"]["raft"]
    leader_addr = body["Stats"]["consul"].get("leader_addr", "")
    return (NAME_BY_ADDR.get(leader_addr.rsplit(":", 1)[0], ""), int(raft["term"]), raft["state"],
            raft["last_contact"])


def current_leader():
    for h in HOSTS:
        leader = leader_seen_by(h)
        if leader:
            return leader
    return ""


def lb_pinned_server():
    """The server nginx sends this controller's requests to (ip_hash), by the node that answers."""
    body = wait_for(lambda: agent_self(LB), 10, "an answer through nginx")
    return body["Config"]["NodeName"]


def cluster_problems(must_sync=()):
    """What keeps the cluster from being whole: all voters healthy, tolerance 1, victims in sync."""
    problems = ["no server answered autopilot health"]
    for h in HOSTS:
        try:
            r = get(HTTP[h] + "/v1/operator/autopilot/health")
        except requests.RequestException:
            continue
        if r.status_code not in (200, 429):
            continue
        health = r.json()
        servers = {s["Name"]: s for s in health.get("Servers") or []}
        problems = ["%s not a healthy voter" % n for n in HOSTS
                    if not (servers.get(n, {}).get("Voter") and servers.get(n, {}).get("Healthy"))]
        if not health.get("Healthy") or health.get("FailureTolerance", 0) < 1:
            problems.append("autopilot healthy=%s tolerance=%s" % (health.get("Healthy"), health.get("FailureTolerance")))
        break
    for n in must_sync:
        view = raft_view(n)
        if not view or view[2] not in ("Leader", "Follower") or (view[2] == "Follower" and view[3] == "never"):
            problems.append("%s not in sync (%s)" % (n, view))
    return problems


def wait_whole(must_sync=(), timeout=RECOVERY_TIMEOUT, settle=3.0):
    """The time (epoch) since when the cluster was whole, once it stayed whole for ``settle`` s.

    Autopilot polls servers every ~2 s and meanwhile reports what it saw last (possibly the
    victim's previous process): the settle time makes it look at least once more.
    """
    t0 = time.time()
    problems = None
    whole_since = None
    while time.time() - t0 < timeout + settle:
        problems = cluster_problems(must_sync)
        if problems:
            whole_since = None
        else:
            whole_since = whole_since or time.time()
            if time.time() - whole_since >= settle:
                return whole_since
        time.sleep(0.25)
    pytest.fail("cluster not whole %ds after the fault: %s" % (timeout, "; ".join(problems or ["flapping"])))
    return None


def leader_seen_by(host):
    """The leader's node name as ``host`` knows it ("" none, None no answer): /v1/status/leader.

    Light on purpose: /v1/agent/self waits for the Raft loop (its stats) and a new leader took
    more than a second to answer it for a while after a partition.
    """
    try:
        addr = get(HTTP[host] + "/v1/status/leader", timeout=1.0).json()
    except (requests.RequestException, ValueError):
        return None
    return NAME_BY_ADDR.get(addr.rsplit(":", 1)[0], addr) if addr else ""


def wait_new_leader(victim, survivors, old_term, t_fault, timeout=LEADER_BOUND + 20):
    """(seconds from the fault until every survivor names the same new leader, that leader, probes).

    New: another node than the victim, or the victim again in a newer term (a SIGKILLed leader
    is back after systemd's RestartSec and may win).
    """
    probes = dict(count=0, unanswered=0, last=None)
    while time.time() - t_fault < timeout:
        seen = [leader_seen_by(h) for h in survivors]
        probes["count"] += 1
        probes["unanswered"] += sum(v is None for v in seen)
        probes["last"] = seen
        if seen[0] and all(v == seen[0] for v in seen):
            if seen[0] != victim:
                return time.time() - t_fault, seen[0], probes
            views = [raft_view(h) for h in survivors]
            if all(views) and all(v[1] > old_term for v in views):
                return time.time() - t_fault, seen[0], probes
        time.sleep(0.05)
    return None, "", probes


def podman(*args, check=True):
    return subprocess.run(["podman", *args], check=check, capture_output=True, text=True, timeout=60).stdout


def unit_start(host):
    """(InvocationID, ExecMainStartTimestampMonotonic in µs) of the host's consul unit."""
    out = podman("exec", host, "systemctl", "show", "-p", "InvocationID", "-p", "ExecMainStartTimestampMonotonic",
                 "consul@%s.service" % host)
    props = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    return props["InvocationID"], int(props["ExecMainStartTimestampMonotonic"])


def sigkill(host):
    podman("exec", host, "systemctl", "kill", "--signal=SIGKILL", "consul@%s.service" % host)


# --- the writers ------------------------------------------------------------------------------

class Writer:
    """One kv_writer.py process: its target, its own key prefix and log."""

    def __init__(self, name, target):
        self.name, self.target = name, target
        self.prefix = "faults/%s/" % name
        self.log = EPHEMERAL / ("kv-writer-%s.jsonl" % name)
        self.proc = None
        self.returncode = None

    def start(self):
        self.log.unlink(missing_ok=True)
        self.proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, str(HERE / "kv_writer.py"), "--log", str(self.log), "--interval", str(WRITE_INTERVAL),
             "--prefix", self.prefix, "--target", self.target])

    def stop(self):
        """SIGTERM, then the exit status (a writer that died earlier keeps the status it died with)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def entries(self):
        """The writer's complete log lines. It appends while the test reads: a line without its newline yet is
        cut, not a JSON document, and waits for the next read."""
        if not self.log.exists():
            return []
        whole = self.log.read_text().rpartition("\n")[0]
        return [json.loads(line) for line in whole.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def writers():
    # A rerun of verify starts from an empty prefix, so the read-back sees only this run's writes.
    assert requests.delete(HTTP[HOSTS[0]] + "/v1/kv/faults/", params={"recurse": ""}, timeout=10).status_code == 200
    started = [Writer("lb", LB)] + [Writer(h, HTTP[h]) for h in HOSTS]
    try:
        for w in started:
            w.start()
        for w in started:
            wait_for(lambda w=w: any(e["ok"] for e in w.entries()), 15, "a write acknowledged for writer %s" % w.name)
        yield started
    finally:
        for w in started:
            w.stop()


def assert_alive(writers, when):
    dead = {w.name: w.proc.returncode for w in writers if w.proc.poll() is not None}
    assert not dead, "writer(s) exited %s: %s" % (when, dead)


# --- one fault: begin, the fault, end, its checks ---------------------------------------------

def begin(name, writers, **extra):
    """A phase record; every writer must be running when a fault starts. t_fault: now, or when
    the command that causes the fault returned (the caller sets it)."""
    assert_alive(writers, "before " + name)
    phase = dict(name=name, lb_server=lb_pinned_server(), t_start=time.time(), **extra)
    phase["t_fault"] = phase["t_start"]
    PHASES.append(phase)
    return phase


def end(phase, writers):
    # A short quiet tail (after wait_whole's settle time), so late errors of this fault are
    # counted here and not in the next one, and a resumed writer has time to show it.
    time.sleep(1)
    phase["t_end"] = time.time()
    assert_alive(writers, "during " + phase["name"])


def down_writers(phase):
    """Writers whose server was taken down by the fault: the victim's own writer, and the one
    through nginx when ip_hash pins it to the victim."""
    victim = phase.get("victim")
    return {victim, "lb"} if victim and phase["lb_server"] == victim else {victim}


def writer_stats(phase, w):
    entries = [e for e in w.entries() if phase["t_start"] <= e["t_send"] < phase["t_end"]]
    errors = [e for e in entries if not e["ok"]]
    acked = [e for e in entries if e["ok"]]
    t_fault, t_whole = phase["t_fault"], phase["t_whole"]
    return dict(
        writes=len({e["seq"] for e in entries}), acknowledged=len(acked), errors=len(errors),
        acknowledged_during_fault=len([e for e in acked if t_fault <= e["t_send"] < t_whole]),
        acknowledged_after_whole=len([e for e in acked if e["t_send"] >= t_whole]),
        # Seconds from the fault to the first error's send and the last error's answer.
        error_window_s=[round(errors[0]["t_send"] - t_fault, 2), round(errors[-1]["t_done"] - t_fault, 2)]
        if errors else None,
        longest_error_s=longest_error_stretch(entries),
        error_kinds=sorted({(e["error"] or "")[:60] for e in errors})[:5],
        max_ack_latency_s=round(max(e["t_done"] - e["t_send"] for e in acked), 2) if acked else None,
    )


def longest_error_stretch(entries):
    """Seconds of the longest run of failed attempts with no acknowledged write in between (first
    failed send to last failed answer): how long the writer could not write. 0 without errors.

    Over first..last error of the whole phase, the rolling restart's separate steps would add up."""
    longest, start = 0.0, None
    for e in sorted(entries, key=lambda e: e["t_send"]):
        if e["ok"]:
            start = None
            continue
        start = e["t_send"] if start is None else start
        longest = max(longest, e["t_done"] - start)
    return round(longest, 2)


def check_writes(phase, writers):
    """Each writer's floor of acknowledged writes during the fault and its error window's bound."""
    limits = LIMITS[phase["name"]]
    down = down_writers(phase)
    phase["writers"] = {w.name: writer_stats(phase, w) for w in writers}
    phase["down_writers"] = sorted(n for n in down if n)
    short, late = {}, {}
    for name, st in phase["writers"].items():
        if name in down:
            if st["acknowledged_after_whole"] < RESUMED_FLOOR:
                after = st["acknowledged_after_whole"]
                short[name] = "%d after the cluster was whole (floor %d)" % (after, RESUMED_FLOOR)
        elif st["acknowledged_during_fault"] < limits["floor"]:
            short[name] = "%d during the fault (floor %d)" % (st["acknowledged_during_fault"], limits["floor"])
        if st["longest_error_s"] > limits["window"]:
            late[name] = st["longest_error_s"]
    assert not short, "%s: too few writes acknowledged: %s" % (phase["name"], short)
    assert not late, "%s: writers failing for longer than %.1f s in a row: %s" % (
        phase["name"], limits["window"], late)


def targets_kept(watch, phase, may_vanish=()):
    """Record when Prometheus stopped listing an exporter during the phase; fail unless allowed."""
    gaps = target_gaps(watch, phase["t_start"], phase["t_end"])
    phase["prometheus_unlisted_s"] = gaps
    lost = sorted(h for h in gaps if h not in may_vanish)
    assert not lost, "Prometheus stopped listing %s during %s: %s" % (lost, phase["name"], gaps)


# --- Prometheus's targets, sampled every second during the faults -----------------------------

class TargetWatch(threading.Thread):
    """Samples which exporters Prometheus lists (and their health) for PROM_JOB."""

    def __init__(self, url):
        super().__init__(daemon=True)
        self.url = url
        self.samples = []  # (time, {host: health}) ; None when Prometheus did not answer
        self.halt = threading.Event()

    def listed(self):
        r = get(self.url + "/api/v1/targets", timeout=2.0)
        targets = r.json()["data"]["activeTargets"]
        return {NAME_BY_ADDR.get(t["labels"]["instance"].rsplit(":", 1)[0], t["labels"]["instance"]): t["health"]
                for t in targets if t["labels"].get("job") == PROM_JOB}

    def run(self):
        while not self.halt.is_set():
            try:
                self.samples.append((time.time(), self.listed()))
            except (requests.RequestException, ValueError, KeyError):
                self.samples.append((time.time(), None))
            self.halt.wait(1.0)


@pytest.fixture(scope="module")
def targets():
    watch = TargetWatch(PROMETHEUS)
    wait_for(lambda: sorted(watch.listed()) == sorted(HOSTS), 60, "Prometheus listing every exporter")
    watch.start()
    yield watch
    watch.halt.set()
    watch.join(5)


def target_gaps(watch, t0, t1):
    """Per host, the seconds (first..last sample) in [t0, t1] when Prometheus did not list it."""
    gaps = {}
    for t, listed in watch.samples:
        if t0 <= t <= t1:
            for h in HOSTS:
                if listed is None or h not in listed:
                    first, _last = gaps.get(h, (t, t))
                    gaps[h] = (first, t)
    return {h: [round(a - t0, 1), round(b - t0, 1)] for h, (a, b) in gaps.items()}


# --- the faults, in order ---------------------------------------------------------------------

def test_0_baseline_cluster_whole_and_services_registered(writers, targets):
    wait_whole(must_sync=HOSTS, timeout=60)
    for h in HOSTS:
        services = get(HTTP[h] + "/v1/agent/services").json()
        assert SERVICE in services, (h, sorted(services))
    assert_alive(writers, "before the faults")


def test_a_rolling_restart_followers_first_leader_last(writers, targets):
    before = {h: unit_start(h) for h in HOSTS}
    phase = begin("a_rolling_restart", writers, leader_before=current_leader())
    ROLLING_REPORT.unlink(missing_ok=True)
    converge("sdstack.consul.rolling_restart", dict(rolling_restart_report=str(ROLLING_REPORT)))
    phase["playbook_s"] = round(time.time() - phase["t_start"], 1)
    wait_whole(must_sync=HOSTS)
    end(phase, writers)
    targets_kept(targets, phase)
    steps = json.loads(ROLLING_REPORT.read_text())
    phase["order"] = [s["node"] for s in steps]
    phase["steps"] = steps
    # The fault itself: from the first restart to the last server back in sync (the playbook's
    # install and configuration checks before it take longer, and restart nothing).
    phase["t_fault"], phase["t_whole"] = _epoch(steps[0]["restarted_at"]), _epoch(steps[-1]["in_sync_at"])
    phase["restarts_s"] = round(phase["t_whole"] - phase["t_fault"], 1)
    check_writes(phase, writers)
    print("\nrolling restart steps:\n" + "\n".join(json.dumps(s, sort_keys=True) for s in steps))
    assert sorted(phase["order"]) == sorted(HOSTS)
    # Leader last: each step restarted a follower of that moment, except the last, which restarted the leader.
    for s in steps[:-1]:
        assert s["node"] != s["leader_before"], s
    assert steps[-1]["node"] == steps[-1]["leader_before"], steps[-1]
    for s in steps:
        assert s["restarted_at"] < s["in_sync_at"] and s["applied_index"] >= s["min_index"], s

    # Independent evidence from systemd: every unit has a new invocation, started in that order.
    after = {h: unit_start(h) for h in HOSTS}
    assert all(after[h][0] != before[h][0] for h in HOSTS), (before, after)
    assert sorted(HOSTS, key=lambda h: after[h][1]) == phase["order"]
    phase["systemd_start_order"] = sorted(HOSTS, key=lambda h: after[h][1])

    # The snapshot taken first reached the controller and is a valid snapshot on the host.
    snaps = sorted((EPHEMERAL / "snapshots").glob("consul-dc1-*.snap"))
    assert snaps and snaps[-1].stat().st_size > 0 and (snaps[-1].stat().st_mode & 0o777) == 0o600
    out = podman("exec", HOSTS[0], "consul", "snapshot", "inspect", "/var/backups/consul/" + snaps[-1].name)
    assert "Index" in out, out
    phase["snapshot"] = snaps[-1].name


def record_new_leader(phase, survivors, old_term):
    """Time from the fault until the survivors agree on a new leader; fails beyond LEADER_BOUND."""
    took, phase["new_leader"], phase["leader_probes"] = wait_new_leader(phase["victim"], survivors, old_term,
                                                                        phase["t_fault"])
    phase["time_to_leader_s"] = round(took, 2) if took is not None else None


def assert_new_leader_in_time(phase):
    seen = {k: phase.get(k) for k in ("victim", "time_to_leader_s", "leader_probes")}
    assert phase["time_to_leader_s"] is not None and phase["time_to_leader_s"] <= LEADER_BOUND, \
        "no new leader within %ss: %s" % (LEADER_BOUND, seen)


def _kill_phase(name, victim, writers, watch):
    """SIGKILL the victim's server; systemd restarts it. Returns the phase record."""
    survivors = [h for h in HOSTS if h != victim]
    old_term = raft_view(survivors[0])[1]
    leader = current_leader()
    before = unit_start(victim)
    phase = begin(name, writers, victim=victim, leader_before=leader)
    sigkill(victim)
    phase["t_fault"] = time.time()
    if victim == leader:
        record_new_leader(phase, survivors, old_term)
    phase["t_whole"] = wait_whole(must_sync=[victim])
    phase["victim_back_s"] = round(phase["t_whole"] - phase["t_fault"], 2)
    phase["leader_after"] = current_leader()
    end(phase, writers)
    assert unit_start(victim)[0] != before[0], "systemd did not restart %s after SIGKILL" % victim
    targets_kept(watch, phase)
    check_writes(phase, writers)
    return phase


def test_b_sigkill_leader(writers, targets):
    phase = _kill_phase("b_sigkill_leader", current_leader(), writers, targets)
    assert_new_leader_in_time(phase)


def test_c_sigkill_follower(writers, targets):
    leader = current_leader()
    phase = _kill_phase("c_sigkill_follower", next(h for h in HOSTS if h != leader), writers, targets)
    assert phase["leader_after"] == leader, "killing a follower moved leadership: %s" % phase


def test_d_network_cut(writers, targets):
    # The leader's host: the partition that forces an election, then the old leader's rejoin.
    victim = current_leader()
    survivors = [h for h in HOSTS if h != victim]
    old_term = raft_view(survivors[0])[1]
    phase = begin("d_network_cut", writers, victim=victim)
    podman("network", "disconnect", NETWORK, victim)
    phase["t_fault"] = time.time()
    try:
        record_new_leader(phase, survivors, old_term)
        # Stay cut until the others count the victim out (Serf failed / autopilot unhealthy), so
        # the reconnect is a real rejoin and not a blip.
        deadline = time.time() + 30
        while time.time() < deadline and not any("%s not a healthy voter" % victim in p
                                                 for p in cluster_problems()):
            time.sleep(0.25)
        phase["cut_noticed_s"] = round(time.time() - phase["t_fault"], 2)
        time.sleep(max(0, 12 - (time.time() - phase["t_fault"])))
    finally:
        podman("network", "connect", "--ip", ADDR[victim], NETWORK, victim)
        t_back = time.time()
    phase["cut_s"] = round(t_back - phase["t_fault"], 2)
    phase["t_whole"] = wait_whole(must_sync=[victim])
    phase["victim_back_s"] = round(phase["t_whole"] - t_back, 2)
    phase["leader_after"] = current_leader()
    end(phase, writers)
    # Cut off longer than Serf's failure detection, the victim's server is reaped by autopilot's
    # cleanup_dead_servers, which deregisters its node from the catalog: its exporter may vanish
    # from discovery until it rejoins. The others' must not.
    targets_kept(targets, phase, may_vanish=[victim])
    assert_new_leader_in_time(phase)
    check_writes(phase, writers)


def test_e_agents_keep_their_services(writers, targets):
    for h in HOSTS:
        services = get(HTTP[h] + "/v1/agent/services").json()
        assert SERVICE in services, (h, sorted(services))

    def registered_and_passing():
        nodes = sorted(n["Node"] for n in get(HTTP[HOSTS[0]] + "/v1/catalog/service/" + SERVICE).json())
        passing = sorted(e["Node"]["Node"] for e in
                         get(HTTP[HOSTS[0]] + "/v1/health/service/" + SERVICE, passing="").json())
        return nodes == passing == sorted(HOSTS)
    wait_for(registered_and_passing, 60, "%s registered and passing on %s" % (SERVICE, HOSTS), interval=1)
    wait_for(lambda: targets.listed() == {h: "up" for h in HOSTS}, 30, "every exporter up in Prometheus", interval=1)


def test_z_every_acknowledged_write_reads_back(writers, targets):
    running = {w.name: w.proc.poll() is None for w in writers}
    exits = {w.name: w.stop() for w in writers}
    r = get(HTTP[current_leader() or HOSTS[0]] + "/v1/kv/faults/", timeout=30, recurse="", consistent="")
    assert r.status_code == 200, r.text[:300]
    stored = {item["Key"]: json.loads(base64.b64decode(item["Value"]))["seq"] for item in r.json()}
    ledger = {w.name: _ledger(w, stored) for w in writers}
    report = dict(writers=ledger, exit_status=exits, leader_bound_s=LEADER_BOUND, limits=LIMITS,
                  resumed_floor=RESUMED_FLOOR, phases=[_phase_report(p) for p in PHASES])
    REPORT.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    _print_table(report)
    problems = ["writer %s had exited before the end" % n for n, up in running.items() if not up]
    problems += ["writer %s exited %s when stopped" % (n, rc) for n, rc in exits.items() if rc != 0]
    problems += ["writer %s: acknowledged writes missing (first 50): %s" % (n, led["lost"])
                 for n, led in ledger.items() if led["lost"]]
    assert not problems, "; ".join(problems)


def _ledger(w, stored):
    entries = w.entries()
    acked = {e["seq"]: e["key"] for e in entries if e["ok"]}
    unacked = {e["seq"] for e in entries} - acked.keys()
    lost = sorted(s for s, key in acked.items() if stored.get(key) != s)
    return dict(attempted=len({e["seq"] for e in entries}), acknowledged=len(acked),
                acknowledged_read_back=len(acked) - len(lost), lost=lost[:50],
                unacknowledged_but_stored=len([s for s in unacked if stored.get("%s%08d" % (w.prefix, s)) == s]))


def _phase_report(p):
    out = {k: v for k, v in p.items() if not k.startswith("t_") and k != "steps"}
    out["t_utc"] = {k[2:]: _utc(v) for k, v in p.items() if k.startswith("t_")}
    out["duration_s"] = round(p["t_end"] - p["t_start"], 1) if "t_end" in p else None
    if "steps" in p:
        out["steps"] = []
        for s in p["steps"]:
            t0, t1 = _epoch(s["restarted_at"]), _epoch(s["in_sync_at"])
            step = {k: s[k] for k in ("step", "node", "leader_before", "leader_after", "wait_s", "min_index",
                                      "applied_index")}
            step.update(restart_to_in_sync_s=round(t1 - t0, 2))
            out["steps"].append(step)
    return out


def _epoch(iso):
    """Seconds since the epoch of the role's UTC timestamps (2026-11-25T23:13:02.656471Z)."""
    day, _sep, frac = iso.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


def _utc(t):
    return time.strftime("%H:%M:%S", time.gmtime(t)) + (".%03d" % (int(t * 1000) % 1000))


def _print_table(report):
    # One line per fault and writer (Molecule wraps wide output); the whole report follows as one JSON line.
    print("\nper fault: leader s; victim back s; exporters Prometheus stopped listing {host: [first, last] s};"
          " per writer (* = its server was down): acknowledged during the fault / after whole / errors"
          " [window s from the fault], longest run of errors")
    for p in report["phases"]:
        print("%s (%s s, nginx -> %s): leader %s; victim back %s; unlisted in Prometheus %s" % (
            p["name"], p["duration_s"], p["lb_server"], p.get("time_to_leader_s", "-"), p.get("victim_back_s", "-"),
            p.get("prometheus_unlisted_s") or "-"))
        for name, st in (p.get("writers") or {}).items():
            win = "[%.2f..%.2f]" % tuple(st["error_window_s"]) if st["error_window_s"] else "[-]"
            print("  %s%s: %d / %d / %d %s, longest %.2f s" % (
                name, "*" if name in p["down_writers"] else "", st["acknowledged_during_fault"],
                st["acknowledged_after_whole"], st["errors"], win, st["longest_error_s"]))
        for s in p.get("steps") or []:
            print("  step %(step)d %(node)s (leader %(leader_before)s -> %(leader_after)s): in sync "
                  "%(restart_to_in_sync_s)ss after restart" % s)
    for name, led in report["writers"].items():
        print("writer %s: %d writes, %d acknowledged, %d read back, %d unacknowledged but stored; exit %s" % (
            name, led["attempted"], led["acknowledged"], led["acknowledged_read_back"],
            led["unacknowledged_but_stored"], report["exit_status"][name]))
    print("FAULTS-REPORT-JSON " + json.dumps(report, sort_keys=True))
