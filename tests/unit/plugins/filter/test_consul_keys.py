"""Every key the model writes exists in the Consul line it targets, and none is deprecated there.

The key sets come from Consul's own source and release notes (see each fixture's "source").
"""

import json
import os

import pytest

from test_consul_config import SCENARIOS, render

KEYS = os.path.join(os.path.dirname(__file__), "..", "..", "fixtures", "consul_keys")
# Each supported minor line, rendered as its newest patch release we know of.
LINES = {"1.8": "1.8.7", "1.12": "1.12.9", "1.14": "1.14.11", "1.16": "1.16.6", "1.21": "1.21.2"}


def key_set(line):
    with open(os.path.join(KEYS, line + ".json"), encoding="utf-8") as f:
        return json.load(f)


def key_paths(config, prefix=""):
    """Dotted paths of every key of a nested config (lists are values, not blocks)."""
    for key, value in config.items():
        path = prefix + key
        yield path
        if isinstance(value, dict):
            yield from key_paths(value, path + ".")


def unknown_keys(config, keys):
    known, opaque = set(keys["keys"]), keys["opaque"]
    return sorted(p for p in key_paths(config)
                  if p not in known and not any(p.startswith(o + ".") for o in opaque))


@pytest.mark.parametrize("line", sorted(LINES))
def test_fixture_names_its_source(line):
    keys = key_set(line)
    assert keys["version"] == line and "hashicorp/consul" in keys["source"]
    assert set(keys["deprecated"]) <= set(keys["keys"])


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("line", sorted(LINES))
def test_every_emitted_key_exists_in_that_line(line, scenario):
    keys = key_set(line)
    for config in render(scenario, LINES[line]):
        assert unknown_keys(config, keys) == [], "%s for Consul %s" % (config["node_name"], line)


@pytest.mark.parametrize("scenario", sorted(SCENARIOS))
@pytest.mark.parametrize("line", sorted(LINES))
def test_no_emitted_key_is_deprecated_in_that_line(line, scenario):
    deprecated = set(key_set(line)["deprecated"])
    for config in render(scenario, LINES[line]):
        assert sorted(deprecated & set(key_paths(config))) == [], "%s for Consul %s" % (config["node_name"], line)


def test_the_check_sees_a_key_of_another_line():
    config = render("seed", "1.21.2")[0]
    assert unknown_keys(config, key_set("1.8")) == ["ports.grpc_tls", "ui_config", "ui_config.enabled"]
