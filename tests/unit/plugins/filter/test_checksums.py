import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.checksums import FilterModule, checksum_entry

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
