#!/usr/bin/python
# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: consul_raft
short_description: Assert that a Consul cluster's Raft has a leader, the expected voters and healthy autopilot
version_added: 0.1.0
description:
  - Reads C(/v1/status/leader), C(/v1/operator/raft/configuration), C(/v1/agent/members) and
    C(/v1/operator/autopilot/health) and fails with one line naming every unmet condition.
  - The same checks can judge another datacenter's servers through the agent at O(url) (O(datacenter)), and a WAN
    federation can be asserted as a whole (O(datacenters), O(wan_members)) from C(/v1/agent/members?wan=1) and
    each datacenter's C(/v1/status/leader?dc=).
  - Optionally polls until the conditions hold or a timeout passes (first start, rolling restarts).
  - Read-only; never reports a change.
author: sdstack maintainers (@sdstack)
extends_documentation_fragment:
  - sdstack.consul.consul
attributes:
  check_mode:
    support: full
    description: Read-only; runs the same in check mode.
  diff_mode:
    support: none
    description: Nothing to diff.
options:
  datacenter:
    description:
      - Datacenter whose Raft the checks judge. The agent at O(url) forwards the reads over WAN to that datacenter's
        servers (C(?dc=)); the members judged are that datacenter's WAN members, as an agent's LAN members are of its
        own datacenter only; O(url) must therefore be a server (client agents know no WAN members).
      - Unset or empty, the datacenter of the agent at O(url).
      - "Each unmet condition then starts with the datacenter, for example C(dc2: no leader (No path to datacenter))."
    type: str
  datacenters:
    description:
      - Datacenters that must be federated over WAN, each with a leader and at least one server alive in the WAN pool
        as the agent at O(url) sees it.
      - The agent must be a server (client agents know no WAN members).
      - Datacenters not named here nor in O(wan_members) are not judged.
    type: list
    elements: str
  wan_members:
    description:
      - Datacenter name to the servers it must have alive in the WAN pool, as a list of node names (each of them
        alive, naming the others) or a number (at least that many alive). The datacenter must also have a leader.
      - Node names as in their own datacenter (C(node1)), not as WAN members are listed (C(node1.dc2)).
      - A datacenter named both here and in O(datacenters) is judged as this option says.
      - The WAN checks require the leader of every datacenter they name, whatever O(require_leader) says (it
        concerns the Raft of O(datacenter), or of the agent's own datacenter, only).
    type: dict
  expected_voters:
    description:
      - Voters the cluster must have, alive in Serf and listed as voters in the Raft configuration.
      - Either a number (at least that many) or a list of node names (all of them, naming the missing ones).
    type: raw
  require_leader:
    description: Require an elected leader.
    type: bool
    default: true
  require_healthy:
    description: Require autopilot to report the cluster healthy (every server healthy and stable).
    type: bool
    default: false
  min_failure_tolerance:
    description: Minimum number of servers the cluster can lose without losing quorum, as autopilot computes it.
    type: int
  synced_node:
    description:
      - Require one server to be back in sync, judged by its own agent (C(/v1/agent/self) at O(synced_node.url)) as
        well as by the cluster, for example right after a restart.
      - Its agent must report Raft state C(Follower) with a known last contact (a restarted server says C(never)
        until a leader contacts it) or C(Leader), and an applied index of at least O(synced_node.min_index).
      - Unless O(expected_voters) names it, it must also be an alive voter that autopilot reports healthy.
      - Autopilot alone cannot prove a quick restart happened, as it polls every few seconds, may never see the
        server down, and keeps reporting the old process's health meanwhile.
    type: dict
    suboptions:
      name:
        description: Node name of the server.
        type: str
        required: true
      url:
        description: The server's own HTTP API (not a load balancer; its answer must come from that server).
        type: str
        required: true
      min_index:
        description:
          - Raft index the server must have applied, typically RV(last_index) read before it was restarted.
        type: int
        default: 0
  wait:
    description: Poll until every condition holds, or fail after O(wait_timeout) seconds.
    type: bool
    default: false
  wait_timeout:
    description: Seconds to poll when O(wait=true).
    type: float
    default: 60
  poll_interval:
    description: Seconds between two reads when O(wait=true).
    type: float
    default: 1
"""

EXAMPLES = r"""
- name: Wait until the new cluster elected a leader and has all three voters
  sdstack.consul.consul_raft:
    url: [http://10.0.0.11:8500, http://10.0.0.12:8500, http://10.0.0.13:8500]
    expected_voters: [node1, node2, node3]
    wait: true
    wait_timeout: 60

- name: After restarting node2, wait until its new process caught up with the leader
  sdstack.consul.consul_raft:
    url: [http://10.0.0.11:8500, http://10.0.0.12:8500, http://10.0.0.13:8500]
    expected_voters: [node1, node2, node3]
    require_healthy: true
    synced_node:
      name: node2
      url: http://10.0.0.12:8500
      min_index: "{{ before_restart.last_index }}"
    wait: true

- name: Wait until both datacenters are federated, every server alive over WAN, each datacenter with a leader
  sdstack.consul.consul_raft:
    url: [http://10.0.0.11:8500, http://10.0.0.12:8500]
    wan_members:
      dc1: [consul1, consul2, consul3]
      dc2: [dc2-node1, dc2-node2, dc2-node3]
    wait: true
    wait_timeout: 120

- name: Judge dc2's Raft through a dc1 server (dc1's own servers answer, dc2's servers are asked over WAN)
  sdstack.consul.consul_raft:
    url: http://10.0.0.11:8500
    datacenter: dc2
    expected_voters: [dc2-node1, dc2-node2, dc2-node3]
    require_healthy: true

- name: Before restarting the next server, require one server of headroom
  sdstack.consul.consul_raft:
    url: http://127.0.0.1:8500
    require_healthy: true
    min_failure_tolerance: 1
"""

RETURN = r"""
leader:
  description: The leader (of O(datacenter) when set), or empty values when there is none.
  returned: always
  type: dict
  contains:
    node:
      description: Node name of the leader.
      type: str
    address:
      description: Raft address (C(host:server port)) of the leader.
      type: str
  sample: {node: node1, address: "10.0.0.11:8300"}
leader_error:
  description:
    - Why the agent could not tell the leader of O(datacenter), as Consul said it (C(No path to datacenter), C(rpc
      error getting client ...)); empty when it answered.
  returned: always
  type: str
voters:
  description: Node names listed as voters in the Raft configuration.
  returned: always
  type: list
  elements: str
non_voters:
  description: Node names in the Raft configuration that do not vote.
  returned: always
  type: list
  elements: str
members:
  description:
    - Serf LAN members as the answering agent sees them; with O(datacenter), that datacenter's WAN members (servers
      only, with their C(datacenter)).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "node1", "address": "10.0.0.11", "port": 8301, "status": "alive", "role": "consul", "version": "1.8.7"}]
servers:
  description: Autopilot's view of each server in the Raft configuration (empty when unknown, e.g. no leader).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "node1", "voter": true, "healthy": true, "leader": true, "serf_status": "alive",
            "version": "1.8.7", "last_index": 42, "last_term": 3, "stable_since": "2026-11-25T20:45:56Z"}]
last_index:
  description: The leader's last Raft log index as autopilot reports it; null when unknown.
  returned: always
  type: int
synced_node:
  description: What the agent of O(synced_node.url) reported at the last read (null when it did not answer).
  returned: when O(synced_node) is set
  type: dict
  sample: {"name": "node2", "raft_state": "Follower", "last_contact": "41.2ms", "applied_index": 42,
           "commit_index": 42, "term": 3, "version": "1.8.7"}
failure_tolerance:
  description: Servers the cluster can lose without losing quorum (autopilot); null when unknown.
  returned: always
  type: int
healthy:
  description: Autopilot's verdict; null when unknown (no leader).
  returned: always
  type: bool
unhealthy_servers:
  description: Servers autopilot reports unhealthy.
  returned: always
  type: list
  elements: str
healthy_servers:
  description: Servers autopilot reports healthy; null when unknown (no leader).
  returned: always
  type: list
  elements: str
unmet:
  description: The conditions that did not hold at the last read (empty on success).
  returned: always
  type: list
  elements: str
wan_members:
  description:
    - The WAN pool as the agent at O(url) saw it at the last read, names without the C(.<datacenter>) suffix.
    - A server that crashed shows as C(failed); one that autopilot removed (a dead server while its datacenter
      kept a quorum) as C(leaving), then C(left).
  returned: when O(datacenters) or O(wan_members) is set
  type: list
  elements: dict
  sample: [{"name": "node1", "datacenter": "dc2", "address": "10.0.0.21", "port": 8302, "status": "alive",
            "role": "consul", "version": "1.8.7"}]
wan_leaders:
  description:
    - For each judged datacenter in the WAN pool, its leader's Raft address (empty when none) and why the agent
      could not tell it (empty when it could).
  returned: when O(datacenters) or O(wan_members) is set
  type: dict
  sample: {"dc1": {"address": "10.0.0.11:8300", "error": ""},
           "dc2": {"address": "", "error": "rpc error getting client: failed to get conn: dial tcp ...: connect: connection refused"}}
elapsed:
  description: Seconds spent polling.
  returned: always
  type: float
"""

import re
import time

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.sdstack.consul.plugins.module_utils._consul_api import (
    ConsulClient,
    ConsulError,
    connection_argspec,
)
from ansible_collections.sdstack.consul.plugins.module_utils._raft_state import (
    evaluate,
    evaluate_node,
    read_node,
    read_state,
)
from ansible_collections.sdstack.consul.plugins.module_utils._wan_state import evaluate_wan, read_wan

# What Consul accepts as a datacenter name: a name it would refuse can never be found.
DATACENTER_NAME = re.compile(r"^[a-z0-9_-]+$")


def main():
    module = AnsibleModule(
        argument_spec=connection_argspec(
            datacenter=dict(type="str"),
            datacenters=dict(type="list", elements="str"),
            wan_members=dict(type="dict"),
            expected_voters=dict(type="raw"),
            require_leader=dict(type="bool", default=True),
            require_healthy=dict(type="bool", default=False),
            min_failure_tolerance=dict(type="int"),
            synced_node=dict(type="dict", options=dict(
                name=dict(type="str", required=True),
                url=dict(type="str", required=True),
                min_index=dict(type="int", default=0),
            )),
            wait=dict(type="bool", default=False),
            wait_timeout=dict(type="float", default=60),
            poll_interval=dict(type="float", default=1),
        ),
        supports_check_mode=True,
    )
    p = module.params
    expected = _names_or_count(module, "expected_voters", p["expected_voters"], "voters")
    _check_numbers(module, p, expected)
    datacenter = _datacenter(module, "datacenter", p["datacenter"]) if p["datacenter"] else None
    wan_expected = _expected_wan(module, p["datacenters"], p["wan_members"])
    client = ConsulClient.from_module(module)
    synced = p["synced_node"]
    node_client = _node_client(module, client, synced["url"]) if synced else None
    # The voter part of synced_node is already covered when expected_voters names the node.
    node_state_check = synced and not (isinstance(expected, list) and synced["name"] in expected)

    node = wan = None
    start = time.monotonic()
    deadline = start + (p["wait_timeout"] if p["wait"] else 0)
    while True:
        try:
            state = read_state(client, datacenter)
            unmet = evaluate(state, expected, p["require_leader"], p["require_healthy"], p["min_failure_tolerance"])
            if datacenter:
                unmet = ["%s: %s" % (datacenter, u) for u in unmet]
            if wan_expected:
                wan = read_wan(client, sorted(wan_expected))
                unmet += evaluate_wan(wan, wan_expected)
        except ConsulError as e:
            if e.status in (401, 403):
                # Waiting cannot change what the token may read.
                module.fail_json(msg="%s (the token needs operator:read, node:read and agent:read)" % e)
            state = wan = None
            unmet = [str(e)]
        if synced:
            node = None
            try:
                node = read_node(node_client)
            except ConsulError as e:
                unmet.append("%s: %s" % (synced["name"], e))
            else:
                unmet += evaluate_node(node, synced["name"], synced["min_index"],
                                       state if (state and node_state_check) else None)
        if not unmet or time.monotonic() >= deadline:
            break
        time.sleep(min(p["poll_interval"], max(deadline - time.monotonic(), 0)))

    elapsed = round(time.monotonic() - start, 2)
    result = dict(state or _empty_state(), changed=False, unmet=unmet, elapsed=elapsed)
    if synced:
        result["synced_node"] = node
    if wan_expected:
        result.update(wan or dict(wan_members=[], wan_leaders={}))
    if unmet:
        first = unmet[0] + (" after %ds" % round(elapsed) if p["wait"] else "")
        module.fail_json(msg="; ".join([first] + unmet[1:]), **result)
    module.exit_json(**result)


def _node_client(module, client, url):
    """A client for one server only, with the same credentials: no failover to another agent."""
    try:
        return ConsulClient([url], token=client.token, ca_path=client.ca_path, client_cert=client.client_cert,
                            client_key=client.client_key, validate_certs=client.validate_certs,
                            timeout=client.timeout)
    except ConsulError as e:
        module.fail_json(msg="synced_node.%s" % e)
    return None  # not reached: fail_json exits


def _names_or_count(module, option, value, what, datacenter=None):
    """None, a positive count, or a list of node names (of ``datacenter``'s servers, for WAN)."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        module.fail_json(msg="%s: give a number or a list of node names, not %s" % (option, value))
    if isinstance(value, int) or (isinstance(value, str) and value.strip().isdigit()):
        count = int(value)
        if count < 1:
            module.fail_json(msg="%s: %d is not a positive number of %s" % (option, count, what))
        return count
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",")]
    if isinstance(value, list) and value and all(isinstance(v, str) and v for v in value):
        twice = sorted({v for v in value if value.count(v) > 1})
        if twice:
            module.fail_json(msg="%s: %s given twice" % (option, ", ".join(twice)))
        # The WAN pool lists node1.dc2; the option wants node1, as its datacenter knows it.
        suffixed = [v for v in value if datacenter and v.endswith("." + datacenter)]
        if suffixed:
            module.fail_json(msg="%s: give node names without the datacenter, %s not %s" % (
                option, suffixed[0][:-len(datacenter) - 1], suffixed[0]))
        return list(value)
    module.fail_json(msg="%s: give a number or a list of node names, got %r" % (option, value))
    return None  # not reached


def _datacenter(module, option, value):
    name = value if isinstance(value, str) else str(value)
    if not DATACENTER_NAME.match(name):
        module.fail_json(msg="%s: %r is not a datacenter name (lowercase letters, digits, _ and -)" % (option, value))
    return name


def _expected_wan(module, datacenters, wan_members):
    """Datacenter -> None (any alive server), a count or node names; {} when no WAN check is asked."""
    expected = {}
    for dc in datacenters or []:
        dc = _datacenter(module, "datacenters", dc)
        if dc in expected:
            module.fail_json(msg="datacenters: %s given twice" % dc)
        expected[dc] = None
    for dc, servers in (wan_members or {}).items():
        dc = _datacenter(module, "wan_members", dc)
        option = "wan_members.%s" % dc
        expected[dc] = _names_or_count(module, option, servers, "servers", datacenter=dc)
        if expected[dc] is None:
            module.fail_json(msg="%s: give the datacenter's server names or their number" % option)
    return expected


def _check_numbers(module, p, expected):
    """Conditions that can never hold fail at once, not after a whole wait_timeout."""
    mft = p["min_failure_tolerance"]
    if mft is not None and mft < 0:
        module.fail_json(msg="min_failure_tolerance: %d is negative" % mft)
    # A count means "at least"; only a list fixes the cluster's size.
    if mft and isinstance(expected, list):
        voters = len(expected)
        if mft > (voters - 1) // 2:
            module.fail_json(msg="min_failure_tolerance: %d can never hold with %d voters (at most %d: a quorum of "
                                 "%d must survive)" % (mft, voters, (voters - 1) // 2, voters // 2 + 1))
    for opt in ("wait_timeout", "poll_interval"):
        if p[opt] < 0 or (opt == "poll_interval" and p[opt] == 0):
            module.fail_json(msg="%s: %s is not a positive number of seconds" % (opt, p[opt]))
    if p["synced_node"] and p["synced_node"]["min_index"] < 0:
        module.fail_json(msg="synced_node.min_index: %d is negative" % p["synced_node"]["min_index"])


def _empty_state():
    return dict(leader=dict(node="", address=""), leader_error="", voters=[], non_voters=[], members=[],
                failure_tolerance=None, healthy=None, unhealthy_servers=[], healthy_servers=None, servers=[],
                last_index=None)


if __name__ == "__main__":
    main()
