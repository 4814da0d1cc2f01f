"""Bad input against the running server: each run fails with one clear reason, and the live
configuration, unit, links, release folders and the running process are left exactly as they were."""

import pytest
from sdstack_molecule.playbook_run import run_playbook
from sdstack_molecule.refusals import assert_doc_declares, assert_refused, case_id

from prom import HOST, JOB, PLAYBOOK, on_host


def snapshot():
    return on_host("sha256sum /etc/prometheus/prometheus.yml /etc/systemd/system/prometheus.service;"
                   " readlink /usr/local/bin/prometheus /usr/local/bin/promtool; ls /opt/prometheus;"
                   " systemctl show -p MainPID -p ActiveEnterTimestamp prometheus")


# Declared exceptions to "the recap says changed=0", with the reason (docs/bad-input.md names the same).
MAY_CHANGE = {
    "no-consul-sd-build": "the probed release is unpacked into its own folder, run and removed again; config, links,"
                          " folders and process unchanged",
}


@pytest.fixture
def unchanged():
    before = snapshot()
    yield
    assert snapshot() == before, "a rejected run changed the live server"


@pytest.mark.parametrize("extra,message", [
    # Debian bookworm's build: the new release is probed before it replaces anything, then removed.
    # (unpacked on the host: the controller-side path is what the converge used)
    pytest.param({"prometheus_version": "2.42.0", "prometheus_unpack_on": "target"},
                 "Prometheus 2.42.0: this Prometheus build has no Consul service discovery (consul_sd_configs unknown)"
                 " - Debian's bookworm/trixie packages are built without it; install an upstream release.",
                 id="no-consul-sd-build"),
    pytest.param({"prometheus_consul_jobs": [dict(JOB, tags_regex="node-(exporter")]},
                 "prometheus_consul_jobs[0] (consul-node-exporter): tags_regex 'node-(exporter' is not a valid regular"
                 " expression: missing ), unterminated subpattern", id="bad-regex"),
    pytest.param({"prometheus_consul_jobs": [dict(JOB, servers=[])]},
                 "prometheus_consul_jobs[0] (consul-node-exporter): servers is empty", id="empty-servers"),
    pytest.param({"prometheus_consul_jobs": [{"job_name": "x", "tags_regex": ".*"}]},
                 "missing required arguments: servers found in prometheus_consul_jobs", id="servers-missing"),
    # Valid for Python's re, not for Go's RE2: promtool, the final check, keeps it out of the live file.
    pytest.param({"prometheus_consul_jobs": [dict(JOB, tags_regex="(?=node).*")]},
                 ("promtool rejected the new Prometheus configuration (the live one is unchanged): ",
                  "error parsing regexp: invalid or unsupported Perl syntax: `(?=`"), id="re2-only-error"),
])
def test_rejected_before_anything_changes(unchanged, request, extra, message):
    rc, out = run_playbook(PLAYBOOK, extra)
    parts = (message,) if isinstance(message, str) else message
    assert_refused(rc, out, [HOST], *parts, may_change=MAY_CHANGE.get(case_id(request)))


def test_token_stays_out_of_the_output(unchanged):
    rc, out = run_playbook(PLAYBOOK, {"prometheus_consul_jobs": [dict(JOB, scheme="ftp", token="s3cr3t-t0ken")]})
    assert_refused(rc, out, [HOST], "value of scheme must be one of: http, https, got: ftp")
    assert "s3cr3t-t0ken" not in out


def test_declared_exceptions_are_the_documented_ones():
    assert_doc_declares(__file__, "changed>0", MAY_CHANGE)
