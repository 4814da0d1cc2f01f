"""Bad input against the running server: each run fails with one clear reason, and the live
configuration, unit, links, release folders and the running process are left exactly as they were."""

import pytest
from playbook_run import recap, run_playbook
from refusals import failure_message

from prom import HOST, JOB, PLAYBOOK, on_host


def snapshot():
    return on_host("sha256sum /etc/prometheus/prometheus.yml /etc/systemd/system/prometheus.service;"
                   " readlink /usr/local/bin/prometheus /usr/local/bin/promtool; ls /opt/prometheus;"
                   " systemctl show -p MainPID -p ActiveEnterTimestamp prometheus")


def assert_refused(rc, out, message, probe=False):
    """Failed with one line naming the bad value, and reported no change (a probed release is
    unpacked into its own folder, run and removed again: changes outside the live state)."""
    assert rc != 0, out[-3000:]
    assert "Traceback" not in out
    assert probe or recap(out)[HOST]["changed"] == 0, out[-3000:]
    msg = failure_message(out, HOST)
    parts = (message,) if isinstance(message, str) else message
    assert all(p in msg for p in parts) and "\n" not in msg, msg


@pytest.fixture
def unchanged():
    before = snapshot()
    yield
    assert snapshot() == before, "a rejected run changed the live server"


@pytest.mark.parametrize("extra,message", [
    # Debian bookworm's build: the new release is probed before it replaces anything, then removed.
    # (unpacked on the host: the controller-side path is what the converge used)
    ({"prometheus_version": "2.42.0", "prometheus_unpack_on": "target"},
     "Prometheus 2.42.0: this Prometheus build has no Consul service discovery (consul_sd_configs unknown) - "
     "Debian's bookworm/trixie packages are built without it; install an upstream release."),
    ({"prometheus_consul_jobs": [dict(JOB, tags_regex="node-(exporter")]},
     "prometheus_consul_jobs[0] (consul-node-exporter): tags_regex 'node-(exporter' is not a valid regular "
     "expression: missing ), unterminated subpattern"),
    ({"prometheus_consul_jobs": [dict(JOB, servers=[])]},
     "prometheus_consul_jobs[0] (consul-node-exporter): servers is empty"),
    ({"prometheus_consul_jobs": [{"job_name": "x", "tags_regex": ".*"}]},
     "missing required arguments: servers found in prometheus_consul_jobs"),
    # Valid for Python's re, not for Go's RE2: promtool, the final check, keeps it out of the live file.
    ({"prometheus_consul_jobs": [dict(JOB, tags_regex="(?=node).*")]},
     ("promtool rejected the new Prometheus configuration (the live one is unchanged): ",
      "error parsing regexp: invalid or unsupported Perl syntax: `(?=`")),
], ids=["no-consul-sd-build", "bad-regex", "empty-servers", "servers-missing", "re2-only-error"])
def test_rejected_before_anything_changes(unchanged, extra, message):
    rc, out = run_playbook(PLAYBOOK, extra)
    assert_refused(rc, out, message, probe="prometheus_version" in extra)


def test_token_stays_out_of_the_output(unchanged):
    rc, out = run_playbook(PLAYBOOK, {"prometheus_consul_jobs": [dict(JOB, scheme="ftp", token="s3cr3t-t0ken")]})
    assert_refused(rc, out, "value of scheme must be one of: http, https, got: ftp")
    assert "s3cr3t-t0ken" not in out
