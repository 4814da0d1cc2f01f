"""The seed's first service: node_exporter runs, serves metrics and is registered, with the
seed's labels and a passing check, on the agent of its host."""

import time

import consul
import requests

ADDR = "10.89.20.31"


def test_running_hardened_and_serving(host):
    svc = host.service("node_exporter")
    assert svc.is_enabled and svc.is_running
    assert host.file("/usr/local/bin/node_exporter").mode == 0o755
    props = host.check_output("systemctl show node_exporter -p User -p NoNewPrivileges -p ProtectSystem")
    assert "User=node-exp" in props and "NoNewPrivileges=yes" in props and "ProtectSystem=strict" in props
    body = requests.get("http://%s:9100/metrics" % ADDR, timeout=5).text
    assert "node_cpu_seconds_total" in body


def test_registered_with_the_seeds_labels_and_a_passing_check():
    c = consul.Consul(host=ADDR, port=8500)
    svc = c.agent.services()["node-exporter"]
    assert svc["Service"] == "node-exporter" and svc["Tags"] == ["node-exporter"]
    assert svc["Address"] == ADDR and svc["Port"] == 9100
    assert svc["Meta"] == {"app": "spring-boot", "team": "appgroup", "project": "bigdata"}
    deadline = time.monotonic() + 30
    while True:
        _index, nodes = c.health.service("node-exporter")
        statuses = [chk["Status"] for n in nodes for chk in n["Checks"] if chk["ServiceID"] == "node-exporter"]
        if statuses == ["passing"] or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert statuses == ["passing"]
