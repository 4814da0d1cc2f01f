"""Fixtures shared by the unit tests: ``cassette`` replays recorded Consul answers (replay.py)."""

from replay import cassette  # noqa: F401  pylint: disable=unused-import
