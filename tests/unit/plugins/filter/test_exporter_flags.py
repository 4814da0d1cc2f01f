"""The exporters' command lines: arguments, port, where to wait, binary; bad values refused in one line."""

import os

import jinja2
import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.exporter_flags import (
    FilterModule, cadvisor_flags, exporter_package_failure, exporter_release_needed, exporter_unit_state, exporter_units,
    node_exporter_flags)
from prometheus_role import FIXTURES, ROOT

SUM = "sha256:" + "ab" * 32


def node(**kw):
    return node_exporter_flags(dict({"node_exporter_listen_address": ":9100", "node_exporter_extra_args": []}, **kw))


def cadvisor(**kw):
    return cadvisor_flags(dict({"cadvisor_port": 8080, "cadvisor_listen_ip": "", "cadvisor_extra_args": [],
                                "cadvisor_checksum": SUM}, **kw))


def test_node_exporter_defaults():
    out = node()
    assert out.pop("web")["enabled"] is False
    assert out == {"args": ["--web.listen-address=:9100"], "port": 9100, "wait_host": "127.0.0.1",
                   "binary": "/usr/local/bin/node_exporter", "unit": "node_exporter",
                   "replaced_unit": "prometheus-node-exporter"}


@pytest.mark.parametrize("address,wait_host", [("0.0.0.0:9100", "127.0.0.1"), ("[::]:9100", "127.0.0.1"),
                                               ("10.0.0.5:9101", "10.0.0.5"), ("[::1]:9100", "::1")])
def test_node_exporter_wait_host(address, wait_host):
    assert node(node_exporter_listen_address=address)["wait_host"] == wait_host


def test_node_exporter_package_and_extra_args():
    out = node(node_exporter_install_method="package", node_exporter_extra_args=["--collector.systemd"])
    assert out["args"] == ["--web.listen-address=:9100", "--collector.systemd"]
    assert (out["binary"], out["unit"], out["replaced_unit"]) == (
        "/usr/bin/prometheus-node-exporter", "prometheus-node-exporter", "node_exporter")
    assert node(node_exporter_bin_dir="/opt/bin/")["binary"] == "/opt/bin/node_exporter"


def test_cadvisor_defaults_and_options():
    assert cadvisor() == {"args": ["--port=8080"], "port": 8080, "wait_host": "127.0.0.1",
                          "binary": "/usr/local/bin/cadvisor", "checksum": SUM, "release_api": "",
                          "release_api_on": ""}
    out = cadvisor(cadvisor_port="8081", cadvisor_listen_ip="10.0.0.5", cadvisor_extra_args=["--docker_only=false"],
                   cadvisor_install_method="package", cadvisor_checksum="")
    assert out == {"args": ["--port=8081", "--listen_ip=10.0.0.5", "--docker_only=false"], "port": 8081,
                   "wait_host": "10.0.0.5", "binary": "/usr/bin/cadvisor", "checksum": "", "release_api": "",
                   "release_api_on": ""}
    assert cadvisor(cadvisor_listen_ip="::")["wait_host"] == "127.0.0.1"
    assert cadvisor(cadvisor_checksum="sha256:https://m/x.sha256")["port"] == 8080


@pytest.mark.parametrize("change,message", [
    ({"node_exporter_listen_address": "0.0.0.0"}, "node_exporter_listen_address '0.0.0.0' is not host:port"),
    ({"node_exporter_listen_address": "9100"}, "node_exporter_listen_address '9100' is not host:port"),
    ({"node_exporter_listen_address": ":70000"}, "node_exporter_listen_address ':70000' is not host:port"),
    ({"node_exporter_listen_address": None}, "node_exporter_listen_address None is not host:port"),
    ({"node_exporter_extra_args": ["--web.listen-address=:9200"]},
     "node_exporter_extra_args: '--web.listen-address=:9200' is set by the role (node_exporter_listen_address)"),
    ({"node_exporter_extra_args": "--collector.systemd"}, "node_exporter_extra_args must be a list of strings"),
    ({"node_exporter_install_method": "pip"}, "node_exporter_install_method 'pip' must be release or package"),
])
def test_node_exporter_bad_values(change, message):
    with pytest.raises(AnsibleFilterError) as err:
        node(**change)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("change,message", [
    ({"cadvisor_port": 0}, "cadvisor_port 0 is not a port from 1 to 65535"),
    ({"cadvisor_port": 65536}, "cadvisor_port 65536 is not a port"),
    ({"cadvisor_port": "80x"}, "cadvisor_port '80x' is not a port"),
    ({"cadvisor_port": True}, "cadvisor_port True is not a port"),
    ({"cadvisor_listen_ip": "0.0.0.0:8080"}, "cadvisor_listen_ip '0.0.0.0:8080' is not an IP address"),
    ({"cadvisor_extra_args": ["--port=9"]}, "cadvisor_extra_args: '--port=9' is set by the role (cadvisor_port)"),
    ({"cadvisor_extra_args": ["--listen_ip=1.2.3.4"]}, "is set by the role (cadvisor_listen_ip)"),
    ({"cadvisor_checksum": "md5:0123"}, 'cadvisor_checksum "md5:0123" is not sha256:<64 hex digits>'),
])
def test_cadvisor_bad_values(change, message):
    with pytest.raises(AnsibleFilterError) as err:
        cadvisor(**change)
    assert message in str(err.value) and "\n" not in str(err.value)


def _load(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.mark.parametrize("role", ["node_exporter", "cadvisor"])
def test_seed_units_render_the_golden_files(role):
    defaults = _load("roles", role, "defaults", "main.yml")
    unit_settings = _load("roles", role, "vars", "main.yml")["_%s_unit_settings" % role]
    if role == "node_exporter":
        # The seed has no secure profile: the web defaults' consul_tls is undefined there (false).
        model = node_exporter_flags(dict(defaults, node_exporter_web_tls=False, node_exporter_web_basic_auth_users={}))
        context = dict(exporter_description="Prometheus node_exporter", exporter_unit_after=[],
                       exporter_documentation="https://github.com/prometheus/node_exporter",
                       exporter_system_user="node-exp", exporter_system_group="node-exp")
    else:
        model = cadvisor_flags(dict(defaults, cadvisor_checksum=SUM))
        context = dict(exporter_description="cAdvisor (container resource usage for Prometheus)",
                       exporter_documentation="https://github.com/google/cadvisor", exporter_system_user="",
                       exporter_unit_after=["docker.service", "containerd.service"])
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(os.path.join(ROOT, "roles", "_exporter", "templates")),
                             trim_blocks=True, undefined=jinja2.StrictUndefined)
    out = env.get_template("exporter.service.j2").render(
        context, ansible_managed="Ansible managed", exporter_binary=model["binary"], exporter_args=model["args"],
        exporter_unit_settings=unit_settings)
    with open(os.path.join(FIXTURES, "prometheus_golden", "seed", role + ".service"), encoding="utf-8") as f:
        assert out + "\n" == f.read()


BOOKWORM = {"distribution": "Debian", "distribution_version": "12", "distribution_release": "bookworm"}


@pytest.mark.parametrize("result,message", [
    ({"failed": True, "msg": "No package matching 'cadvisor' is available"},
     "cadvisor: Debian 12 (bookworm) has no package cadvisor; set cadvisor_install_method: release"),
    ({"failed": True, "msg": "Failed to lock apt\nfor exclusive operation"},
     "cadvisor: Failed to lock apt\nfor exclusive operation"),
    ({"failed": True}, "cadvisor: installing cadvisor failed"),
    ({"failed": True, "msg": ""}, "cadvisor: "),
])
def test_package_failure(result, message):
    assert exporter_package_failure(result, BOOKWORM, "cadvisor", "cadvisor") == message


SKIPPED = {"changed": False, "skipped": True, "skip_reason": "Conditional result was False"}


@pytest.mark.parametrize("before,after,unit_changed,state", [
    ({"checksum": "a"}, {"checksum": "a"}, False, "started"),
    ({"checksum": "a"}, {"checksum": "a"}, True, "restarted"),
    ({"checksum": "a"}, {"checksum": "b"}, False, "restarted"),
    ({"exists": False}, {"checksum": "a"}, False, "restarted"),
    ({"exists": False}, {"exists": False}, False, "started"),
    # Nothing installed, so the second stat was skipped: the binary is the one read before.
    ({"checksum": "a"}, None, False, "started"),
    ({"checksum": "a"}, None, True, "restarted"),
    ({"exists": False}, None, False, "started"),
])
def test_unit_state(before, after, unit_changed, state):
    after_result = SKIPPED if after is None else {"changed": False, "stat": after}
    assert exporter_unit_state({"changed": False, "stat": before}, after_result, unit_changed) == state


MARKER = "version 1.5.0 "


@pytest.mark.parametrize("installed,needed", [
    ({"rc": 0, "stdout": "node_exporter, version 1.5.0 (branch: HEAD)", "stderr": ""}, False),
    # node_exporter 1.x prints its version on stderr.
    ({"rc": 0, "stdout": "", "stderr": "node_exporter, version 1.5.0 (branch: HEAD)"}, False),
    ({"rc": 0, "stdout": "node_exporter, version 1.4.0 (branch: HEAD)", "stderr": ""}, True),
    ({"rc": 2, "stdout": "", "stderr": "No such file or directory"}, True),
    ({"changed": False, "skipped": True}, True),
])
def test_release_needed_by_version_marker(installed, needed):
    # The marker decides alone: a stat and a checksum are not read.
    assert exporter_release_needed(installed, MARKER, {"stat": {"checksum": "ab" * 32}}, SUM) is needed


@pytest.mark.parametrize("before,checksum,needed", [
    ({"stat": {"exists": True, "checksum": "ab" * 32}}, SUM, False),
    ({"stat": {"exists": True, "checksum": "ab" * 32}}, SUM.upper().replace("SHA256", "sha256"), False),
    ({"stat": {"exists": True, "checksum": "cd" * 32}}, SUM, True),
    ({"stat": {"exists": False}}, SUM, True),
    # Not read (skipped) or no digest known here (a checksum file's URL, or none): install.
    ({"changed": False, "skipped": True}, SUM, True),
    ({"stat": {"exists": True, "checksum": "ab" * 32}}, "sha256:https://example.org/SHA256SUMS", True),
    ({"stat": {"exists": True, "checksum": "ab" * 32}}, "", True),
])
def test_release_needed_by_checksum(before, checksum, needed):
    assert exporter_release_needed({"changed": False, "skipped": True}, "", before, checksum) is needed


def test_filters_registered():
    assert set(FilterModule().filters()) == {"node_exporter_flags", "cadvisor_flags", "cadvisor_checksum",
                                             "exporter_package_failure", "exporter_unit_state", "exporter_units",
                                             "exporter_release_needed"}


def test_the_exporter_units_stop_what_it_replaces_where_present_and_run_its_own():
    assert exporter_units("restarted", "node_exporter", ["prometheus-node-exporter"]) == [
        {"name": "prometheus-node-exporter", "state": "stopped", "enabled": False, "missing_ok": True},
        {"name": "node_exporter", "state": "restarted", "enabled": True}]
    assert exporter_units("started", "cadvisor") == [{"name": "cadvisor", "state": "started", "enabled": True}]
