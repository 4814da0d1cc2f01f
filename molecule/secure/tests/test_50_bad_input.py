"""Bad secure-profile input: one line naming the value, nothing changed on the hosts, no
instance restarted, nothing new on the controller."""

import re

import pytest

from conftest import HERE, SECRETS
from test_40_secrets_kept_and_never_shown import fingerprint
from playbook_run import run_playbook

STATE = ("cd /etc/consul.d && find . -type f -exec sha256sum {} + | sort -k2;"
         " for n in node1 node2 node3; do systemctl show -p MainPID --value consul@$n; done")


@pytest.fixture
def unchanged(box):
    before = box.check_output(STATE), fingerprint()
    yield
    assert (box.check_output(STATE), fingerprint()) == before, "a rejected run changed something"


@pytest.mark.parametrize("extra, message", [
    ({"consul_secrets_dir": ""},
     r"consul_secrets_dir: set a controller folder for this cluster's gossip key, CA and ACL tokens"),
    ({"consul_secrets_dir": "relative/secrets"}, r"consul_secrets_dir: relative/secrets is not an absolute path"),
    ({"consul_acl_tokens": [{"name": "agent", "rules": "node_prefix \"\" { policy = \"read\" }"}]},
     r"consul_acl_tokens: names must be unique.*: agent, agent"),
    ({"consul_acl_tokens": [{"name": "ci bot", "rules": "node_prefix \"\" { policy = \"read\" }"}]},
     r"consul_acl_tokens: names must .*: agent, ci bot"),
    ({"consul_acl_default_policy": "maybe"}, r"consul_acl_default_policy.*maybe"),
])
def test_rejected_before_any_change(unchanged, extra, message):
    rc, out = run_playbook(HERE.parent / "consul.yml", extra)
    assert rc != 0
    assert re.search(message, out), out[-2000:]
    assert "Traceback" not in out


def test_missing_bootstrap_token_refused(unchanged):
    # A bootstrapped cluster whose token is not on the controller: stop, never bootstrap again.
    kept = SECRETS / "acl" / "bootstrap.token"
    moved = kept.with_suffix(".moved")
    kept.rename(moved)
    try:
        rc, out = run_playbook(HERE.parent / "consul.yml")
    finally:
        moved.rename(kept)
    assert rc != 0
    assert re.search(r"ACLs of this cluster were bootstrapped before, but \S+/acl/bootstrap.token does not exist: "
                     r"restore consul_secrets_dir from its backup", out), out[-2000:]
