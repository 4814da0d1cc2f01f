"""Running the collection's modules in-process."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sdstack.consul.plugins.module_utils import _consul_api as consul_api
from ansible_collections.sdstack.consul.plugins.modules import consul_service


@pytest.fixture
def run_module(monkeypatch, capsys):
    """run_module(module, opener, **args) -> the module's JSON result.

    ``opener`` stands in for open_url; None keeps the real one (for tests on a cassette).
    """

    def run(module, opener, **args):
        if opener is not None:
            monkeypatch.setattr(consul_api, "open_url", opener)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
        return json.loads(capsys.readouterr().out)

    return run


@pytest.fixture
def consul_service_on_cassette(run_module, cassette):  # pylint: disable=unused-argument
    """consul_service against the test's cassette (the recorder's local agent by default)."""
    from replay import AGENT_URL  # pylint: disable=import-outside-toplevel

    def go(**args):
        args.setdefault("url", [AGENT_URL])
        return run_module(consul_service, None, **args)
    return go
