"""The prometheus role's restore after a restart that did not come up clears the unit's failed
starts first: systemd restarts a server that cannot start every RestartSec, each start counts
against the start limit, and a restart refused by that limit would leave Prometheus down."""

import os

import yaml

SERVICE = os.path.join(os.path.dirname(__file__), "..", "..", "roles", "prometheus", "tasks", "service.yml")


def _rescue_of(tasks, name):
    for task in tasks:
        if any(t.get("name") == name for t in task.get("rescue") or []):
            return task["rescue"]
    raise AssertionError("no rescue holds %r" % name)


def test_failed_starts_are_cleared_before_the_previous_server_is_started():
    with open(SERVICE, encoding="utf-8") as f:
        rescue = _rescue_of(yaml.safe_load(f), "Bring the previous Prometheus back")
    names = [t["name"] for t in rescue]
    clear = rescue[names.index("Clear the failed starts of the new unit")]
    assert clear["ansible.builtin.command"] == "systemctl reset-failed prometheus.service"
    assert names.index("Clear the failed starts of the new unit") < names.index("Bring the previous Prometheus back")
    assert names.index("Restore the previous unit and configuration") < names.index("Bring the previous Prometheus back")
