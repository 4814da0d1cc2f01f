# Copyright: sdstack.consul contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The SHA256 of a release asset from GitHub's release API.

Projects that publish bare binaries without a checksum file (cAdvisor) still get a digest per
asset: GitHub computes one at upload and ``GET /repos/<owner>/<repo>/releases/tags/<tag>`` lists it
as ``"digest": "sha256:<hex>"`` beside the asset's ``name`` and ``browser_download_url``. Assets
uploaded before GitHub added digests (June 2025) carry ``"digest": null`` or no field at all; for
those the user sets the checksum by hand, and the messages here say which variable.

The API answer is the result of an ``ansible.builtin.uri`` GET with ``return_content``; it is read
from ``content`` (not ``json``), so a mirror that serves the same document with another content
type gives the same digest.
"""

from __future__ import annotations

import json
import re

from ansible.errors import AnsibleFilterError

_DIGEST = re.compile(r"^sha256:([0-9a-fA-F]{64})$")


def _fail(msg):
    raise AnsibleFilterError(" ".join(str(msg).split()))


def _release(result, url, var):
    """The release document of a uri result, or one line saying why there is none."""
    result = result if isinstance(result, dict) else {}
    status = result.get("status", -1)
    if status == 404:
        _fail("%s answered 404: no such release; check the version, or set %s" % (url, var))
    if status != 200:
        reason = result.get("msg") or "no answer"
        if status == 403 and "rate limit" in str(result.get("content", "")).lower():
            reason = "GitHub's API rate limit for this address is exhausted (60 requests an hour without a token)"
        _fail("%s could not be read (HTTP %s: %s); set %s for offline installs" % (url, status, reason, var))
    try:
        release = json.loads(result.get("content") or "")
    except ValueError:
        release = None
    if not isinstance(release, dict) or not isinstance(release.get("assets"), list):
        _fail("%s is not a GitHub release (no assets list in the answer); set %s" % (url, var))
    return release


def github_release_digest(result, asset, tag, url="", var="the checksum"):
    """``sha256:<hex>`` of the asset named ``asset`` in release ``tag``.

    ``result``: the uri result of the release API (status, content); ``url``: where it was read
    (for messages); ``var``: the variable a user sets instead when there is no digest.
    """
    release = _release(result, url, var)
    if release.get("tag_name") not in (None, tag):
        _fail("%s answered release %s, not %s" % (url, release.get("tag_name"), tag))
    assets = [a for a in release["assets"] if isinstance(a, dict)]
    found = [a for a in assets if a.get("name") == asset]
    if not found:
        names = ", ".join(sorted(str(a.get("name")) for a in assets)) or "none"
        _fail("release %s has no asset %s (its assets: %s)" % (tag, asset, names))
    digest = found[0].get("digest")
    if not digest:
        _fail("release %s publishes no digest for %s (GitHub lists digests only for assets uploaded since June"
              " 2025); set %s to sha256:<64 hex digits> from the release notes" % (tag, asset, var))
    m = _DIGEST.match(str(digest).strip())
    if not m:
        _fail("release %s lists digest %s for %s, not sha256:<64 hex digits>; set %s" % (
            tag, json.dumps(digest), asset, var))
    return "sha256:" + m.group(1).lower()


def github_release_retryable(result):
    """Whether a failed API read may mend itself: no answer or a 5xx, not a 4xx (unknown release)."""
    if not isinstance(result, dict):
        return False
    try:
        status = int(result.get("status", -1))
    except (TypeError, ValueError):
        status = -1
    return status == -1 or status >= 500


class FilterModule:
    def filters(self):
        return {"github_release_digest": github_release_digest, "github_release_retryable": github_release_retryable}
