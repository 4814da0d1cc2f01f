"""ConsulObject.ensure's contract, on an object kept in memory: what each state and mode does,
and the result every module returns (changed, action, id, diff, the object under its kind)."""

import pytest

from ansible_collections.sdstack.consul.plugins.module_utils._consul_object import ConsulObject


class Thing(ConsulObject):
    kind = "thing"

    def __init__(self, stored, desired=None):
        super().__init__(client=None, ident="t1", desired=desired)
        self.stored = stored
        self.calls = []

    def read(self):
        self.calls.append("read")
        return self.stored

    def write(self, desired):
        self.calls.append(("write", desired))

    def delete(self):
        self.calls.append("delete")


def result(changed, action, before, after):
    return dict(changed=changed, action=action, id="t1", diff=dict(before=before, after=after), thing=after or None)


@pytest.mark.parametrize("check_mode", [False, True])
def test_absent_and_missing_does_nothing(check_mode):
    obj = Thing(None)
    assert obj.ensure("absent", check_mode) == result(False, "none", {}, {})
    assert obj.calls == ["read"]


@pytest.mark.parametrize("check_mode,calls", [(False, ["read", "delete"]), (True, ["read"])])
def test_absent_deletes_what_exists_unless_checking(check_mode, calls):
    obj = Thing({"a": 1})
    assert obj.ensure("absent", check_mode) == result(True, "deleted", {"a": 1}, {})
    assert obj.calls == calls


def test_present_and_same_does_nothing():
    obj = Thing({"a": 1}, desired={"a": 1})
    assert obj.ensure("present") == result(False, "none", {"a": 1}, {"a": 1})
    assert obj.calls == ["read"]


@pytest.mark.parametrize("stored,action", [(None, "created"), ({"a": 1}, "updated")])
@pytest.mark.parametrize("check_mode", [False, True])
def test_present_writes_the_desired_state_unless_checking(stored, action, check_mode):
    obj = Thing(stored, desired={"a": 2})
    assert obj.ensure("present", check_mode) == result(True, action, stored or {}, {"a": 2})
    assert obj.calls == ["read"] + ([] if check_mode else [("write", {"a": 2})])


def test_a_known_current_state_is_not_read_again():
    obj = Thing({"a": 1}, desired={"a": 1})
    assert obj.ensure("present", current={"a": 0}, known=True) == result(True, "updated", {"a": 0}, {"a": 1})
    assert obj.calls == [("write", {"a": 1})]


@pytest.mark.parametrize("method,args", [("read", ()), ("write", ({},)), ("delete", ())])
def test_a_kind_must_say_how_it_reads_writes_and_deletes(method, args):
    with pytest.raises(NotImplementedError):
        getattr(ConsulObject(None, "x"), method)(*args)


def test_the_base_kind_is_object():
    assert ConsulObject(None, "x").ensure("absent", current=None, known=True)["object"] is None
