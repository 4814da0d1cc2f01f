"""Faults under a continuous write load.

kv_writer.py writes a sequenced KV entry every 50 ms while these tests, in file order, (a)
rolling-restart every server with playbooks/rolling_restart.yml, (b) SIGKILL the leader, (c)
SIGKILL a follower and (d) cut the leader's host off the network and reconnect it. Afterwards
every acknowledged write must read back (consistent read), a leader must have returned within
LEADER_BOUND seconds, each victim must be a voter in sync again, and every agent must still
hold its registered service. Per fault: error window, error count, writes acknowledged and read
back, time to leader; printed and written to <ephemeral dir>/faults-report.json.
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
from testinfra.utils.ansible_runner import AnsibleRunner

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
RUNNER = AnsibleRunner(os.environ["MOLECULE_INVENTORY_FILE"])
testinfra_hosts = RUNNER.get_hosts("consul_servers")[:1]  # the tests address every host themselves

HOSTS = RUNNER.get_hosts("consul_servers")
ADDR = {h: RUNNER.get_variables(h)["consul_advertise_address"] for h in HOSTS}
NAME_BY_ADDR = {a: h for h, a in ADDR.items()}
HTTP = {h: "http://%s:8500" % ADDR[h] for h in HOSTS}
# Writes go through the load balancer (nginx, role consul_lb) when the scenario has one; else
# straight to the servers with the writer's own failover.
PLATFORMS = {p["name"]: p for p in yaml.safe_load((HERE.parent / "molecule.yml").read_text())["platforms"]}
LB = ["http://%s:80" % PLATFORMS[h]["ip"] for h in RUNNER.get_hosts("consul_lb")]
EPHEMERAL = Path(os.environ.get("MOLECULE_EPHEMERAL_DIRECTORY", "/tmp"))
WRITER_LOG = EPHEMERAL / "kv-writer.jsonl"
REPORT = EPHEMERAL / "faults-report.json"
ROLLING_REPORT = EPHEMERAL / "rolling-restart.json"
NETWORK = os.environ.get("LAB_NETWORK", "sdstack-lab")
# The cluster issue measured a median failover of 2.67 s with raft_multiplier 1: generous bound.
LEADER_BOUND = 10.0
RECOVERY_TIMEOUT = 90.0
# The exporter role registers this on every host's own agent.
SERVICE = "node-exporter"
# Prometheus (role prometheus) discovering the exporters through the load balancer, if any.
PROMETHEUS = ["http://%s:9090" % PLATFORMS[h]["ip"] for h in RUNNER.get_hosts("prometheus")]
PROM_JOB = "consul-node-exporter"

PHASES = []


# --- plain HTTP views, independent of the collection's own client ----------------------------

def get(url, timeout=2.0, **params):
    return requests.get(url, params=params, timeout=timeout)


def agent_self(host):
    try:
        r = get(HTTP[host] + "/v1/agent/self", timeout=1.0)
        return r.json() if r.status_code == 200 else None
    except (requests.RequestException, ValueError):
        return None


def raft_view(host):
    """(leader node or "", raft term, raft state, last_contact) as this server's agent reports them."""
    body = agent_self(host)
    if not body:
        return None
    raft = body["Stats"]["raft"]
    leader_addr = body["Stats"]["consul"].get("leader_addr", "")
    return (NAME_BY_ADDR.get(leader_addr.rsplit(":", 1)[0], ""), int(raft["term"]), raft["state"],
            raft["last_contact"])


def current_leader():
    for h in HOSTS:
        try:
            addr = get(HTTP[h] + "/v1/status/leader").json()
        except (requests.RequestException, ValueError):
            continue
        if addr:
            return NAME_BY_ADDR[addr.rsplit(":", 1)[0]]
    return ""


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
    """Seconds until the cluster was whole, once it stayed whole for ``settle`` seconds.

    Autopilot polls servers every ~2 s and meanwhile reports what it saw last (possibly the
    victim's previous process): the settle time makes it look at least once more.
    """
    t0 = time.monotonic()
    problems = None
    whole_since = None
    while time.monotonic() - t0 < timeout + settle:
        problems = cluster_problems(must_sync)
        if problems:
            whole_since = None
        else:
            whole_since = whole_since or time.monotonic()
            if time.monotonic() - whole_since >= settle:
                return whole_since - t0
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


def begin(name, **extra):
    phase = dict(name=name, t_start=time.time(), **extra)
    PHASES.append(phase)
    return phase


def targets_kept(watch, phase, may_vanish=()):
    """Record when Prometheus stopped listing an exporter during the phase; fail unless allowed."""
    if watch is None:
        return
    gaps = target_gaps(watch, phase["t_start"], phase["t_end"])
    phase["prometheus_unlisted_s"] = gaps
    lost = sorted(h for h in gaps if h not in may_vanish)
    assert not lost, "Prometheus stopped listing %s during %s: %s" % (lost, phase["name"], gaps)


def end(phase):
    # A short quiet tail (after wait_whole's settle time), so late errors of this fault are
    # counted here and not in the next one.
    time.sleep(1)
    phase["t_end"] = time.time()


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
    if not PROMETHEUS:
        yield None
        return
    watch = TargetWatch(PROMETHEUS[0])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if sorted(watch.listed()) == sorted(HOSTS):
                break
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(1)
    assert sorted(watch.listed()) == sorted(HOSTS), "Prometheus does not list every exporter 60s after converge"
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


# --- the writer -------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def writer():
    WRITER_LOG.unlink(missing_ok=True)
    # A rerun of verify starts from an empty prefix, so the read-back sees only this run's writes.
    assert requests.delete(HTTP[HOSTS[0]] + "/v1/kv/faults/", params={"recurse": ""}, timeout=10).status_code == 200
    cmd = [sys.executable, str(HERE / "kv_writer.py"), "--log", str(WRITER_LOG), "--interval", "0.05"]
    for target in LB or [HTTP[h] for h in HOSTS]:
        cmd += ["--target", target]
    proc = subprocess.Popen(cmd)  # pylint: disable=consider-using-with
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not any(e["ok"] for e in read_log()):
            time.sleep(0.2)
        assert any(e["ok"] for e in read_log()), "the writer got no write acknowledged in 15s"
        yield proc
    finally:
        stop_writer(proc)


def stop_writer(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def read_log():
    if not WRITER_LOG.exists():
        return []
    return [json.loads(line) for line in WRITER_LOG.read_text().splitlines() if line.strip()]


# --- the faults, in order ---------------------------------------------------------------------

def test_0_baseline_cluster_whole_and_services_registered(writer, targets):
    wait_whole(must_sync=HOSTS, timeout=60)
    for h in HOSTS:
        services = get(HTTP[h] + "/v1/agent/services").json()
        assert SERVICE in services, (h, sorted(services))
    phase = begin("baseline")
    time.sleep(3)
    end(phase)
    targets_kept(targets, phase)


def test_a_rolling_restart_followers_first_leader_last(writer, targets):
    before = {h: unit_start(h) for h in HOSTS}
    leader = current_leader()
    phase = begin("a_rolling_restart", leader_before=leader)
    env = dict(os.environ, ANSIBLE_COLLECTIONS_PATH=str(REPO / ".lab" / "collections"), ANSIBLE_NOCOLOR="1",
               XDG_CACHE_HOME=str(REPO / ".lab" / "cache" / "xdg"))
    ROLLING_REPORT.unlink(missing_ok=True)
    run = subprocess.run(["ansible-playbook", "-i", os.environ["MOLECULE_INVENTORY_FILE"],
                          "sdstack.consul.rolling_restart", "-e", "rolling_restart_report=%s" % ROLLING_REPORT],
                         env=env, capture_output=True, text=True, timeout=600, check=False)
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    phase["playbook_s"] = round(time.time() - phase["t_start"], 1)
    wait_whole(must_sync=HOSTS)
    end(phase)
    targets_kept(targets, phase)

    steps = json.loads(ROLLING_REPORT.read_text())
    phase["order"] = [s["node"] for s in steps]
    phase["steps"] = steps
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


def record_leader_change(phase, victim_was_leader, survivors, old_term, t_fault):
    """Time to a new leader when the victim led (0 when a follower was hit: leadership stays)."""
    if not victim_was_leader:
        phase["time_to_leader_s"] = 0.0
        return
    victim = phase["victim"]
    took, new_leader, phase["leader_probes"] = wait_new_leader(victim, survivors, old_term, t_fault)
    phase["time_to_leader_s"] = round(took, 2) if took is not None else None
    phase["new_leader"] = new_leader


def _kill_phase(name, victim, leader, watch):
    survivors = [h for h in HOSTS if h != victim]
    old_term = raft_view(survivors[0])[1]
    phase = begin(name, victim=victim, victim_was_leader=victim == leader)
    before = unit_start(victim)
    sigkill(victim)
    t_fault = time.time()
    record_leader_change(phase, victim == leader, survivors, old_term, t_fault)
    phase["victim_back_s"] = round(time.time() - t_fault + wait_whole(must_sync=[victim]), 2)
    phase["leader_after"] = current_leader()
    end(phase)
    assert unit_start(victim)[0] != before[0], "systemd did not restart %s after SIGKILL" % victim
    targets_kept(watch, phase)
    return phase


def test_b_sigkill_leader(writer, targets):
    leader = current_leader()
    phase = _kill_phase("b_sigkill_leader", leader, leader, targets)
    assert phase["time_to_leader_s"] is not None, "no new leader within %ds" % (LEADER_BOUND + 20)
    assert phase["time_to_leader_s"] <= LEADER_BOUND, phase
    assert phase["new_leader"] != leader


def test_c_sigkill_follower(writer, targets):
    leader = current_leader()
    victim = next(h for h in HOSTS if h != leader)
    phase = _kill_phase("c_sigkill_follower", victim, leader, targets)
    assert phase["leader_after"] == leader, "killing a follower moved leadership: %s" % phase


def test_d_network_cut(writer, targets):
    # The leader's host: the partition that forces an election, then the old leader's rejoin.
    leader = current_leader()
    victim = leader
    survivors = [h for h in HOSTS if h != victim]
    old_term = raft_view(survivors[0])[1]
    phase = begin("d_network_cut", victim=victim, victim_was_leader=victim == leader)
    podman("network", "disconnect", NETWORK, victim)
    t_fault = time.time()
    try:
        record_leader_change(phase, victim == leader, survivors, old_term, t_fault)
        # Stay cut until the others count the victim out (Serf failed / autopilot unhealthy), so
        # the reconnect is a real rejoin and not a blip.
        deadline = time.time() + 30
        while time.time() < deadline and not any("%s not a healthy voter" % victim in p
                                                 for p in cluster_problems()):
            time.sleep(0.25)
        phase["cut_noticed_s"] = round(time.time() - t_fault, 2)
        time.sleep(max(0, 12 - (time.time() - t_fault)))
    finally:
        podman("network", "connect", "--ip", ADDR[victim], NETWORK, victim)
        t_back = time.time()
    phase["cut_s"] = round(t_back - t_fault, 2)
    phase["victim_back_s"] = round(time.time() - t_back + wait_whole(must_sync=[victim]), 2)
    phase["leader_after"] = current_leader()
    end(phase)
    # Cut off longer than Serf's failure detection, the victim's server is reaped by autopilot's
    # cleanup_dead_servers, which deregisters its node from the catalog: its exporter may vanish
    # from discovery until it rejoins. The others' must not.
    targets_kept(targets, phase, may_vanish=[victim])
    if victim == leader:
        assert phase["time_to_leader_s"] is not None and phase["time_to_leader_s"] <= LEADER_BOUND, phase


def test_e_agents_keep_their_services(writer, targets):
    for h in HOSTS:
        services = get(HTTP[h] + "/v1/agent/services").json()
        assert SERVICE in services, (h, sorted(services))
    deadline = time.monotonic() + 60
    nodes = passing = None
    while time.monotonic() < deadline:
        nodes = sorted(n["Node"] for n in get(HTTP[HOSTS[0]] + "/v1/catalog/service/" + SERVICE).json())
        passing = sorted(e["Node"]["Node"] for e in
                         get(HTTP[HOSTS[0]] + "/v1/health/service/" + SERVICE, passing="").json())
        if nodes == sorted(HOSTS) and passing == sorted(HOSTS):
            break
        time.sleep(1)
    assert nodes == sorted(HOSTS) and passing == sorted(HOSTS), (nodes, passing)
    if targets is not None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and targets.listed() != {h: "up" for h in HOSTS}:
            time.sleep(1)
        assert targets.listed() == {h: "up" for h in HOSTS}


def test_z_every_acknowledged_write_reads_back(writer, targets):
    time.sleep(1)
    stop_writer(writer)
    entries = read_log()
    acked = {e["seq"]: e for e in entries if e["ok"]}
    attempted = {e["seq"] for e in entries}
    r = get(HTTP[current_leader() or HOSTS[0]] + "/v1/kv/faults/", timeout=30, recurse="", consistent="")
    assert r.status_code == 200, r.text[:300]
    stored = {}
    for item in r.json():
        stored[item["Key"]] = json.loads(base64.b64decode(item["Value"]))["seq"]
    lost = sorted(s for s, e in acked.items() if stored.get(e["key"]) != s)
    report = dict(writes_attempted=len(attempted), writes_acknowledged=len(acked),
                  acknowledged_read_back=len(acked) - len(lost), lost=lost[:50],
                  unacknowledged_but_stored=len([s for s in attempted - set(acked)
                                                 if "faults/%08d" % s in stored]),
                  leader_bound_s=LEADER_BOUND, phases=[_phase_stats(p, entries, acked, stored) for p in PHASES])
    REPORT.write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    _print_table(report)
    assert not lost, "%d acknowledged writes missing, first: %s" % (len(lost), lost[:10])
    assert report["writes_acknowledged"] > 1000


def _phase_stats(p, entries, acked, stored):
    inside = [e for e in entries if p["t_start"] <= e["t_send"] < p.get("t_end", float("inf"))]
    errors = [e for e in inside if not e["ok"]]
    seqs = {e["seq"] for e in inside}
    ok = [s for s in seqs if s in acked]
    latencies = sorted(e["t_done"] - e["t_send"] for e in inside if e["ok"])
    out = {k: v for k, v in p.items() if k not in ("t_start", "t_end", "steps")}
    out.update(
        duration_s=round(p.get("t_end", p["t_start"]) - p["t_start"], 1),
        writes=len(seqs), errors=len(errors),
        unacknowledged=len(seqs) - len(ok),
        error_window_s=[round(errors[0]["t_send"] - p["t_start"], 2), round(errors[-1]["t_done"] - p["t_start"], 2)]
        if errors else None,
        error_window_utc=[_utc(errors[0]["t_send"]), _utc(errors[-1]["t_done"])] if errors else None,
        error_kinds=sorted({(e["error"] or "")[:60] for e in errors})[:5],
        acknowledged=len(ok),
        acknowledged_read_back=len([s for s in ok if stored.get(acked[s]["key"]) == s]),
        max_ack_latency_s=round(latencies[-1], 2) if latencies else None,
    )
    if "steps" in p:
        out["steps"] = []
        for s in p["steps"]:
            t0, t1 = _epoch(s["restarted_at"]), _epoch(s["in_sync_at"])
            errs = [e for e in inside if not e["ok"] and t0 <= e["t_send"] <= t1]
            step = {k: s[k] for k in ("step", "node", "leader_before", "leader_after", "wait_s", "min_index",
                                      "applied_index")}
            step.update(restart_to_in_sync_s=round(t1 - t0, 2), errors=len(errs),
                        error_window_s=[round(errs[0]["t_send"] - t0, 2), round(errs[-1]["t_done"] - t0, 2)]
                        if errs else None)
            out["steps"].append(step)
    return out


def _epoch(iso):
    """Seconds since the epoch of the role's UTC timestamps (2026-11-25T23:13:02.656471Z)."""
    day, _sep, frac = iso.rstrip("Z").partition(".")
    return calendar.timegm(time.strptime(day, "%Y-%m-%dT%H:%M:%S")) + float("0." + (frac or "0"))


def _utc(t):
    return time.strftime("%H:%M:%S", time.gmtime(t)) + (".%03d" % (int(t * 1000) % 1000))


def _print_table(report):
    # One line per fault (Molecule wraps wide output); the whole report follows as one JSON line.
    print("\nper fault: writes/acknowledged/read back; errors [window s from the fault]; leader s; voter back s;"
          " exporters Prometheus stopped listing {host: [first, last] s}")
    for p in report["phases"]:
        win = "[%.2f..%.2f]" % tuple(p["error_window_s"]) if p["error_window_s"] else "[-]"
        print("%s: %d/%d/%d; %d errors %s; leader %s; voter %s; unlisted in Prometheus %s" % (
            p["name"], p["writes"], p["acknowledged"], p["acknowledged_read_back"], p["errors"], win,
            p.get("time_to_leader_s", "-"), p.get("victim_back_s", "-"), p.get("prometheus_unlisted_s") or "-"))
        for s in p.get("steps") or []:
            print("  step %(step)d %(node)s (leader %(leader_before)s -> %(leader_after)s): in sync "
                  "%(restart_to_in_sync_s)ss after restart; %(errors)d errors %(error_window_s)s" % s)
    print("total: %(writes_attempted)d writes, %(writes_acknowledged)d acknowledged, "
          "%(acknowledged_read_back)d read back, %(unacknowledged_but_stored)d unacknowledged but stored" % report)
    print("FAULTS-REPORT-JSON " + json.dumps(report, sort_keys=True))
