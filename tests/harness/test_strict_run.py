"""The verifier plugin that fails a Molecule run which tested nothing (sdstack_molecule.strict_run)."""

import sys

import pytest

pytest_plugins = ["pytester"]


@pytest.fixture
def strict(pytester):
    sys.modules.pop("sdstack_molecule.strict_run", None)
    return lambda source: pytester.runpytest_inprocess("-p", "sdstack_molecule.strict_run", "-p", "no:cacheprovider",
                                                       pytester.makepyfile(source))


def test_a_test_over_an_empty_group_fails_the_run(strict):
    # What testinfra does with testinfra_hosts = [] (an empty or misspelt inventory group).
    r = strict("import pytest\n@pytest.mark.parametrize('host', [])\ndef test_x(host): pass\ndef test_y(): pass\n")
    assert r.ret == pytest.ExitCode.TESTS_FAILED
    r.stdout.fnmatch_lines(["STRICT RUN FAILED: 1 test(s) skipped (an empty inventory group?)*test_x*"])


def test_an_explicit_skip_fails_the_run(strict):
    r = strict("import pytest\ndef test_x(): pytest.skip('later')\ndef test_y(): pass\n")
    assert r.ret == pytest.ExitCode.TESTS_FAILED


def test_a_run_where_nothing_passed_fails(strict):
    assert strict("# no tests\n").ret != pytest.ExitCode.OK


def test_a_run_that_tested_everything_passes(strict):
    r = strict("def test_y(): pass\n")
    assert r.ret == pytest.ExitCode.OK
    assert "STRICT RUN FAILED" not in r.stdout.str()
