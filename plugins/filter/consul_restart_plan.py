# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of this host's running Consul instances a run must restart, from its registered results."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

RESTART_MODES = ("changed", "all")


def _changed_names(result):
    """Names of the instances whose item changed in a registered loop result."""
    if not isinstance(result, dict):
        return set()
    return {r["item"]["name"] for r in result.get("results") or []
            if isinstance(r, dict) and r.get("changed") and isinstance(r.get("item"), dict) and "name" in r["item"]}


def _running_versions(version):
    """The build tags a server of ``version`` reports: a pre-release may carry its dash or not
    ("1.9.0-rc1", "1.9.0rc1")."""
    version = str(version)
    return {version, re.sub(r"[^0-9A-Za-z.+]", "", version)}


def consul_restart_plan(local, mode, version, members, started=None, unit=None, tls=None, configs=()):
    """The instances of ``local`` to restart, in order.

    An instance is restarted when one of its files changed (``configs``: registered loop
    results of its configuration, secrets and unit drop-in), when the shared unit or the TLS
    files changed or ``mode`` is "all" (then every instance), or when the cluster reports it
    running another version than ``version`` (an upgrade installed a new binary). Instances
    this run started (``started``) already run what is installed and are left alone.
    """
    if mode not in RESTART_MODES:
        raise AnsibleFilterError("consul_restart_mode: %r is not one of %s" % (mode, ", ".join(RESTART_MODES)))
    if not isinstance(members, list):
        raise AnsibleFilterError("consul_restart_plan: members must be a list, got %r" % (members,))
    names = [inst["name"] for inst in local]
    everything = mode == "all" or any(isinstance(r, dict) and r.get("changed") for r in (unit, tls))
    wanted = set(names) if everything else set().union(*(_changed_names(r) for r in configs))
    running_ok = _running_versions(version)
    # Members of other hosts fall out below: only this host's instances are returned.
    wanted |= {m.get("name") for m in members
               if isinstance(m, dict) and m.get("version") and m["version"] not in running_ok}
    wanted -= _changed_names(started)
    return [inst for inst in local if inst["name"] in wanted]


class FilterModule:
    def filters(self):
        return {"consul_restart_plan": consul_restart_plan}
