"""The Prometheus and exporter roles' vars/main.yml hold constants and one-line hand-offs to models.

A Jinja expression there may pass variables to a filter or join strings; deciding something (an
``if``, a multi-line expression) belongs in the filters, where unit tests reach it.
"""

import os

import pytest
import yaml

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
ROLES = ["prometheus", "node_exporter", "cadvisor", "_exporter", "_artifact"]


def strings(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)
    elif isinstance(value, str):
        yield value


def deciding(text):
    """Why a templated value decides something, or None."""
    if "{{" not in text and "{%" not in text:
        return None
    if "{%" in text:
        return "a statement block"
    if "\n" in text.strip():
        return "more than one line"
    if " if " in text or " else " in text:
        return "a conditional"
    return None


@pytest.mark.parametrize("role", ROLES)
def test_vars_hold_constants_and_one_line_hand_offs(role):
    with open(os.path.join(ROOT, "roles", role, "vars", "main.yml"), encoding="utf-8") as f:
        values = yaml.safe_load(f) or {}
    bad = {name: deciding(text) for name, value in values.items() for text in strings(value) if deciding(text)}
    assert not bad, "roles/%s/vars/main.yml: %s" % (role, bad)


@pytest.mark.parametrize("text,reason", [
    ("{{ a if b else c }}", "a conditional"),
    ("{% if a %}x{% endif %}", "a statement block"),
    ("{{ a\n | b }}", "more than one line"),
    ("{{ a | f(b) }}", None),
    ("plain", None),
])
def test_the_check_itself(text, reason):
    assert deciding(text) == reason
