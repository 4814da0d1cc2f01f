# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The consul_lb role's nginx site, computed and checked in one place.

The role's template only prints what ``consul_lb_site`` returns; every rule about the site
(upstreams from the Consul group, listen strings, the HTTPS redirect, which certificate and key
files it needs, what a value may contain before it is written into nginx's syntax) lives here,
where unit tests reach it. A bad value raises one line naming the variable and the value.
"""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.sdstack.consul.plugins.filter.consul_federation import consul_federation
from ansible_collections.sdstack.consul.plugins.filter.consul_topology import consul_instances
from ansible_collections.sdstack.consul.plugins.filter.host_address import host_value

_UPSTREAM = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):[0-9]{1,5}")
# nginx's time syntax: 660s, 11m, 1m30s, 500ms (no unit means seconds).
_TIME = re.compile(r"([0-9]+(ms|s|m|h|d|w|M|y)?)+")
_HEADER_NAME = re.compile(r"[A-Za-z0-9-]+")
# Characters that end a quoted nginx string early, or a bare word (and would let a value inject
# directives).
BAD_IN_QUOTES = ('"', "\\", "\n", "\r")
BAD_IN_WORDS = BAD_IN_QUOTES + (";", "{", "}", "#", "'")
TIMEOUTS = ("consul_lb_proxy_connect_timeout", "consul_lb_proxy_read_timeout", "consul_lb_proxy_send_timeout")
HTTPS_PORT = 443


def _fail(msg):
    raise AnsibleFilterError(msg)


def _show(value):
    """A value as messages quote it: as given, its line breaks escaped (one line)."""
    return str(value).replace("\r", "\\r").replace("\n", "\\n")


def _int(value):
    """A number as Jinja's int filter reads it: 0 when it is none."""
    try:
        return int(value)
    except (TypeError, ValueError):
        try:
            return int(float(value))
        except (TypeError, ValueError):
            return 0


def _bool(settings, key):
    try:
        return boolean(settings[key], strict=True)
    except TypeError:
        _fail("%s must be true or false, got %r" % (key, settings[key]))
    return None  # unreachable; keeps pylint's inconsistent-return-statements quiet


def _settings(given, keys):
    missing = sorted(k for k in keys if k not in given)
    if missing:
        _fail("consul_lb_site: %s not set (the role's defaults set every one)" % ", ".join(missing))
    return given


def consul_instances_of_group(hostvars, hosts):
    """The Consul server instances of ``hosts``, each host's ``consul_ports`` as its default ports.

    The group's hosts carry the consul role's settings in inventory; reading them there, rather
    than repeating the consul role's defaults, keeps one source of truth.
    """
    per_host = [host_value(hostvars[h], "consul_ports") for h in hosts]
    if all(p == per_host[0] for p in per_host):
        return consul_instances(hostvars, hosts, default_ports=per_host[0])
    return [i for h, p in zip(hosts, per_host) for i in consul_instances(hostvars, [h], default_ports=p)]


def _datacenter_servers(settings, hostvars, hosts, host_datacenter):
    """The group's server instances this nginx forwards to: all of them with one datacenter; with
    several, those of consul_lb_datacenter (else this host's consul_datacenter). An nginx in dc1
    forwards to dc1's servers, which forward ?dc=dc2 requests over WAN themselves: a dc2 outage
    never takes upstreams of dc1's nginx down."""
    federation = consul_federation(consul_instances_of_group(hostvars, hosts), hostvars)
    if not federation["several"]:
        return federation["servers"]
    wanted = settings.get("consul_lb_datacenter") or host_datacenter
    if not wanted:
        _fail("consul_lb_datacenter: the servers of '%s' span several datacenters (%s): name the one this nginx"
              " forwards to (or set consul_datacenter of this host)"
              % (settings["consul_lb_consul_group"], ", ".join(federation["datacenters"])))
    out = [s for s in federation["servers"] if s["datacenter"] == wanted]
    if not out:
        _fail("consul_lb_datacenter: '%s' has no servers in '%s' (datacenters: %s)"
              % (_show(wanted), settings["consul_lb_consul_group"], ", ".join(federation["datacenters"])))
    return out


def _upstreams(settings, hostvars, hosts, host_datacenter=None):
    servers = settings["consul_lb_upstream_servers"]
    group = settings["consul_lb_consul_group"]
    if servers:
        if not isinstance(servers, (list, tuple)):
            _fail("consul_lb_upstream_servers must be a list of host:port, got %r" % (servers,))
    else:
        if not hosts:
            _fail("no upstream for the Consul load balancer: consul_lb_upstream_servers is empty and the inventory"
                  " group '%s' (consul_lb_consul_group) has no hosts" % group)
        servers = ["%s:%d" % (i["address"], i["ports"]["http"])
                   for i in _datacenter_servers(settings, hostvars, hosts, host_datacenter)
                   if i["ports"]["http"] != -1]
        if not servers:
            _fail("no Consul server of group '%s' serves HTTP (every http port is -1)" % group)
    for server in servers:
        if not (isinstance(server, str) and _UPSTREAM.fullmatch(server)
                and 1 <= int(server.rsplit(":", 1)[1]) <= 65535):
            _fail("consul_lb_upstream_servers: '%s' is not host:port with a port in 1-65535" % _show(server))
    return list(servers)


def _check_words(settings):
    words = {k: settings[k] for k in ("consul_lb_server_name", "consul_lb_access_log", "consul_lb_error_log",
                                      "consul_lb_config_path")}
    words["consul_lb_listen_address"] = settings["consul_lb_listen_address"] or "*"
    words["consul_lb_upstream_tls_server_name"] = settings["consul_lb_upstream_tls_server_name"]
    for key, value in words.items():
        text = str(value)
        if not text or any(c in text for c in BAD_IN_WORDS) or (key != "consul_lb_server_name" and " " in text):
            _fail("%s: '%s' must be non-empty, without quotes, backslashes, ';', braces, '#' or line breaks"
                  " (and without spaces, except in server_name)" % (key, _show(text)))


def _headers(settings):
    """Response headers in the order they are sent: the CORS origin first."""
    given = settings["consul_lb_response_headers"] or {}
    if not isinstance(given, dict):
        _fail("consul_lb_response_headers must be a dict of header name to value, got %r" % (given,))
    cors = settings["consul_lb_cors_allow_origin"]
    values = [("consul_lb_cors_allow_origin", cors)]
    values += [("consul_lb_response_headers value of %s" % k, v) for k, v in given.items()]
    for key, value in values:
        text = str(value)
        if any(c in text for c in BAD_IN_QUOTES):
            _fail("%s: '%s' must not contain double quotes, backslashes or line breaks" % (key, _show(text)))
    for name in given:
        if not (isinstance(name, str) and _HEADER_NAME.fullmatch(name)):
            _fail("consul_lb_response_headers: '%s' is not an HTTP header name" % _show(name))
    headers = [("Access-Control-Allow-Origin", str(cors))] if cors else []
    return headers + [(k, str(v)) for k, v in given.items()]


def _check_origins(settings):
    """No wildcard CORS origin once TLS is on (the secure profile, with ACLs)."""
    origins = [("consul_lb_cors_allow_origin", settings["consul_lb_cors_allow_origin"])]
    origins += [("consul_lb_response_headers %s" % k, v) for k, v in (settings["consul_lb_response_headers"] or {}).items()
                if k.lower() == "access-control-allow-origin"]
    for key, value in origins:
        if str(value).strip() == "*":
            _fail("%s: '*' is refused with TLS on (consul_lb_tls or consul_lb_upstream_scheme https): any web page a"
                  " user opens could use the API with the rights of requests without a token and read it; give the"
                  " exact origin (e.g. https://ops.example.com)" % key)


def _file_sources(settings, https, tls):
    """Controller-side files the site needs, by their role in it (name), in install order."""
    def entry(name, var, secret):
        return {"name": name, "var": var, "src": settings[var], "secret": secret}

    out = []
    if https:
        out.append(entry("upstream-ca", "consul_lb_upstream_ca_src", False))
        if settings["consul_lb_upstream_client_cert_src"]:
            out.append(entry("upstream-client-cert", "consul_lb_upstream_client_cert_src", False))
            out.append(entry("upstream-client-key", "consul_lb_upstream_client_key_src", True))
    if tls:
        out.append(entry("front-cert", "consul_lb_tls_cert_src", False))
        out.append(entry("front-key", "consul_lb_tls_key_src", True))
    return out


def _check_tls_inputs(settings, https, tls, listen_port):
    if tls:
        tls_port = settings["consul_lb_tls_port"]
        if not 1 <= _int(tls_port) <= 65535 or _int(tls_port) == listen_port:
            _fail("consul_lb_tls_port: %s is not a port number (1-65535) other than consul_lb_listen_port (%s)"
                  % (_show(tls_port), _show(settings["consul_lb_listen_port"])))
    if https:
        if not settings["consul_lb_upstream_ca_src"]:
            _fail("consul_lb_upstream_ca_src is required when consul_lb_upstream_scheme is https (the CA that signed"
                  " the Consul servers' certificates)")
        cert, key = settings["consul_lb_upstream_client_cert_src"], settings["consul_lb_upstream_client_key_src"]
        if bool(cert) != bool(key):
            _fail("consul_lb_upstream_client_cert_src and consul_lb_upstream_client_key_src go together, but only %s"
                  " is set" % ("consul_lb_upstream_client_cert_src" if cert else "consul_lb_upstream_client_key_src"))
    if tls:
        missing = [k for k in ("consul_lb_tls_cert_src", "consul_lb_tls_key_src") if not settings[k]]
        if missing:
            verb = "is" if len(missing) == 1 else "are"
            _fail("%s %s required when consul_lb_tls is true" % (" and ".join(missing), verb))
    if tls or https:
        _check_origins(settings)


SETTINGS = ("consul_lb_consul_group", "consul_lb_datacenter", "consul_lb_upstream_servers", "consul_lb_ip_hash", "consul_lb_upstream_keepalive",
            "consul_lb_proxy_next_upstream", "consul_lb_upstream_scheme", "consul_lb_upstream_ca_src",
            "consul_lb_upstream_tls_server_name", "consul_lb_upstream_client_cert_src",
            "consul_lb_upstream_client_key_src", "consul_lb_proxy_buffering", "consul_lb_listen_address",
            "consul_lb_listen_port", "consul_lb_default_server", "consul_lb_server_name", "consul_lb_config_path",
            "consul_lb_access_log", "consul_lb_error_log", "consul_lb_cors_allow_origin",
            "consul_lb_response_headers", "consul_lb_extra_directives", "consul_lb_tls", "consul_lb_tls_port",
            "consul_lb_tls_cert_src", "consul_lb_tls_key_src", "consul_lb_tls_redirect_http") + TIMEOUTS


def site_listeners(address, listen_port, tls_port=None):
    """The site's listeners (``port``, ``address``, ``user``) as the host port check counts them;
    ``tls_port`` is None when the site serves plain HTTP only."""
    listeners = [{"port": listen_port, "address": address, "user": "nginx (consul_lb_listen_port)"}]
    if tls_port is not None:
        listeners.append({"port": tls_port, "address": address, "user": "nginx (consul_lb_tls_port)"})
    return listeners


def consul_lb_site(settings, hostvars=None, hosts=None, host_datacenter=None):
    """The site the template prints, from the role's ``consul_lb_*`` variables.

    ``hostvars`` and ``hosts`` (the Consul group's hosts) give the upstreams when
    ``consul_lb_upstream_servers`` is empty; with servers in several datacenters, those of
    ``consul_lb_datacenter``, else of ``host_datacenter`` (this host's consul_datacenter). The
    checks run in a fixed order and the first failing one raises; ``files`` stays empty until
    ``consul_lb_site_files`` names them.
    """
    settings = _settings(settings, SETTINGS)
    upstreams = _upstreams(settings, hostvars, list(hosts or []), host_datacenter)
    listen_port = _int(settings["consul_lb_listen_port"])
    if not 1 <= listen_port <= 65535:
        _fail("consul_lb_listen_port: %s is not a port number (1-65535)" % _show(settings["consul_lb_listen_port"]))
    for key in TIMEOUTS:
        value = settings[key]
        if not (isinstance(value, str) and _TIME.fullmatch(value)):
            _fail("%s: '%s' is not an nginx time (e.g. 660s, 11m, 1m30s, 500ms)" % (key, _show(value)))
    keepalive = _int(settings["consul_lb_upstream_keepalive"])
    if keepalive < 0:
        _fail("consul_lb_upstream_keepalive: %s must be 0 (off) or more" % _show(settings["consul_lb_upstream_keepalive"]))
    _check_words(settings)
    headers = _headers(settings)
    scheme = settings["consul_lb_upstream_scheme"]
    if scheme not in ("http", "https"):
        _fail("consul_lb_upstream_scheme: '%s' must be http or https" % _show(scheme))
    https = scheme == "https"
    tls = _bool(settings, "consul_lb_tls")
    _check_tls_inputs(settings, https, tls, listen_port)

    address = settings["consul_lb_listen_address"]
    host = ("[%s]:" % address if ":" in address else "%s:" % address) if address else ""
    tls_port = _int(settings["consul_lb_tls_port"])
    return {
        "upstreams": upstreams,
        "ip_hash": _bool(settings, "consul_lb_ip_hash"),
        "keepalive": keepalive,
        "default_server": _bool(settings, "consul_lb_default_server"),
        "listen": "%s%d" % (host, listen_port),
        # What the site listens on, for the host's port check (host_ports filter).
        "listeners": site_listeners(address, listen_port, tls_port if tls else None),
        "tls_listen": "%s%d" % (host, tls_port) if tls else None,
        # Plain HTTP only points clients at HTTPS; the port is left out when it is HTTPS's own.
        "redirect_to": ("https://$host%s$request_uri" % ("" if tls_port == HTTPS_PORT else ":%d" % tls_port)
                        if tls and _bool(settings, "consul_lb_tls_redirect_http") else None),
        "server_name": str(settings["consul_lb_server_name"]),
        "access_log": settings["consul_lb_access_log"],
        "error_log": settings["consul_lb_error_log"],
        "headers": headers,
        "scheme": scheme,
        "next_upstream": " ".join(settings["consul_lb_proxy_next_upstream"]) or "off",
        "connect_timeout": settings["consul_lb_proxy_connect_timeout"],
        "read_timeout": settings["consul_lb_proxy_read_timeout"],
        "send_timeout": settings["consul_lb_proxy_send_timeout"],
        "buffering": "on" if _bool(settings, "consul_lb_proxy_buffering") else "off",
        "upstream_tls_server_name": settings["consul_lb_upstream_tls_server_name"] if https else None,
        "tls": tls,
        "extra_directives": list(settings["consul_lb_extra_directives"] or []),
        "file_sources": _file_sources(settings, https, tls),
        "files": {},
    }


def consul_lb_site_files(site, stat_results, files_dir):
    """The site with its certificates and keys named: ``<files_dir>/<name>-<16 hex>.pem``.

    ``stat_results`` are the controller-side stat results of ``site.file_sources`` (sha256
    checksums). A new or changed file gets a new name, so nothing live reads it before
    ``nginx -t`` accepted a site pointing at it.
    """
    installs = []
    for result in stat_results:
        item = result["item"]
        checksum = (result.get("stat") or {}).get("checksum")
        if not checksum:
            _fail("%s: '%s' is not a readable file on the controller" % (item["var"], _show(item["src"])))
        installs.append(dict(item, dest="%s/%s-%s.pem" % (files_dir.rstrip("/"), item["name"], checksum[:16])))
    return dict(site, files={i["name"]: i["dest"] for i in installs}, installs=installs)


def consul_lb_listens_on(site_text, port):
    """Whether an nginx site's text has a ``listen`` directive on ``port`` (any address)."""
    pattern = r"(?m)^[ \t]*listen[ \t]+([^ \t;]*:)?%d[ \t;]" % _int(port)
    return bool(re.search(pattern, site_text or ""))


_SEVERE = re.compile(r"\[(emerg|alert|crit|error)\]")


def consul_lb_nginx_error(failed_result, config_path, installs):
    """One line saying why the site was not applied, from the failed task's result.

    nginx's first error without its timestamp, the site's path in place of the temporary file
    the candidate was checked as, and the variable behind an installed file nginx names.
    """
    lines = str(failed_result.get("stderr") or "").splitlines()
    if not lines:
        return ("the consul_lb site was not applied, the live configuration is unchanged: %s"
                % failed_result.get("msg", "unknown error"))
    said = next((line for line in lines if _SEVERE.search(line)), lines[0])
    said = re.sub(r"^[0-9/]+ [0-9:]+ (?=\[)", "nginx: ", said)
    said = re.sub(r"(?<=\]) [0-9]+#[0-9]+:", "", said)
    said = re.sub(r"[^ ]*ansible-tmp-[^ ]*?(?=:[0-9]+$)", lambda m: config_path, said)
    sources = "".join(" (%s from %s: %s)" % (i["name"], i["var"], i["src"]) for i in installs or []
                      if i["dest"] in said)
    return "nginx rejected the consul_lb site, the live configuration is unchanged: %s%s" % (said, sources)


class FilterModule:
    def filters(self):
        return {
            "consul_lb_site": consul_lb_site,
            "consul_lb_site_files": consul_lb_site_files,
            "consul_lb_listens_on": consul_lb_listens_on,
            "consul_lb_nginx_error": consul_lb_nginx_error,
        }
