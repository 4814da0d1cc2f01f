# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Naming of upstream release archives."""

from __future__ import annotations

# uname -m (Ansible's architecture fact) -> the suffix HashiCorp and Prometheus releases use.
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armv7", "armv6l": "armv6", "i386": "386", "i686": "386"}


def release_arch(machine, override=""):
    """Release architecture for a host's ``ansible_facts['architecture']``; ``override`` wins when set."""
    if override:
        return override
    return _ARCH.get(machine, machine)


class FilterModule:
    def filters(self):
        return {"release_arch": release_arch}
