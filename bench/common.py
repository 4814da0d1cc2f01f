"""What the benchmarks share: running commands, asking the lab's HTTP APIs, polling, result files.

An answer the bench did not expect (an HTTP error, a connection failure, a body that is not the
API's JSON) aborts the bench with a one-line message: counted as "not there yet" or "gone", it
would turn a broken lab into a fast or slow figure. One exception, inside a poll only: a service
that accepted the connection and then dropped it (reset, or closed without answering) is counted
as "not yet", as a restarting service does that; the poll's deadline still bounds it, and its
message names the last such drop. A refused connection (nothing listening) still aborts.
"""

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
import urllib3

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
SESSION = requests.Session()
SESSION.trust_env = False  # lab addresses only, never through a proxy


class BenchError(SystemExit):
    """The bench cannot go on; the message says why."""

    def __init__(self, msg):
        super().__init__("bench aborted: " + msg)


class Dropped(BenchError):
    """The service accepted the connection and dropped it before answering (see the module's doc)."""


def _dropped(exc):
    # requests wraps a reset or a close without an answer as ConnectionError(ProtocolError(...));
    # a refused connection comes as ConnectionError(MaxRetryError(NewConnectionError)).
    return isinstance(exc, requests.ConnectionError) and bool(exc.args) \
        and isinstance(exc.args[0], urllib3.exceptions.ProtocolError)


def sh(*cmd, **kw):
    kw.setdefault("cwd", REPO)
    run = subprocess.run(cmd, capture_output=True, text=True, check=False, **kw)
    if run.returncode:
        sys.stderr.write(run.stdout[-4000:] + run.stderr[-2000:])
        raise BenchError("rc=%d: %s" % (run.returncode, " ".join(cmd)))
    return run.stdout


def api(method, url, timeout=5, ok=(200,), **kw):
    """One HTTP call; returns (status, JSON body or None). Anything but a status in `ok` aborts."""
    try:
        r = SESSION.request(method, url, timeout=timeout, **kw)
    except requests.RequestException as exc:
        raise (Dropped if _dropped(exc) else BenchError)("%s %s: %s" % (method, url, exc)) from None
    if r.status_code not in ok:
        raise BenchError("%s %s answered HTTP %d: %s" % (method, url, r.status_code, " ".join(r.text.split())[:200]))
    if not r.content:
        return r.status_code, None
    try:
        return r.status_code, r.json()
    except ValueError:
        raise BenchError("%s %s answered HTTP %d with a body that is not JSON: %r"
                         % (method, url, r.status_code, r.text[:200])) from None


def wait_for(cond, timeout, what):
    deadline, dropped = time.monotonic() + timeout, None
    while time.monotonic() < deadline:
        try:
            if cond():
                return
        except Dropped as exc:
            dropped = exc
        time.sleep(0.1)
    last = "; last dropped connection: %s" % str(dropped.code).replace("bench aborted: ", "") if dropped else ""
    raise BenchError("timed out after %ss waiting for %s%s" % (timeout, what, last))


def utc_stamp():
    """Now in UTC as the names of result and log files carry it (they sort by time)."""
    return time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())


class LoadSampler:
    """The machine's 1-minute load average every `every` seconds while a bench runs: the machine is
    shared, and the figures are read with the load they were measured under."""

    def __init__(self, every=30.0):
        self.every, self.samples = every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while True:
            self.samples.append(round(os.getloadavg()[0], 2))
            if self._stop.wait(self.every):
                return

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    def summary(self):
        # A bench that stops before the sampler's first reading (its thread not scheduled yet) still
        # reports the load it stopped under.
        xs = sorted(self.samples) or [round(os.getloadavg()[0], 2)]
        return {"cores": os.cpu_count(), "load1_min": xs[0], "load1_median": xs[len(xs) // 2], "load1_max": xs[-1],
                "samples": self.samples, "every_s": self.every}


def commit():
    """HEAD, with "+changes" when what the benches run (roles, plugins, playbooks, bench/) differs from it."""
    run = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True,
                         check=False)
    if run.returncode:
        return None
    dirty = subprocess.run(["git", "diff", "--quiet", "HEAD", "--", "roles", "plugins", "playbooks", "bench/*.py"],
                           cwd=REPO, check=False).returncode
    return run.stdout.strip() + ("+changes" if dirty else "")


def result_path(bench):
    """bench/results/<bench>-<UTC time>.json; bench/tables.py builds docs/benchmarks.md from these."""
    return RESULTS / ("%s-%s.json" % (bench, utc_stamp()))


def write_result(bench, data, path=None):
    """The result file (a new one unless `path`, which a long bench rewrites after each step)."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = path or result_path(bench)
    path.write_text(json.dumps(data, indent=2) + "\n")
    print("results: %s" % path.relative_to(REPO), file=sys.stderr)
    return path


def finish_result(bench, res, load, path=None):
    """Stamp the end time and the load the run saw, write the result file, say how to get the table."""
    res["finished"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    res["load"] = load.summary()
    path = write_result(bench, res, path)
    print("table: python bench/tables.py", file=sys.stderr)
    return path


def raw_register(agent_url, services, timeout=10):
    """The floor of a registration benchmark: one raw PUT per service (the bulk form's dicts, checks
    replaced like the module does), over this module's kept-alive session; returns the seconds taken."""
    t0 = time.monotonic()
    for s in services:
        body = {"ID": s["id"], "Name": s["name"], "Tags": s["tags"], "Address": s["address"], "Port": s["port"],
                "Meta": s["meta"], "Checks": [{"TCP": c["tcp"], "Interval": c["interval"], "Timeout": c["timeout"]}
                                              for c in s["checks"]]}
        api("PUT", agent_url + "/v1/agent/service/register", timeout=timeout,
            params={"replace-existing-checks": "true"}, json=body)
    return time.monotonic() - t0
