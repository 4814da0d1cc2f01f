"""Running the collection's modules in-process against a stand-in for open_url."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sdstack.consul.plugins.module_utils import consul_api


@pytest.fixture
def run_module(monkeypatch, capsys):
    """run_module(module, opener, **args) -> the module's JSON result."""

    def run(module, opener, **args):
        monkeypatch.setattr(consul_api, "open_url", opener)
        with patch_module_args(args):
            with pytest.raises(SystemExit):
                module.main()
        return json.loads(capsys.readouterr().out)

    return run
