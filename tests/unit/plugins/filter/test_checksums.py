import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.checksums import FilterModule, checksum_entry, checksum_spec

A = "a" * 64
B = "0123456789ABCDEF" * 4

# Shapes seen in real release checksum files.
HASHICORP = f"{A}  consul_1.8.7_darwin_amd64.zip\n{B}  consul_1.8.7_linux_amd64.zip\n"
PROMETHEUS = f"{A}  prometheus-2.24.1.darwin-amd64.tar.gz\n{B}  prometheus-2.24.1.linux-amd64.tar.gz\n"


@pytest.mark.parametrize("text,name", [
    (HASHICORP, "consul_1.8.7_linux_amd64.zip"),
    (PROMETHEUS, "prometheus-2.24.1.linux-amd64.tar.gz"),
    (f"{B} *consul_1.8.7_linux_amd64.zip\n", "consul_1.8.7_linux_amd64.zip"),  # binary-mode marker
    (f"{B}  ./dist/consul_1.8.7_linux_amd64.zip\r\n", "consul_1.8.7_linux_amd64.zip"),  # path, CRLF
])
def test_finds_the_entry_lowercased(text, name):
    assert checksum_entry(text, name) == B.lower()


def test_other_files_do_not_match():
    assert checksum_entry(HASHICORP, "consul_1.8.7_linux_arm64.zip") == ""
    # A prefix of a listed name is not that name.
    assert checksum_entry(HASHICORP, "consul_1.8.7_linux_amd64") == ""


def test_malformed_lines_are_ignored():
    assert checksum_entry(f"{A[:-1]}  x.zip\nnot a checksum line\n", "x.zip") == ""


def test_non_text_input_is_a_clear_error():
    with pytest.raises(AnsibleFilterError, match="checksum file's text"):
        checksum_entry(None, "x.zip")


def test_registered_under_its_name():
    assert FilterModule().filters()["checksum_entry"] is checksum_entry


def test_release_arch():
    from ansible_collections.sdstack.consul.plugins.filter.release import release_arch
    assert release_arch("x86_64") == "amd64" and release_arch("aarch64") == "arm64"
    assert release_arch("riscv64") == "riscv64"
    assert release_arch("x86_64", "arm64") == "arm64"


def test_bare_digest_file_only_when_asked():
    assert checksum_entry(f"{B}\n", "cadvisor-v0.38.7-linux-amd64", bare=True) == B.lower()
    assert checksum_entry(f"{B}\n", "cadvisor-v0.38.7-linux-amd64") == ""
    # A named entry still has to name the file, bare or not.
    assert checksum_entry(f"{B}  other\n", "cadvisor-v0.38.7-linux-amd64", bare=True) == ""
    assert checksum_entry(f"{B}  cadvisor-v0.38.7-linux-amd64\n", "cadvisor-v0.38.7-linux-amd64", bare=True) == B.lower()


@pytest.mark.parametrize("value,expected", [
    (f"sha256:{B}", {"sha256": B.lower(), "url": ""}),
    (f"SHA256: {B} ", {"sha256": B.lower(), "url": ""}),
    ("sha256:http://10.89.20.2:8080/x/cadvisor.sha256", {"sha256": "", "url": "http://10.89.20.2:8080/x/cadvisor.sha256"}),
    ("sha256:file:///srv/sums/cadvisor.sha256", {"sha256": "", "url": "file:///srv/sums/cadvisor.sha256"}),
])
def test_checksum_spec_accepts_a_digest_or_a_url(value, expected):
    assert checksum_spec(value) == expected


@pytest.mark.parametrize("value", [
    "", B, f"md5:{B}", f"sha256:{B[:-1]}", f"sha256:{B}0", "sha256:", "sha256:/srv/sums.txt",
    "sha256:http://", "sha256:http://x/a b", None, 42,
], ids=["empty", "no-algorithm", "other-algorithm", "short", "long", "nothing", "path-not-url",
        "url-without-host", "url-with-space", "none", "int"])
def test_checksum_spec_rejects_anything_else(value):
    assert checksum_spec(value) == {"sha256": "", "url": ""}


def test_checksum_spec_registered():
    assert FilterModule().filters()["checksum_spec"] is checksum_spec
