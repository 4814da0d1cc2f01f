# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The agent configuration of one Consul server instance, in the form its Consul version reads.

consul.json holds everything but secrets; secrets.json holds the gossip key and the agent token
so that they never show in output or diffs. Key names differ between releases (the TLS stanza
of 1.12, ui_config of 1.9, the gRPC TLS port of 1.14): the target version picks them here,
once, and the rendering tests check every emitted key against that version's key set.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.sdstack.consul.plugins.filter.consul_topology import consul_retry_join

# The oldest release whose configuration keys this model writes.
OLDEST = (1, 8)
# Releases from 1.14 bind the gRPC TLS port (8503) unless it is set to -1; before 1.14 there is
# no such key and the plain gRPC port is off by default.
GRPC_TLS_SINCE = (1, 14)
# The `tls { defaults, internal_rpc, https }` stanza replaced the top-level TLS keys.
TLS_STANZA_SINCE = (1, 12)
# `ui` became `ui_config.enabled`; 1.8 rejects `ui_config`.
UI_CONFIG_SINCE = (1, 9)

GRPC_PORTS = ("grpc", "grpc_tls")
BASE_PORTS = ("http", "dns", "server", "serf_lan", "serf_wan")

SETTINGS = {
    "datacenter", "log_level", "ui", "client_address", "raft_multiplier", "autopilot", "extra_config",
    "tls", "tls_dir", "tls_verify_incoming_https", "acl", "acl_default_policy", "acl_down_policy",
    "gossip_encryption",
}
# Consul's own metrics for Prometheus (GET /v1/agent/metrics?format=prometheus): the endpoint
# answers only while prometheus_retention_time is above zero, and without the host name in every
# metric name, which Prometheus labels by target anyway. Same keys from 1.8 to 1.21.
TELEMETRY = {"prometheus_retention_time": "60s", "disable_hostname": True}
ACL_DEFAULT_POLICIES = ("allow", "deny")
ACL_DOWN_POLICIES = ("allow", "deny", "extend-cache", "async-cache")

# 1.2.3, with an optional pre-release tag (1.9.0-rc1, 1.9.0rc1) or build metadata (+ent).
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:-?[0-9A-Za-z.]+)?(?:\+[0-9A-Za-z.]+)?$")


def consul_version_tuple(version):
    """(major, minor, patch) of a Consul release string, or a one-line error naming it."""
    match = _VERSION.match(str(version).strip()) if isinstance(version, str) else None
    if not match:
        raise AnsibleFilterError("consul_version: %r is not a Consul release (like 1.21.2)" % (version,))
    parsed = tuple(int(part) for part in match.groups())
    if parsed[:2] < OLDEST:
        raise AnsibleFilterError("consul_version: %s is older than %d.%d, the oldest release this role configures"
                                 % (version, OLDEST[0], OLDEST[1]))
    return parsed


def _flag(value, name):
    """Ansible's `bool` reading: extra vars (-e k=v) arrive as strings."""
    if value is None:
        return False
    try:
        return boolean(value, strict=True)
    except TypeError:
        raise AnsibleFilterError("%s: %r is not a boolean" % (name, value)) from None


def _int(value, name):
    if isinstance(value, bool):
        raise AnsibleFilterError("%s: %r is not a whole number" % (name, value))
    try:
        return int(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError("%s: %r is not a whole number" % (name, value)) from None


def _merge(base, extra):
    """Recursive merge as Ansible's combine(recursive=true): dicts merge, anything else replaces."""
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _settings(settings):
    if not isinstance(settings, dict):
        raise AnsibleFilterError("consul settings: expected a mapping, got %r" % (settings,))
    missing = sorted(SETTINGS - set(settings))
    if missing:
        raise AnsibleFilterError("consul settings: missing %s" % ", ".join(missing))
    unknown = sorted(set(settings) - SETTINGS)
    if unknown:
        raise AnsibleFilterError("consul settings: unknown %s" % ", ".join(unknown))
    for name in ("extra_config", "autopilot"):
        if not isinstance(settings[name] or {}, dict):
            raise AnsibleFilterError("consul_%s: %r is not a mapping" % (name, settings[name]))
    return settings


def consul_ports(instance, version):
    """The `ports` block: the five base ports, and the gRPC ports where the version has them.

    A gRPC port is written when the operator enabled it or when the version would otherwise
    bind it by itself (several instances on one host would collide on 8503).
    """
    ver = consul_version_tuple(version)
    ports = instance["ports"]
    out = {name: ports[name] for name in BASE_PORTS}
    for name in GRPC_PORTS:
        value = ports.get(name, -1)
        if name == "grpc_tls" and ver[:2] < GRPC_TLS_SINCE:
            if value != -1:
                raise AnsibleFilterError("ports.grpc_tls of %s: %r needs Consul %d.%d or later (consul_version is %s)"
                                         % (instance["name"], value, GRPC_TLS_SINCE[0], GRPC_TLS_SINCE[1], version))
            continue
        if value != -1 or ver[:2] >= GRPC_TLS_SINCE:
            out[name] = value
    return out


def _tls(settings, ver, cert="server"):
    tls_dir = str(settings["tls_dir"]).rstrip("/")
    files = {"ca_file": tls_dir + "/ca.pem", "cert_file": "%s/%s.pem" % (tls_dir, cert),
             "key_file": "%s/%s-key.pem" % (tls_dir, cert)}
    verify_https = _flag(settings["tls_verify_incoming_https"], "consul_tls_verify_incoming_https")
    if ver[:2] < TLS_STANZA_SINCE:
        return dict(files, verify_incoming_rpc=True, verify_incoming_https=verify_https, verify_outgoing=True,
                    verify_server_hostname=True, tls_min_version="tls12")
    return {"tls": {
        "defaults": dict(files, verify_outgoing=True, tls_min_version="TLSv1_2"),
        "internal_rpc": {"verify_incoming": True, "verify_server_hostname": True},
        "https": {"verify_incoming": verify_https},
    }}


def _acl(settings):
    default_policy = settings["acl_default_policy"]
    down_policy = settings["acl_down_policy"]
    if default_policy not in ACL_DEFAULT_POLICIES:
        raise AnsibleFilterError("consul_acl_default_policy: %r is not one of %s"
                                 % (default_policy, ", ".join(ACL_DEFAULT_POLICIES)))
    if down_policy not in ACL_DOWN_POLICIES:
        raise AnsibleFilterError("consul_acl_down_policy: %r is not one of %s"
                                 % (down_policy, ", ".join(ACL_DOWN_POLICIES)))
    return {"acl": {"enabled": True, "default_policy": default_policy, "down_policy": down_policy}}


def _server_keys(cluster, settings):
    """What only a server reads: it is a server, how many to wait for, Raft timing, autopilot."""
    return {
        "server": True,
        "bootstrap_expect": len(cluster),
        "performance": {"raft_multiplier": _int(settings["raft_multiplier"], "consul_raft_multiplier")},
        "autopilot": settings["autopilot"] or {},
    }


def _client_keys():
    """A client agent (consul_client_instances): no Raft, it joins the servers of ``cluster``."""
    return {"server": False}


def consul_agent_config(instance, cluster, version, settings, federation=None):
    """consul.json of ``instance`` (one entry of consul_instances or consul_client_instances) for
    Consul ``version``; ``cluster`` is always the server instances of the agent's own datacenter
    (retry_join, bootstrap_expect). ``federation``: what consul_wan_settings returns for it
    (retry_join_wan, primary_datacenter, ACL token replication); empty or None with one datacenter."""
    ver = consul_version_tuple(version)
    settings = _settings(settings)
    tls = _flag(settings["tls"], "consul_tls")
    ui_flag = _flag(instance["ui"] if instance.get("ui") is not None else settings["ui"], "consul_ui")
    ports = consul_ports(instance, version)
    if tls:
        ports = dict(ports, http=-1, https=instance["ports"]["http"])
    client = bool(instance.get("client"))
    config = {
        "datacenter": settings["datacenter"],
        "node_name": instance["name"],
        "data_dir": instance["data_dir"],
        "log_level": instance.get("log_level") or settings["log_level"],
        "bind_addr": instance["address"],
        "advertise_addr": instance["address"],
        "client_addr": settings["client_address"] or "127.0.0.1 " + instance["address"],
        "ports": ports,
        "retry_join": consul_retry_join(cluster),
        "leave_on_terminate": False,
        "skip_leave_on_interrupt": True,
        "disable_update_check": True,
        "disable_anonymous_signature": True,
        "telemetry": dict(TELEMETRY),
    }
    config.update(_client_keys() if client else _server_keys(cluster, settings))
    if ver[:2] < UI_CONFIG_SINCE:
        config["ui"] = ui_flag
    else:
        config["ui_config"] = {"enabled": ui_flag}
    if tls:
        config = _merge(config, _tls(settings, ver, "client" if client else "server"))
    if _flag(settings["acl"], "consul_acl"):
        config = _merge(config, _acl(settings))
    if federation:
        if not isinstance(federation, dict):
            raise AnsibleFilterError("consul_agent_config: federation must be a mapping, got %r" % (federation,))
        config = _merge(config, federation)
    config = _merge(config, settings["extra_config"] or {})
    return _merge(config, instance.get("extra_config") or {})


def consul_agent_secrets(gossip_key, agent_token, version, replication_token=None):
    """secrets.json: the gossip key and the agent token, each only when in use.

    ``replication_token``: the ACL replication token of a server outside the primary datacenter
    (acl.enable_token_replication, see consul_wan_settings and consul_replication_acl_tokens)."""
    consul_version_tuple(version)
    out = {}
    if gossip_key:
        out["encrypt"] = str(gossip_key).strip()
    tokens = {}
    if agent_token:
        tokens["agent"] = str(agent_token).strip()
    if replication_token:
        tokens["replication"] = str(replication_token).strip()
    if tokens:
        out["acl"] = {"tokens": tokens}
    return out


def consul_security(settings):
    """Which parts of the secure profile are on, and how the role reaches its own HTTP APIs.

    secure: any of gossip encryption, TLS, ACLs (the controller then keeps secrets);
    scheme and ca_path: each instance's API port speaks HTTPS only once TLS is on, verified
    against the cluster's CA.
    """
    settings = _settings(settings)
    tls = _flag(settings["tls"], "consul_tls")
    secure = tls or any(_flag(settings[name], "consul_" + name) for name in ("gossip_encryption", "acl"))
    return {
        "secure": secure,
        "scheme": "https" if tls else "http",
        "ca_path": str(settings["tls_dir"]).rstrip("/") + "/ca.pem" if tls else "",
    }


_TOKEN_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


def consul_secrets_layout(acl_tokens, secrets_dir, secure):
    """Where the controller keeps the secure profile's secrets, checked; returns the token names.

    Each token's secret lands in <secrets_dir>/acl/<name>.token, so a name must be unique (the
    servers' own "agent" token comes first in ``acl_tokens``) and safe as a file name.
    """
    secrets_dir = "" if secrets_dir is None else str(secrets_dir)
    if _flag(secure, "secure profile") and not secrets_dir:
        raise AnsibleFilterError("consul_secrets_dir: set a controller folder for this cluster's gossip key, CA and ACL"
                                 " tokens (consul_gossip_encryption, consul_tls or consul_acl is on)")
    if secrets_dir and not secrets_dir.startswith("/"):
        raise AnsibleFilterError("consul_secrets_dir: %s is not an absolute path" % secrets_dir)
    names = [str(t.get("name", "")) if isinstance(t, dict) else repr(t) for t in acl_tokens or []]
    if len(set(names)) != len(names) or not all(_TOKEN_NAME.match(n) for n in names):
        raise AnsibleFilterError('consul_acl_tokens: names must be unique, start with a letter or digit and hold only'
                                 ' letters, digits, _ . - ("agent" is taken): %s' % ", ".join(n or "''" for n in names))
    return names


class FilterModule:
    def filters(self):
        return {
            "consul_agent_config": consul_agent_config,
            "consul_agent_secrets": consul_agent_secrets,
            "consul_security": consul_security,
            "consul_secrets_layout": consul_secrets_layout,
        }
