# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and judging a WAN federation: which datacenters' servers are alive WAN members, and
whether each datacenter has a leader (used by consul_raft's ``datacenters`` and ``wan_members``)."""

from __future__ import annotations

from ansible_collections.sdstack.consul.plugins.module_utils._raft_state import read_leader, wan_members


def read_wan(client, datacenters):
    """One read of the WAN pool, then the leader of each of ``datacenters`` that is in it.

    A datacenter with no WAN member is not asked for its leader: the agent could only answer
    "No path to datacenter", and the verdict already says the datacenter is missing.
    """
    members = wan_members(client)
    known = {m["datacenter"] for m in members}
    leaders = {}
    for dc in datacenters:
        if dc in known:
            address, error = read_leader(client, dc)
            leaders[dc] = dict(address=address, error=error)
    return dict(wan_members=members, wan_leaders=leaders)


def evaluate_wan(wan, expected):
    """The unmet conditions of a federation, one phrase each, every one naming its datacenter.

    ``expected`` maps each datacenter to None (a leader and one alive server are enough), a count
    (at least that many alive servers) or a list of node names (each of them alive). Datacenters
    not in ``expected`` are not judged.
    """
    members = wan["wan_members"]
    if not members:
        return ["no WAN members in the answer (client agents know none: give server URLs)"]
    known = sorted({m["datacenter"] for m in members})
    unmet = []
    for dc in sorted(expected):
        servers = [m for m in members if m["datacenter"] == dc]
        if not servers:
            unmet.append("%s not in the WAN federation (known: %s)" % (dc, ", ".join(known)))
            continue
        leader = wan["wan_leaders"].get(dc) or {}
        if not leader.get("address"):
            unmet.append("%s: no leader" % dc + (" (%s)" % leader["error"] if leader.get("error") else ""))
        phrase = _servers_phrase(dc, servers, expected[dc])
        if phrase:
            unmet.append(phrase)
    return unmet


def _servers_phrase(dc, servers, want):
    status = {m["name"]: m["status"] for m in servers}
    alive = [n for n in sorted(status) if status[n] == "alive"]
    down = ["%s %s" % (n, status[n]) for n in sorted(status) if status[n] != "alive"]
    if want is None:
        return None if alive else "%s: no WAN server alive, %s" % (dc, ", ".join(down))
    if isinstance(want, int):
        if len(alive) >= want:
            return None
        return "%s: WAN servers %d/%d alive" % (dc, len(alive), want) + "".join(", " + d for d in down)
    missing = [n for n in want if status.get(n) != "alive"]
    if not missing:
        return None
    # A name the WAN pool does not hold is a typo or a server that never joined, not a server down.
    return "%s: WAN servers %d/%d alive, %s" % (dc, len(want) - len(missing), len(want), ", ".join(
        "%s %s" % (n, status[n]) if n in status else "%s not a WAN member" % n for n in missing))
