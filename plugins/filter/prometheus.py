# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Prometheus scrape configs from the collection's Consul job model.

The prometheus role's template only dumps what this returns, so every rule about the job
model (defaults, validation, one consul_sd_configs entry per server, the keep on the tags and
the labelmap of the service metadata) lives here, where unit tests reach it.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean

JOB_KEYS = {"job_name", "servers", "services", "tags_regex", "labelmap", "token", "scheme", "datacenter",
            "datacenter_label",
            "refresh_interval", "allow_stale", "scrape_interval", "metrics_path", "tls_config", "params",
            "scrape_scheme", "scrape_token", "scrape_tls_config", "scrape_basic_auth"}
# Prometheus tls_config keys that make sense for the Consul API.
TLS_KEYS = {"ca_file", "cert_file", "key_file", "server_name", "insecure_skip_verify"}
# bench/discovery.py measures registration -> target listed with 2s against Prometheus's own 30s
# default (docs/benchmarks.md). Below 2s gains nothing: Prometheus 2.24's discovery and scrape
# managers pass changes on every 5s (discovery/manager.go updatert, scrape/manager.go reloader).
DEFAULT_REFRESH_INTERVAL = "2s"
LABELMAP_REGEX = "__meta_consul_service_metadata_(.+)"
# A scrape's bearer token: `authorization` from Prometheus 2.26 on (the form newer releases
# document); 2.24 and 2.25 know only `bearer_token` (the lab runs 2.24.1).
AUTHORIZATION_SINCE = (2, 26)
# The form the filter writes when the caller names no version: the newest.
NEWEST = (3, 99)
_PROM_VERSION = re.compile(r"^v?(\d+)\.(\d+)(?:\.\d+)?(?:[-+][0-9A-Za-z.+-]*)?$")

# Prometheus's duration syntax (model.ParseDuration): units largest first, each at most once.
_DURATION = re.compile(r"^(\d+y)?(\d+w)?(\d+d)?(\d+h)?(\d+m)?(\d+s)?(\d+ms)?$")
# A target label Prometheus accepts and keeps (names starting with __ are dropped after relabelling).
_LABEL_NAME = re.compile(r"^(?!__)[a-zA-Z_][a-zA-Z0-9_]*$")
_SERVER = re.compile(r"^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
# Python's re and Go's RE2 differ (RE2 has \pL and \z, no look-arounds or back-references), so
# only errors that RE2 raises too reject a regex here; promtool stays the final judge.
_RE2_ALSO_REJECTS = ("missing )", "unbalanced parenthesis", "unterminated character set", "nothing to repeat",
                     "multiple repeat", "bad character range")


def _fail(where, msg):
    raise AnsibleFilterError("%s: %s" % (where, msg))


def _bool(value, where, key):
    try:
        return boolean(value, strict=True)
    except TypeError:
        _fail(where, "%s must be true or false, got %r" % (key, value))
    return None  # unreachable; keeps pylint's inconsistent-return-statements quiet


def is_duration(text):
    """Whether ``text`` is a Prometheus duration greater than zero."""
    return bool(text) and bool(_DURATION.match(text)) and any(c in "123456789" for c in text)


def _duration(value, where, key):
    text = str(value)
    if not is_duration(text):
        _fail(where, "%s %r is not a Prometheus duration (for example 2s, 30s, 1m30s)" % (key, value))
    return text


def _str_list(value, where, key):
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
        _fail(where, "%s must be a list of non-empty strings, got %r" % (key, value))
    return list(value)


def _server(value, where):
    text = str(value)
    if "://" in text:
        _fail(where, "server %r must be host:port without a scheme (set scheme: https for TLS)" % text)
    m = _SERVER.match(text)
    if not m or not 1 <= int(m.group(1)) <= 65535:
        _fail(where, "server %r is not host:port (a Consul HTTP API address, for example 10.0.0.11:8500)" % text)
    return text


def check_regex(regex, where, key="tags_regex"):
    """Reject ``regex`` when Prometheus would, as far as Python's re can tell; return it."""
    if not isinstance(regex, str) or not regex:
        _fail(where, "%s must be a non-empty string, got %r" % (key, regex))
    try:
        # Prometheus anchors every relabel regex this way before compiling it.
        re.compile("^(?:%s)$" % regex)
    except re.error as e:
        if e.msg.startswith(_RE2_ALSO_REJECTS):
            _fail(where, "%s %r is not a valid regular expression: %s" % (key, regex, e.msg))
    return regex


def _tls_config(job, where, ca_file, key="tls_config", scheme_key="scheme"):
    """``key`` of ``job`` checked, or the CA ``ca_file`` alone when ``scheme_key`` is https."""
    tls = job.get(key)
    if tls is None:
        return {"ca_file": ca_file} if ca_file and job.get(scheme_key) == "https" else None
    if not isinstance(tls, dict):
        _fail(where, "%s must be a dict (ca_file, cert_file, key_file, server_name, insecure_skip_verify)" % key)
    unknown = sorted(set(tls) - TLS_KEYS)
    if unknown:
        _fail(where, "%s: unknown key(s) %s (known: %s)" % (key, ", ".join(unknown), ", ".join(sorted(TLS_KEYS))))
    return dict(tls)


def _version(version):
    """(major, minor) of a Prometheus release (string or tuple); None means the newest form."""
    if version is None:
        return NEWEST
    if isinstance(version, (tuple, list)) and len(version) >= 2:
        return int(version[0]), int(version[1])
    m = _PROM_VERSION.match(str(version))
    if not m:
        raise AnsibleFilterError("prometheus_consul_scrape_configs: version %r is not a Prometheus release "
                                 "(for example 2.24.1 or 3.5.0)" % (version,))
    return int(m.group(1)), int(m.group(2))


def _params(value, where):
    """URL parameters of every scrape, as Prometheus reads them: name -> list of values."""
    if not isinstance(value, dict) or not value:
        _fail(where, "params must be a non-empty dict of name: value (or list of values), got %r" % (value,))
    out = {}
    for name, values in value.items():
        values = [values] if isinstance(values, str) else values
        if not isinstance(name, str) or not name:
            _fail(where, "params: %r is not a parameter name" % (name,))
        out[name] = _str_list(values, where, "params." + name)
    return out


def _scrape(job, where, ca_file, version):
    """How Prometheus scrapes the discovered targets: scheme, bearer token, TLS (not the Consul API's)."""
    out = {}
    scheme = job.get("scrape_scheme")
    if scheme is not None:
        if scheme not in ("http", "https"):
            _fail(where, "scrape_scheme %r must be http or https (how Prometheus scrapes the targets)" % (scheme,))
        out["scheme"] = scheme
    token = job.get("scrape_token")
    if token is not None:
        if not isinstance(token, str) or not token.strip():
            _fail(where, "scrape_token must be a non-empty string (the bearer token sent to every target)")
        if version < AUTHORIZATION_SINCE:
            out["bearer_token"] = token.strip()
        else:
            out["authorization"] = {"type": "Bearer", "credentials": token.strip()}
    auth = job.get("scrape_basic_auth")
    if auth is not None:
        if token is not None:
            # Prometheus accepts one authorization per scrape config.
            _fail(where, "scrape_basic_auth and scrape_token exclude each other (one authorization per scrape)")
        out["basic_auth"] = basic_auth(auth, where + ": scrape_basic_auth")
    tls = _tls_config(job, where, ca_file, "scrape_tls_config", "scrape_scheme")
    if tls:
        out["tls_config"] = tls
    return out


def basic_auth(auth, where):
    """Prometheus's basic_auth (username, password) from ``auth``, checked.

    Targets behind an exporter-toolkit web config (--web.config.file) ask for these; the form is
    the same from 2.24 to 3.x.
    """
    if not isinstance(auth, dict) or set(auth) != {"username", "password"}:
        raise AnsibleFilterError("%s must be a dict with exactly username and password, got keys %s"
                                 % (where, sorted(auth) if isinstance(auth, dict) else type(auth).__name__))
    user, password = auth["username"], auth["password"]
    if not isinstance(user, str) or not user or ":" in user:
        raise AnsibleFilterError("%s: username %r is not a user name (non-empty, no colon)" % (where, user))
    if not isinstance(password, str) or not password.strip():
        raise AnsibleFilterError("%s: the password of %s is empty" % (where, user))
    return {"username": user, "password": password.strip()}


def _job(job, index, ca_file=None, version=NEWEST):
    where = "prometheus_consul_jobs[%d]" % index
    if not isinstance(job, dict):
        _fail(where, "each job must be a dict with job_name and servers, got %r" % (job,))
    name = job.get("job_name")
    if not isinstance(name, str) or not name.strip():
        _fail(where, "job_name is required (the job label of every target)")
    where = "%s (%s)" % (where, name)
    unknown = sorted(set(job) - JOB_KEYS)
    if unknown:
        _fail(where, "unknown key(s) %s (known: %s)" % (", ".join(unknown), ", ".join(sorted(JOB_KEYS))))
    servers = job.get("servers")
    if not servers:
        _fail(where, "servers is empty: list one or more Consul HTTP API addresses (host:port), "
                     "for example the load balancer's or every server's")
    servers = [_server(s, where) for s in _str_list(servers, where, "servers")]
    scheme = job.get("scheme") or "http"
    if scheme not in ("http", "https"):
        _fail(where, "scheme %r must be http or https (how Prometheus talks to the Consul API)" % scheme)

    sd = {
        "services": _str_list(job.get("services") or [], where, "services"),
        "scheme": scheme,
        "allow_stale": _bool(job.get("allow_stale", True), where, "allow_stale"),
        "refresh_interval": _duration(job.get("refresh_interval") or DEFAULT_REFRESH_INTERVAL, where,
                                      "refresh_interval"),
    }
    if job.get("datacenter"):
        sd["datacenter"] = str(job["datacenter"])
    if job.get("token"):
        sd["token"] = str(job["token"])
    tls = _tls_config(job, where, ca_file)
    if tls:
        sd["tls_config"] = tls

    out = {"job_name": name}
    if job.get("scrape_interval"):
        out["scrape_interval"] = _duration(job["scrape_interval"], where, "scrape_interval")
    if job.get("metrics_path"):
        if not str(job["metrics_path"]).startswith("/"):
            _fail(where, "metrics_path %r must start with /" % job["metrics_path"])
        out["metrics_path"] = str(job["metrics_path"])
    if job.get("params") is not None:
        out["params"] = _params(job["params"], where)
    out.update(_scrape(job, where, ca_file, version))
    # One entry per server: discovery keeps working while any one of them answers.
    out["consul_sd_configs"] = [dict(server=s, **sd) for s in servers]
    relabel = []
    if job.get("tags_regex") is not None:
        relabel.append({"source_labels": ["__meta_consul_tags"],
                        "regex": check_regex(job["tags_regex"], where), "action": "keep"})
    if _bool(job.get("labelmap", True), where, "labelmap"):
        relabel.append({"regex": LABELMAP_REGEX, "action": "labelmap"})
    if job.get("datacenter_label"):
        # After the labelmap, so the datacenter Consul answered for wins over a service meta key of that name.
        label = _label_name(job["datacenter_label"], where, "datacenter_label")
        relabel.append({"source_labels": ["__meta_consul_dc"], "target_label": label})
    if relabel:
        out["relabel_configs"] = relabel
    return out


def _label_name(value, where, key):
    if not isinstance(value, str) or not _LABEL_NAME.match(value):
        _fail(where, "%s %r is not a target label name (letters, digits and _, not starting with a digit or __)"
              % (key, value))
    return value


def prometheus_consul_scrape_configs(jobs, extra=None, ca_file=None, version=None):
    """Scrape configs for ``jobs`` (the role's job model), followed by ``extra`` as given.

    ``ca_file`` verifies the Consul API of https jobs that bring no tls_config of their own, and
    the targets of jobs scraped over https (scrape_scheme) without a scrape_tls_config.
    ``version`` (the Prometheus release, a string or (major, minor)) picks the bearer token's
    form; None writes the newest.
    """
    version = _version(version)
    if jobs is None:
        jobs = []
    if not isinstance(jobs, (list, tuple)):
        raise AnsibleFilterError("prometheus_consul_jobs must be a list of jobs, got %s" % type(jobs).__name__)
    extra = list(extra or [])
    out = [_job(job, i, ca_file, version) for i, job in enumerate(jobs)]
    for i, cfg in enumerate(extra):
        if not isinstance(cfg, dict) or not cfg.get("job_name"):
            raise AnsibleFilterError("prometheus_scrape_configs[%d]: each scrape config needs a job_name" % i)
    seen = set()
    for cfg in out + extra:
        if cfg["job_name"] in seen:
            raise AnsibleFilterError("job_name %s is used twice: Prometheus needs unique job names "
                                     "(across prometheus_consul_jobs and prometheus_scrape_configs)"
                                     % cfg["job_name"])
        seen.add(cfg["job_name"])
    return out + extra


class FilterModule:
    def filters(self):
        return {"prometheus_consul_scrape_configs": prometheus_consul_scrape_configs}
