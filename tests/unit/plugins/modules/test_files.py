"""files: several files written in one run, each new content validated before any file is replaced; a refused
validation or a refused path leaves every file as it was."""

import os
import stat

from ansible_collections.sdstack.consul.plugins.modules import files


def mode(path):
    return stat.S_IMODE(os.stat(path).st_mode)


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_new_files_are_written_with_their_modes_and_labels(tmp_path, run_module):
    a, b = tmp_path / "consul.json", tmp_path / "10-instance.conf"
    got = run_module(files, None, files=[{"path": str(a), "content": "{}\n", "mode": "0640", "label": "node1"},
                                         {"path": str(b), "content": "[Service]\n", "mode": "0644"}])
    assert got["changed"] is True
    assert got["files"] == [{"path": str(a), "label": "node1", "changed": True, "content_changed": True},
                            {"path": str(b), "label": None, "changed": True, "content_changed": True}]
    assert (a.read_text(), b.read_text(), mode(a), mode(b)) == ("{}\n", "[Service]\n", 0o640, 0o644)
    assert [(d["before"], d["after"]) for d in got["diff"]] == [("", "{}\n"), ("", "[Service]\n")]
    assert leftovers(tmp_path) == []


def test_a_second_run_changes_nothing_and_validates_nothing(tmp_path, run_module):
    spec = [{"path": str(tmp_path / "a"), "content": "x\n", "mode": "0640", "validate": "grep -q x %s"}]
    run_module(files, None, files=spec)
    # Unchanged content is not validated again: a check that would now fail is not run.
    again = run_module(files, None, files=[dict(spec[0], validate="false %s")])
    assert again["changed"] is False and again["diff"] == [] and again["files"][0]["changed"] is False


def test_a_refused_validation_replaces_no_file(tmp_path, run_module):
    good, bad = tmp_path / "node1.json", tmp_path / "node2.json"
    good.write_text("old good\n")
    bad.write_text("old bad\n")
    got = run_module(files, None, files=[
        {"path": str(good), "content": "new good\n", "validate": "grep -q good %s", "label": "node1"},
        {"path": str(bad), "content": "new\n", "validate": "sh -c 'echo \"unknown key bogus\" >&2; exit 1' %s",
         "label": "node2"}])
    assert got["failed"] is True
    assert got["msg"] == "files: validation refused the new content of node2 (no file was changed): unknown key bogus"
    assert [(i["label"], i["rc"]) for i in got["invalid"]] == [("node2", 1)]
    assert (good.read_text(), bad.read_text()) == ("old good\n", "old bad\n")
    assert leftovers(tmp_path) == []


def test_the_candidate_is_what_the_command_checks(tmp_path, run_module):
    target = tmp_path / "a.conf"
    got = run_module(files, None, files=[{"path": str(target), "content": "wanted\n",
                                          "validate": "grep -q '^wanted$' %s"}])
    assert got["changed"] is True and target.read_text() == "wanted\n"


def test_check_mode_reports_without_writing(tmp_path, run_module):
    new, old = tmp_path / "new", tmp_path / "old"
    old.write_text("same\n")
    os.chmod(old, 0o666)
    got = run_module(files, None, files=[{"path": str(new), "content": "x\n", "validate": "false %s"},
                                         {"path": str(old), "content": "same\n", "mode": "0640"}],
                     _ansible_check_mode=True)
    assert got["changed"] is True and [f["changed"] for f in got["files"]] == [True, True]
    assert not new.exists() and mode(old) == 0o666 and leftovers(tmp_path) == []


def test_a_mode_change_alone_keeps_the_content(tmp_path, run_module):
    f = tmp_path / "a"
    f.write_text("same\n")
    os.chmod(f, 0o666)
    got = run_module(files, None, files=[{"path": str(f), "content": "same\n", "mode": "0640",
                                          "validate": "false %s"}])
    assert got["files"][0] == {"path": str(f), "label": None, "changed": True, "content_changed": False}
    assert mode(f) == 0o640 and f.read_text() == "same\n"
    assert got["diff"][0]["before"]["mode"] == "0666" and got["diff"][0]["after"]["mode"] == "0640"


def refused(tmp_path, run_module, second, message):
    first = tmp_path / "first"
    got = run_module(files, None, files=[{"path": str(first), "content": "x\n"}, second])
    assert got["failed"] is True and got["msg"] == "files: %s; nothing was changed" % message.format(tmp=tmp_path)
    assert not first.exists()


def test_a_relative_path_is_refused_before_any_write(tmp_path, run_module):
    refused(tmp_path, run_module, {"path": "etc/consul.json", "content": ""}, "'etc/consul.json' is not an absolute path")


def test_a_folder_in_the_way_is_refused_before_any_write(tmp_path, run_module):
    (tmp_path / "dir").mkdir()
    refused(tmp_path, run_module, {"path": str(tmp_path / "dir"), "content": ""},
            "{tmp}/dir exists and is not a regular file")


def test_a_missing_folder_is_refused_before_any_write(tmp_path, run_module):
    refused(tmp_path, run_module, {"path": str(tmp_path / "none" / "a"), "content": ""},
            "the folder of {tmp}/none/a does not exist")


def test_check_mode_reports_a_file_in_a_folder_not_made_yet_as_new(tmp_path, run_module):
    # On a fresh host in check mode, the task that makes the folder only said it would.
    target = tmp_path / "none" / "a"
    got = run_module(files, None, files=[{"path": str(target), "content": "x\n", "mode": "0640", "label": "node1"}],
                     _ansible_check_mode=True)
    assert got["files"] == [{"path": str(target), "label": "node1", "changed": True, "content_changed": True}]
    assert not (tmp_path / "none").exists()


def test_check_mode_still_refuses_a_file_in_the_way_of_the_folder(tmp_path, run_module):
    (tmp_path / "none").write_text("")
    got = run_module(files, None, files=[{"path": str(tmp_path / "none" / "a"), "content": ""}],
                     _ansible_check_mode=True)
    assert got["failed"] is True and got["msg"] == "files: the folder of %s/none/a does not exist; nothing was changed" % tmp_path


def test_a_validate_without_the_candidate_is_refused_before_any_write(tmp_path, run_module):
    refused(tmp_path, run_module, {"path": str(tmp_path / "a"), "content": "", "validate": "consul validate"},
            "validate of {tmp}/a must hold %s for the candidate file: 'consul validate'")


def test_a_backup_keeps_the_replaced_content_and_only_that(tmp_path, run_module):
    unit, new = tmp_path / "node_exporter.service", tmp_path / "cadvisor.service"
    unit.write_text("old\n")
    got = run_module(files, None, files=[{"path": str(unit), "content": "new\n", "backup": True},
                                         {"path": str(new), "content": "first\n", "backup": True}])
    backup = got["files"][0]["backup_file"]
    assert os.path.dirname(backup) == str(tmp_path) and backup != str(unit)
    assert (open(backup, encoding="utf-8").read(), unit.read_text()) == ("old\n", "new\n")
    assert "backup_file" not in got["files"][1], "a new file has nothing to keep"
    again = run_module(files, None, files=[{"path": str(unit), "content": "new\n", "backup": True}])
    assert "backup_file" not in again["files"][0], "an unchanged file is not copied"
    refused = run_module(files, None, files=[{"path": str(unit), "content": "bad\n", "backup": True,
                                              "validate": "false %s"}])
    assert refused["failed"] is True
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([unit.name, new.name, os.path.basename(backup)])
