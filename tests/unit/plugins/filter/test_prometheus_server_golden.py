"""The lab's Prometheus 2.24.1 renders exactly the files the seed scenario has on its host."""

import os

import pytest

from prometheus_role import FIXTURES, render

GOLDEN = os.path.join(FIXTURES, "prometheus_golden", "seed")


@pytest.mark.parametrize("template,golden", [("prometheus.yml.j2", "prometheus.yml"),
                                             ("prometheus.service.j2", "prometheus.service")])
def test_seed_renders_the_golden_file(template, golden):
    with open(os.path.join(GOLDEN, golden), encoding="utf-8") as f:
        assert render(template) == f.read()
