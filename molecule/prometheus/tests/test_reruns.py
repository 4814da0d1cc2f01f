"""Changes to a running server: a changed job is a reload (same process, new config loaded), a
changed flag is a restart; the last run puts the scenario's own settings back."""

import re

import pytest
from sdstack_molecule.playbook_run import converge, recap

from prom import HOST, JOB, PLAYBOOK, loaded_config, main_pid, metric, on_host

RELOAD_TS = "prometheus_config_last_reload_success_timestamp_seconds"


@pytest.fixture(scope="module", autouse=True)
def restore():
    yield
    converge(PLAYBOOK)
    assert [j["job_name"] for j in loaded_config()["scrape_configs"]] == ["consul-node-exporter", "prometheus"]


def test_changed_job_reloads_the_running_server():
    pid, loaded_at = main_pid(), metric(RELOAD_TS)
    out = converge(PLAYBOOK, {"prometheus_consul_jobs": [dict(JOB, job_name="consul-node-exporter-b")]})
    # (Molecule's environment forces colour on; the recap is read without it.)
    assert recap(re.sub(r"\x1b\[[0-9;]*m", "", out))[HOST]["changed"] == 2, out[-3000:]  # config file, reload
    assert main_pid() == pid
    assert metric(RELOAD_TS) > loaded_at and metric("prometheus_config_last_reload_successful") == 1
    assert [j["job_name"] for j in loaded_config()["scrape_configs"]] == ["consul-node-exporter-b", "prometheus"]


def test_changed_flag_restarts_the_server():
    pid = main_pid()
    converge(PLAYBOOK, {"prometheus_storage_retention_time": "30d"})
    new_pid = main_pid()
    assert new_pid != pid
    assert "--storage.tsdb.retention.time=30d" in on_host("tr '\\0' ' ' < /proc/%d/cmdline" % new_pid)
    # The job went back to the scenario's in the same run: loaded by the restart, no reload needed.
    assert [j["job_name"] for j in loaded_config()["scrape_configs"]] == ["consul-node-exporter", "prometheus"]
