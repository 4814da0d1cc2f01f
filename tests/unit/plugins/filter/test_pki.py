"""A certificate request's alternative names and usages, and bad values refused in one line."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.pki import (
    FilterModule, pki_extended_key_usage, pki_subject_alt_names)


def test_dns_names_then_addresses():
    assert pki_subject_alt_names(["consul-seed", "localhost"], ["10.0.0.2", "127.0.0.1"]) == \
        ["DNS:consul-seed", "DNS:localhost", "IP:10.0.0.2", "IP:127.0.0.1"]
    assert pki_subject_alt_names(["a"], []) == ["DNS:a"]
    assert not pki_subject_alt_names([], [])


@pytest.mark.parametrize("client,usages", [
    (True, ["serverAuth", "clientAuth"]), (False, ["serverAuth"]), ("no", ["serverAuth"]),
    ("yes", ["serverAuth", "clientAuth"]),
])
def test_client_authentication_only_when_asked(client, usages):
    assert pki_extended_key_usage(client) == usages


@pytest.mark.parametrize("call,message", [
    (lambda: pki_subject_alt_names("localhost", []), "pki_cert_dns_names must be a list of strings, got 'localhost'"),
    (lambda: pki_subject_alt_names([], [1]), "pki_cert_ip_addresses must be a list of strings, got [1]"),
    (lambda: pki_extended_key_usage("sometimes"), "pki_cert_client 'sometimes' is not a boolean"),
])
def test_bad_values(call, message):
    with pytest.raises(AnsibleFilterError) as err:
        call()
    assert str(err.value) == message


def test_filters_registered():
    assert set(FilterModule().filters()) == {"pki_subject_alt_names", "pki_extended_key_usage"}
