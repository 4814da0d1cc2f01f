# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Client agents: which hosts run one, what each looks like, and whether it reached the servers.

A client agent is the one agent of a host that is not a Consul server (application hosts, the
monitor): exporters register on it. Its instance has the servers' shape (consul_instances) so
configure.yml, the unit and the restart plan treat both alike; ``client: True`` marks it for
the configuration model (server=false, no bootstrap_expect, no Raft settings).
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.sdstack.consul.plugins.filter.consul_topology import consul_instances


def consul_agent_mode(groups, host, servers_group="consul_servers", clients_group="consul_clients"):
    """"server" or "client" for ``host``, from the two inventory groups; one line otherwise."""
    groups = groups or {}
    if servers_group not in groups:
        raise AnsibleFilterError("consul_group: %r is not an inventory group (the Consul servers' group)"
                                 % (servers_group,))
    servers = groups.get(servers_group) or []
    clients = groups.get(clients_group) or []
    if host in servers and host in clients:
        raise AnsibleFilterError("%s is in both %s (consul_group) and %s (consul_clients_group): a host runs a server"
                                 " or a client agent, not both" % (host, servers_group, clients_group))
    if host in servers:
        return "server"
    if host in clients:
        return "client"
    if clients_group not in groups:
        raise AnsibleFilterError("consul_clients_group: %r is not an inventory group (%s runs the consul role but is"
                                 " not in %s either)" % (clients_group, host, servers_group))
    raise AnsibleFilterError("%s runs the consul role but is in neither %s (consul_group) nor %s"
                             " (consul_clients_group)" % (host, servers_group, clients_group))


def consul_client_instances(hostvars, hosts, servers, data_root="/opt/consul", default_ports=None):
    """One client agent per host of ``hosts``, named after the short host name, checked against
    the server instances ``servers`` (a host in both, or a node name used twice, is refused)."""
    server_hosts = {s["host"] for s in servers or []}
    both = [h for h in hosts or [] if h in server_hosts]
    if both:
        raise AnsibleFilterError("%s is in both the Consul servers' and the clients' group: a host runs a server or a"
                                 " client agent, not both" % ", ".join(both))
    out = []
    taken = {s["name"]: s["host"] for s in servers or []}
    for host in hosts or []:
        # consul_instances validates the address and the ports the same way as a server's.
        inst = consul_instances(hostvars, [host], data_root, default_ports)
        if len(inst) != 1:
            raise AnsibleFilterError("consul_instances of %s: a client host runs one agent, not %d"
                                     % (host, len(inst)))
        inst = dict(inst[0], client=True)
        if inst["name"] in taken:
            raise AnsibleFilterError("node name %s is used twice (on %s and %s): node names must be unique"
                                     % (inst["name"], taken[inst["name"]], host))
        taken[inst["name"]] = host
        out.append(inst)
    return out


def consul_join_precheck(results, host="this host", quiet=False):
    """The servers' serf LAN addresses ``host`` reached (wait_for results, one per address), or
    one line naming every address tried when it reached none: it could never join.
    ``results``: one registered loop, or a list of them in the order they ran (the first server,
    then the others only when it was out of reach). ``quiet``: an empty list instead of the
    refusal (to decide whether to try further servers)."""
    loops = results if isinstance(results, list) else [results]
    tried, reached = [], []
    for r in [r for loop in loops if isinstance(loop, dict) for r in loop.get("results", [])]:
        if r.get("skipped"):
            # Check mode: a check run of a new fleet starts no server, so none is tried.
            continue
        addr = to_text(r.get("item"))
        tried.append(addr)
        # Registered with failed_when: false, so a timeout shows only as wait_for's failure
        # message (a success carries none).
        if not r.get("failed") and not r.get("msg"):
            reached.append(addr)
    if tried and not reached and not quiet:
        raise AnsibleFilterError("consul client %s reaches none of its servers (tried %s): nothing was changed"
                                 % (host, ", ".join(tried)))
    return reached


def _version(member):
    build = to_text((member.get("Tags") or {}).get("build") or "")
    return build.split(":", 1)[0]


def consul_join_state(members, servers, node):
    """Whether the client ``node`` joined: /v1/agent/members seen from it lists itself and every
    server instance alive (Status 1). Returns joined, missing (server names not alive) and
    members (name, version) in the shape consul_restart_plan reads."""
    # Anything but a list (no answer yet, an error body) means not joined yet.
    members = members if isinstance(members, list) else []
    alive = {to_text(m.get("Name")) for m in members if isinstance(m, dict) and m.get("Status") == 1}
    wanted = [s["name"] for s in servers or []] + [node]
    missing = [name for name in wanted if name not in alive]
    return {
        "joined": not missing,
        "missing": missing,
        "members": [{"name": to_text(m.get("Name")), "version": _version(m)} for m in members if isinstance(m, dict)],
    }


def consul_client_acl_tokens(clients):
    """One agent token per client agent, named agent-<node>: the rights of a node identity
    (write its own node, read services), as a policy the role's token tasks create.

    Consul's node identities (1.8.1+) would do the same, but the token module creates tokens
    from policies; a policy of its own also shows the node's name in the policy list."""
    return [{
        "name": "agent-%s" % c["name"],
        "description": "Consul client agent %s - its own node (node identity rights)" % c["name"],
        "rules": 'node "%s" { policy = "write" }\nservice_prefix "" { policy = "read" }\n' % c["name"],
    } for c in clients or []]


def consul_agent_token_name(local):
    """The ACL token in this host's secrets.json: a client's own, or the servers' shared "agent"."""
    clients = [i for i in local or [] if i.get("client")]
    return consul_client_acl_tokens(clients)[0]["name"] if clients else "agent"


class FilterModule:
    def filters(self):
        return {
            "consul_agent_mode": consul_agent_mode,
            "consul_client_acl_tokens": consul_client_acl_tokens,
            "consul_agent_token_name": consul_agent_token_name,
            "consul_client_instances": consul_client_instances,
            "consul_join_precheck": consul_join_precheck,
            "consul_join_state": consul_join_state,
        }
