"""release_arch's whole table: each uname -m the roles meet names the suffix upstream archives use."""

import pytest

from ansible_collections.sdstack.consul.plugins.filter.release import FilterModule, release_arch, release_installed


@pytest.mark.parametrize("machine,suffix", [
    ("x86_64", "amd64"), ("aarch64", "arm64"), ("armv7l", "armv7"), ("armv6l", "armv6"), ("i386", "386"), ("i686", "386"),
])
def test_every_known_machine_maps_to_its_release_suffix(machine, suffix):
    assert release_arch(machine) == suffix


def test_an_empty_override_does_not_win():
    assert release_arch("armv7l", "") == "armv7"


def test_registered_under_its_name():
    assert FilterModule().filters() == {"release_arch": release_arch, "release_installed": release_installed}
