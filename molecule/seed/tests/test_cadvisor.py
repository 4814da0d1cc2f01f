"""The seed scenario's second service: cAdvisor runs under a hardened unit, serves real container
metrics and is registered with the inventory's fields and a passing check on the agent of its
host. A wrong or missing checksum value is refused on every install path and leaves binary, unit
and process alone."""

import hashlib
import os
from pathlib import Path

import pytest
import requests
from sdstack_molecule.refusals import assert_doc_declares, assert_refused, case_id
from sdstack_molecule.playbook_run import recap, run_playbook
from sdstack_molecule.service_checks import agent_service, unit_properties, wait_for_passing

ADDR = "10.89.20.31"
VERSION = "0.38.7"
FILE = "cadvisor-v%s-linux-amd64" % VERSION
RELEASE = Path(os.environ["LAB_MIRROR_DIR"]) / "github/google/cadvisor/releases/download" / ("v" + VERSION)
PLAYBOOK = Path(__file__).resolve().parents[1] / "cadvisor.yml"
ZEROS = "sha256:" + "0" * 64


def _mirror_sum():
    return (RELEASE / (FILE + ".sha256")).read_text().split()[0]


def _state(host):
    """What a refused run must leave as it was: binary, unit file, and the running process."""
    return host.check_output("sha256sum /usr/local/bin/cadvisor /etc/systemd/system/cadvisor.service;"
                             " systemctl show -p MainPID -p ActiveEnterTimestamp -p NRestarts cadvisor")


def test_binary_is_the_mirrored_one(host):
    f = host.file("/usr/local/bin/cadvisor")
    assert (f.user, f.group, f.mode) == ("root", "root", 0o755)
    installed = host.check_output("sha256sum /usr/local/bin/cadvisor").split()[0]
    assert installed == _mirror_sum() == hashlib.sha256((RELEASE / FILE).read_bytes()).hexdigest()


def test_unit_enabled_running_and_hardened(host):
    svc = host.service("cadvisor")
    assert svc.is_enabled and svc.is_running
    props = unit_properties(host, "cadvisor", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
                            "ProtectControlGroups", "ProtectKernelModules", "CapabilityBoundingSet",
                            "RestrictNamespaces", "ExecStart")
    assert props["NoNewPrivileges"] == "yes" and props["ProtectSystem"] == "strict"
    assert props["ProtectHome"] == "read-only" and props["PrivateTmp"] == "yes"
    assert props["ProtectControlGroups"] == "yes" and props["ProtectKernelModules"] == "yes"
    assert props["RestrictNamespaces"] == "yes"
    # Root for file ownership only: read-side capabilities, nothing that could change the system.
    assert set(props["CapabilityBoundingSet"].split()) == {"cap_dac_read_search", "cap_sys_ptrace", "cap_syslog"}
    assert "path=/usr/local/bin/cadvisor" in props["ExecStart"] and "--port=8080" in props["ExecStart"]


def test_serves_real_container_metrics():
    r = requests.get("http://%s:8080/metrics" % ADDR, timeout=10)
    assert r.status_code == 200
    assert 'cadvisor_version_info{' in r.text and 'cadvisorVersion="%s' % VERSION in r.text
    # Read through the hardened unit from the cgroup tree and /proc. (In a Podman lab host cAdvisor
    # sees its root container only; the same metric set as an unconfined run.)
    usage = [line for line in r.text.splitlines() if line.startswith('container_memory_usage_bytes{id="/"}')]
    assert usage and float(usage[0].split()[1]) > 0, usage
    assert 'container_cpu_usage_seconds_total{cpu="cpu00",id="/"}' in r.text


def test_registered_with_the_seeds_fields_and_a_passing_check():
    svc = agent_service(ADDR, "cadvisor-exporter")
    assert svc["Service"] == "cadvisor-exporter" and svc["Tags"] == ["cadvisor-exporter"]
    assert svc["Address"] == ADDR and svc["Port"] == 8080
    assert svc["Meta"] == {"app": "docker", "team": "cloudgroup", "project": "docker-service"}
    assert svc["Weights"] == {"Passing": 10, "Warning": 1}
    checks = wait_for_passing(ADDR, "cadvisor-exporter", "cadvisor-exporter")
    assert [chk["Status"] for chk in checks] == ["passing"], checks
    assert checks[0]["Output"].startswith("HTTP GET http://%s:8080/metrics: 200" % ADDR), checks[0]["Output"]


# Declared exceptions to "the recap says changed=0", with the reason (docs/bad-input.md names the same).
MAY_CHANGE = {
    "wrong-sum-target": "the first host-side download creates its cache folder; binary, unit and process unchanged",
}


@pytest.mark.parametrize("extra,message", [
    pytest.param({"cadvisor_checksum": ZEROS}, "did not match %s; it was %s" % ("0" * 64, _mirror_sum()),
                 id="wrong-sum-controller"),
    pytest.param({"cadvisor_checksum": ZEROS, "cadvisor_download_on": "target"},
                 "did not match %s; it was %s" % ("0" * 64, _mirror_sum()), id="wrong-sum-target"),
    pytest.param({"cadvisor_checksum": ZEROS, "cadvisor_binary_path": str(RELEASE / FILE)},
                 "checksum mismatch: sha256 %s, expected %s" % (_mirror_sum(), "0" * 64), id="wrong-sum-local-file"),
    pytest.param({"cadvisor_checksum": ""}, "cadvisor_checksum is required for release installs: cAdvisor publishes"
                 " its binaries without a checksum file; set sha256:<64 hex digits>", id="no-sum"),
    pytest.param({"cadvisor_checksum": "md5:0123"}, 'cadvisor_checksum "md5:0123" is not sha256:<64 hex digits>',
                 id="not-sha256"),
    pytest.param({"cadvisor_install_method": "package"}, "has no package cadvisor; set cadvisor_install_method: release",
                 id="no-distro-package"),
    pytest.param({"cadvisor_port": "http"}, "argument 'cadvisor_port' is of type str and we were unable to convert to"
                 " int: \"'http'\" cannot be converted to an int", id="bad-type"),
])
def test_bad_input_is_refused_and_changes_nothing(host, request, extra, message):
    before = _state(host)
    rc, out = run_playbook(PLAYBOOK, extra)
    assert_refused(rc, out, ["consul-seed"], message, may_change=MAY_CHANGE.get(case_id(request)))
    assert _state(host) == before, "a refused run changed the installed cAdvisor"


def test_declared_exceptions_are_the_documented_ones():
    assert_doc_declares(__file__, "changed>0", MAY_CHANGE)


@pytest.mark.parametrize("extra", [
    {"cadvisor_download_on": "target"},
    # The checksum URL is then read on the controller (a file:// URL would do for an air-gapped one).
    {"cadvisor_binary_path": str(RELEASE / FILE)},
], ids=["host-download", "controller-side-file"])
def test_other_install_paths_keep_the_same_binary_running(host, extra):
    before = _state(host)
    rc, out = run_playbook(PLAYBOOK, extra)
    assert rc == 0 and recap(out)["consul-seed"]["failed"] == 0, out[-3000:]
    assert _state(host) == before, "the same binary must not be replaced nor the service restarted"
