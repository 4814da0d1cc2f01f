# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""How the artifact role gets one release onto a host: where it downloads, unpacks and copies from.

The role has one path (download, verify, unpack, install) run on the controller or on the host;
this works out the paths and checksums of that path from the role's inputs, and refuses inputs a
spec cannot express (which fields each artifact type needs) in one line, before any download.
"""

from __future__ import annotations

import json
import os
import re

from ansible.errors import AnsibleFilterError
from ansible_collections.sdstack.consul.plugins.filter.checksums import checksum_entry, checksum_spec

_STEM = re.compile(r"(\.zip|\.tar\.gz|\.tgz)$")


def _fail(name, msg):
    raise AnsibleFilterError("%s: %s" % (name, msg))


def artifact_plan(inputs):
    """The plan for the role's ``artifact_*`` inputs (a dict keyed by their names).

    ``side`` is ``controller`` (download and unpack once on the controller, copy the binaries out;
    also for a controller-side file) or ``host``; ``sources`` pairs each installed file with the
    path it is copied from on that side.
    """
    name = inputs["artifact_name"]
    archive = inputs["artifact_archive"]
    binaries = list(inputs.get("artifact_binaries") or [])
    binary = inputs.get("artifact_type", "archive") == "binary"
    local = str(inputs.get("artifact_local_path") or "")
    spec = checksum_spec(inputs.get("artifact_checksum") or "")
    if binary and not (spec["sha256"] or spec["url"]):
        _fail(name, "artifact_checksum %s is not sha256:<64 hex digits> or sha256:<URL of a checksum file>"
              % json.dumps(inputs.get("artifact_checksum") or ""))
    if binary and [b.get("src") for b in binaries] != [archive]:
        _fail(name, "a bare binary installs exactly one file, named like artifact_archive (%s)" % archive)
    if not binary and not inputs.get("artifact_checksums"):
        _fail(name, "artifact_checksums (the release checksum file) is required for an archive")

    side = "controller" if local or inputs.get("artifact_unpack_on", "controller") == "controller" else "host"
    root = inputs["artifact_cache_dir"] if side == "controller" else inputs["artifact_target_cache_dir"]
    cache = "%s/%s" % (str(root).rstrip("/"), name)
    download = local or "%s/%s" % (cache, archive)
    unpacked = "" if binary else "%s/%s" % (cache, _STEM.sub("", archive))
    return {
        "side": side,
        "local": bool(local),
        "binary": binary,
        "cache": cache,
        "download": download,
        "url": "%s/%s" % (inputs["artifact_base_url"], archive),
        # get_url's checksum: the caller's value (bare binaries) or the release's checksum file.
        "checksum": "sha256:" + (spec["sha256"] or spec["url"] if binary
                                 else "%s/%s" % (inputs["artifact_base_url"], inputs["artifact_checksums"])),
        "unpacked": unpacked,
        "needs_unzip": side == "host" and archive.endswith(".zip"),
        "sources": [{"src": download if binary else "%s/%s" % (unpacked, b["src"]), "dest": b["dest"]}
                    for b in binaries],
        "folders": sorted({b["dest"].rsplit("/", 1)[0] or "/" for b in binaries}),
    }


def artifact_download_retryable(result):
    """Whether a failed get_url may mend itself: a transport failure, not an HTTP 4xx or a mismatch."""
    if not isinstance(result, dict) or not result.get("failed"):
        return False
    status = result.get("status_code", -1)
    try:
        status = int(status)
    except (TypeError, ValueError):
        status = -1
    return str(result.get("msg", "")).startswith("Request failed") and not 400 <= status < 500


def artifact_download_failure(result, name, url):
    """One line for a failed download: get_url says only "Request failed" and keeps the rest elsewhere."""
    result = result if isinstance(result, dict) else {}
    answer = result.get("response") or result.get("msg") or "unknown error"
    return " ".join(("%s: download of %s failed: %s" % (name, result.get("url") or url, answer)).split())


def artifact_local_sums(stat, inputs):
    """Where the digest of the controller-side file (``stat``: its stat result) is read from.

    A bare binary's digest is the caller's ``sha256:<hex>`` or the one in the file at its
    ``sha256:<URL>``; an archive's is its entry in the release checksum file beside it. ``lookup``,
    ``terms`` and ``options`` are the controller lookup that reads that text; ``terms`` is empty when
    there is nothing to read, also for a missing file, so no URL is fetched for it. ``source`` names
    where the digest was looked for in a message.
    """
    binary = inputs.get("artifact_type", "archive") == "binary"
    if binary:
        spec = checksum_spec(inputs.get("artifact_checksum") or "")
        sums = {"digest": spec["sha256"], "bare": True, "source": spec["url"] or "artifact_checksum",
                "lookup": "ansible.builtin.url", "terms": [spec["url"]] if spec["url"] else [],
                "options": {"split_lines": False}}
    else:
        path = "%s/%s" % (os.path.dirname(str(inputs.get("artifact_local_path") or "")), inputs["artifact_checksums"])
        sums = {"digest": "", "bare": False, "source": path, "lookup": "ansible.builtin.file", "terms": [path],
                "options": {}}
    if not (stat or {}).get("exists"):
        sums["terms"] = []
    sums["archive"] = inputs["artifact_archive"]
    return sums


def artifact_local_verdict(stat, sums, text):
    """Why the controller-side file (``stat``: its stat result) is refused, or '' when it is verified.

    ``sums`` is artifact_local_sums' answer, ``text`` what its lookup read (None or empty when
    nothing was read).
    """
    stat = stat or {}
    if not stat.get("exists"):
        return "no such file"
    expected = sums["digest"] or checksum_entry(text or "", sums["archive"], bare=sums["bare"])
    if len(expected) != 64:
        return "no entry for %s in %s" % (sums["archive"], sums["source"])
    if stat.get("checksum") != expected:
        return "checksum mismatch: sha256 %s, expected %s" % (stat.get("checksum"), expected)
    return ""


class FilterModule:
    def filters(self):
        return {"artifact_plan": artifact_plan, "artifact_download_retryable": artifact_download_retryable,
                "artifact_download_failure": artifact_download_failure, "artifact_local_sums": artifact_local_sums,
                "artifact_local_verdict": artifact_local_verdict}
