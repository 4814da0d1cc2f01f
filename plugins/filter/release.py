# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Naming of upstream release archives, and whether installed binaries are that release."""

from __future__ import annotations

import re

# uname -m (Ansible's architecture fact) -> the suffix HashiCorp and Prometheus releases use.
_ARCH = {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "armv7", "armv6l": "armv6", "i386": "386", "i686": "386"}


def release_arch(machine, override=""):
    """Release architecture for a host's ``ansible_facts['architecture']``; ``override`` wins when set."""
    if override:
        return override
    return _ARCH.get(machine, machine)


def release_installed(results, version):
    """Whether every ``<binary> --version`` run (registered loop results) reports ``version``.

    A binary that is missing, fails or names another release makes it False. Upstream builds print
    "version 2.53.4 (branch: ...)"; Debian's print "version 2.24.1+ds": the version must be followed
    by a space, a '+' or the end of the output.
    """
    pattern = re.compile(r"version %s(?:[ +]|$)" % re.escape(str(version)), re.M)
    results = list(results or [])
    if not results:
        return False
    for r in results:
        out = "%s %s" % (r.get("stdout") or "", r.get("stderr") or "")
        if r.get("rc", 0) != 0 or not pattern.search(out):
            return False
    return True


class FilterModule:
    def filters(self):
        return {"release_arch": release_arch, "release_installed": release_installed}
