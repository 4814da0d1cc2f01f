"""Fixtures of the packaging tests: a fresh clone of this checkout and a new user's HOME (fresh_clone.py)."""

import pytest

from fresh_clone import tracked_copy, user_home


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    return tracked_copy(tmp_path_factory.mktemp("fresh") / "consul")


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return user_home(tmp_path_factory.mktemp("home"))
