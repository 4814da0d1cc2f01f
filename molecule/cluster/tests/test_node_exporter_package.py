"""node_exporter from the distribution's package (consul3 here; consul1 and consul2 run the
release): the role's hardened unit runs the package's binary under the package's unit name, and
switching install method hands port 9100 from one unit to the other, registration untouched."""

import requests
from sdstack_molecule.playbook_run import converge, recap
from sdstack_molecule.service_checks import agent_service, unit_properties, wait_for_passing

ADDR = "10.89.20.23"
testinfra_hosts = ["consul3"]
RELEASE = ("node_exporter", "/usr/local/bin/node_exporter")
PACKAGE = ("prometheus-node-exporter", "/usr/bin/prometheus-node-exporter")
PLAY = """
- name: node_exporter alone
  hosts: consul3
  gather_facts: false
  roles:
    - role: sdstack.consul.node_exporter
"""


def assert_served_by(host, method, other):
    unit, binary = method
    props = unit_properties(host, unit, "ActiveState", "UnitFileState", "FragmentPath", "User", "ExecStart",
                            "NoNewPrivileges", "ProtectSystem", "MainPID")
    assert props["ActiveState"] == "active" and props["UnitFileState"] == "enabled", props
    # The role's unit file, not the package's /lib/systemd/system one.
    assert props["FragmentPath"] == "/etc/systemd/system/%s.service" % unit, props
    assert props["User"] == "node-exp" and props["NoNewPrivileges"] == "yes" and props["ProtectSystem"] == "strict"
    assert "argv[]=%s --web.listen-address=:9100 " % binary in props["ExecStart"], props["ExecStart"]
    # /proc/<pid>/exe and ss -p need CAP_SYS_PTRACE, which the lab's root lacks; cmdline is public.
    argv = host.file("/proc/%s/cmdline" % props["MainPID"]).content_string.split("\0")
    assert argv[0] == binary, argv
    listeners = host.check_output("ss -Hltn 'sport = :9100'").splitlines()
    assert len(listeners) == 1, listeners
    left = unit_properties(host, other[0], "ActiveState", "UnitFileState")
    assert left["ActiveState"] == "inactive" and left["UnitFileState"] in ("disabled", ""), left
    assert "node_cpu_seconds_total" in requests.get("http://%s:9100/metrics" % ADDR, timeout=5).text


def assert_registered():
    svc = agent_service(ADDR, "node-exporter")
    assert (svc["Address"], svc["Port"], svc["Meta"]["app"]) == (ADDR, 9100, "spring-boot"), svc
    checks = wait_for_passing(ADDR, "node-exporter", "node-exporter", node="consul3")
    assert [c["Status"] for c in checks] == ["passing"], checks


def test_package_binary_runs_under_the_roles_hardened_unit(host):
    assert host.package("prometheus-node-exporter").is_installed
    assert_served_by(host, PACKAGE, RELEASE)
    assert_registered()


def test_switching_method_hands_the_port_over_and_back(host, tmp_path):
    play = tmp_path / "node_exporter.yml"
    play.write_text(PLAY)
    for method, other, extra in ((RELEASE, PACKAGE, {"node_exporter_install_method": "release"}),
                                 (PACKAGE, RELEASE, None)):
        out = converge(play, extra)
        assert recap(out)["consul3"]["changed"] > 0, out[-3000:]
        assert_served_by(host, method, other)
        assert_registered()
