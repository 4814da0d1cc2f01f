"""fleet.py keeps what a long run measured: a failed converge's whole output, and the result file after every run."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "bench"))

import common  # noqa: E402  pylint: disable=wrong-import-position
import fleet  # noqa: E402  pylint: disable=wrong-import-position

# The tail of a real ansible-playbook run of the site playbook in which one host's exporter did not listen.
FAILED = """TASK [sdstack.consul._exporter : Wait for the metrics port of cadvisor] ***
fatal: [fleet-app10]: FAILED! => {"changed": false, "elapsed": 30, "msg": "Timeout when waiting for 127.0.0.1:9338"}

PLAY RECAP *********************************************************************
fleet-app1                 : ok=98   changed=41   unreachable=0    failed=0    skipped=60   rescued=0    ignored=0
fleet-app10                : ok=91   changed=40   unreachable=0    failed=1    skipped=58   rescued=1    ignored=0
"""
PASSED = """PLAY RECAP *********************************************************************
fleet-app1                 : ok=80   changed=0    unreachable=0    failed=0    skipped=70   rescued=0    ignored=0
fleet-consul1              : ok=75   changed=2    unreachable=0    failed=0    skipped=50   rescued=0    ignored=0
"""


def _ansible(monkeypatch, stdout, rc):
    monkeypatch.setattr(fleet.subprocess, "run", lambda cmd, **kw: subprocess.CompletedProcess(cmd, rc, stdout, ""))


def test_a_failed_converge_names_the_host_and_keeps_its_whole_output(monkeypatch, tmp_path):
    monkeypatch.setattr(fleet, "LOGS", tmp_path)
    # The failing task is far from the end of a long run's output.
    output = "ok: [fleet-app1]\n" * 2000 + FAILED
    _ansible(monkeypatch, output, 2)
    with pytest.raises(common.BenchError) as err:
        fleet.converge(tmp_path / "inv", {})
    log = Path(str(err.value.code).rsplit("its output: ", 1)[1])
    assert "failed or unreachable: fleet-app10;" in str(err.value.code)
    assert log.parent == tmp_path and log.read_text() == output


def test_a_converge_without_a_recap_fails_even_with_rc_0(monkeypatch, tmp_path):
    monkeypatch.setattr(fleet, "LOGS", tmp_path)
    _ansible(monkeypatch, "ERROR! the playbook could not be found\n", 0)
    with pytest.raises(common.BenchError, match="no recap"):
        fleet.converge(tmp_path / "inv", {})


def test_a_passed_converge_reports_what_changed_per_host(monkeypatch, tmp_path):
    monkeypatch.setattr(fleet, "LOGS", tmp_path)
    _ansible(monkeypatch, PASSED, 0)
    assert fleet.converge(tmp_path / "inv", {})[1] == {"fleet-app1": 0, "fleet-consul1": 2}
    assert not list(tmp_path.iterdir())


def test_the_result_file_holds_every_run_before_the_one_that_stopped(monkeypatch, tmp_path):
    monkeypatch.setattr(common, "REPO", tmp_path)
    monkeypatch.setattr(common, "RESULTS", tmp_path / "results")
    calls = []

    def one_run(n, *_args, **_kw):
        calls.append(n)
        if len(calls) == 3:
            raise common.BenchError("ansible-playbook rc=2")
        return {"cold_s": float(len(calls))}

    monkeypatch.setattr(fleet, "one_run", one_run)
    monkeypatch.setattr(fleet.LoadSampler, "summary", lambda self: {"load1_median": 1.0})
    monkeypatch.setattr(sys, "argv", ["fleet.py", "--sizes", "4", "8", "--runs", "2"])
    with pytest.raises(common.BenchError):
        fleet.main()
    [path] = (tmp_path / "results").glob("fleet-*.json")
    data = json.loads(path.read_text())
    assert data["sizes"] == {"4": [{"cold_s": 1.0}, {"cold_s": 2.0}]}
    assert data["stopped"] == {"size": 8, "run": 1, "why": "bench aborted: ansible-playbook rc=2"}
    assert "finished" not in data
