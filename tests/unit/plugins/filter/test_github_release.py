"""cAdvisor's checksum from GitHub's release API: the asset's digest, or one line naming
cadvisor_checksum when there is none (old release, missing asset, unknown release, API down)."""

import hashlib
import json
import os

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.exporter_flags import cadvisor_checksum, cadvisor_flags
from ansible_collections.sdstack.consul.plugins.filter.github_release import (
    FilterModule, github_release_digest, github_release_retryable)
from prometheus_role import FIXTURES

API = "https://api.github.com/repos/google/cadvisor/releases/tags/v0.60.5"
AMD64 = "cadvisor-v0.60.5-linux-amd64"


def _text(name):
    with open(os.path.join(FIXTURES, "github_release", name), encoding="utf-8") as f:
        return f.read()


def answer(name="cadvisor-v0.60.5.json", **kw):
    """An ansible.builtin.uri result as the role registers it (return_content, failed_when: false)."""
    return dict({"status": 200, "content": _text(name), "msg": "OK (41 bytes)", "url": API}, **kw)


def digest(release, **kw):
    return github_release_digest(release, kw.pop("asset", AMD64), kw.pop("tag", "v0.60.5"), API, "cadvisor_checksum")


def _edited(change):
    release = json.loads(_text("cadvisor-v0.60.5.json"))
    change(release)
    return answer(content=json.dumps(release))


def test_the_assets_own_digest_is_chosen():
    assert digest(answer()) == "sha256:" + hashlib.sha256(AMD64.encode()).hexdigest()
    arm64 = "cadvisor-v0.60.5-linux-arm64"
    assert digest(answer(), asset=arm64) == "sha256:" + hashlib.sha256(arm64.encode()).hexdigest()


def test_upper_case_digest_is_normalised():
    def upper(release):
        release["assets"][0]["digest"] = "sha256:" + "AB" * 32
    assert digest(_edited(upper)) == "sha256:" + "ab" * 32


def test_a_mirror_content_type_does_not_matter():
    # A mirror's http.server serves the file as application/octet-stream: uri then has no "json".
    assert "json" not in answer() and digest(answer()).startswith("sha256:")


def _no_field(release):
    del release["assets"][0]["digest"]


def _empty(release):
    release["assets"][0]["digest"] = ""


def _sha512(release):
    release["assets"][0]["digest"] = "sha512:" + "ab" * 64


@pytest.mark.parametrize("result,kw,message", [
    (answer("cadvisor-v0.49.1.json"), {"asset": "cadvisor-v0.49.1-linux-amd64", "tag": "v0.49.1"},
     "release v0.49.1 publishes no digest for cadvisor-v0.49.1-linux-amd64 (GitHub lists digests only for assets"
     " uploaded since June 2025); set cadvisor_checksum to sha256:<64 hex digits> from the release notes"),
    (_edited(_no_field), {}, "release v0.60.5 publishes no digest for cadvisor-v0.60.5-linux-amd64"),
    (_edited(_empty), {}, "release v0.60.5 publishes no digest for cadvisor-v0.60.5-linux-amd64"),
    (answer(), {"asset": "cadvisor-v0.60.5-linux-arm"},
     "release v0.60.5 has no asset cadvisor-v0.60.5-linux-arm (its assets: cadvisor-v0.60.5-linux-amd64,"
     " cadvisor-v0.60.5-linux-arm64)"),
    (_edited(_sha512), {}, 'release v0.60.5 lists digest "sha512:abab'),
    (answer(), {"tag": "v0.60.4"}, API + " answered release v0.60.5, not v0.60.4"),
    ({"status": 404, "content": '{"message": "Not Found", "status": "404"}', "msg": "HTTP Error 404: Not Found"}, {},
     API + " answered 404: no such release; check the version, or set cadvisor_checksum"),
    ({"status": -1, "msg": "Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111] Connection"
      " refused>"}, {},
     API + " could not be read (HTTP -1: Status code was -1 and not [200]: Request failed: <urlopen error [Errno 111]"
     " Connection refused>); set cadvisor_checksum for offline installs"),
    ({"status": 403, "content": '{"message": "API rate limit exceeded for 198.51.100.7."}', "msg": "Forbidden"}, {},
     "(HTTP 403: GitHub's API rate limit for this address is exhausted (60 requests an hour without a token));"
     " set cadvisor_checksum"),
    (answer(content="<html>proxy login</html>"), {},
     API + " is not a GitHub release (no assets list in the answer); set cadvisor_checksum"),
    ({"skipped": True}, {}, API + " could not be read (HTTP -1: no answer)"),
])
def test_no_usable_digest_is_one_line_naming_the_variable(result, kw, message):
    with pytest.raises(AnsibleFilterError) as err:
        digest(result, **kw)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize("result,retry", [
    ({"status": -1, "msg": "Request failed: timed out"}, True),
    ({"status": 502}, True),
    ({"status": 200}, False),
    ({"status": 404}, False),
    ({"status": 403}, False),
    ("nonsense", False),
])
def test_only_transport_failures_and_5xx_are_retried(result, retry):
    assert github_release_retryable(result) is retry


SETTINGS = {"cadvisor_port": 8080, "cadvisor_listen_ip": "", "cadvisor_extra_args": [], "cadvisor_checksum": "",
            "cadvisor_version": "0.60.5", "cadvisor_release_api_url": "https://api.github.com",
            "cadvisor_download_on": "controller", "cadvisor_binary_path": ""}


def model(**kw):
    return cadvisor_flags(dict(SETTINGS, **kw))


@pytest.mark.parametrize("kw,api_on", [
    ({}, "controller"),
    ({"cadvisor_download_on": "target"}, "host"),
    # The controller-side file is checked on the controller: the API is read there too.
    ({"cadvisor_download_on": "target", "cadvisor_binary_path": "/srv/cadvisor"}, "controller"),
    ({"cadvisor_binary_path": "/srv/cadvisor"}, "controller"),
    ({"cadvisor_checksum": "sha256:" + "ab" * 32}, ""),
    ({"cadvisor_install_method": "package"}, ""),
])
def test_where_the_api_is_read(kw, api_on):
    out = model(**kw)
    assert out["release_api_on"] == api_on
    assert out["release_api"] == (API if api_on else "")


def test_the_api_url_is_githubs_path_under_any_base():
    out = model(cadvisor_release_api_url="http://10.89.20.2:8080/api/github/", cadvisor_version="0.38.7")
    assert out["release_api"] == "http://10.89.20.2:8080/api/github/repos/google/cadvisor/releases/tags/v0.38.7"


def test_explicit_checksum_wins_and_the_api_answer_is_not_read():
    explicit = "sha256:" + "cd" * 32
    assert cadvisor_checksum(model(cadvisor_checksum=explicit), {"controller": {"status": 404}}, AMD64) == explicit
    url = "sha256:https://mirror/x.sha256"
    assert cadvisor_checksum(model(cadvisor_checksum=url), {}, AMD64) == url
    assert cadvisor_checksum(model(cadvisor_install_method="package"), {}, AMD64) == ""


def test_the_answer_of_the_side_that_read_it_is_used():
    wanted = "sha256:" + hashlib.sha256(AMD64.encode()).hexdigest()
    assert cadvisor_checksum(model(), {"controller": answer(), "host": {"skipped": True}}, AMD64) == wanted
    by_host = {"controller": {"skipped": True}, "host": answer()}
    assert cadvisor_checksum(model(cadvisor_download_on="target"), by_host, AMD64) == wanted
    with pytest.raises(AnsibleFilterError, match="could not be read"):
        cadvisor_checksum(model(), {"controller": {"skipped": True}, "host": answer()}, AMD64)


def test_filters_are_exported():
    assert set(FilterModule().filters()) == {"github_release_digest", "github_release_retryable"}
