# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cluster's server instances, computed from inventory data alone.

Every host of the Consul group may run several server instances (the seed's one-host cluster)
or one (one server per VM). retry_join, bootstrap_expect and the load balancer's upstreams all
derive from this one list, so it never needs facts of hosts outside --limit.
"""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.utils.display import Display
from ansible_collections.sdstack.consul.plugins.filter.host_address import host_address, host_value
from ansible_collections.sdstack.consul.plugins.module_utils._addresses import is_ip

# grpc and grpc_tls are off (-1) unless set: from Consul 1.14 the agent would bind 8503 by
# itself, and instances sharing a host would collide on it.
PORT_NAMES = ("http", "dns", "server", "serf_lan", "serf_wan", "grpc", "grpc_tls")
DEFAULT_PORTS = dict(http=8500, dns=8600, server=8300, serf_lan=8301, serf_wan=8302, grpc=-1, grpc_tls=-1)
INSTANCE_KEYS = {"name", "ports", "data_dir", "log_level", "ui", "extra_config"}

display = Display()


def _port(value, where):
    try:
        port = int(value)
    except (TypeError, ValueError):
        raise AnsibleFilterError("%s: %r is not a port number" % (where, value)) from None
    if isinstance(value, bool) or not (port == -1 or 1 <= port <= 65535):
        raise AnsibleFilterError("%s: %r is not a port number (1-65535, or -1 to disable)" % (where, value))
    return port


def _check_client_address(hv, host):
    """consul_client_address: space-separated IPs (a go-sockaddr template is left to Consul).

    Consul's own complaint comes only at `consul validate`, on several lines; this one names
    the host and the value before anything is installed.
    """
    value = host_value(hv, "consul_client_address")
    if not value or not isinstance(value, str) or "{{" in value:
        return
    for part in str(value).split():
        if not is_ip(part):
            raise AnsibleFilterError("consul_client_address of %s: %r is not an IP address (in %r)"
                                     % (host, part, str(value)))


def consul_instances(hostvars, hosts, data_root="/opt/consul", default_ports=None):
    """All server instances of ``hosts``, normalised, validated, in inventory order.

    Each: host, name, address, ports (all of PORT_NAMES), data_dir, log_level, ui, extra_config.
    A host without ``consul_instances`` runs one instance named after its short host name.
    """
    base_ports = dict(DEFAULT_PORTS, **(default_ports or {}))
    out = []
    for host in hosts:
        hv = hostvars[host]
        address = host_address(hostvars, host)
        _check_client_address(hv, host)
        declared = host_value(hv, "consul_instances") or [{"name": host.split(".")[0]}]
        if not isinstance(declared, list):
            raise AnsibleFilterError("consul_instances of %s must be a list of instances" % host)
        for i, inst in enumerate(declared):
            where = "consul_instances[%d] of %s" % (i, host)
            if not isinstance(inst, dict) or not inst.get("name"):
                raise AnsibleFilterError("%s: each instance needs a name" % where)
            unknown = sorted(set(inst) - INSTANCE_KEYS)
            if unknown:
                raise AnsibleFilterError("%s: unknown key(s) %s (known: %s)"
                                         % (where, ", ".join(unknown), ", ".join(sorted(INSTANCE_KEYS))))
            name = to_text(inst["name"])
            ports = dict(base_ports)
            given = inst.get("ports") or {}
            bad = sorted(set(given) - set(PORT_NAMES))
            if bad:
                raise AnsibleFilterError("%s (%s): unknown port name(s) %s (known: %s)"
                                         % (where, name, ", ".join(bad), ", ".join(PORT_NAMES)))
            ports.update(given)
            ports = {k: _port(v, "%s (%s) port %s" % (where, name, k)) for k, v in ports.items()}
            out.append(dict(
                host=host, name=name, address=to_text(address), ports=ports,
                data_dir=to_text(inst.get("data_dir") or "%s/%s" % (data_root.rstrip("/"), name)),
                log_level=inst.get("log_level"), ui=inst.get("ui"),
                extra_config=inst.get("extra_config") or {},
            ))
    _check(out)
    return out


def _check(instances):
    if not instances:
        raise AnsibleFilterError("no Consul server instances: the Consul group is empty")
    seen = {}
    for inst in instances:
        if inst["name"] in seen:
            raise AnsibleFilterError("node name %s is used twice (on %s and %s): node names must be unique"
                                     % (inst["name"], seen[inst["name"]], inst["host"]))
        seen[inst["name"]] = inst["host"]
    # Two instances of one host (or of two hosts sharing an address) must not share a port.
    taken = {}
    dirs = {}
    for inst in instances:
        for pname in PORT_NAMES:
            port = inst["ports"][pname]
            if port == -1:
                continue
            key = (inst["address"], port)
            if key in taken:
                other, oname = taken[key]
                raise AnsibleFilterError("port %d on %s is used by both %s (%s) and %s (%s)"
                                         % (port, inst["address"], other, oname, inst["name"], pname))
            taken[key] = (inst["name"], pname)
        dkey = (inst["host"], inst["data_dir"])
        if dkey in dirs:
            raise AnsibleFilterError("data_dir %s on %s is used by both %s and %s"
                                     % (inst["data_dir"], inst["host"], dirs[dkey], inst["name"]))
        dirs[dkey] = inst["name"]


def consul_retry_join(instances):
    """address:serf_lan of every instance (Consul skips itself)."""
    return ["%s:%d" % (i["address"], i["ports"]["serf_lan"]) for i in instances]


def consul_http_urls(instances, scheme="http"):
    """Base URL of every instance's HTTP API (what consul_raft and the load balancer use)."""
    return ["%s://%s:%d" % (scheme, i["address"], i["ports"]["http"]) for i in instances]


def consul_bootstrap_expect(instances):
    """Number of servers, warning when it cannot tolerate a failure or wastes one."""
    n = len(instances)
    if n == 1:
        display.warning("Consul: a single server has no fault tolerance; use 3 or 5 servers in production")
    elif n % 2 == 0:
        display.warning("Consul: %d servers tolerate no more failures than %d; use an odd number" % (n, n - 1))
    return n


def consul_folders(instances, config_root, user, group, tls=False):
    """The folders this host's instances need, for the directories module: the configuration root,
    the TLS folder when ``tls`` (root-owned, readable by the consul group, as each instance's
    configuration folder), each instance's configuration folder, its data folder (the consul
    user's own) and its unit drop-in folder."""
    out = [{"path": config_root, "owner": "root", "group": group, "mode": "0750"}]
    if tls:
        out.append({"path": config_root + "/tls", "owner": "root", "group": group, "mode": "0750"})
    out += [{"path": "%s/%s" % (config_root, i["name"]), "owner": "root", "group": group, "mode": "0750"}
            for i in instances]
    out += [{"path": i["data_dir"], "owner": user, "group": group, "mode": "0750"} for i in instances]
    out += [{"path": "/etc/systemd/system/consul@%s.service.d" % i["name"], "owner": "root", "group": "root",
             "mode": "0755"} for i in instances]
    return out


class FilterModule:
    def filters(self):
        return {
            "consul_instances": consul_instances,
            "consul_folders": consul_folders,
            "consul_retry_join": consul_retry_join,
            "consul_http_urls": consul_http_urls,
            "consul_bootstrap_expect": consul_bootstrap_expect,
        }
