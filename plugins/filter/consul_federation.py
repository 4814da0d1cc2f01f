# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Datacenters of the Consul servers, from inventory alone: who joins whom over LAN and over WAN.

Each server instance carries the ``consul_datacenter`` of its host (group_vars or host_vars).
A datacenter's servers form one Raft cluster: its LAN retry_join, bootstrap_expect, leader checks,
rolling restarts and load balancer use its own servers only. With more than one datacenter,
every server also joins the servers of all the OTHER datacenters over WAN (their serf_wan ports;
the seed's several-servers-per-host topology gives each instance its own).

With a single datacenter nothing here changes what is rendered: the federation model then has
no WAN peers and no primary unless the operator names one.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.sdstack.consul.plugins.filter.host_address import host_value

# roles/consul/defaults/main.yml: consul_datacenter. A server without one is in this datacenter
# (a unit test keeps the two equal).
DEFAULT_DATACENTER = "dc1"
# Consul's own rule for datacenter names (agent/config/builder.go: alphanumerics, _ and -).
_DC_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
# What every agent of a federation must share, with the role's defaults for hosts that leave them
# unset (a unit test keeps these equal to defaults/main.yml): WAN gossip needs the same gossip key
# on every server, and TLS the same CA; both come from consul_secrets_dir on the controller.
SHARED = (
    ("consul_secrets_dir", ""),
    ("consul_gossip_encryption", False),
    ("consul_tls", False),
    ("consul_acl", False),
)
# Keys of consul_extra_config / an instance's extra_config that name servers to join.
JOIN_KEYS = ("retry_join", "retry_join_wan")


def _fail(msg):
    raise AnsibleFilterError(msg)


def datacenter_name(value, where):
    """A datacenter name as Consul accepts it, or one line naming ``where`` and the value."""
    if not isinstance(value, str) or not _DC_NAME.match(value):
        _fail("%s: %r is not a datacenter name (letters, digits, _ and - only)" % (where, value))
    return value


def _explicit(hostvars, host):
    """The host's consul_datacenter from inventory, or None when unset."""
    value = host_value(hostvars[host], "consul_datacenter") if hostvars is not None else None
    if value in (None, ""):
        return None
    return datacenter_name(value, "consul_datacenter of %s" % host)


def _resolve(servers, hostvars, local_datacenter):
    """Each server instance with its ``datacenter``; one line for a server without one while
    others are explicit and several datacenters exist."""
    explicit = {s["host"]: _explicit(hostvars, s["host"]) for s in servers}
    named = [dc for dc in explicit.values() if dc]
    if not named:
        # Nobody names one: a single datacenter, the one the role runs with (role vars included).
        only = datacenter_name(local_datacenter or DEFAULT_DATACENTER, "consul_datacenter")
        return [dict(s, datacenter=only) for s in servers]
    unset = [s["host"] for s in servers if not explicit[s["host"]]]
    several = set(named) | ({DEFAULT_DATACENTER} if unset else set())
    if unset and len(several) > 1:
        _fail("consul_datacenter is not set for server %s while others name theirs (%s): with several"
              " datacenters set it for every server, in group_vars or host_vars"
              % (", ".join(sorted(set(unset))), ", ".join(sorted(set(named)))))
    return [dict(s, datacenter=explicit[s["host"]] or DEFAULT_DATACENTER) for s in servers]


def _order(servers):
    out = []
    for s in servers:
        if s["datacenter"] not in out:
            out.append(s["datacenter"])
    return out


def _flag(value, name):
    try:
        return boolean(value, strict=True)
    except TypeError:
        _fail("%s: %r is not a boolean" % (name, value))
    return False  # unreachable


def _check_shared(hostvars, servers):
    """One gossip key, one CA, one ACL system across the federation: each datacenter's first
    server host must agree with the others' (within a datacenter the role's own checks apply)."""
    first = {}
    for s in servers:
        first.setdefault(s["datacenter"], s["host"])
    for name, default in SHARED:
        seen = []
        for dc, host in first.items():
            value = host_value(hostvars[host], name, default) if hostvars is not None else default
            if isinstance(default, bool):
                value = _flag(value, "%s of %s" % (name, host))
            seen.append((dc, host, value))
        if len({entry[2] for entry in seen}) > 1:
            parts = ", ".join("%s %r on %s (%s)" % (name, v, h, dc) for dc, h, v in seen)
            why = ("ACLs are one system across datacenters" if name == "consul_acl" else
                   "WAN gossip needs the same gossip key and TLS the same CA in every datacenter, and both come"
                   " from consul_secrets_dir")
            _fail("datacenters disagree on %s: %s: %s" % (name, parts, why))


def _join_overrides(hostvars, server):
    """retry_join / retry_join_wan an operator set for ``server`` (consul_extra_config of its host,
    then the instance's extra_config, which wins as the configuration merge does)."""
    out = {}
    for source in ((host_value(hostvars[server["host"]], "consul_extra_config") if hostvars is not None else None),
                   server.get("extra_config")):
        if isinstance(source, dict):
            for key in JOIN_KEYS:
                if key in source:
                    out[key] = source[key]
    return out


def _check_overrides(hostvars, servers):
    """A datacenter's server set is the servers that name it. A retry_join override conflicts when
    it names a server of another datacenter, or when servers of one datacenter list different sets."""
    lan = {"%s:%d" % (s["address"], s["ports"]["serf_lan"]): s for s in servers}
    per_dc = {}
    for s in servers:
        joins = _join_overrides(hostvars, s).get("retry_join")
        if joins is None:
            continue
        if not isinstance(joins, list):
            _fail("retry_join of %s: %r is not a list of addresses" % (s["name"], joins))
        for addr in joins:
            other = lan.get(str(addr))
            if other and other["datacenter"] != s["datacenter"]:
                _fail("retry_join of %s (datacenter %s) names %s, server %s of datacenter %s: a datacenter's"
                      " servers join only each other over LAN (the other datacenters are joined over WAN)"
                      % (s["name"], s["datacenter"], addr, other["name"], other["datacenter"]))
        first = per_dc.setdefault(s["datacenter"], (s["name"], sorted(str(a) for a in joins)))
        if first[1] != sorted(str(a) for a in joins):
            _fail("retry_join of %s and %s (both datacenter %s) list different servers: %s vs %s: one datacenter"
                  " name, one server set" % (first[0], s["name"], s["datacenter"], ", ".join(first[1]),
                                             ", ".join(sorted(str(a) for a in joins))))


def consul_federation(servers, hostvars=None, primary="", acl=False, local_datacenter=None):
    """The federation model: every server with its datacenter, the datacenters in inventory order,
    the primary, and whether there are several. Refuses, with one line, a server without a
    datacenter among several, a primary without servers, ACLs across datacenters without a
    primary, settings the datacenters must share but do not, and conflicting retry_join overrides.
    """
    if not servers:
        _fail("no Consul server instances: the Consul group is empty")
    resolved = _resolve(servers, hostvars, local_datacenter)
    datacenters = _order(resolved)
    several = len(datacenters) > 1
    primary = "" if primary in (None, "") else datacenter_name(primary, "consul_primary_datacenter")
    if primary and primary not in datacenters:
        _fail("consul_primary_datacenter: %r has no servers (datacenters with servers: %s)"
              % (primary, ", ".join(datacenters)))
    if several and _flag(acl, "consul_acl") and not primary:
        _fail("consul_primary_datacenter: required with ACLs across several datacenters (%s): name the one that"
              " holds the authoritative ACLs" % ", ".join(datacenters))
    if several:
        _check_shared(hostvars, resolved)
        _check_overrides(hostvars, resolved)
    return {"servers": resolved, "datacenters": datacenters, "primary": primary, "several": several}


def consul_datacenter_servers(federation, datacenter, who="this host"):
    """The server instances of ``datacenter``; one line when it has none (a client agent or a load
    balancer placed in a datacenter without servers)."""
    datacenter = datacenter_name(datacenter, "consul_datacenter of %s" % who)
    out = [s for s in federation["servers"] if s["datacenter"] == datacenter]
    if not out:
        _fail("consul_datacenter of %s: %r has no servers (datacenters with servers: %s)"
              % (who, datacenter, ", ".join(federation["datacenters"])))
    return out


def consul_retry_join_wan(federation, datacenter):
    """address:serf_wan of every server of every OTHER datacenter; empty with one datacenter."""
    if not federation["several"]:
        return []
    return ["%s:%d" % (s["address"], s["ports"]["serf_wan"]) for s in federation["servers"]
            if s["datacenter"] != datacenter and s["ports"]["serf_wan"] != -1]


def consul_wan_settings(federation, datacenter, server=True, acl=False):
    """What the agent configuration adds for the federation: retry_join_wan (servers, several
    datacenters), primary_datacenter (every agent, when named) and ACL token replication
    (servers outside the primary, ACLs on). Empty with one datacenter and no primary."""
    out = {}
    server = _flag(server, "server")
    if federation.get("primary"):
        out["primary_datacenter"] = federation["primary"]
    if server and federation["several"]:
        out["retry_join_wan"] = consul_retry_join_wan(federation, datacenter)
        if _flag(acl, "consul_acl") and federation.get("primary") and datacenter != federation["primary"]:
            # The replication token itself goes into secrets.json (consul_agent_secrets'
            # replication_token), never into consul.json.
            out["acl"] = {"enable_token_replication": True}
    return out


# The rights Consul asks of a secondary datacenter's replication token: ACL objects (tokens and
# policies), and what its servers replicate beside them (config entries, intentions, the Connect CA).
REPLICATION_TOKEN = {
    "name": "acl-replication",
    "description": "Servers outside the primary datacenter - ACL, config entry and intention replication",
    "rules": 'acl = "write"\noperator = "write"\nservice_prefix "" { policy = "read" intentions = "read" }\n',
}


def consul_replication_acl_tokens(federation, acl=False):
    """The federation's ACL replication token (a list of one) when ACLs span several datacenters with
    a primary: created in the primary like every other token, it goes into secrets.json of the servers
    that replicate (consul_wan_settings' acl.enable_token_replication). Else an empty list."""
    if _flag(acl, "consul_acl") and federation["several"] and federation.get("primary"):
        return [dict(REPLICATION_TOKEN)]
    return []


def consul_acl_datacenter(federation, datacenter):
    """The datacenter whose servers the role's ACL tasks talk to: the primary once named (tokens
    made there are global and replicate), else the host's own."""
    return federation.get("primary") or datacenter


class FilterModule:
    def filters(self):
        return {
            "consul_federation": consul_federation,
            "consul_datacenter_servers": consul_datacenter_servers,
            "consul_retry_join_wan": consul_retry_join_wan,
            "consul_wan_settings": consul_wan_settings,
            "consul_acl_datacenter": consul_acl_datacenter,
            "consul_replication_acl_tokens": consul_replication_acl_tokens,
        }
