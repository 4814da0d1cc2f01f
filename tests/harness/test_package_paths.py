"""sdstack_molecule finds the checkout it belongs to: playbook reruns use its collection link and the
bad-input cases its docs (a wrong depth here fails every rerun with "role not found")."""

from sdstack_molecule import playbook_run, refusals


def test_playbook_runs_use_this_checkouts_collection_link():
    assert (playbook_run.REPO / "galaxy.yml").is_file(), playbook_run.REPO
    assert playbook_run._env()["ANSIBLE_COLLECTIONS_PATH"] == str(playbook_run.REPO / ".lab" / "collections")


def test_bad_input_cases_are_read_from_this_checkouts_docs():
    assert refusals.DOC.is_file(), refusals.DOC
