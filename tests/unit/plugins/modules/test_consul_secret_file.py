"""consul_secret_file: a secret is written once, never replaced, never returned."""

import base64
import os
import stat
import uuid

import pytest

from ansible_collections.sdstack.consul.plugins.modules import consul_secret_file


def test_gossip_key_is_32_random_bytes_in_base64(tmp_path, run_module):
    path = tmp_path / "gossip.key"
    got = run_module(consul_secret_file, None, path=str(path), kind="gossip")
    assert got["changed"] is True
    text = path.read_text()
    assert text.endswith("\n") and len(base64.b64decode(text.strip(), validate=True)) == 32
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert text.strip() not in str(got)


def test_token_secret_is_a_uuid(tmp_path, run_module):
    path = tmp_path / "agent.token"
    run_module(consul_secret_file, None, path=str(path), kind="uuid")
    assert str(uuid.UUID(path.read_text().strip())) == path.read_text().strip()


def test_an_existing_file_is_never_replaced(tmp_path, run_module):
    path = tmp_path / "agent.token"
    path.write_text("kept\n")
    assert run_module(consul_secret_file, None, path=str(path), kind="uuid")["changed"] is False
    assert path.read_text() == "kept\n"


def test_check_mode_leaves_an_existing_file_unchanged(tmp_path, run_module):
    path = tmp_path / "gossip.key"
    path.write_text("kept\n")
    got = run_module(consul_secret_file, None, path=str(path), kind="gossip", _ansible_check_mode=True)
    assert got["changed"] is False and path.read_text() == "kept\n"


def test_check_mode_reports_without_writing(tmp_path, run_module):
    path = tmp_path / "gossip.key"
    got = run_module(consul_secret_file, None, path=str(path), kind="gossip", _ansible_check_mode=True)
    assert got["changed"] is True and not path.exists()


def test_two_secrets_differ():
    assert consul_secret_file.new_secret("gossip") != consul_secret_file.new_secret("gossip")


def test_a_missing_folder_is_one_line(tmp_path, run_module):
    path = tmp_path / "absent" / "gossip.key"
    got = run_module(consul_secret_file, None, path=str(path), kind="gossip")
    assert got["failed"] is True and got["msg"] == "%s: cannot create the secret file: No such file or directory" % path


def test_create_loses_a_race_quietly(tmp_path):
    path = tmp_path / "t"
    assert consul_secret_file.create(str(path), "uuid") is True
    assert consul_secret_file.create(str(path), "uuid") is False


@pytest.mark.parametrize("kind", ["rsa", ""])
def test_unknown_kind_is_refused(tmp_path, run_module, kind):
    got = run_module(consul_secret_file, None, path=str(tmp_path / "x"), kind=kind)
    assert got["failed"] is True and "kind" in got["msg"]
