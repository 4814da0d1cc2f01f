"""Fixtures shared by the unit tests: ``cassette`` replays recorded Consul answers (replay.py);
``collections`` is a collections path holding only this checkout, as sdstack.consul."""

from pathlib import Path

import pytest

from replay import cassette  # noqa: F401  pylint: disable=unused-import

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(name="collections")
def fixture_collections(tmp_path):
    ns = tmp_path / "collections" / "ansible_collections" / "sdstack"
    ns.mkdir(parents=True)
    (ns / "consul").symlink_to(ROOT, target_is_directory=True)
    return tmp_path / "collections"


def pytest_configure(config):
    config.addinivalue_line("markers", "wan_state(state): the WAN federation state whose answers the test's "
                                       "cassette holds (recorded by fixtures/consul_1.8.7/cassettes/record_wan.py)")
