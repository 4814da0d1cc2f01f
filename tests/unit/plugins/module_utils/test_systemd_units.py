"""systemd_units' decisions, on what `systemctl show` answered on a lab host (fixtures/systemd_units/show.txt,
recorded by record.sh beside it): which units to enable, start, restart, stop or disable, and which it refuses."""

import re
from pathlib import Path

import pytest

from ansible_collections.sdstack.consul.plugins.module_utils import _systemd_units as su

SHOW = (Path(__file__).parents[2] / "fixtures" / "systemd_units" / "show.txt").read_text()
# The units record.sh asked about, in its order.
NAMES = ["nginx", "consul@node1.service", "consul@never-started.service", "systemd-journald.service",
         "sdstack-recorded-masked.service", "sdstack-recorded-missing.service"]
SHOWN = dict(zip(NAMES, su.parse_show(SHOW, len(NAMES))))


def decide(*units, check_mode=False):
    actions, report = su.plan(list(units), [SHOWN[u["name"]] for u in units], check_mode)
    return {a: names for a, names in actions.items() if names}, report


def test_the_recording_reads_as_one_block_per_unit_in_order():
    assert [b["Id"] for b in SHOWN.values()] == ["nginx.service"] + NAMES[1:]
    missing = {"Id": "sdstack-recorded-missing.service", "LoadState": "not-found", "ActiveState": "inactive",
               "UnitFileState": ""}
    assert SHOWN["sdstack-recorded-missing.service"] == missing


def test_a_count_that_does_not_match_the_units_asked_for_is_refused():
    with pytest.raises(su.UnitError, match="answered for 6 units, 5 were asked for"):
        su.parse_show(SHOW, 5)


def test_units_already_as_asked_need_nothing():
    actions, report = decide({"name": "nginx", "state": "started", "enabled": True},
                             {"name": "consul@node1.service", "state": "started", "enabled": True},
                             {"name": "consul@never-started.service", "state": "stopped", "enabled": False},
                             {"name": "systemd-journald.service", "state": "started", "enabled": True})
    assert actions == {}
    assert [r["actions"] for r in report] == [[], [], [], []]


def test_a_stopped_disabled_unit_is_enabled_and_started_and_a_running_one_stopped_and_disabled():
    actions, report = decide({"name": "consul@never-started.service", "state": "started", "enabled": True},
                             {"name": "nginx", "state": "stopped", "enabled": False})
    assert actions == {"enable": ["consul@never-started.service"], "start": ["consul@never-started.service"],
                       "stop": ["nginx"], "disable": ["nginx"]}
    assert report[0] == {"name": "consul@never-started.service", "load_state": "loaded", "active_state": "inactive",
                         "unit_file_state": "disabled", "actions": ["enable", "start"]}


def test_stops_run_before_starts_so_a_replaced_unit_frees_its_port_first():
    assert su.ACTIONS.index("stop") < su.ACTIONS.index("start")
    assert su.ACTIONS.index("disable") < su.ACTIONS.index("enable")


def test_restarted_always_restarts_and_state_or_enabled_left_out_are_left_alone():
    assert decide({"name": "nginx", "state": "restarted"}, {"name": "consul@never-started.service"})[0] == {"restart": ["nginx"]}


def test_a_static_unit_counts_as_enabled_and_a_masked_one_cannot_be():
    assert decide({"name": "systemd-journald.service", "enabled": True})[0] == {}
    assert decide({"name": "sdstack-recorded-masked.service", "enabled": True})[0] == {
        "enable": ["sdstack-recorded-masked.service"]}


def test_an_unknown_unit_to_run_is_refused_naming_it():
    for unit in ({"name": "sdstack-recorded-missing.service", "state": "started"},
                 {"name": "sdstack-recorded-missing.service", "enabled": True}):
        with pytest.raises(su.UnitError, match="unit sdstack-recorded-missing.service: systemd has no such unit"):
            decide(unit)


def test_an_unknown_unit_to_stop_needs_missing_ok():
    unit = {"name": "sdstack-recorded-missing.service", "state": "stopped", "enabled": False}
    with pytest.raises(su.UnitError, match="missing_ok allows that"):
        decide(unit)
    assert decide(dict(unit, missing_ok=True))[0] == {}


def test_a_check_run_takes_an_unknown_unit_to_run_for_one_the_real_run_writes():
    actions = decide({"name": "sdstack-recorded-missing.service", "state": "started", "enabled": True},
                     check_mode=True)[0]
    assert actions == {"enable": ["sdstack-recorded-missing.service"], "start": ["sdstack-recorded-missing.service"]}


@pytest.mark.parametrize("units,why", [
    ([], "units is empty"),
    ([{"name": "a b"}], "unit name 'a b' is not one unit's name"),
    ([{"name": "consul@*.service"}], "unit name 'consul@\\*.service'"),
    ([{"name": ""}], "unit name ''"),
    ([{"name": "nginx"}, {"name": "nginx"}], "unit 'nginx' is named twice"),
    ([{"name": "nginx", "state": "reloaded"}], "unit nginx: state 'reloaded' is not one of started, stopped, restarted"),
])
def test_bad_input_is_refused_naming_the_value(units, why):
    assert su.refusal(units) is not None
    assert re.search(why, su.refusal(units))
