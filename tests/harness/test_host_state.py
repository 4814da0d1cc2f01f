"""host_state.file_identity: what the bad-input snapshots print for a large binary changes when the
file is replaced, written or given another mode, and stays the same when nothing touches it."""

import os
import shutil
import subprocess

import pytest

from sdstack_molecule.host_state import file_identity


def identity(path):
    return subprocess.run(["sh", "-c", file_identity(str(path))], check=True, capture_output=True, text=True).stdout


@pytest.fixture(name="binary")
def binary_fixture(tmp_path):
    path = tmp_path / "consul"
    path.write_bytes(b"\x7fELF" + b"\0" * 4096)
    path.chmod(0o755)
    return path


def test_unchanged_when_untouched(binary):
    before = identity(binary)
    binary.read_bytes()
    assert identity(binary) == before and "inode=" in before and "size=4100" in before


def _replace(path):
    shutil.copy2(path, str(path) + ".new")
    os.replace(str(path) + ".new", path)


def _write_same_bytes(path):
    path.write_bytes(path.read_bytes())


def _chmod(path):
    path.chmod(0o700)


@pytest.mark.parametrize("change", [_replace, _write_same_bytes, _chmod])
def test_changes_when_the_file_is_touched(binary, change):
    before = identity(binary)
    change(binary)
    assert identity(binary) != before, change.__name__


def test_reads_the_file_behind_a_link(binary):
    # As sha256sum did: a link's own inode and size would not show a change to the binary.
    link = binary.with_name("link")
    link.symlink_to(binary)
    assert "size=4100" in identity(link)
