# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for release checksum files (``sha256sum`` output: ``<hex>  <name>``) and for explicit
checksum values in ``ansible.builtin.get_url``'s ``checksum`` syntax."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$")
_HEX = re.compile(r"^[0-9a-fA-F]{64}$")
# get_url fetches these schemes for a checksum file; anything else after "sha256:" is a typo.
_URL = re.compile(r"^(https?|ftp|file)://\S+$")


def checksum_entry(text, filename, bare=False):
    """Return the lower-case SHA256 listed for ``filename`` in ``text``, or '' when absent.

    ``bare``: also accept a file holding nothing but one digest (some projects publish a
    ``<file>.sha256`` that way; get_url accepts it too)."""
    if not isinstance(text, str):
        raise AnsibleFilterError("checksum_entry expects the checksum file's text, got %s" % type(text).__name__)
    if bare and _HEX.match(text.strip()):
        return text.strip().lower()
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        # Releases list paths like "./x.zip" or "dist/x.zip" in some checksum files.
        if m and m.group(2).rsplit("/", 1)[-1] == filename:
            return m.group(1).lower()
    return ""


def checksum_spec(value):
    """Split an explicit ``sha256:<hex>`` or ``sha256:<URL of a checksum file>`` value.

    Returns ``{"sha256": <lower-case hex or ''>, "url": <URL or ''>}``; both are empty when the value
    is neither, so the caller can fail with a message naming its own variable."""
    if not isinstance(value, str):
        return {"sha256": "", "url": ""}
    algo, _sep, rest = value.strip().partition(":")
    rest = rest.strip()
    if algo.lower() != "sha256":
        return {"sha256": "", "url": ""}
    if _HEX.match(rest):
        return {"sha256": rest.lower(), "url": ""}
    if _URL.match(rest):
        return {"sha256": "", "url": rest}
    return {"sha256": "", "url": ""}


class FilterModule:
    def filters(self):
        return {"checksum_entry": checksum_entry, "checksum_spec": checksum_spec}
