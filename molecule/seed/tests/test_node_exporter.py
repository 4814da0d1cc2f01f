"""The seed scenario's first service: node_exporter runs, serves metrics and is registered, with
the inventory's labels and a passing check, on the agent of its host."""

import requests
from sdstack_molecule.service_checks import agent_service, unit_properties, wait_for_passing

ADDR = "10.89.20.31"


def test_running_hardened_and_serving(host):
    svc = host.service("node_exporter")
    assert svc.is_enabled and svc.is_running
    assert host.file("/usr/local/bin/node_exporter").mode == 0o755
    props = unit_properties(host, "node_exporter", "User", "NoNewPrivileges", "ProtectSystem", "CapabilityBoundingSet")
    assert props["User"] == "node-exp" and props["NoNewPrivileges"] == "yes" and props["ProtectSystem"] == "strict"
    assert props["CapabilityBoundingSet"] == ""
    body = requests.get("http://%s:9100/metrics" % ADDR, timeout=5).text
    assert "node_cpu_seconds_total" in body


def test_registered_with_the_seeds_labels_and_a_passing_check():
    svc = agent_service(ADDR, "node-exporter")
    assert svc["Service"] == "node-exporter" and svc["Tags"] == ["node-exporter"]
    assert svc["Address"] == ADDR and svc["Port"] == 9100
    assert svc["Meta"] == {"app": "spring-boot", "team": "appgroup", "project": "bigdata"}
    checks = wait_for_passing(ADDR, "node-exporter", "node-exporter")
    assert [chk["Status"] for chk in checks] == ["passing"], checks
