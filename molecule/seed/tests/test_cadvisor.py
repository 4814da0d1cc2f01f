"""The seed scenario's second service: cAdvisor runs under a hardened unit, serves real container
metrics and is registered with the inventory's fields and a passing check on the agent of its
host. Its binary is verified against the digest the release API (the mirror's copy of GitHub's)
lists for it; a wrong digest, in the API or in cadvisor_checksum, and a release API with no usable
digest are refused on every install path and leave binary, unit and process alone."""

import hashlib
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
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
# The mirror's copy of GitHub's release API answer (lab/mirror.sh), read by the role in converge.
API_ANSWER = Path(os.environ["LAB_MIRROR_DIR"]) / "api/github/repos/google/cadvisor/releases/tags" / ("v" + VERSION)
API_PATH = "/repos/google/cadvisor/releases/tags/v" + VERSION
PLAYBOOK = Path(__file__).resolve().parents[1] / "cadvisor.yml"
ZEROS = "sha256:" + "0" * 64


def _mirror_sum():
    return (RELEASE / (FILE + ".sha256")).read_text().split()[0]


def _api_digest():
    assets = {a["name"]: a for a in json.loads(API_ANSWER.read_text())["assets"]}
    return assets[FILE]["digest"]


def _answer_with(change):
    """The mirror's release API answer with one thing changed, as another release could answer."""
    release = json.loads(API_ANSWER.read_text())
    change(release)
    return json.dumps(release).encode()


def _no_digest(release):
    # Assets uploaded before GitHub added digests (June 2025) answer "digest": null.
    for asset in release["assets"]:
        asset["digest"] = None


def _zero_digest(release):
    for asset in release["assets"]:
        asset["digest"] = ZEROS


def _no_amd64(release):
    release["assets"] = [a for a in release["assets"] if a["name"] != FILE]


@pytest.fixture(scope="module")
def release_api():
    """An API base on the controller (where the role reads the release with the default
    cadvisor_download_on: controller) that answers GitHub's path with an edited copy of the
    mirror's answer: ``release_api(change)`` returns the cadvisor_release_api_url to use."""
    answers = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            base, path = (self.path[1:].split("/", 1) + [""])[:2]
            body = answers.get(base) if "/" + path == API_PATH else None
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body or b'{"message": "Not Found"}')

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    def serve(change):
        answers[change.__name__] = _answer_with(change)
        return "http://127.0.0.1:%d/%s" % (server.server_address[1], change.__name__)

    yield serve
    server.shutdown()


def _state(host):
    """What a refused run must leave as it was: binary, unit file, and the running process."""
    return host.check_output("sha256sum /usr/local/bin/cadvisor /etc/systemd/system/cadvisor.service;"
                             " systemctl show -p MainPID -p ActiveEnterTimestamp -p NRestarts cadvisor")


def test_binary_is_the_mirrored_one(host):
    f = host.file("/usr/local/bin/cadvisor")
    assert (f.user, f.group, f.mode) == ("root", "root", 0o755)
    installed = host.check_output("sha256sum /usr/local/bin/cadvisor").split()[0]
    assert installed == _mirror_sum() == hashlib.sha256((RELEASE / FILE).read_bytes()).hexdigest()
    # The value the role verified against: the asset's digest in the release API answer.
    assert _api_digest() == "sha256:" + installed


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
    pytest.param({"cadvisor_checksum": "md5:0123"}, 'cadvisor_checksum "md5:0123" is not sha256:<64 hex digits>',
                 id="not-sha256"),
    pytest.param({"cadvisor_version": "0.38.9"}, "/api/github/repos/google/cadvisor/releases/tags/v0.38.9 answered"
                 " 404: no such release; check the version, or set cadvisor_checksum", id="api-unknown-release"),
    pytest.param({"cadvisor_release_api_url": "http://127.0.0.1:9"}, "http://127.0.0.1:9/repos/google/cadvisor/"
                 "releases/tags/v%s could not be read (HTTP -1: " % VERSION, id="api-unreachable"),
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


@pytest.mark.parametrize("change,extra,message", [
    # A release from before GitHub's digests: the way out is cadvisor_checksum.
    pytest.param(_no_digest, {}, "release v%s publishes no digest for %s (GitHub lists digests only for assets"
                 " uploaded since June 2025); set cadvisor_checksum to sha256:<64 hex digits>" % (VERSION, FILE),
                 id="api-no-digest"),
    pytest.param(_no_amd64, {}, "release v%s has no asset %s (its assets: %s.sha256)" % (VERSION, FILE, FILE),
                 id="api-no-asset"),
    # The API's digest goes through the same verification as a value the user sets.
    pytest.param(_zero_digest, {}, "did not match %s; it was %s" % ("0" * 64, _mirror_sum()),
                 id="api-wrong-digest-controller"),
    pytest.param(_zero_digest, {"cadvisor_binary_path": str(RELEASE / FILE)},
                 "checksum mismatch: sha256 %s, expected %s" % (_mirror_sum(), "0" * 64),
                 id="api-wrong-digest-local-file"),
])
def test_release_api_without_a_usable_digest_is_refused(host, release_api, change, extra, message):
    before = _state(host)
    rc, out = run_playbook(PLAYBOOK, dict(extra, cadvisor_release_api_url=release_api(change)))
    assert_refused(rc, out, ["consul-seed"], message)
    assert _state(host) == before, "a refused run changed the installed cAdvisor"


def test_declared_exceptions_are_the_documented_ones():
    assert_doc_declares(__file__, "changed>0", MAY_CHANGE)


@pytest.mark.parametrize("extra", [
    # The release API is then read on the host, which downloads for itself.
    {"cadvisor_download_on": "target"},
    # The release API's digest is then checked on the controller against the file there.
    {"cadvisor_binary_path": str(RELEASE / FILE)},
    # An explicit value wins over the API (here an unreachable one, which is then not read).
    {"cadvisor_checksum": "sha256:%s/github/google/cadvisor/releases/download/v%s/%s.sha256" % (
        os.environ["LAB_MIRROR_URL"], VERSION, FILE), "cadvisor_release_api_url": "http://127.0.0.1:9"},
], ids=["host-download", "controller-side-file", "explicit-checksum-url"])
def test_other_install_paths_keep_the_same_binary_running(host, extra):
    before = _state(host)
    rc, out = run_playbook(PLAYBOOK, extra)
    assert rc == 0 and recap(out)["consul-seed"]["failed"] == 0, out[-3000:]
    assert _state(host) == before, "the same binary must not be replaced nor the service restarted"
