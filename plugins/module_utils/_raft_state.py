# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading and judging a Consul cluster's Raft state (used by consul_raft and the roles' waits)."""

from __future__ import annotations

from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import ConsulError, oneline

# Serf member status codes (serf.MemberStatus).
SERF_STATUS = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}


def read_state(client, datacenter=None):
    """One read of leader, Raft configuration, Serf members and autopilot health.

    Leaderless clusters answer some endpoints with HTTP 500; that is a state, not an error.
    Only "no agent reachable" (and other transport failures) raise ConsulError.

    With ``datacenter``, the Raft reads go to that datacenter's servers (``?dc=``, forwarded over
    WAN by the agent asked) and the members are that datacenter's WAN members: an agent's LAN
    members are its own datacenter's only.
    """
    dc = {"dc": datacenter} if datacenter else {}
    leader_addr, leader_error = read_leader(client, datacenter)
    # stale: any server answers from its own copy, so this works without a leader too.
    config = _get_or_none(client, "/v1/operator/raft/configuration", params=dict({"stale": True}, **dc)) or {}
    if datacenter:
        members = [m for m in wan_members(client) if m["datacenter"] == datacenter]
    else:
        members = [_member(m) for m in _get_or_none(client, "/v1/agent/members") or []]
    health = _get_or_none(client, "/v1/operator/autopilot/health", params=dc or None, ok=(200, 429))

    servers = config.get("Servers") or []
    autopilot = (health.get("Servers") or []) if isinstance(health, dict) else []
    leader_node = ""
    for s in servers:
        if leader_addr and (s.get("Address") == leader_addr or s.get("Leader")):
            leader_node = s.get("Node", "")
            break
    return dict(
        leader=dict(node=leader_node, address=leader_addr),
        leader_error=leader_error,
        voters=sorted(s.get("Node", "") for s in servers if s.get("Voter")),
        non_voters=sorted(s.get("Node", "") for s in servers if not s.get("Voter")),
        members=members,
        failure_tolerance=health.get("FailureTolerance") if isinstance(health, dict) else None,
        healthy=health.get("Healthy") if isinstance(health, dict) else None,
        unhealthy_servers=sorted(s.get("Name", "") for s in (health or {}).get("Servers") or []
                                 if not s.get("Healthy")) if isinstance(health, dict) else [],
        healthy_servers=sorted(s.get("Name", "") for s in (health or {}).get("Servers") or []
                               if s.get("Healthy")) if isinstance(health, dict) else None,
        servers=[_autopilot_server(s) for s in autopilot],
        # The leader's last Raft index: a restarted server that applied this much caught up.
        last_index=max((s.get("LastIndex") or 0 for s in autopilot), default=None),
    )


def read_leader(client, datacenter=None):
    """(leader address or "", Consul's one-line reason when it could not say).

    A datacenter's own servers answer 200 "" while they have no leader; asked for another
    datacenter, the agent answers 500 with why it could not reach it ("No path to datacenter"
    when no WAN member is of that datacenter, "rpc error getting client: ... connection refused"
    while its servers are down).
    """
    try:
        addr = client.get("/v1/status/leader", params={"dc": datacenter} if datacenter else None).body
    except ConsulError as e:
        if e.status is None or e.status in (401, 403):
            raise
        return "", oneline(e.body) if e.body else "HTTP %s" % e.status
    return (addr if isinstance(addr, str) else ""), ""


def wan_members(client):
    """The WAN pool as the agent sees it, or [] from a client agent (it answers null: only servers
    are WAN members). Names lose their ``.<datacenter>`` suffix: node names as in each datacenter."""
    body = client.get("/v1/agent/members", params={"wan": 1}).body
    return [_member(m, wan=True) for m in body] if isinstance(body, list) else []


def read_node(client):
    """What one server's own agent says about its Raft state (GET /v1/agent/self).

    After ``systemctl restart`` returns, the old process is gone: whatever this agent answers
    comes from the new one, which starts with last_contact "never" and an applied index no
    newer than its last snapshot until a leader contacts it and commits entries to it.
    """
    body = client.get("/v1/agent/self").body
    body = body if isinstance(body, dict) else {}
    stats = body.get("Stats") or {}
    raft = stats.get("raft") or {}
    build = stats.get("build") or {}
    return dict(
        name=(body.get("Config") or {}).get("NodeName", ""),
        raft_state=raft.get("state", ""),
        last_contact=raft.get("last_contact", ""),
        applied_index=_int(raft.get("applied_index")),
        commit_index=_int(raft.get("commit_index")),
        term=_int(raft.get("term")),
        version=build.get("version", "") + ("-" + build["prerelease"] if build.get("prerelease") else ""),
    )


def evaluate_node(node, name, min_index=0, state=None):
    """Unmet conditions for ``node`` (from read_node) to count as a server back in sync.

    With ``state`` (from read_state), the node must also be an alive, autopilot-healthy voter.
    """
    if node["name"] != name:
        return ["%s: the given URL answers as node %r" % (name, node["name"])]
    unmet = []
    if state is not None and name not in _alive_voters(state):
        unmet.append("%s is not a healthy voter" % name)
    if node["raft_state"] not in ("Leader", "Follower"):
        unmet.append("%s raft state %s" % (name, node["raft_state"] or "unknown"))
    elif node["raft_state"] == "Follower" and node["last_contact"] in ("never", ""):
        unmet.append("%s has heard from no leader since it started" % name)
    if node["applied_index"] is None or node["applied_index"] < min_index:
        unmet.append("%s applied index %s < %d" % (name, node["applied_index"], min_index))
    return unmet


def evaluate(state, expected_voters=None, require_leader=True, require_healthy=False, min_failure_tolerance=None):
    """The unmet conditions, each a short phrase, most important first (empty: all hold)."""
    unmet = []
    if require_leader and not state["leader"]["address"]:
        why = state.get("leader_error")
        unmet.append("no leader" + (" (%s)" % why if why else ""))

    # Serf takes ~5 s to mark a dead server failed; autopilot notices within ~3 s (LastContact).
    # A voter counts only if both see it well; autopilot may also drop it from its list.
    alive_voters = _alive_voters(state)
    if isinstance(expected_voters, int):
        if len(alive_voters) < expected_voters:
            down = [v for v in state["voters"] if v not in alive_voters]
            unmet.append("voters %d/%d%s" % (len(alive_voters), expected_voters,
                                             (", %s down" % ", ".join(down)) if down else ""))
    elif expected_voters:
        missing = [n for n in expected_voters if n not in alive_voters]
        if missing:
            # A name neither Raft, Serf nor autopilot knows is a typo or the wrong cluster, not a
            # server down (a stopped server stays a Serf member, "left" or "failed").
            known = set(state["voters"]) | set(state["non_voters"]) | {m["name"] for m in state["members"]} | {
                s["name"] for s in state.get("servers") or []}
            unknown = [n for n in missing if n not in known]
            unmet.append("voters %d/%d, %s missing%s" % (
                len(expected_voters) - len(missing), len(expected_voters), ", ".join(missing),
                (" (%s: no such server in this cluster)" % ", ".join(unknown)) if unknown and known else ""))

    if require_healthy and state["healthy"] is not True:
        if state["healthy"] is None:
            unmet.append("autopilot health unknown")
        else:
            bad = state.get("unhealthy_servers") or []
            unmet.append("autopilot unhealthy" + (" (%s)" % ", ".join(bad) if bad else ""))

    if min_failure_tolerance is not None:
        ft = state["failure_tolerance"]
        if ft is None:
            unmet.append("failure tolerance unknown (need %d)" % min_failure_tolerance)
        elif ft < min_failure_tolerance:
            unmet.append("failure tolerance %d < %d" % (ft, min_failure_tolerance))
    return unmet


def _alive_voters(state):
    alive = {m["name"] for m in state["members"] if m["status"] == "alive"}
    healthy = state.get("healthy_servers")
    return [v for v in state["voters"] if v in alive and (healthy is None or v in healthy)]


def _member(m, wan=False):
    tags = m.get("Tags") or {}
    name, dc = m.get("Name", ""), tags.get("dc", "")
    if wan and dc and name.endswith("." + dc):
        name = name[:-len(dc) - 1]
    member = dict(name=name, address=m.get("Addr", ""), port=m.get("Port"),
                  status=SERF_STATUS.get(m.get("Status"), str(m.get("Status"))), role=tags.get("role", ""),
                  # The running binary's version ("1.8.7:<revision>"): what an upgrade must restart.
                  version=(tags.get("build") or "").split(":")[0])
    if wan:
        member["datacenter"] = dc
    return member


def _autopilot_server(s):
    return dict(name=s.get("Name", ""), voter=bool(s.get("Voter")), healthy=bool(s.get("Healthy")),
                leader=bool(s.get("Leader")), serf_status=s.get("SerfStatus", ""), version=s.get("Version", ""),
                last_index=s.get("LastIndex"), last_term=s.get("LastTerm"), stable_since=s.get("StableSince", ""))


def _int(value):
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _get_or_none(client, path, params=None, ok=(200,)):
    """The body, or None when the cluster answered with an HTTP error (e.g. 500 No cluster leader).

    A refused token (401/403) is no cluster state: waiting cannot fix it, so it raises.
    """
    try:
        return client.get(path, params=params, ok=ok).body
    except ConsulError as e:
        if e.status is None or e.status in (401, 403):
            raise
        return None
