"""acl_objects' pure parts: the accessor a secret names (fixed forever: tokens created by an
earlier release must still be found) and which of Consul's refusals mean "no such ACL object"."""

import pytest

from ansible_collections.sdstack.consul.plugins.module_utils.acl_objects import AclPolicy, AclToken, _absent, accessor_for
from ansible_collections.sdstack.consul.plugins.module_utils.consul_api import ConsulError


def test_a_secret_names_the_same_accessor_in_every_release():
    assert accessor_for("prometheus-sd-secret") == "64b9e055-45f7-5b9e-821d-01340f57b487"


@pytest.mark.parametrize("status,body,absent", [
    (404, None, True),
    (403, "ACL not found", True),  # Consul 1.8's answer for a missing token
    (403, "Permission denied", False),
    (403, None, False),
    (500, "token not found", False),
])
def test_only_not_found_answers_mean_absent(status, body, absent):
    assert _absent(ConsulError("m", status=status, body=body)) is absent


def test_objects_are_named_by_their_kind_in_results():
    assert (AclPolicy.kind, AclToken.kind) == ("policy", "token")


def test_a_token_is_identified_by_its_derived_accessor_unless_one_is_given():
    assert AclToken(None, "s").ident == accessor_for("s")
    assert AclToken(None, "s", accessor_id="a-1").ident == "a-1"
