# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every port one host will listen on, across the collection's roles, checked for clashes.

Each role checks its own ports; only a view of the whole host sees nginx asked to listen where
Prometheus already does, or an exporter given an address without a port (both pass each role's
own checks and break the service at its next start). A host runs a role when it is in that
role's inventory group (as playbooks/site.yml plays them); a role's listen variables come from
the host's inventory, else from the role's own defaults file, so no default is repeated here.
"""

from __future__ import annotations

import os
import re

import yaml

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.module_utils.parsing.convert_bool import boolean
from ansible_collections.sdstack.consul.plugins.filter.consul_lb import consul_instances_of_group, site_listeners
from ansible_collections.sdstack.consul.plugins.filter.host_address import host_value

ROLES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "roles")
# Role, the variable holding its host:port (or its address), and the one holding its port if apart.
LISTENERS = (
    ("prometheus", "prometheus_web_listen_address", None),
    ("node_exporter", "node_exporter_listen_address", None),
    ("cadvisor", "cadvisor_listen_ip", "cadvisor_port"),
)
# Addresses that mean "every address of the host": they clash with any address on that port.
WILDCARDS = ("", "*", "0.0.0.0", "::", "[::]")
_HOST_PORT = re.compile(r"^(?P<host>\[[^\]]*\]|[^:]*):(?P<port>[^:]+)$")


def _fail(msg):
    raise AnsibleFilterError(msg)


def role_defaults(role):
    """The role's defaults/main.yml, as shipped with the collection."""
    path = os.path.join(ROLES_DIR, role, "defaults", "main.yml")
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def _setting(hv, role, name):
    value = host_value(hv, name)
    return role_defaults(role).get(name) if value is None else value


def _port(value, what):
    try:
        port = int(str(value).strip())
    except ValueError:
        port = 0
    if isinstance(value, bool) or not 1 <= port <= 65535:
        _fail("%s: %r is not a port number (1-65535)" % (what, value))
    return port


def _host_and_port(value, what):
    """``host:port``, ``:port`` or ``[v6]:port`` -> (host, port); no port is an error."""
    text = to_text(value).strip()
    m = _HOST_PORT.match(text)
    if not m:
        _fail("%s: %r has no port (host:port, for example 0.0.0.0:9100 or :9100)" % (what, text))
    return m.group("host").strip("[]"), _port(m.group("port"), what)


def _role_listeners(hv, host, role, address_var, port_var):
    what = "%s of %s" % (address_var, host)
    if port_var is None:
        address, port = _host_and_port(_setting(hv, role, address_var), what)
    else:
        address = to_text(_setting(hv, role, address_var) or "")
        port = _port(_setting(hv, role, port_var), "%s of %s" % (port_var, host))
        address_var = "%s/%s" % (address_var, port_var)
    return [{"port": port, "address": address, "user": "%s (%s)" % (role, address_var)}]


def _nginx_listeners(hv, host):
    # The consul_lb role's site as its variables in the host's inventory (else the role's
    # defaults) describe it; the role's own check passes the listeners it computed instead.
    address = to_text(_setting(hv, "consul_lb", "consul_lb_listen_address") or "")
    port = _port(_setting(hv, "consul_lb", "consul_lb_listen_port"), "consul_lb_listen_port of %s" % host)
    tls_port = None
    if boolean(_setting(hv, "consul_lb", "consul_lb_tls"), strict=False):
        tls_port = _port(_setting(hv, "consul_lb", "consul_lb_tls_port"), "consul_lb_tls_port of %s" % host)
    return site_listeners(address, port, tls_port)


def _consul_listeners(hostvars, host):
    # Consul's HTTP and DNS ports follow client_address, the others bind_addr: treated as every
    # address, so a clash on any of them is reported.
    return [{"port": port, "address": "", "user": "consul %s (%s port)" % (inst["name"], name)}
            for inst in consul_instances_of_group(hostvars, [host])
            for name, port in sorted(inst["ports"].items()) if port != -1]


def _clash(a, b):
    return a["port"] == b["port"] and (a["address"] in WILDCARDS or b["address"] in WILDCARDS
                                       or a["address"] == b["address"])


def host_ports(hostvars, host, groups, own=None, role_groups=None):
    """Every port ``host`` listens on, or one line naming both users of a port used twice.

    ``own`` lists the calling role's listeners (``port``, ``address``, ``user``), computed by
    that role (its variables may be play or role parameters, which ``hostvars`` lacks).
    ``role_groups`` maps ``consul``, ``consul_clients``, ``prometheus``, ``node_exporter`` and
    ``cadvisor`` to their inventory groups (default: the role's name, ``consul_servers`` for consul). nginx's
    site (the consul_lb role) counts only when ``role_groups`` names its group as ``consul_lb``:
    a check made before any role runs (playbooks/site.yml) has no ``own`` listeners.
    """
    groups = groups or {}
    role_groups = dict({"consul": "consul_servers", "consul_clients": "consul_clients", "prometheus": "prometheus",
                        "node_exporter": "node_exporter", "cadvisor": "cadvisor"}, **(role_groups or {}))
    hv = hostvars[host]

    def runs(role):
        return role in role_groups and host in (groups.get(role_groups[role]) or [])

    listeners = list(own or [])
    if runs("consul_lb"):
        listeners += _nginx_listeners(hv, host)
    # A client agent (consul_clients) binds the same ports as a one-instance server host.
    if runs("consul") or runs("consul_clients"):
        listeners += _consul_listeners(hostvars, host)
    for role, address_var, port_var in LISTENERS:
        if runs(role):
            listeners += _role_listeners(hv, host, role, address_var, port_var)
    for i, first in enumerate(listeners):
        for second in listeners[i + 1:]:
            if _clash(first, second):
                _fail("port %d on %s is used by both %s and %s"
                      % (first["port"], host, first["user"], second["user"]))
    return sorted(listeners, key=lambda x: (x["port"], x["address"]))


class FilterModule:
    def filters(self):
        return {"host_ports": host_ports}
