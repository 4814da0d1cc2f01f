"""What counts as an IP address or a host name: the edges of each rule."""

import pytest

from ansible_collections.sdstack.consul.plugins.module_utils._addresses import is_address, is_ip

LABEL_63 = "a" * 63


@pytest.mark.parametrize("value,ip", [("10.0.0.1", True), ("fd00::11", True), ("10.0.0.300", False),
                                      ("consul1", False), ("", False)])
def test_is_ip(value, ip):
    assert is_ip(value) is ip


@pytest.mark.parametrize("value", [
    "10.0.0.1", "::1", "consul1", "consul1.example.org", "consul1.example.org.", "a", "1a", "x-1.y",
    LABEL_63 + ".org", ".".join([LABEL_63] * 3 + ["a" * 61]),  # 253 characters
])
def test_addresses(value):
    assert is_address(value) is True


@pytest.mark.parametrize("value", [
    "", "10.0.0.300", "-a.org", "a-.org", "a..org", "a_b", "a" * 64 + ".org", ".".join([LABEL_63] * 3 + ["a" * 62]),
    "example.123", "a b",
])
def test_not_addresses(value):
    assert is_address(value) is False


def test_underscores_only_where_consul_resolves_names_itself():
    assert (is_address("my_service.node"), is_address("my_service.node", underscore=True)) == (False, True)
    assert is_address("_a", underscore=True) is False
