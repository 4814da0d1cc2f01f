# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

"""What counts as an IP address or a host name, for the modules and the filters alike."""

from __future__ import annotations

import ipaddress
import re

# A DNS host name; its last label is never all digits, so "10.0.0.300" is not one. The
# underscore variant is for names Consul stores and resolves itself (service addresses).
_LABEL = r"[A-Za-z0-9]([A-Za-z0-9%s-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = r"^(?=.{1,253}\.?$)(%s\.)*(?![0-9]+\.?$)%s\.?$"
HOST_NAME = re.compile(_HOST_NAME % ((_LABEL % "",) * 2))
HOST_NAME_WITH_UNDERSCORE = re.compile(_HOST_NAME % ((_LABEL % "_",) * 2))


def is_ip(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def is_address(value, underscore=False):
    """An IP address or a host name."""
    return is_ip(value) or bool((HOST_NAME_WITH_UNDERSCORE if underscore else HOST_NAME).match(value))
