"""The consul role's defaults, and the settings dict vars/main.yml hands the config model, for
tests that render consul.json without Ansible."""

from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def repo_yaml(*parts):
    """A YAML file of this repository, parsed."""
    return yaml.safe_load((ROOT.joinpath(*parts)).read_text(encoding="utf-8"))


DEFAULTS = repo_yaml("roles", "consul", "defaults", "main.yml")
SEED_INSTANCES = repo_yaml("inventories", "seed", "group_vars", "consul_servers.yml")["consul_instances"]


def settings(**over):
    """The role's defaults (with ``over``) as vars/main.yml hands them to the model."""
    d = dict(DEFAULTS, **over)
    return dict(
        datacenter=d["consul_datacenter"], log_level=d["consul_log_level"], ui=d["consul_ui"],
        client_address=d["consul_client_address"], raft_multiplier=d["consul_raft_multiplier"],
        autopilot=d["consul_autopilot"], extra_config=d["consul_extra_config"], tls=d["consul_tls"],
        tls_dir=d["consul_config_root"] + "/tls", tls_verify_incoming_https=d["consul_tls_verify_incoming_https"],
        acl=d["consul_acl"], acl_default_policy=d["consul_acl_default_policy"],
        acl_down_policy=d["consul_acl_down_policy"], gossip_encryption=d["consul_gossip_encryption"],
    )
