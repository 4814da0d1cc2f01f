"""Bad input against the running cluster: each run fails (or warns) with a clear one-line
reason, and the live configuration, binary and running servers are left exactly as they were."""

import json
import os
import subprocess
from pathlib import Path

import pytest
from sdstack_molecule.host_state import CONSUL_BINARY, file_identity
from sdstack_molecule.playbook_run import recap, run_playbook
from sdstack_molecule.refusals import assert_refused, logged_times

HERE = Path(__file__).resolve().parent
HOSTS = ["consul1", "consul2", "consul3"]
testinfra_hosts = ["consul1"]  # the checks below address every host themselves


def podman(*args):
    return subprocess.run(["podman", *args], check=True, capture_output=True, text=True).stdout


def snapshot():
    """Bytes of every live config, the binary's identity, and each server's PID, per host."""
    out = {}
    for h in HOSTS:
        out[h] = podman("exec", h, "sh", "-c",
                        file_identity(CONSUL_BINARY)
                        + " sha256sum /etc/consul.d/*/consul.json /etc/systemd/system/consul@.service;"
                        " systemctl show -p MainPID -p ActiveEnterTimestamp 'consul@*'")
    return out


def converge(extra, *args, inventory_extra=None):
    more = ["-i", str(inventory_extra)] if inventory_extra else []
    return run_playbook(HERE.parent / "consul.yml", extra, *more, *args)


@pytest.fixture
def unchanged():
    before = snapshot()
    yield
    assert snapshot() == before, "a rejected run changed the live cluster"


@pytest.mark.parametrize("extra,message", [
    ({"consul_instances": [{"name": "{{ inventory_hostname }}"}, {"name": "{{ inventory_hostname }}-b"}]},
     "port 8500 on 10.89.20.21 is used by both consul1 (http) and consul1-b (http)"),
    ({"consul_extra_config": {"bogus_key": 1}},
     ("consul validate rejected the new configuration of {host} (the live one is unchanged): ",
      "invalid config key bogus_key")),
    ({"consul_raft_multiplier": "fast"},
     "argument 'consul_raft_multiplier' is of type str and we were unable to convert to int: \"'fast'\""),
    ({"consul_unpack_on": "everywhere"}, "value of consul_unpack_on must be one of: controller, target, got: everywhere"),
    ({"consul_instances": [{"name": "x", "ports": {"http": 99999}}]},
     "consul_instances[0] of consul1 (x) port http: 99999 is not a port number"),
], ids=["colliding-ports", "invalid-extra-key", "bad-type", "bad-choice", "bad-port"])
def test_rejected_before_anything_changes(unchanged, extra, message):
    rc, out = converge(extra)
    parts = (message,) if isinstance(message, str) else message
    # A message may name the host that reports it ({host}).
    for host in HOSTS:
        assert_refused(rc, out, [host], *(p.format(host=host) for p in parts))


# The artifact role's get_url (its tasks/fetch.yml): retries 3, delay 3.
RETRIES, DELAY = 3, 3
# roles/_artifact/tasks/fetch.yml: get_url's timeout.
DOWNLOAD_TIMEOUT = 30


@pytest.mark.parametrize("extra,url,reason,retried", [
    ({"consul_version": "1.8.99"}, os.environ["LAB_MIRROR_URL"] + "/hashicorp/consul/1.8.99/consul_1.8.99_SHA256SUMS",
     "HTTP Error 404: File not found", False),
    ({"consul_version": "1.8.8", "consul_release_base_url": "http://10.89.20.2:9/hashicorp/consul"},
     "http://10.89.20.2:9/hashicorp/consul/1.8.8/consul_1.8.8_SHA256SUMS",
     "Request failed: <urlopen error [Errno 111] Connection refused>", True),
], ids=["unknown-version", "mirror-unreachable"])
def test_failed_download_names_the_url_and_the_reason(unchanged, monkeypatch, tmp_path, extra, url, reason, retried):
    # A 404 will not mend itself and is not retried; a refused connection may, and is.
    log = tmp_path / "ansible.log"
    monkeypatch.setenv("ANSIBLE_LOG_PATH", str(log))
    rc, out = converge(extra)
    msgs = assert_refused(rc, out, HOSTS, "consul: download of %s failed: %s" % (url, reason))
    assert set(msgs.values()) == {"consul: download of %s failed: %s" % (url, reason)}, msgs
    for host in HOSTS:
        # Each failed attempt but the last prints a RETRYING line, the last one the fatal result.
        retries = logged_times(log, r"^FAILED - RETRYING: \[%s\b" % host)
        # The download's own fatal line (it carries "attempts"); the rescue's one-line fail follows it.
        last = logged_times(log, r'^fatal: \[%s -> localhost\]: FAILED! => \{"attempts"' % host)
        assert len(last) == 1 and len(retries) == (RETRIES if retried else 0), (host, retries, last)
        gaps = [(b - a).total_seconds() for a, b in zip(retries, retries[1:] + last)]
        # The delay, plus one attempt: a get_url run on the controller, refused at once. The attempt
        # itself takes 0.5 s on an idle machine and far longer under load (seen: gaps of 6.4 s, and
        # 20.6 s with a second test run beside a full one). The upper bound only has to tell a refused
        # attempt from one that waited for the download's 30 s timeout, which cannot take less than
        # the delay plus that timeout.
        assert all(DELAY <= g < DELAY + DOWNLOAD_TIMEOUT for g in gaps), (host, gaps)


def test_one_hosts_bad_address_stops_every_host(unchanged):
    # Only consul2's address is bad (templated per host: extra vars win over host_vars), and it
    # is in every other server's retry_join: no host may go on.
    rc, out = converge({"consul_advertise_address":
                        "{{ '10.89.20.300' if inventory_hostname == 'consul2' else '10.89.20.2' ~ inventory_hostname[-1] }}"})
    assert_refused(rc, out, HOSTS, "consul_advertise_address of consul2: '10.89.20.300' is not an IP address")
    assert sorted(h for h, row in recap(out).items() if row["failed"]) == HOSTS


@pytest.mark.parametrize("members,warning", [
    (["consul1", "consul2"], "2 servers tolerate no more failures than 1"),
    (["consul1"], "a single server has no fault tolerance"),
])
def test_server_counts_without_fault_tolerance_warn(unchanged, tmp_path, members, warning):
    inv = tmp_path / "subset.yml"
    inv.write_text(json.dumps({"subset": {"hosts": {h: None for h in members}}}))
    rc, out = converge({"consul_group": "subset"}, "--check", "--limit", ",".join(members), inventory_extra=inv)
    assert rc == 0, out[-3000:]
    assert warning in " ".join(out.split()), out[-3000:]


@pytest.mark.parametrize("args", [
    ["--limit", "consul2"],
    ["--check"],
    # -e key=value gives strings; the rendered config must still be identical (typed JSON).
    ["--check", "-e", "consul_raft_multiplier=1", "-e", "consul_ui=true", "-e", "consul_limit_nofile=65536"],
], ids=["limit-one-host", "check-mode", "string-extra-vars"])
def test_rerun_variants_change_nothing(unchanged, args):
    # --limit: retry_join and bootstrap_expect still come from the whole group's inventory data.
    rc, out = converge({}, *args)
    assert rc == 0, out[-3000:]
    rows = recap(out)
    assert rows and all(r["changed"] == 0 and r["failed"] == 0 for r in rows.values()), rows
