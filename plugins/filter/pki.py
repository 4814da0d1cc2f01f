# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a certificate the internal _pki role issues asks for: its alternative names and usages."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError
from ansible.module_utils.parsing.convert_bool import boolean


def _names(values, var):
    if not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise AnsibleFilterError("%s must be a list of strings, got %r" % (var, values))
    return list(values)


def pki_subject_alt_names(dns_names, ip_addresses):
    """The subjectAltName entries: each DNS name as ``DNS:<name>``, then each address as ``IP:<address>``."""
    return (["DNS:" + name for name in _names(dns_names, "pki_cert_dns_names")]
            + ["IP:" + address for address in _names(ip_addresses, "pki_cert_ip_addresses")])


def pki_extended_key_usage(client):
    """Server authentication, and client authentication too for a server that presents itself to others."""
    try:
        client = boolean(client, strict=True)
    except TypeError:
        raise AnsibleFilterError("pki_cert_client %r is not a boolean" % (client,)) from None
    return ["serverAuth", "clientAuth"] if client else ["serverAuth"]


class FilterModule:
    def filters(self):
        return {"pki_subject_alt_names": pki_subject_alt_names, "pki_extended_key_usage": pki_extended_key_usage}
