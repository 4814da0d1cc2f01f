# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which of this host's running Consul instances a run must restart, from its registered results,
and in which order the play restarts them: datacenter by datacenter, so that no two datacenters
ever lose a server (or their leader) at the same time."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible_collections.sdstack.consul.plugins.filter.consul_files import consul_unit
from ansible_collections.sdstack.consul.plugins.filter.consul_topology import consul_http_urls

RESTART_MODES = ("changed", "all")


def _started_names(result, local):
    """Names of the instances of ``local`` whose unit a registered sdstack.consul.systemd_units result started."""
    started = set((result or {}).get("started") or []) if isinstance(result, dict) else set()
    return {inst["name"] for inst in local if consul_unit(inst["name"]) in started}


def _running_versions(version):
    """The build tags a server of ``version`` reports: a pre-release may carry its dash or not
    ("1.9.0-rc1", "1.9.0rc1")."""
    version = str(version)
    return {version, re.sub(r"[^0-9A-Za-z.+]", "", version)}


def consul_restart_plan(local, mode, version, members, started=None, files=()):
    """The instances of ``local`` to restart, in order.

    An instance is restarted when one of its files changed (``files``: registered results of the
    sdstack.consul.files runs, each file labelled with its instance), when a file without a label
    (the shared unit, the TLS files) changed or ``mode`` is "all" (then every instance), or when the
    cluster reports it running another version than ``version`` (an upgrade installed a new
    binary). Instances this run started (``started``) already run what is installed and are left
    alone.
    """
    if mode not in RESTART_MODES:
        raise AnsibleFilterError("consul_restart_mode: %r is not one of %s" % (mode, ", ".join(RESTART_MODES)))
    if isinstance(members, dict):
        # The leader wait's registered result: a loop, one result per datacenter (their members
        # together), or a skipped task (none).
        results = members.get("results") if "results" in members else [members]
        members = [m for r in results or [] if isinstance(r, dict) for m in r.get("members") or []]
    if not isinstance(members, list):
        raise AnsibleFilterError("consul_restart_plan: members must be a list, got %r" % (members,))
    names = [inst["name"] for inst in local]
    changed = [f for r in files if isinstance(r, dict) for f in r.get("files") or []
               if isinstance(f, dict) and f.get("changed")]
    everything = mode == "all" or any(not f.get("label") for f in changed)
    wanted = set(names) if everything else {f["label"] for f in changed}
    running_ok = _running_versions(version)
    # Members of other hosts fall out below: only this host's instances are returned.
    wanted |= {m.get("name") for m in members
               if isinstance(m, dict) and m.get("version") and m["version"] not in running_ok}
    wanted -= _started_names(started, local)
    return [inst for inst in local if inst["name"] in wanted]


def consul_restart_batches(pending, federation, scheme="http"):
    """The play's pending restarts (every host's consul_restart_plan, flattened) grouped by
    datacenter, in the federation's datacenter order. Each batch: datacenter, instances (the
    pending ones, leader-last is decided at each step), urls and voters (that datacenter's
    servers, which the health checks before and after each step ask), snapshot_from (the
    instance a Raft snapshot of that datacenter is taken through).

    The play finishes one datacenter, leader last, before it starts the next one: never two
    leaders, nor two datacenters' servers, down at once.
    """
    if not isinstance(federation, dict) or "servers" not in federation:
        raise AnsibleFilterError("consul_restart_batches: federation must be what consul_federation returns, got %r"
                                 % (federation,))
    dc_of = {s["name"]: s["datacenter"] for s in federation["servers"]}
    unknown = [i.get("name") for i in pending or [] if i.get("name") not in dc_of]
    if unknown:
        raise AnsibleFilterError("consul_restart_batches: %s is not a server instance of the federation"
                                 % ", ".join(str(n) for n in unknown))
    batches = []
    for dc in federation["datacenters"]:
        instances = [i for i in pending or [] if dc_of[i["name"]] == dc]
        if not instances:
            continue
        servers = [s for s in federation["servers"] if s["datacenter"] == dc]
        batches.append({
            "datacenter": dc,
            "instances": instances,
            "urls": consul_http_urls(servers, scheme),
            "voters": [s["name"] for s in servers],
            "snapshot_from": instances[0],
        })
    return batches


class FilterModule:
    def filters(self):
        return {"consul_restart_plan": consul_restart_plan, "consul_restart_batches": consul_restart_batches}
