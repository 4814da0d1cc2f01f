# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where an exporter registers in Consul: its own host's agent, or a named agent for a host that
cannot run one (the seed's pattern: the service carries the exporter host's address)."""

from __future__ import annotations

import ipaddress

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible.utils.display import Display
from ansible_collections.sdstack.consul.plugins.filter.host_address import host_address, host_value

display = Display()


def _loopback(address):
    if address in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


def exporter_registration(hostvars, host, name, service_id, agent_host="", service_address=""):
    """agent_host (empty: the host's own agent), address and id of the exporter's registration.

    On a named agent (``<name>_consul_agent_host``), the address must come from the inventory
    (the service address, consul_advertise_address or ansible_host) and not be a loopback: the
    agent's health check and Prometheus reach the exporter there. The id gets the host's short
    name so the agent's own exporter of the same kind keeps its registration.
    """
    agent_host = to_text(agent_host or "")
    service_address = to_text(service_address or "")
    if not agent_host or agent_host == host:
        return {"agent_host": "", "address": service_address or host_address(hostvars, host),
                "id": to_text(service_id)}
    option = "%s_consul_agent_host" % name
    if agent_host not in hostvars:
        raise AnsibleFilterError("%s of %s: %r is not a host of the inventory" % (option, host, agent_host))
    hv = hostvars[host]
    given = service_address or host_value(hv, "consul_advertise_address") or host_value(hv, "ansible_host")
    address = to_text(given) if given else ""
    if not address or _loopback(address):
        raise AnsibleFilterError(
            "%s of %s registers on %s's agent (%s) but has no address %s can reach (got %r): set %s_service_address"
            % (name, host, agent_host, option, agent_host, address, name))
    display.warning("%s of %s is registered on %s's Consul agent, not its own: the service and its check go with"
                    " that agent (when %s is down or leaves, %s of %s leaves the catalog and Prometheus's targets)"
                    % (name, host, agent_host, agent_host, name, host))
    return {"agent_host": agent_host, "address": address, "id": "%s-%s" % (service_id, host.split(".")[0])}


class FilterModule:
    def filters(self):
        return {"exporter_registration": exporter_registration}
