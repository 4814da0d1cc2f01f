"""The README's commands work from a fresh clone with only ansible-core and community.crypto
installed: site.yml at the top, ansible.cfg making the checkout resolvable as sdstack.consul through
collections/ansible_collections/sdstack/consul (a link back to the clone), the user's own
collections folders still searched.

What each test needs (removing it turns the test red):
- top-level site.yml runs from the clone: the link (ansible-playbook also searches collections/ next
  to the playbook given, so this one holds without ansible.cfg);
- playbooks/site.yml and ansible-doc from the clone: ansible.cfg's collections_path (and the link);
- the user's community.crypto: ansible.cfg keeping ~/.ansible/collections in that list."""

import json
import re

import pytest

from fresh_clone import run


def _plays_and_tasks(out):
    """--list-tasks output without its first line (the playbook's own name)."""
    return [line for line in out.splitlines() if line.strip() and not line.startswith("playbook: ")]


@pytest.mark.parametrize("inventory", ["cluster", "seed", "multidc"])
def test_site_yml_syntax_checks_from_the_clone(clone, home, inventory):
    out = run(["ansible-playbook", "-i", f"inventories/{inventory}", "site.yml", "--syntax-check"], clone, home)
    assert "playbook: site.yml" in out, out


def test_site_yml_runs_exactly_playbooks_site_yml(clone, home):
    top = run(["ansible-playbook", "-i", "inventories/cluster", "site.yml", "--list-tasks"], clone, home)
    inner = run(["ansible-playbook", "-i", "inventories/cluster", "playbooks/site.yml", "--list-tasks"], clone, home)
    assert _plays_and_tasks(top) == _plays_and_tasks(inner)
    assert re.search(r"play #\d+ \(consul_servers\): Consul servers", top), top


def test_playbooks_and_docs_resolve_the_collection_through_ansible_cfg(clone, home):
    out = run(["ansible-playbook", "-i", "inventories/cluster", "playbooks/site.yml", "--syntax-check"], clone, home)
    assert "playbook: playbooks/site.yml" in out, out
    doc = json.loads(run(["ansible-doc", "-t", "role", "--json", "sdstack.consul.consul"], clone, home))
    assert "main" in doc["sdstack.consul.consul"]["entry_points"]


def test_the_clone_and_the_users_own_collections_are_both_found(clone, home):
    found = json.loads(run(["ansible-galaxy", "collection", "list", "--format", "json"], clone, home))
    where = {name: path for path, colls in found.items() for name in colls}
    # The clone's own checkout, not some installed copy: a run from the clone runs the clone's code.
    assert where.get("sdstack.consul") == str(clone / "collections" / "ansible_collections"), found
    assert where.get("community.crypto") == str(home / ".ansible" / "collections" / "ansible_collections"), found
