# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The command line of the exporters (node_exporter, cAdvisor) and where the role finds them.

Each returns the arguments of the unit's ExecStart, the port the exporter serves (waited for and
registered in Consul) and the address the role waits on. A listen address without a port, a port
out of range or a flag that repeats one the role sets fails here, before anything changes: the
exporter would otherwise crash-loop while Consul holds its service with a wrong port.
"""

from __future__ import annotations

import json

from ansible.errors import AnsibleFilterError
from ansible_collections.sdstack.consul.plugins.filter.checksums import checksum_spec
from ansible_collections.sdstack.consul.plugins.filter.github_release import github_release_digest
from ansible_collections.sdstack.consul.plugins.filter.prometheus_server import split_listen_address
from ansible_collections.sdstack.consul.plugins.filter.web_config import web_config
from ansible_collections.sdstack.consul.plugins.module_utils._addresses import is_ip

# A wildcard listener is reached on loopback from its own host.
_WILDCARD_HOSTS = ("", "0.0.0.0", "::")
LOOPBACK = "127.0.0.1"


def _fail(msg):
    raise AnsibleFilterError(msg)


def _extra(args, var, own):
    if not isinstance(args, (list, tuple)) or not all(isinstance(a, str) for a in args):
        _fail("%s must be a list of strings, got %r" % (var, args))
    for arg in args:
        name = arg.split("=", 1)[0]
        if name in own:
            _fail("%s: %r is set by the role (%s); use its variable instead" % (var, arg, own[name]))
    return list(args)


def _wait_host(host):
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    return LOOPBACK if host in _WILDCARD_HOSTS else host


def node_exporter_flags(settings):
    """node_exporter's arguments from ``node_exporter_listen_address`` and ``node_exporter_extra_args``."""
    address = settings.get("node_exporter_listen_address")
    host, port = split_listen_address(address, "node_exporter_listen_address")
    extra = _extra(settings.get("node_exporter_extra_args") or [], "node_exporter_extra_args",
                   {"--web.listen-address": "node_exporter_listen_address",
                    "--web.config.file": "node_exporter_web_tls", "--web.config": "node_exporter_web_tls"})
    # HTTPS and basic auth (exporter-toolkit's --web.config.file, node_exporter 1.5 and later).
    web = web_config(settings, "node_exporter")
    args = ["--web.listen-address=%s" % address] + (["--web.config.file=%s" % web["file"]] if web["enabled"] else [])
    out = {"args": args + extra, "port": port, "wait_host": _wait_host(host), "web": web}
    # The role's unit takes the package's name when it runs the package's binary, so the
    # package's own unit file is overridden rather than run beside it.
    if _method(settings, "node_exporter_install_method") == "release":
        out.update(binary=_bin_dir(settings, "node_exporter_bin_dir") + "/node_exporter", unit="node_exporter",
                   replaced_unit="prometheus-node-exporter")
    else:
        out.update(binary="/usr/bin/prometheus-node-exporter", unit="prometheus-node-exporter",
                   replaced_unit="node_exporter")
    return out


def _method(settings, var):
    method = settings.get(var) or "release"
    if method not in ("release", "package"):
        _fail("%s %r must be release or package" % (var, method))
    return method


def _bin_dir(settings, var):
    return str(settings.get(var) or "/usr/local/bin").rstrip("/")


def _port(value, var):
    try:
        port = int(value)
    except (TypeError, ValueError):
        port = 0
    if isinstance(value, bool) or str(value).strip() != str(port) or not 1 <= port <= 65535:
        _fail("%s %r is not a port from 1 to 65535" % (var, value))
    return port


def cadvisor_flags(settings):
    """cAdvisor's arguments from ``cadvisor_port``, ``cadvisor_listen_ip``, ``cadvisor_extra_args``.

    A release install verifies the binary against ``cadvisor_checksum`` when it is set (air-gapped
    users, mirrors), else against the digest GitHub's release API lists for the asset: upstream
    publishes no checksum file. ``release_api`` is that API's URL and ``release_api_on`` where it is
    read: ``controller`` (where the download or the controller-side file is checked), ``host``
    (``cadvisor_download_on: target``) or ``""`` (nothing to read).
    """
    port = _port(settings.get("cadvisor_port"), "cadvisor_port")
    ip = str(settings.get("cadvisor_listen_ip") or "")
    if ip and not is_ip(ip):
        _fail("cadvisor_listen_ip %r is not an IP address (the port is cadvisor_port)" % ip)
    extra = _extra(settings.get("cadvisor_extra_args") or [], "cadvisor_extra_args",
                   {"--port": "cadvisor_port", "--listen_ip": "cadvisor_listen_ip"})
    release = _method(settings, "cadvisor_install_method") == "release"
    checksum = settings.get("cadvisor_checksum") or ""
    api_on = ""
    if release and checksum:
        spec = checksum_spec(checksum)
        if not spec["sha256"] + spec["url"]:
            _fail("cadvisor_checksum %s is not sha256:<64 hex digits> or sha256:<URL of a checksum file>"
                  % json.dumps(checksum))
    elif release:
        # Read where the binary is checked: each host downloads for itself only with "target".
        local = bool(settings.get("cadvisor_binary_path"))
        api_on = "host" if settings.get("cadvisor_download_on") == "target" and not local else "controller"
    api = "%s/repos/google/cadvisor/releases/tags/v%s" % (
        str(settings.get("cadvisor_release_api_url") or "https://api.github.com").rstrip("/"),
        settings.get("cadvisor_version"))
    args = ["--port=%d" % port] + (["--listen_ip=%s" % ip] if ip else []) + extra
    binary = _bin_dir(settings, "cadvisor_bin_dir") + "/cadvisor" if release else "/usr/bin/cadvisor"
    return {"args": args, "port": port, "wait_host": _wait_host(ip), "binary": binary,
            "checksum": checksum if release else "", "release_api": api if api_on else "", "release_api_on": api_on}


def cadvisor_checksum(cmd, answers, asset):
    """The checksum the artifact role verifies cAdvisor's binary against.

    ``cmd``: what ``cadvisor_flags`` returned; ``answers``: the release API's uri results by the
    side that read it (``controller``, ``host``); ``asset``: the file the role downloads. The
    user's ``cadvisor_checksum`` wins; else the asset's digest from the answer read on
    ``cmd.release_api_on``, or one line saying why there is none.
    """
    cmd = cmd or {}
    if not cmd.get("release_api_on"):
        return cmd.get("checksum", "")
    answer = (answers or {}).get(cmd["release_api_on"]) or {}
    tag = cmd["release_api"].rsplit("/", 1)[-1]
    return github_release_digest(answer, asset, tag, cmd["release_api"], "cadvisor_checksum")


def exporter_package_failure(result, facts, name, package):
    """One line for a failed package install (``result``: the apt task's failed result).

    A distribution without the package is named with its release and the way out (the release
    install); any other failure keeps apt's own message.
    """
    result = result or {}
    facts = facts or {}
    reason = result.get("msg", "installing %s failed" % package)
    if "No package matching" in str(result.get("msg") or ""):
        reason = "%s %s (%s) has no package %s; set %s_install_method: release" % (
            facts.get("distribution"), facts.get("distribution_version"), facts.get("distribution_release"),
            package, name)
    return "%s: %s" % (name, reason)


def exporter_unit_state(before, after, unit_changed):
    """``restarted`` when the unit file changed or the binary did (its stat ``before`` and ``after``
    the install), else ``started``: a running exporter keeps running undisturbed.

    Both are the registered results of the stat tasks. When nothing was installed the role skips
    the second stat (``after`` is a skipped result): the binary is then the one ``before`` read."""
    before = (before or {}).get("stat") or {}
    after = before if (after or {}).get("skipped") else (after or {}).get("stat") or {}
    binary_changed = before.get("checksum", "") != after.get("checksum", "")
    return "restarted" if unit_changed or binary_changed else "started"


def exporter_units(state, unit, replaced=()):
    """What one sdstack.consul.systemd_units run does for an exporter: the units it ``replaced`` stopped
    and disabled where they exist, and its own ``unit`` enabled and brought to ``state``
    (exporter_unit_state's answer)."""
    return ([{"name": name, "state": "stopped", "enabled": False, "missing_ok": True} for name in replaced or []]
            + [{"name": unit, "state": state, "enabled": True}])


def exporter_release_needed(installed, marker, before=None, checksum=""):
    """Whether the release install runs for an exporter.

    With a version ``marker`` (text its ``--version`` prints for the wanted release): when the
    registered output of that command (``installed``) lacks it. Without one, the binary read before
    (``before``, a stat result with its sha256) decides: the install runs unless it is the very file
    ``checksum`` (``sha256:<hex>``, a bare binary's digest) pins. A digest that is not known here (a
    checksum file's URL, or none) always installs: the artifact role then verifies the download and
    replaces only a different file."""
    if marker:
        installed = installed or {}
        return marker not in "%s%s" % (installed.get("stdout") or "", installed.get("stderr") or "")
    digest = checksum_spec(checksum or "")["sha256"]
    have = ((before or {}).get("stat") or {}).get("checksum") or ""
    return not digest or have.lower() != digest


class FilterModule:
    def filters(self):
        return {"node_exporter_flags": node_exporter_flags, "cadvisor_flags": cadvisor_flags,
                "cadvisor_checksum": cadvisor_checksum,
                "exporter_package_failure": exporter_package_failure, "exporter_unit_state": exporter_unit_state,
                "exporter_units": exporter_units,
                "exporter_release_needed": exporter_release_needed}
