# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the systemd_units module decides, apart from running systemctl: reading the answer of one
``systemctl show`` for several units, and which of them to enable, disable, start, stop or restart."""

from __future__ import annotations

import re

# The properties read for each unit, in one `systemctl show` for all of them.
PROPERTIES = ("Id", "LoadState", "ActiveState", "UnitFileState")

# A unit name as systemctl takes it: no blank, no glob (one name is one unit).
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.@\\-]+$")

# Running, or on its way there: `systemctl start` would do nothing (as ansible.builtin.systemd_service).
RUNNING = ("active", "activating", "reloading")
# Enabled, or started through another unit: `systemctl enable` would do nothing or cannot.
ENABLED = ("enabled", "enabled-runtime", "static", "indirect", "generated", "alias", "linked", "linked-runtime")
DISABLED = ("disabled", "masked", "masked-runtime", "")
STATES = ("started", "stopped", "restarted")
# The order systemctl runs in: the units to stop first (a replaced unit frees its port before its
# successor starts), each stopped before it is disabled and enabled before it starts.
ACTIONS = ("stop", "disable", "enable", "start", "restart")
# The result key that lists the units of each action.
DONE = {"enable": "enabled", "start": "started", "restart": "restarted", "stop": "stopped", "disable": "disabled"}
# The action that brings a unit to a state it is not in.
DONE_BY = {"started": "start", "restarted": "restart", "stopped": "stop"}


class UnitError(Exception):
    """A unit the caller named cannot be brought to what it asked: its message names the unit."""


def refusal(units):
    """Why ``units`` (the module's list) cannot be used, or None: checked before anything runs."""
    if not units:
        return "units is empty: name at least one unit"
    seen = set()
    for unit in units:
        name = unit.get("name") or ""
        if not UNIT_NAME.match(name):
            return "unit name %r is not one unit's name (letters, digits and :_.@\\- only)" % name
        if name in seen:
            return "unit %r is named twice" % name
        seen.add(name)
        if unit.get("state") not in STATES + (None,):
            return "unit %s: state %r is not one of %s" % (name, unit.get("state"), ", ".join(STATES))
    return None


def parse_show(text, count):
    """The properties of each of ``count`` units from `systemctl show -p ... NAME...` output: one block
    of KEY=VALUE lines per unit, in the order named, blocks separated by an empty line."""
    blocks, current = [], {}
    for line in text.splitlines():
        if not line.strip():
            if current:
                blocks.append(current)
            current = {}
            continue
        key, sep, value = line.partition("=")
        if sep:
            current[key] = value
    if current:
        blocks.append(current)
    if len(blocks) != count:
        raise UnitError("systemctl show answered for %d units, %d were asked for: %r" % (len(blocks), count, text[:300]))
    return blocks


def plan(units, shown, check_mode=False):
    """For each unit of ``units`` (name, state, enabled, missing_ok) and what systemd reported for it
    (``shown``, parse_show's blocks in the same order): the actions, and for the result, each unit's
    state before and the actions taken. A unit systemd does not know fails (UnitError) unless nothing
    is asked of it but to be stopped or disabled and it is missing_ok, or in ``check_mode``, where a
    unit to run is taken for one whose file the real run would write first."""
    actions = {a: [] for a in ACTIONS}
    report = []
    for unit, state in zip(units, shown):
        name, load = unit["name"], state.get("LoadState", "")
        active, file_state = state.get("ActiveState", ""), state.get("UnitFileState", "")
        todo = []
        runs = unit.get("state") in ("started", "restarted")
        if load == "not-found" and check_mode and (runs or unit.get("enabled")):
            todo = (["enable"] if unit.get("enabled") else []) + ([DONE_BY[unit["state"]]] if runs else [])
        elif load == "not-found":
            if runs or unit.get("enabled"):
                raise UnitError("unit %s: systemd has no such unit (LoadState not-found)" % name)
            if not unit.get("missing_ok"):
                raise UnitError("unit %s: systemd has no such unit (LoadState not-found); missing_ok allows that "
                                "for a unit only stopped or disabled" % name)
        else:
            if unit.get("enabled") is True and file_state not in ENABLED:
                todo.append("enable")
            if unit.get("state") == "started" and active not in RUNNING:
                todo.append("start")
            if unit.get("state") == "restarted":
                todo.append("restart")
            if unit.get("state") == "stopped" and active in RUNNING:
                todo.append("stop")
            if unit.get("enabled") is False and file_state not in DISABLED:
                todo.append("disable")
        for action in todo:
            actions[action].append(name)
        report.append({"name": name, "load_state": load, "active_state": active, "unit_file_state": file_state,
                       "actions": todo})
    return actions, report
