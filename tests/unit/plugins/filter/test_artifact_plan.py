"""The artifact role's one path: where it downloads, unpacks and copies from; bad inputs in one line."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.artifact_plan import (
    FilterModule, artifact_download_failure, artifact_download_retryable, artifact_local_sums, artifact_local_verdict,
    artifact_plan)

ARCHIVE = {"artifact_name": "prometheus", "artifact_archive": "prometheus-2.24.1.linux-amd64.tar.gz",
           "artifact_base_url": "http://m/v2.24.1", "artifact_checksums": "sha256sums.txt",
           "artifact_cache_dir": "/c", "artifact_target_cache_dir": "/t/",
           "artifact_binaries": [{"src": "prometheus-2.24.1.linux-amd64/prometheus", "dest": "/opt/p/prometheus"},
                                 {"src": "prometheus-2.24.1.linux-amd64/promtool", "dest": "/opt/p/promtool"}]}
BARE = {"artifact_name": "cadvisor", "artifact_type": "binary", "artifact_archive": "cadvisor-v0.38.7-linux-amd64",
        "artifact_base_url": "http://m/v0.38.7", "artifact_checksum": "sha256:" + "AB" * 32,
        "artifact_cache_dir": "/c", "artifact_target_cache_dir": "/t",
        "artifact_binaries": [{"src": "cadvisor-v0.38.7-linux-amd64", "dest": "/usr/local/bin/cadvisor"}]}


def test_archive_on_the_controller():
    plan = artifact_plan(ARCHIVE)
    assert plan == {
        "side": "controller", "local": False, "binary": False, "cache": "/c/prometheus",
        "download": "/c/prometheus/prometheus-2.24.1.linux-amd64.tar.gz",
        "url": "http://m/v2.24.1/prometheus-2.24.1.linux-amd64.tar.gz",
        "checksum": "sha256:http://m/v2.24.1/sha256sums.txt",
        "unpacked": "/c/prometheus/prometheus-2.24.1.linux-amd64", "needs_unzip": False,
        "sources": [{"src": "/c/prometheus/prometheus-2.24.1.linux-amd64/prometheus-2.24.1.linux-amd64/prometheus",
                     "dest": "/opt/p/prometheus"},
                    {"src": "/c/prometheus/prometheus-2.24.1.linux-amd64/prometheus-2.24.1.linux-amd64/promtool",
                     "dest": "/opt/p/promtool"}],
        "folders": ["/opt/p"]}


def test_zip_on_the_host_needs_unzip():
    plan = artifact_plan(dict(ARCHIVE, artifact_unpack_on="target", artifact_archive="consul_1.8.7_linux_amd64.zip",
                              artifact_binaries=[{"src": "consul", "dest": "/usr/local/bin/consul"}]))
    assert plan["side"] == "host" and plan["needs_unzip"] and plan["cache"] == "/t/prometheus"
    assert plan["unpacked"] == "/t/prometheus/consul_1.8.7_linux_amd64"
    assert plan["sources"] == [{"src": "/t/prometheus/consul_1.8.7_linux_amd64/consul", "dest": "/usr/local/bin/consul"}]


def test_a_local_file_is_unpacked_on_the_controller_whatever_unpack_on_says():
    plan = artifact_plan(dict(ARCHIVE, artifact_unpack_on="target", artifact_local_path="/dl/p.tar.gz"))
    assert plan["side"] == "controller" and plan["local"] and plan["download"] == "/dl/p.tar.gz"


def test_bare_binary():
    plan = artifact_plan(dict(BARE, artifact_unpack_on="target"))
    assert plan["checksum"] == "sha256:" + "ab" * 32 and plan["unpacked"] == "" and plan["binary"]
    assert plan["sources"] == [{"src": "/t/cadvisor/cadvisor-v0.38.7-linux-amd64", "dest": "/usr/local/bin/cadvisor"}]
    assert artifact_plan(dict(BARE, artifact_checksum="sha256:http://m/x.sha256"))["checksum"] == \
        "sha256:http://m/x.sha256"
    assert artifact_plan(dict(BARE, artifact_local_path="/dl/cadvisor"))["sources"][0]["src"] == "/dl/cadvisor"


@pytest.mark.parametrize("inputs,message", [
    (dict(BARE, artifact_checksum="md5:1"), 'cadvisor: artifact_checksum "md5:1" is not sha256:<64 hex digits>'),
    (dict(BARE, artifact_checksum=""), 'cadvisor: artifact_checksum "" is not sha256'),
    (dict(BARE, artifact_binaries=[{"src": "x", "dest": "/x"}]),
     "cadvisor: a bare binary installs exactly one file, named like artifact_archive (cadvisor-v0.38.7-linux-amd64)"),
    (dict(ARCHIVE, artifact_checksums=""),
     "prometheus: artifact_checksums (the release checksum file) is required for an archive"),
])
def test_bad_inputs(inputs, message):
    with pytest.raises(AnsibleFilterError) as err:
        artifact_plan(inputs)
    assert str(err.value).startswith(message) and "\n" not in str(err.value)


@pytest.mark.parametrize("result,retry", [
    ({"failed": True, "msg": "Request failed: <urlopen error [Errno 111] Connection refused>"}, True),
    ({"failed": True, "msg": "Request failed", "status_code": 503}, True),
    ({"failed": True, "msg": "Request failed", "status_code": 404}, False),
    ({"failed": True, "msg": "The checksum for /x did not match"}, False),
    ({"failed": False, "msg": "Request failed"}, False),
    ({"failed": True, "msg": "Request failed", "status_code": "n/a"}, True),
    (None, False),
])
def test_retry_only_transport_failures(result, retry):
    assert artifact_download_retryable(result) is retry


def test_download_failure_in_one_line():
    assert artifact_download_failure({"url": "http://m/a", "response": "HTTP Error 404: File not found",
                                      "msg": "Request failed"}, "consul", "http://x") == \
        "consul: download of http://m/a failed: HTTP Error 404: File not found"
    assert artifact_download_failure({"msg": "Request failed:\n refused"}, "consul", "http://x") == \
        "consul: download of http://x failed: Request failed: refused"
    assert artifact_download_failure(None, "c", "u") == "c: download of u failed: unknown error"


LOCAL_ARCHIVE = dict(ARCHIVE, artifact_local_path="/dl/prometheus-2.24.1.linux-amd64.tar.gz")
LOCAL_BARE = dict(BARE, artifact_local_path="/dl/cadvisor-v0.38.7-linux-amd64")
FOUND = {"exists": True, "checksum": "cd" * 32}


def test_an_archive_is_checked_against_the_checksum_file_beside_it():
    assert artifact_local_sums(FOUND, LOCAL_ARCHIVE) == {
        "digest": "", "bare": False, "source": "/dl/sha256sums.txt", "lookup": "ansible.builtin.file",
        "terms": ["/dl/sha256sums.txt"], "options": {}, "archive": "prometheus-2.24.1.linux-amd64.tar.gz"}


def test_a_bare_binary_is_checked_against_the_callers_digest_or_the_file_at_its_url():
    given = artifact_local_sums(FOUND, LOCAL_BARE)
    assert (given["digest"], given["terms"], given["source"]) == ("ab" * 32, [], "artifact_checksum")
    at_url = artifact_local_sums(FOUND, dict(LOCAL_BARE, artifact_checksum="sha256:file:///m/c.sha256"))
    assert at_url == {"digest": "", "bare": True, "source": "file:///m/c.sha256", "lookup": "ansible.builtin.url",
                      "terms": ["file:///m/c.sha256"], "options": {"split_lines": False},
                      "archive": "cadvisor-v0.38.7-linux-amd64"}


@pytest.mark.parametrize("inputs", [LOCAL_ARCHIVE, dict(LOCAL_BARE, artifact_checksum="sha256:http://m/c.sha256")])
def test_nothing_is_read_for_a_missing_file(inputs):
    assert artifact_local_sums({"exists": False}, inputs)["terms"] == []


def _verdict(stat, inputs, text):
    return artifact_local_verdict(stat, artifact_local_sums(stat, inputs), text)


@pytest.mark.parametrize("stat,inputs,text,verdict", [
    ({"exists": False}, LOCAL_ARCHIVE, [], "no such file"),
    (FOUND, LOCAL_ARCHIVE, "cd" * 32 + "  prometheus-2.24.1.linux-amd64.tar.gz\n", ""),
    (FOUND, LOCAL_ARCHIVE, None, "no entry for prometheus-2.24.1.linux-amd64.tar.gz in /dl/sha256sums.txt"),
    (FOUND, LOCAL_ARCHIVE, "cd" * 32 + "  other.tar.gz",
     "no entry for prometheus-2.24.1.linux-amd64.tar.gz in /dl/sha256sums.txt"),
    # A checksum file of an archive always names the file; a lone digest is no entry.
    (FOUND, LOCAL_ARCHIVE, "cd" * 32, "no entry for prometheus-2.24.1.linux-amd64.tar.gz in /dl/sha256sums.txt"),
    (FOUND, LOCAL_ARCHIVE, "0" * 64 + "  prometheus-2.24.1.linux-amd64.tar.gz",
     "checksum mismatch: sha256 %s, expected %s" % ("cd" * 32, "0" * 64)),
    (FOUND, LOCAL_BARE, [], "checksum mismatch: sha256 %s, expected %s" % ("cd" * 32, "ab" * 32)),
    (dict(FOUND, checksum="ab" * 32), LOCAL_BARE, [], ""),
    (FOUND, dict(LOCAL_BARE, artifact_checksum="sha256:http://m/c.sha256"), "CD" * 32 + "\n", ""),
    (FOUND, dict(LOCAL_BARE, artifact_checksum="sha256:http://m/c.sha256"), None,
     "no entry for cadvisor-v0.38.7-linux-amd64 in http://m/c.sha256"),
])
def test_local_verdict(stat, inputs, text, verdict):
    assert _verdict(stat, inputs, text) == verdict


def test_filters_registered():
    assert set(FilterModule().filters()) == {"artifact_plan", "artifact_download_retryable",
                                             "artifact_download_failure", "artifact_local_sums",
                                             "artifact_local_verdict"}
