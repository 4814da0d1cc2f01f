"""Write the benchmark tables of docs/benchmarks.md from the result files in bench/results/.

Each table sits between `<!-- tables.py:<name> -->` and `<!-- /tables.py:<name> -->` and is built from
the newest result file that holds its data (file names carry the UTC time of the run). Nothing
between the marks is kept, so every figure there comes from a result file.

  python bench/tables.py           rewrite the marked sections
  python bench/tables.py --check   exit 1 (with a diff) when the doc is not what the results give,
                                   or when a result file it quotes is not committed
"""

import argparse
import difflib
import json
import re
import statistics
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
DOC = REPO / "docs" / "benchmarks.md"
SECTION = re.compile(r"(<!-- tables\.py:(\w+) -->\n)(.*?)(<!-- /tables\.py:\2 -->)", re.S)


class TableError(Exception):
    pass


def med(xs):
    return statistics.median(xs)


def secs(xs, fmt="%.2f"):
    return ", ".join(fmt % x for x in xs)


def source_line(path, data):
    load = data.get("load")
    where = "`bench/results/%s` (run %s → %s, commit %s" % (
        path.name, data.get("started", "?"), data.get("finished", "?"), data.get("commit") or "?")
    if load:
        where += "; 1-minute load average %.2f median, %.2f-%.2f, on %d cores, sampled every %ds" % (
            load["load1_median"], load["load1_min"], load["load1_max"], load["cores"], load["every_s"])
    return "From " + where + ")."


def cluster(path, data):
    raw = data["raw"]
    cold, rerun = raw["cold_converge_s"], raw["idempotent_rerun_s"]
    f5, f1 = raw["failover_s"]["5"], raw["failover_s"]["1"]
    dirty = [(i + 1, h, n) for i, run in enumerate(raw.get("rerun_changed", [])) for h, n in sorted(run.items()) if n]
    idem = ("`changed=0` on every host in every rerun" if "rerun_changed" in raw and not dirty else
            "changed tasks: %s" % ", ".join("run %d %s=%d" % d for d in dirty) if dirty else "changes not recorded")
    target = 2.5
    verdict = "met" if med(f1) <= target else "**missed by %.2f s**" % (med(f1) - target)
    return [
        source_line(path, data), "",
        "| measure | median | runs | ratio |", "|---|---|---|---|",
        "| cold converge, fresh hosts: %s | %.1f s | %s | baseline |" % (data["converge"], med(cold), secs(cold, "%.1f")),
        "| idempotent rerun (%s) | %.1f s | %s | %.2f × cold |"
        % (idem, med(rerun), secs(rerun, "%.1f"), med(rerun) / med(cold)),
        "| leader failover, `raft_multiplier` 5 (Consul's default): SIGKILL of the leader's process → both survivors "
        "name the same new leader | %.2f s | %s | baseline |" % (med(f5), secs(f5)),
        "| leader failover, `raft_multiplier` 1 (the role's default) | %.2f s | %s | %.2f × multiplier 5 |"
        % (med(f1), secs(f1), med(f1) / med(f5)),
        "",
        "Failover target (median ≤ %.1f s with the role's default): %s; slowest of %d kills %.2f s."
        % (target, verdict, len(f1), max(f1)),
    ]


def latency(path, data):
    slow, fast = data["refresh_30s"], data["refresh_2s"]
    pooled_slow, pooled_fast = slow["added"] + slow["removed"], fast["added"] + fast["removed"]
    target = 5.0
    verdict = "met" if med(fast["added"]) <= target else "**missed**"
    return [
        source_line(path, data) + " %d changes per setting and direction, pauses seeded with %s."
        % (len(fast["added"]), data["args"]["seed"]), "",
        "| measure | median | runs | ratio |", "|---|---|---|---|",
        "| registration → target listed, `refresh_interval` 30s (Prometheus's default) | %.2f s | %s | baseline |"
        % (med(slow["added"]), secs(slow["added"])),
        "| registration → target listed, `refresh_interval` 2s (the role's default) | **%.2f s** (target ≤ %g s: %s; "
        "worst %.2f s) | %s | %.2f × 30s |" % (med(fast["added"]), target, verdict, max(fast["added"]),
                                               secs(fast["added"]), med(fast["added"]) / med(slow["added"])),
        "| deregistration → target gone, `refresh_interval` 30s | %.2f s | %s | baseline |"
        % (med(slow["removed"]), secs(slow["removed"])),
        "| deregistration → target gone, `refresh_interval` 2s | %.2f s | %s | %.2f × 30s |"
        % (med(fast["removed"]), secs(fast["removed"]), med(fast["removed"]) / med(slow["removed"])),
        "",
        "Both directions pooled: 30s %.2f-%.2f s (median %.2f s of %d changes); 2s %.2f-%.2f s (median %.2f s of %d)."
        % (min(pooled_slow), max(pooled_slow), med(pooled_slow), len(pooled_slow),
           min(pooled_fast), max(pooled_fast), med(pooled_fast), len(pooled_fast)),
    ]


def registration(path, data):
    reg, n = data["registration"], data["args"]["services"]
    raw = med(reg["raw"])
    lines = [source_line(path, data), "",
             "| measure | median | runs | ratio |", "|---|---|---|---|",
             "| %d services, raw HTTP PUTs from Python (floor) | %.2f s | %s | baseline |" % (n, raw, secs(reg["raw"]))]
    if "bulk" in reg:
        lines.append("| %d services, `consul_service` bulk form, one task | %.2f s | %s | %.1f × raw |"
                     % (n, med(reg["bulk"]), secs(reg["bulk"]), med(reg["bulk"]) / raw))
    if "loop" in reg:
        vs_bulk = " (%.1f × bulk)" % (med(reg["loop"]) / med(reg["bulk"])) if "bulk" in reg else ""
        lines.append("| %d services, loop of single-service tasks | %.2f s | %s | %.1f × raw%s |"
                     % (n, med(reg["loop"]), secs(reg["loop"]), med(reg["loop"]) / raw, vs_bulk))
        lines += ["", "The loop costs %.2f s per service (its median over %d services)." % (med(reg["loop"]) / n, n)]
    missing = [f for f in ("bulk", "loop") if f not in reg]
    if missing:
        names = {"bulk": "the bulk form", "loop": "the loop of single-service tasks"}
        lines += ["", "Not measured in this run (`--forms`): %s." % ", ".join(names[f] for f in missing)]
    return lines


def bulk(path, data):
    reg, n = data["registration"], data["args"]["services"]
    raw = med(reg["raw_s"])

    def row(label, key, target=None):
        if key not in reg:
            return None  # an older result file: the bench did not measure it yet
        ratio = med(reg[key]) / raw
        verdict = "" if target is None else " (target ≤ %g ×: %s)" % (target, "met" if ratio <= target else "**missed**")
        # The load swings between runs: each run's own ratio, against the floor measured minutes earlier, too.
        per_run = [x / r for x, r in zip(reg[key], reg["raw_s"])]
        return "| %s | %.2f s | %s | %.2f × raw%s; per run %s |" % (
            label, med(reg[key]), secs(reg[key]), ratio, verdict, secs(per_run))

    before = data.get("before_commit")
    lines = [source_line(path, data) + " Consul %s (`%s`), %d services each with meta and a TCP check."
             % (data["consul"]["version"], data["consul"]["mode"], n), "",
             "| measure | median | runs | ratio |", "|---|---|---|---|",
             "| raw HTTP PUTs from Python (one kept-alive `requests` session): the floor | %.2f s | %s | baseline |"
             % (raw, secs(reg["raw_s"])),
             row("`consul_service` bulk form: the module's own time (`stats.module_seconds` of its result)",
                 "module_s", 2),
             row("… of which the compare-and-write pass (`stats.write_seconds`)", "module_write_s"),
             row("the module alone: its `main()` timed in a fresh Python", "module_main_s"),
             row("the task (start to result, from a callback)", "task_s"),
             row("the whole `ansible-playbook` run (connection local)", "playbook_s", 4),
             row("rerun, every service unchanged (nothing written): the whole `ansible-playbook` run",
                 "rerun_playbook_s"),
             row("… its task", "rerun_task_s"),
             row("… the module's own time", "rerun_module_s")]
    if before:
        lines += [row("before (commit %s): the module alone" % before, "before_module_main_s"),
                  row("before (commit %s): the task" % before, "before_task_s"),
                  row("before (commit %s): the whole `ansible-playbook` run" % before, "before_playbook_s"),
                  "", "Before → after, medians: the module alone %.2f s → %.2f s (%.1f × faster), the whole "
                  "`ansible-playbook` run %.2f s → %.2f s (%.1f × faster)."
                  % (med(reg["before_module_main_s"]), med(reg["module_main_s"]),
                     med(reg["before_module_main_s"]) / med(reg["module_main_s"]),
                     med(reg["before_playbook_s"]), med(reg["playbook_s"]),
                     med(reg["before_playbook_s"]) / med(reg["playbook_s"]))]
    return [line for line in lines if line is not None]


# name -> (result file prefix, keys the file must hold, renderer)
def fleet(path, data):
    # The one-host seed shape is not a fleet size (the converge table compares it).
    sizes = sorted(((n, runs) for n, runs in data["sizes"].items() if n != "seed"), key=lambda kv: int(kv[0]))
    rows, prev = [], None
    head = ["| application hosts | hosts | cold converge | rerun | rerun / cold | cold per added host |"
            " rerun per added host | all exporter targets up after the converge | registration → target |"
            " memory MiB: server, app, monitor |", "|---|---|---|---|---|---|---|---|---|---|"]
    for n, runs in sizes:
        n = int(n)
        cold, rerun = med([r["cold_s"] for r in runs]), med([r["rerun_s"] for r in runs])
        up = med([r["targets_up_s"] for r in runs])
        reg = [x for r in runs for x in r["registration_to_target_s"]]
        mem = {k: med([x for r in runs for x in r["memory_mib"][k]]) for k in ("server", "app", "monitor")}
        step = ("%.1f s" % ((cold - prev[1]) / (n - prev[0])), "%.1f s" % ((rerun - prev[2]) / (n - prev[0]))) \
            if prev else ("–", "–")
        rows.append("| %d | %d | %.1f s (%s) | %.1f s (%s) | %.0f %% | %s | %s | %.1f s | %.2f s (%d) | %.0f, %.0f, %.0f |" % (
            n, runs[0]["hosts"], cold, secs([r["cold_s"] for r in runs], "%.0f"), rerun,
            secs([r["rerun_s"] for r in runs], "%.0f"), 100 * rerun / cold, step[0], step[1], up, med(reg), len(reg),
            mem["server"], mem["app"], mem["monitor"]))
        prev = (n, cold, rerun)
    return [source_line(path, data), ""] + head + rows + stopped(data)


def stopped(data):
    """Where a fleet run that did not finish stopped, and why (fleet.py writes its file after every run)."""
    if "stopped" in data:
        where = data["stopped"]
        return ["", "The bench stopped in run %d of N = %s: %s" % (where["run"], where["size"], where["why"])]
    if "finished" not in data:
        return ["", "The bench did not finish: this is what it had written when it was interrupted."]
    return []


def topology(n):
    return {"seed": "seed (one host: three server instances, exporters, nginx, Prometheus)",
            "2": "cluster (3 servers, 2 application hosts, monitor: `inventories/cluster`)"}.get(
        n, "%s application hosts" % n)


def converge(path, data):
    """Before/after of the cold converge and its rerun, per topology, from one run of fleet.py --before."""
    before = data["before"]
    lines = [source_line(path, data) + " Before: commit %s (`%s`); after: commit %s; before and after alternate on "
             "fresh hosts." % (before["commit"], before["ref"], data.get("commit") or "?"), "",
             "| topology | | cold converge | rerun (`changed=0`) | rerun / cold |", "|---|---|---|---|---|"]
    for n in sorted(data["sizes"], key=lambda k: (k != "seed", k != "2", k)):
        for label, runs in (("before", data["sizes_before"][n]), ("after", data["sizes"][n])):
            cold, rerun = [r["cold_s"] for r in runs], [r["rerun_s"] for r in runs]
            lines.append("| %s | %s | %.1f s (%s) | %.1f s (%s) | %.0f %% |" % (
                topology(n) if label == "before" else "", label, med(cold), secs(cold, "%.0f"), med(rerun),
                secs(rerun, "%.0f"), 100 * med(rerun) / med(cold)))
    changes = []
    for n in sorted(data["sizes"], key=lambda k: (k != "seed", k != "2", k)):
        was, now = med([r["rerun_s"] for r in data["sizes_before"][n]]), med([r["rerun_s"] for r in data["sizes"][n]])
        name = {"seed": "seed", "2": "cluster"}.get(n, "N = " + n)
        changes.append("%s %.1f s → %.1f s (%.0f %% less)" % (name, was, now, 100 * (1 - now / was)))
    lines += ["", "Rerun before → after: " + "; ".join(changes) + "."]
    return lines


TABLES = {
    "consul_cluster": ("consul_cluster", ("raw",), cluster),
    "discovery_latency": ("discovery", ("refresh_30s", "refresh_2s"), latency),
    "discovery_registration": ("discovery", ("registration",), registration),
    "bulk_registration": ("bulk_registration", ("registration", "consul"), bulk),
    "fleet": ("fleet", ("sizes",), fleet),
    "converge": ("converge", ("sizes", "sizes_before"), converge),
}


def newest(results, prefix, keys):
    """Newest result file of a bench that holds `keys` (names sort by their UTC time)."""
    for path in sorted(results.glob(prefix + "-*.json"), reverse=True):
        data = json.loads(path.read_text())
        if all(k in data for k in keys):
            return path, data
    return None, None


def render(doc, results):
    """The doc with every marked section rebuilt; also the result files it quotes."""
    names = [m.group(2) for m in SECTION.finditer(doc)]
    unknown = sorted(set(names) - set(TABLES))
    missing = sorted(set(TABLES) - set(names))
    twice = sorted({n for n in names if names.count(n) > 1})
    if unknown or missing or twice:
        raise TableError("table marks: unknown %s, missing %s, repeated %s" % (unknown, missing, twice))
    used = []

    def body(m):
        prefix, keys, build = TABLES[m.group(2)]
        path, data = newest(results, prefix, keys)
        if path is None:
            lines = ["No result file `bench/results/%s-*.json` holds this table yet." % prefix]
        else:
            used.append(path)
            lines = build(path, data)
        return m.group(1) + "\n".join(lines) + "\n" + m.group(4)

    return SECTION.sub(body, doc), used


def untracked(paths):
    """Those of `paths` git does not track (none when this is not a git work tree, e.g. an unpacked tarball)."""
    run = subprocess.run(["git", "ls-files", "-z", "--"] + [str(p) for p in paths], cwd=REPO, capture_output=True,
                         text=True, check=False)
    if run.returncode:
        return []
    tracked = set(run.stdout.split("\0"))
    return [p for p in paths if str(p.relative_to(REPO)) not in tracked]


def check(doc_path=DOC, results=RESULTS):
    """Problems with the doc: a diff against what the results give, result files not committed."""
    doc = doc_path.read_text()
    new, used = render(doc, results)
    problems = []
    if new != doc:
        problems.append("%s is not what the result files in %s give; run python bench/tables.py\n" % (doc_path.name, results)
                        + "".join(difflib.unified_diff(doc.splitlines(True), new.splitlines(True),
                                                       str(doc_path), "from results")))
    problems += ["%s is quoted but not committed (git add -f %s)" % (p.name, p.relative_to(REPO))
                 for p in untracked(used)]
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n", maxsplit=1)[0])
    ap.add_argument("--check", action="store_true", help="fail when the doc differs from what the results give")
    args = ap.parse_args(argv)
    try:
        if args.check:
            problems = check()
            for p in problems:
                print(p, file=sys.stderr)
            return 1 if problems else 0
        new, used = render(DOC.read_text(), RESULTS)
    except TableError as exc:
        print("bench/tables.py: %s" % exc, file=sys.stderr)
        return 1
    DOC.write_text(new)
    for p in used:
        print("table from %s" % p.relative_to(REPO))
    return 0


if __name__ == "__main__":
    sys.exit(main())
