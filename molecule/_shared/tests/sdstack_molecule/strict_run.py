"""A verifier run that tested nothing fails.

Loaded into every scenario's testinfra run as a pytest plugin (PYTEST_PLUGINS in
.config/molecule/config.yml). testinfra parametrizes each test over its inventory group: an
empty or misspelt group turns the tests into skips ("got empty parameter set"), and pytest
would still exit 0. Here any skipped test, or a run with no passed test, fails the session.
"""

import pytest


_COMPLAINT = pytest.StashKey[str]()


def _complaint(session):
    stats = session.config.pluginmanager.get_plugin("terminalreporter").stats
    skipped = stats.get("skipped", [])
    if skipped:
        return "%d test(s) skipped (an empty inventory group?): %s" % (
            len(skipped), "; ".join(r.nodeid for r in skipped[:5]))
    if not stats.get("passed"):
        return "no test passed"
    return ""


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    session.config.stash[_COMPLAINT] = _complaint(session)
    if exitstatus == 0 and session.config.stash[_COMPLAINT]:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter, config):
    complaint = config.stash.get(_COMPLAINT, "")
    if complaint:
        terminalreporter.write_line("STRICT RUN FAILED: " + complaint, red=True)
