"""refusals.case_id: the bad-input case's own id, whatever host id testinfra puts in front of it,
so the declared exceptions (MAY_CHANGE) are found in tests that take the host fixture too."""

import pytest

from sdstack_molecule.refusals import case_id

testinfra_hosts = ["local://"]


@pytest.mark.parametrize("extra", [pytest.param({}, id="wrong-sum-target")])
def test_case_id_without_the_host_prefix(host, request, extra):  # pylint: disable=unused-argument
    assert case_id(request) == "wrong-sum-target", request.node.callspec.id


@pytest.mark.parametrize("extra", [pytest.param({}, id="port-not-int")])
def test_case_id_without_a_host(request, extra):  # pylint: disable=unused-argument
    assert case_id(request) == "port-not-int"
