# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Prometheus server the prometheus role runs: its configuration and command line, per version.

The role passes its variables in; this returns prometheus.yml as a dict, the flags of the unit's
ExecStart and what the role's tasks need to reach the server. Every value is checked here, so bad
input stops the play before anything changes, with one line naming the variable and the value.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.sdstack.consul.plugins.filter.prometheus import (
    basic_auth, is_duration, prometheus_consul_scrape_configs)
from ansible_collections.sdstack.consul.plugins.filter.web_config import web_config

# The oldest release the role's flags and configuration are shaped for (tests/unit/fixtures/prometheus_keys).
OLDEST = (2, 24)
_VERSION = re.compile(r"^v?(\d+)\.(\d+)\.(\d+)(?:[-+][0-9A-Za-z.+-]*)?$")
# units.Base2Bytes as Prometheus parses --storage.tsdb.retention.size: a number and a unit.
_SIZE = re.compile(r"^\d+(B|KB|MB|GB|TB|PB|EB)$")
_LISTEN = re.compile(r"^(\[[0-9A-Fa-f:.]*\]|[^:\s\[\]]*):(\d{1,5})$")

# Prometheus 3 answers a missing or unknown Content-Type with a failed scrape, where 2.x parsed
# the text format; these are the protocols a scrape config may fall back to.
SCRAPE_PROTOCOLS = ("PrometheusProto", "OpenMetricsText0.0.1", "OpenMetricsText1.0.0", "PrometheusText0.0.4",
                    "PrometheusText1.0.0")
# Flags and feature names that Prometheus 3 no longer has, with what replaces them.
REMOVED_IN_3 = {
    "--storage.tsdb.retention": "use --storage.tsdb.retention.time (prometheus_storage_retention_time)",
    "--storage.tsdb.allow-overlapping-blocks": "overlapping blocks are always allowed",
    "--alertmanager.timeout": "set timeout per Alertmanager in the configuration",
}
FEATURES_DEFAULT_IN_3 = {
    "promql-at-modifier": "always on", "promql-negative-offset": "always on", "new-service-discovery-manager": "always on",
    "expand-external-labels": "always on", "no-default-scrape-port": "always on", "auto-gomemlimit": "always on",
    "remote-write-receiver": "use --web.enable-remote-write-receiver", "agent": "use --agent",
}
# Flags the role sets itself from its variables: given again in prometheus_extra_args they would
# be ambiguous (kingpin keeps the last) or, for the listen address, add a second listener.
OWN_FLAGS = ("--config.file", "--storage.tsdb.path", "--storage.tsdb.retention.time", "--storage.tsdb.retention.size",
             "--web.external-url", "--web.listen-address", "--web.config.file")
WILDCARDS = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]"}


def _fail(msg):
    raise AnsibleFilterError(msg)


def parse_version(value, var="prometheus_version"):
    """(major, minor) of a release version such as 2.24.1 or 3.5.0; refuses older or unknown lines."""
    m = _VERSION.match(str(value or ""))
    if not m:
        _fail("%s %r is not a release version (for example 2.53.4 or 3.5.0)" % (var, value))
    major, minor = int(m.group(1)), int(m.group(2))
    if (major, minor) < OLDEST or major > 3:
        _fail("%s %r is not supported: the role is shaped for Prometheus 2.24 to 3.x" % (var, value))
    return major, minor


def split_listen_address(value, var):
    """(host, port) of ``host:port`` (host may be empty or a bracketed IPv6 address)."""
    text = str(value) if value is not None else ""
    m = _LISTEN.match(text)
    if not m or not 1 <= int(m.group(2)) <= 65535:
        _fail("%s %r is not host:port with a port from 1 to 65535 (for example 0.0.0.0:9090 or :9100)"
              % (var, value))
    return m.group(1), int(m.group(2))


def local_address(host, port):
    """Where a process on the same host reaches a server listening on ``host``."""
    return "%s:%d" % (WILDCARDS.get(host, host), port)


def duration(value, var, required=True):
    text = "" if value is None else str(value)
    if not text and not required:
        return ""
    if not is_duration(text):
        _fail("%s %r is not a Prometheus duration (for example 15s, 1m, 15d)" % (var, value))
    return text


def _size(value, var):
    text = "" if value is None else str(value)
    if text and not _SIZE.match(text):
        _fail("%s %r is not a size (for example 512MB, 10GB)" % (var, value))
    return text


def _route_prefix(url, var):
    if not url:
        return ""
    parts = urlsplit(str(url))
    if parts.scheme not in ("http", "https") or not parts.netloc:
        _fail("%s %r is not an http(s) URL (for example https://example.org/prometheus)" % (var, url))
    return parts.path.rstrip("/")


def _extra_args(args, major):
    var = "prometheus_extra_args"
    if not isinstance(args, (list, tuple)) or not all(isinstance(a, str) for a in args):
        _fail("%s must be a list of strings, got %r" % (var, args))
    for arg in args:
        name, sep, value = arg.partition("=")
        if not name.startswith("--"):
            _fail("%s: %r is not a flag (--name or --name=value)" % (var, arg))
        if name in OWN_FLAGS:
            _fail("%s: %r is set by the role; use its variable instead" % (var, arg))
        if major < 3:
            continue
        if name in REMOVED_IN_3:
            _fail("%s: %s was removed in Prometheus 3: %s" % (var, name, REMOVED_IN_3[name]))
        if name == "--enable-feature" and sep:
            for feature in value.split(","):
                if feature in FEATURES_DEFAULT_IN_3:
                    _fail("%s: --enable-feature=%s has no effect in Prometheus 3 (%s)"
                          % (var, feature, FEATURES_DEFAULT_IN_3[feature]))
    return list(args)


def _bool(value, var):
    try:
        return boolean(value, strict=True)
    except TypeError:
        _fail("%s must be true or false, got %r" % (var, value))
    return None  # unreachable; keeps pylint's inconsistent-return-statements quiet


def _global(s):
    out = {"scrape_interval": duration(s.get("prometheus_scrape_interval"), "prometheus_scrape_interval"),
           "evaluation_interval": duration(s.get("prometheus_evaluation_interval"),
                                           "prometheus_evaluation_interval")}
    timeout = duration(s.get("prometheus_scrape_timeout"), "prometheus_scrape_timeout", required=False)
    if timeout:
        out["scrape_timeout"] = timeout
    labels = s.get("prometheus_external_labels") or {}
    if not isinstance(labels, dict):
        _fail("prometheus_external_labels must be a dict of label: value, got %r" % (labels,))
    if labels:
        out["external_labels"] = labels
    return out


def _fallback(s, major):
    value = s.get("prometheus_fallback_scrape_protocol") or ""
    if value and value not in SCRAPE_PROTOCOLS:
        _fail("prometheus_fallback_scrape_protocol %r is not one of %s" % (value, ", ".join(SCRAPE_PROTOCOLS)))
    # The key does not exist before 3.0, whose scrapes fell back to the text format on their own.
    return value if major >= 3 else ""


def _flags(s, major, config_file, local):
    flags = ["--config.file=%s" % config_file, "--storage.tsdb.path=%s" % s["prometheus_storage_path"]]
    retention = duration(s.get("prometheus_storage_retention_time"), "prometheus_storage_retention_time",
                         required=False)
    if retention:
        flags.append("--storage.tsdb.retention.time=%s" % retention)
    size = _size(s.get("prometheus_storage_retention_size"), "prometheus_storage_retention_size")
    if size:
        flags.append("--storage.tsdb.retention.size=%s" % size)
    if s.get("prometheus_web_external_url"):
        flags.append("--web.external-url=%s" % s["prometheus_web_external_url"])
    flags.extend(_extra_args(s.get("prometheus_extra_args") or [], major))
    flags.append("--web.listen-address=%s" % local["listen"])
    return flags


def prometheus_server(settings):
    """The server for the role's variables ``settings`` (a dict of prometheus_* names to values).

    Returns ``config`` (prometheus.yml), ``flags`` (ExecStart's arguments in order), ``local_url``
    (the server as seen from its own host, route prefix included), ``uses_consul_sd``,
    ``has_secrets`` (the config holds Consul tokens or passwords), ``consul_ca_file``, ``major``, ``web``
    (its web config, filter web_config) and ``client`` (ca_file, basic_auth: how the role reaches it).
    """
    if not isinstance(settings, dict):
        _fail("prometheus_server needs a dict of the role's variables, got %s" % type(settings).__name__)
    s = settings
    major, minor = parse_version(s.get("prometheus_version"))
    host, port = split_listen_address(s.get("prometheus_web_listen_address"), "prometheus_web_listen_address")
    prefix = _route_prefix(s.get("prometheus_web_external_url"), "prometheus_web_external_url")
    address = local_address(host, port)
    config_dir = str(s.get("prometheus_config_dir") or "/etc/prometheus").rstrip("/")
    config_file = config_dir + "/prometheus.yml"
    ca_file = config_dir + "/consul-ca.pem"

    web = web_config(dict(s, prometheus_web_config_dir=config_dir), "prometheus")
    # How the role's tasks and the self-scrape reach the server: its web config's scheme, the
    # cluster's CA that signed its certificate, the scrape user's credentials when it asks for them.
    client = {}
    if web["enabled"]:
        client["ca_file"] = config_dir + "/web-ca.pem"
    if web["basic_auth"]:
        user = s.get("prometheus_web_scrape_user") or ""
        users = s.get("prometheus_web_basic_auth_users") or {}
        if user not in users:
            _fail("prometheus_web_scrape_user %r is not one of prometheus_web_basic_auth_users (%s): the role and "
                  "the self-scrape log in with it" % (user, ", ".join(sorted(users))))
        client["basic_auth"] = basic_auth({"username": user, "password": users[user]}, "prometheus_web_scrape_user")

    self_job = []
    if _bool(s.get("prometheus_self_scrape", True), "prometheus_self_scrape"):
        self_job = [{"job_name": "prometheus", "metrics_path": prefix + "/metrics",
                     "static_configs": [{"targets": [address]}]}]
        if web["enabled"]:
            self_job[0].update({"scheme": "https", "tls_config": {"ca_file": client["ca_file"]}})
        if "basic_auth" in client:
            self_job[0]["basic_auth"] = dict(client["basic_auth"])
    jobs = s.get("prometheus_consul_jobs") or []
    extra = s.get("prometheus_scrape_configs") or []
    if not isinstance(extra, (list, tuple)):
        _fail("prometheus_scrape_configs must be a list of scrape configs, got %r" % (extra,))
    scrape_configs = prometheus_consul_scrape_configs(jobs, self_job + list(extra),
                                                      ca_file if s.get("prometheus_consul_ca_src") else None,
                                                      version=(major, minor))
    fallback = _fallback(s, major)
    if fallback:
        for cfg in scrape_configs[:len(jobs)]:
            cfg["fallback_scrape_protocol"] = fallback

    return {
        "major": major,
        "config": {"global": _global(s), "scrape_configs": scrape_configs},
        "flags": _flags(s, major, config_file, {"listen": s["prometheus_web_listen_address"]})
        + (["--web.config.file=%s" % web["file"]] if web["enabled"] else []),
        "web": web,
        "client": client,
        "config_file": config_file,
        "consul_ca_file": ca_file,
        "port": port,
        "local_url": "%s://%s%s" % (web["scheme"], address, prefix),
        "uses_consul_sd": any("consul_sd_configs" in cfg for cfg in scrape_configs),
        "has_secrets": "basic_auth" in client or any(
            isinstance(j, dict) and (j.get("token") or j.get("scrape_token") or j.get("scrape_basic_auth"))
            for j in jobs),
    }


def prometheus_config_refusal(result):
    """One line for a configuration the template task did not write (``result``: its failed result).

    The template module reports a candidate promtool refused only as "failed to validate", with
    promtool's reason over lines in its output; other failures keep their own message.
    """
    result = result or {}
    if (result.get("msg") or "") != "failed to validate":
        return result.get("msg", "writing the Prometheus configuration failed")
    output = result.get("stderr") or result.get("stdout") or ""
    return "promtool rejected the new Prometheus configuration (the live one is unchanged): " + " ".join(
        str(output).split())


class FilterModule:
    def filters(self):
        return {"prometheus_server": prometheus_server, "prometheus_config_refusal": prometheus_config_refusal}
