"""docs/benchmarks.md's tables are what bench/results/ gives (bench/tables.py), never edited by hand."""

import json
import shutil
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[3] / "bench"
sys.path.insert(0, str(BENCH))

import tables  # noqa: E402  pylint: disable=wrong-import-position


def test_doc_is_what_the_committed_results_give():
    assert tables.check() == []


CLUSTER = {"bench": "consul_cluster", "started": "2026-11-30T10:00:00Z", "finished": "2026-11-30T10:20:00Z",
           "commit": "abc1234", "converge": "molecule converge",
           "load": {"cores": 2, "load1_min": 1.0, "load1_median": 2.0, "load1_max": 3.0, "samples": [2.0], "every_s": 30},
           "raw": {"cold_converge_s": [30.0, 32.0, 31.0], "idempotent_rerun_s": [20.0, 21.0, 22.0],
                   "rerun_changed": [{"consul1": 0}, {"consul1": 0}, {"consul1": 0}],
                   "failover_s": {"5": [8.0, 9.0, 7.0], "1": [2.0, 2.2, 2.4]}}}


@pytest.fixture(name="lab")
def lab_fixture(tmp_path):
    results = tmp_path / "results"
    results.mkdir()
    (results / "consul_cluster-20261130T100000Z.json").write_text(json.dumps(CLUSTER))
    doc = tmp_path / "benchmarks.md"
    shutil.copy(tables.DOC, doc)
    doc.write_text(tables.render(doc.read_text(), results)[0])
    return doc, results


def test_tables_come_from_the_newest_result_file(lab):
    doc, results = lab
    text = doc.read_text()
    assert "| cold converge, fresh hosts: molecule converge | 31.0 s | 30.0, 32.0, 31.0 | baseline |" in text
    assert "| 0.68 × cold |" in text and "`changed=0` on every host in every rerun" in text
    newer = dict(CLUSTER, raw=dict(CLUSTER["raw"], cold_converge_s=[40.0, 40.0, 40.0]))
    (results / "consul_cluster-20261201T100000Z.json").write_text(json.dumps(newer))
    assert "40.0 s" in tables.render(text, results)[0]


def test_a_hand_edited_table_fails_the_check(lab):
    doc, results = lab
    assert not [p for p in tables.check(doc, results) if "is not what" in p]
    doc.write_text(doc.read_text().replace("| 31.0 s |", "| 29.0 s |"))
    problems = [p for p in tables.check(doc, results) if "is not what" in p]
    assert problems and "-| cold converge, fresh hosts: molecule converge | 29.0 s |" in problems[0]


def test_a_removed_table_mark_fails(lab):
    doc, results = lab
    doc.write_text(doc.read_text().replace("<!-- /tables.py:discovery_latency -->", ""))
    with pytest.raises(tables.TableError, match="missing"):
        tables.check(doc, results)


BULK = {"bench": "bulk_registration", "started": "2026-12-01T10:00:00Z", "finished": "2026-12-01T10:20:00Z",
        "commit": "abc1234", "before_commit": "5c511ae", "args": {"services": 500},
        "consul": {"version": "1.8.7", "mode": "-dev, 127.0.0.1"},
        "registration": {"raw_s": [4.0, 5.0, 6.0], "module_s": [9.0, 11.0, 10.0], "module_write_s": [8.0, 8.0, 8.0],
                         "module_main_s": [9.0, 9.0, 9.0], "task_s": [15.0, 15.0, 15.0],
                         "playbook_s": [19.0, 21.0, 20.0], "rerun_playbook_s": [10.0, 10.0, 10.0],
                         "rerun_task_s": [6.0, 6.0, 6.0], "rerun_module_s": [0.5, 0.5, 0.5],
                         "before_module_main_s": [90.0, 90.0, 90.0], "before_task_s": [95.0, 95.0, 95.0],
                         "before_playbook_s": [100.0, 100.0, 100.0]}}


def test_bulk_registration_ratios_and_targets(lab):
    doc, results = lab
    (results / "bulk_registration-20261201T102000Z.json").write_text(json.dumps(BULK))
    text = tables.render(doc.read_text(), results)[0]
    assert "| raw HTTP PUTs from Python (one kept-alive `requests` session): the floor | 5.00 s | 4.00, 5.00, 6.00 " \
           "| baseline |" in text
    # 10 s is 2.00 × 5 s: at the target; 20 s is 4.00 ×: at the other.
    assert "| 10.00 s | 9.00, 11.00, 10.00 | 2.00 × raw (target ≤ 2 ×: met); per run 2.25, 2.20, 1.67 |" in text
    assert "| 20.00 s | 19.00, 21.00, 20.00 | 4.00 × raw (target ≤ 4 ×: met); per run 4.75, 4.20, 3.33 |" in text
    assert "the module alone 90.00 s → 9.00 s (10.0 × faster)" in text
    slower = dict(BULK, registration=dict(BULK["registration"], playbook_s=[21.0, 21.0, 21.0]))
    (results / "bulk_registration-20261201T110000Z.json").write_text(json.dumps(slower))
    assert "4.20 × raw (target ≤ 4 ×: **missed**)" in tables.render(doc.read_text(), results)[0]


def _fleet_run(cold, rerun, hosts):
    return {"cold_s": cold, "rerun_s": rerun, "targets_up_s": 20.0, "registration_to_target_s": [2.0, 3.0, 4.0],
            "memory_mib": {"server": [100.0] * 3, "app": [50.0] * (hosts - 4), "monitor": [200.0]},
            "hosts": hosts, "forks": hosts}


def test_fleet_table_gives_the_cost_of_each_added_host():
    data = {"bench": "fleet", "started": "s", "finished": "f", "commit": "abc1234",
            "sizes": {"8": [_fleet_run(300.0, 120.0, 12)] * 3, "4": [_fleet_run(200.0, 80.0, 8)] * 3}}
    rows = tables.fleet(Path("fleet-x.json"), data)
    four, eight = [r for r in rows if r.startswith("| 4 ") or r.startswith("| 8 ")]
    # Sizes in order; 100 s more for 4 more hosts: 25 s per added host (rerun: 10 s).
    assert four.split(" | ")[5:7] == ["–", "–"]
    assert eight.split(" | ")[1:7] == ["12", "300.0 s (300, 300, 300)", "120.0 s (120, 120, 120)", "40 %", "25.0 s",
                                       "10.0 s"]
    assert eight.split(" | ")[8] == "3.00 s (9)"


def test_fleet_table_leaves_the_seed_shape_out():
    data = {"bench": "fleet", "started": "s", "finished": "f", "commit": "abc1234",
            "sizes": {"seed": [_fleet_run(90.0, 40.0, 4)] * 3, "4": [_fleet_run(200.0, 80.0, 8)] * 3}}
    rows = [r for r in tables.fleet(Path("fleet-x.json"), data) if r.startswith("| ") and not r.startswith("| app")]
    assert [r.split(" | ")[0] for r in rows] == ["| 4"]


def test_fleet_table_says_where_a_run_that_did_not_finish_stopped():
    data = {"bench": "fleet", "started": "s", "commit": "abc1234", "sizes": {"4": [_fleet_run(200.0, 80.0, 8)] * 3},
            "stopped": {"size": 16, "run": 1, "why": "bench aborted: ansible-playbook rc=2"}}
    assert tables.fleet(Path("fleet-x.json"), data)[-1] == \
        "The bench stopped in run 1 of N = 16: bench aborted: ansible-playbook rc=2"
    del data["stopped"]
    assert tables.fleet(Path("fleet-x.json"), data)[-1].startswith("The bench did not finish")
    data["finished"] = "f"
    assert tables.fleet(Path("fleet-x.json"), data)[-1].startswith("| 4 |")


def test_converge_table_puts_before_and_after_of_each_topology_side_by_side():
    def runs(cold, rerun):
        return [{"cold_s": c, "rerun_s": r} for c, r in zip(cold, rerun)]
    data = {"bench": "converge", "started": "s", "finished": "f", "commit": "new1234",
            "before": {"ref": "old", "commit": "old1234"},
            "sizes": {"2": runs([140, 150, 145], [60, 58, 62]), "seed": runs([100, 98, 102], [50, 45, 40])},
            "sizes_before": {"2": runs([150, 160, 155], [80, 90, 85]), "seed": runs([100, 110, 105], [70, 66, 68])}}
    lines = tables.converge(Path("converge-x.json"), data)
    assert "Before: commit old1234 (`old`); after: commit new1234" in lines[0]
    rows = [r for r in lines if "| before |" in r or "| after |" in r]
    # The seed first, then the cluster; medians, every run, and the ratio of the medians.
    assert rows[0].startswith("| seed (one host") and rows[0].endswith(
        "| before | 105.0 s (100, 110, 105) | 68.0 s (70, 66, 68) | 65 % |")
    assert rows[1] == "|  | after | 100.0 s (100, 98, 102) | 45.0 s (50, 45, 40) | 45 % |"
    assert rows[2].startswith("| cluster (3 servers")
    assert rows[3] == "|  | after | 145.0 s (140, 150, 145) | 60.0 s (60, 58, 62) | 41 % |"
    assert lines[-1] == "Rerun before → after: seed 68.0 s → 45.0 s (34 % less); cluster 85.0 s → 60.0 s (29 % less)."
