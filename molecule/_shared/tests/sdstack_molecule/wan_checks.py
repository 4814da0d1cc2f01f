"""The WAN federation as a server sees it, for the multi-datacenter scenario's verifier.

Plain HTTP (requests), not the collection's module_utils: an independent view of what consul_raft's
``wan_members`` and ``datacenters`` judge.

    from sdstack_molecule.wan_checks import wan_members, wan_leaders, wait_for_federation

    pool = wan_members("http://10.89.20.11:8500")          # {"dc1": {"node1": "alive", ...}, "dc2": {...}}
    took = wait_for_federation("http://10.89.20.11:8500", {"dc1": [...], "dc2": [...]}, timeout=120)
"""

import time

import requests

# serf.MemberStatus, as /v1/agent/members reports it.
SERF_STATUS = {0: "none", 1: "alive", 2: "leaving", 3: "left", 4: "failed"}


def wan_pool(members):
    """datacenter -> {node name: status} from a /v1/agent/members?wan=1 body (null from a client agent).

    WAN members are named ``<node>.<datacenter>``; the names here are the nodes' own."""
    pool = {}
    for m in members or []:
        dc = (m.get("Tags") or {}).get("dc", "")
        name = m["Name"][:-len(dc) - 1] if dc and m["Name"].endswith("." + dc) else m["Name"]
        pool.setdefault(dc, {})[name] = SERF_STATUS.get(m["Status"], str(m["Status"]))
    return pool


def _get(base_url, path, token=None, **kw):
    headers = {"X-Consul-Token": token} if token else {}
    return requests.get(base_url.rstrip("/") + path, headers=headers, timeout=10, **kw)


def wan_members(base_url, token=None, **kw):
    """The WAN pool as the server agent at ``base_url`` sees it (see wan_pool); ``kw`` go to requests
    (``verify=`` a CA file, ``cert=`` for HTTPS)."""
    r = _get(base_url, "/v1/agent/members?wan=1", token, **kw)
    r.raise_for_status()
    return wan_pool(r.json())


def wan_leaders(base_url, datacenters, token=None, **kw):
    """datacenter -> its leader's Raft address as the agent at ``base_url`` gets it over WAN, or
    Consul's reason when it cannot ("No path to datacenter", "rpc error getting client: ...")."""
    out = {}
    for dc in datacenters:
        r = _get(base_url, "/v1/status/leader?dc=" + dc, token, **kw)
        out[dc] = r.json() if r.status_code == 200 else "HTTP %d: %s" % (r.status_code, r.text.strip())
    return out


def federated(pool, leaders, expected):
    """What keeps the federation from being whole, one phrase each (empty: every expected server of
    every datacenter alive over WAN, every datacenter with a leader)."""
    missing = []
    for dc, nodes in sorted(expected.items()):
        got = pool.get(dc, {})
        down = ["%s %s" % (n, got.get(n, "absent")) for n in nodes if got.get(n) != "alive"]
        if down:
            missing.append("%s: %s" % (dc, ", ".join(down)))
        leader = leaders.get(dc, "")
        if not leader or leader.startswith("HTTP "):
            missing.append("%s: no leader%s" % (dc, " (%s)" % leader if leader else ""))
    return missing


def wait_for_federation(base_url, expected, timeout=120, interval=0.5, token=None, **kw):
    """Seconds until every server of ``expected`` (datacenter -> node names) is alive over WAN and
    every datacenter has a leader, as the agent at ``base_url`` sees it; fails naming what is missing."""
    start = time.monotonic()
    last = None
    while True:
        try:
            last = federated(wan_members(base_url, token, **kw), wan_leaders(base_url, expected, token, **kw),
                             expected)
        except requests.RequestException as exc:
            last = [repr(exc)]
        if not last:
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError("WAN federation not whole within %ss: %s" % (timeout, "; ".join(last)))
        time.sleep(interval)
