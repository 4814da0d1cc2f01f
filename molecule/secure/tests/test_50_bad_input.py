"""Bad secure-profile input: one line naming the value, no change reported, nothing changed on
the hosts, no instance restarted, nothing new on the controller."""

import pytest

from conftest import HERE, HOST, SECRETS
from test_40_secrets_kept_and_never_shown import fingerprint
from sdstack_molecule.playbook_run import run_playbook
from sdstack_molecule.refusals import assert_refused

STATE = ("cd /etc/consul.d && find . -type f -exec sha256sum {} + | sort -k2;"
         " for n in node1 node2 node3; do systemctl show -p MainPID --value consul@$n; done")


@pytest.fixture
def unchanged(box):
    """Every file under /etc/consul.d, the servers' PIDs and the controller's secrets (the ACL
    refusals of test_30 use it too)."""
    before = box.check_output(STATE), fingerprint()
    yield
    assert (box.check_output(STATE), fingerprint()) == before, "a rejected run changed something"


@pytest.mark.parametrize("extra, message", [
    ({"consul_secrets_dir": ""},
     "consul_secrets_dir: set a controller folder for this cluster's gossip key, CA and ACL tokens"
     " (consul_gossip_encryption, consul_tls or consul_acl is on)"),
    ({"consul_secrets_dir": "relative/secrets"}, "consul_secrets_dir: relative/secrets is not an absolute path"),
    ({"consul_acl_tokens": [{"name": "agent", "rules": "node_prefix \"\" { policy = \"read\" }"}]},
     'consul_acl_tokens: names must be unique, start with a letter or digit and hold only letters, digits, _ . -'
     ' ("agent" is taken): agent, agent-secure-app1, agent'),
    ({"consul_acl_tokens": [{"name": "ci bot", "rules": "node_prefix \"\" { policy = \"read\" }"}]},
     'consul_acl_tokens: names must be unique, start with a letter or digit and hold only letters, digits, _ . -'
     ' ("agent" is taken): agent, agent-secure-app1, ci bot'),
    ({"consul_acl_default_policy": "maybe"}, "value of consul_acl_default_policy must be one of: allow, deny, got: maybe"),
], ids=["no-secrets-dir", "relative-secrets-dir", "token-name-taken", "token-name-with-space", "bad-default-policy"])
def test_rejected_before_any_change(unchanged, extra, message):
    rc, out = run_playbook(HERE.parent / "consul.yml", extra)
    assert_refused(rc, out, [HOST], message)


def test_missing_bootstrap_token_refused(unchanged):
    # A bootstrapped cluster whose token is not on the controller: stop, never bootstrap again.
    kept = SECRETS / "acl" / "bootstrap.token"
    moved = kept.with_suffix(".moved")
    kept.rename(moved)
    try:
        rc, out = run_playbook(HERE.parent / "consul.yml")
    finally:
        moved.rename(kept)
    assert_refused(rc, out, [HOST], "ACLs of this cluster were bootstrapped before, but %s does not exist: restore"
                   " consul_secrets_dir from its backup (or follow Consul's ACL bootstrap reset procedure)" % kept)
