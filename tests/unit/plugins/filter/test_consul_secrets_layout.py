"""consul_secrets_layout: the controller folder of the secure profile and the ACL token names."""

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.sdstack.consul.plugins.filter.consul_config import consul_secrets_layout

AGENT = {"name": "agent", "rules": "node_prefix \"\" { policy = \"write\" }"}
MISSING = ("consul_secrets_dir: set a controller folder for this cluster's gossip key, CA and ACL tokens"
           " (consul_gossip_encryption, consul_tls or consul_acl is on)")
NAMES = 'consul_acl_tokens: names must be unique, start with a letter or digit and hold only letters, digits, _ . - ("agent" is taken): '


@pytest.mark.parametrize("tokens, secrets_dir, secure, want", [
    ([AGENT, {"name": "prometheus-sd"}], "/srv/secrets", True, ["agent", "prometheus-sd"]),
    ([AGENT, {"name": "ci_bot.2"}], "/srv/secrets", "true", ["agent", "ci_bot.2"]),
    ([AGENT], "", False, ["agent"]),            # the plain profile needs no folder
    ([AGENT], None, "no", ["agent"]),
])
def test_accepted(tokens, secrets_dir, secure, want):
    assert consul_secrets_layout(tokens, secrets_dir, secure) == want


@pytest.mark.parametrize("tokens, secrets_dir, secure, message", [
    ([AGENT], "", True, MISSING),
    ([AGENT], None, "yes", MISSING),
    ([AGENT], "relative/secrets", True, "consul_secrets_dir: relative/secrets is not an absolute path"),
    ([AGENT], "relative/secrets", False, "consul_secrets_dir: relative/secrets is not an absolute path"),
    ([AGENT, {"name": "agent"}], "/s", True, NAMES + "agent, agent"),
    ([AGENT, {"name": "ci bot"}], "/s", True, NAMES + "agent, ci bot"),
    ([AGENT, {"name": "-lead"}], "/s", True, NAMES + "agent, -lead"),
    ([AGENT, {"name": "x/y"}], "/s", True, NAMES + "agent, x/y"),
    ([AGENT, {"rules": ""}], "/s", True, NAMES + "agent, ''"),
    ([AGENT], "/s", "sometimes", "secure profile: 'sometimes' is not a boolean"),
])
def test_refused_with_one_line(tokens, secrets_dir, secure, message):
    with pytest.raises(AnsibleFilterError) as err:
        consul_secrets_layout(tokens, secrets_dir, secure)
    assert str(err.value) == message
