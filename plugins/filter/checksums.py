# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters for release checksum files (``sha256sum`` output: ``<hex>  <name>``)."""

from __future__ import annotations

import re

from ansible.errors import AnsibleFilterError

_LINE = re.compile(r"^([0-9a-fA-F]{64})\s+\*?(\S+)\s*$")


def checksum_entry(text, filename):
    """Return the lower-case SHA256 listed for ``filename`` in ``text``, or '' when absent."""
    if not isinstance(text, str):
        raise AnsibleFilterError("checksum_entry expects the checksum file's text, got %s" % type(text).__name__)
    for line in text.splitlines():
        m = _LINE.match(line.strip())
        # Releases list paths like "./x.zip" or "dist/x.zip" in some checksum files.
        if m and m.group(2).rsplit("/", 1)[-1] == filename:
            return m.group(1).lower()
    return ""


class FilterModule:
    def filters(self):
        return {"checksum_entry": checksum_entry}
