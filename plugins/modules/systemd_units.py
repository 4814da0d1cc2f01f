#!/usr/bin/python
# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: systemd_units
short_description: Enable, start, stop or restart several systemd units in one call
version_added: 0.5.0
description:
  - Reads the state of every unit of O(units) with one C(systemctl show), then stops, disables, enables, starts and
    restarts, in that order, those that are not yet as asked, with one C(systemctl) run per action. Stopping first
    lets a unit that replaces another take over its port.
  - One module run where M(ansible.builtin.systemd_service) takes one per unit, and reads each unit with several
    C(systemctl) runs of its own (the roles' rerun cost, see docs/benchmarks.md).
  - A unit is started when it is not active, activating or reloading, and stopped when it is; O(units[].state=restarted)
    always restarts it. It is enabled when its unit file state is not one of enabled, static, indirect, generated,
    alias or linked, and disabled when it is enabled.
  - A unit systemd does not know fails the module, naming it, before anything changes; with O(units[].missing_ok) an
    unknown unit that is only to be stopped or disabled is left alone.
  - A unit name that is not one unit's name, a name given twice or an unknown state fail the module, naming the value,
    before anything runs.
author: sdstack maintainers (@sdstack)
options:
  units:
    description: The units.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: The unit's name, such as V(consul@node1.service); C(systemctl) adds V(.service) to a name without a type.
        type: str
        required: true
      state:
        description: Whether it runs; not changed when not given.
        type: str
        choices: [started, stopped, restarted]
      enabled:
        description: Whether it starts at boot; not changed when not given.
        type: bool
      missing_ok:
        description: A unit systemd does not know is not an error when it is only to be stopped or disabled.
        type: bool
        default: false
  daemon_reload:
    description: Run C(systemctl daemon-reload) first, so that changed unit files are what the units run with.
    type: bool
    default: false
  no_block:
    description: Do not wait for the start, stop or restart jobs to finish, the same as C(systemctl --no-block).
    type: bool
    default: false
attributes:
  check_mode:
    description:
      - Reports what would be done, without running any change (nor the daemon-reload). A unit systemd does not know
        yet, to be started or enabled, is reported as it would be (the real run writes its file first).
    support: full
  diff_mode:
    description: Each changed unit's active and unit file states before, and the actions taken.
    support: full
"""

EXAMPLES = r"""
- name: Enable and start two Consul instances, without waiting for them to be ready
  sdstack.consul.systemd_units:
    units:
      - {name: consul@node1.service, state: started, enabled: true}
      - {name: consul@node2.service, state: started, enabled: true}
    no_block: true

- name: Stop the unit this exporter replaces, if it exists, and run the exporter
  sdstack.consul.systemd_units:
    units:
      - {name: prometheus-node-exporter.service, state: stopped, enabled: false, missing_ok: true}
      - {name: node_exporter.service, state: started, enabled: true}
"""

RETURN = r"""
units:
  description: Each unit as named, with its states before the run and the actions taken (none when it was as asked).
  returned: always
  type: list
  elements: dict
  sample: [{name: nginx.service, load_state: loaded, active_state: active, unit_file_state: enabled, actions: []}]
enabled:
  description: The units enabled by this run (the other action names likewise list theirs).
  returned: always
  type: list
  elements: str
started:
  description: The units started by this run.
  returned: always
  type: list
  elements: str
restarted:
  description: The units restarted by this run.
  returned: always
  type: list
  elements: str
stopped:
  description: The units stopped by this run.
  returned: always
  type: list
  elements: str
disabled:
  description: The units disabled by this run.
  returned: always
  type: list
  elements: str
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.sdstack.consul.plugins.module_utils import _systemd_units as units_plan


def _systemctl(module, args, what):
    rc, out, err = module.run_command([module.get_bin_path("systemctl", True)] + args)
    if rc != 0:
        module.fail_json(msg="systemd_units: %s failed (exit code %d): %s" % (what, rc, " ".join((err or out).split())))
    return out


def main():
    module = AnsibleModule(
        argument_spec=dict(
            units=dict(type="list", elements="dict", required=True, options=dict(
                name=dict(type="str", required=True),
                state=dict(type="str", choices=list(units_plan.STATES)),
                enabled=dict(type="bool"),
                missing_ok=dict(type="bool", default=False),
            )),
            daemon_reload=dict(type="bool", default=False),
            no_block=dict(type="bool", default=False),
        ),
        supports_check_mode=True,
    )
    units = module.params["units"]
    why = units_plan.refusal(units)
    if why:
        module.fail_json(msg="systemd_units: %s; nothing was changed" % why)
    if module.params["daemon_reload"] and not module.check_mode:
        _systemctl(module, ["daemon-reload"], "daemon-reload")
    names = [u["name"] for u in units]
    shown = _systemctl(module, ["show", "--property=" + ",".join(units_plan.PROPERTIES), "--"] + names,
                       "reading the state of " + ", ".join(names))
    try:
        actions, report = units_plan.plan(units, units_plan.parse_show(shown, len(units)), module.check_mode)
    except units_plan.UnitError as err:
        module.fail_json(msg="systemd_units: %s; nothing was changed" % err)
    changed = any(actions.values())
    if changed and not module.check_mode:
        for action in units_plan.ACTIONS:
            if actions[action]:
                block = ["--no-block"] if module.params["no_block"] and action in ("start", "restart", "stop") else []
                _systemctl(module, block + [action, "--"] + actions[action], "%s of %s" % (action, ", ".join(actions[action])))
    moved = [r for r in report if r["actions"]]
    diff = {"before": {r["name"]: {"active_state": r["active_state"], "unit_file_state": r["unit_file_state"]} for r in moved},
            "after": {r["name"]: {"actions": r["actions"]} for r in moved}} if changed else {}
    module.exit_json(changed=changed, units=report, diff=diff,
                     **{units_plan.DONE[action]: done for action, done in actions.items()})


if __name__ == "__main__":
    main()
