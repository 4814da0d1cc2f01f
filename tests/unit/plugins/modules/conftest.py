"""Running the collection's modules in-process."""

import json

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.sdstack.consul.plugins.module_utils import _consul_api as consul_api


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
