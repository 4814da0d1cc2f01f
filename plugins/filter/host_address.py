# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The address a host's services bind to, advertise and are reached at, from inventory alone."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.text.converters import to_text
from ansible_collections.sdstack.consul.plugins.module_utils._addresses import is_address, is_ip


def host_value(hv, key, default=None):
    """One inventory variable of a host, or ``default`` when unset or undefined."""
    try:
        value = hv[key]
    except (KeyError, TypeError):
        return default
    # Undefined lazy values surface as objects that raise on use: treat them as unset.
    try:
        to_text(value)
    except Exception:  # pylint: disable=broad-except
        return default
    return value


def host_address(hostvars, host, ip_only=False):
    """consul_advertise_address (an IP), else ansible_host, else the inventory host name.

    consul_advertise_address goes into Consul's bind_addr, which takes an IP only (and then
    fails with a misleading "bind_addr cannot be empty"), and every other host's retry_join
    carries it too, so a bad one must stop the run before any host changes. The fallbacks may
    be host names: clients can reach servers by name. With ``ip_only``, a host name gives ""
    (for lists that take IPs only, such as a certificate's IP SANs).
    """
    try:
        hv = hostvars[host]
    except (KeyError, TypeError):
        raise AnsibleFilterError("host_address: %r is not a host of the inventory" % (host,)) from None
    explicit = host_value(hv, "consul_advertise_address")
    if explicit not in (None, ""):
        value = str(to_text(explicit))
        if not is_ip(value):
            raise AnsibleFilterError("consul_advertise_address of %s: %r is not an IP address" % (host, value))
        return value
    source = "ansible_host"
    value = host_value(hv, "ansible_host")
    if value in (None, ""):
        source, value = "inventory host name", host
    value = str(to_text(value))
    if not is_address(value):
        raise AnsibleFilterError("address of %s: %r (from %s) is neither an IP address nor a host name"
                                 % (host, value, source))
    if ip_only and not is_ip(value):
        return ""
    return value


class FilterModule:
    def filters(self):
        return {"host_address": host_address}
