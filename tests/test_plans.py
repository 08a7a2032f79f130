"""Emergency plans: validation errors with file, line and field; level boundaries; escalation.

The expected line of each error is found in the test's own YAML text (the line
holding the offending key), not taken from the loader; level thresholds are
those of the 2012 national plan (REFERENCES.md "Response levels": I >= 300
deaths or >= 1 % of GDP, II 50-299).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quakewatch.server.decision.activation import (
    ActionStatus,
    Situation,
    checklist,
    decide_level,
    due_escalations,
    revise,
    update_status,
)
from quakewatch.server.decision.plan_loader import PlanInvalid, check_plan, load_plan
from quakewatch.server.decision.response_level import Level
from quakewatch.server.errors import FailedPrecondition

T0 = datetime(2026, 5, 12, 6, 28, tzinfo=UTC)

PLAN = textwrap.dedent("""\
    schema: quakewatch-plan/1
    id: test-province
    version: "3"
    title: Test provincial earthquake plan
    owner_kind: government
    rule_table: response_levels/cn-national-2012.yaml
    roles:
      commander: {name: Commander}
      rescue: {name: Rescue lead}
      relief: {name: Relief lead}
    escalation_role: commander
    relief: {days: 3}
    levels:
      - {level: I, name: especially major}
      - {level: II, name: major}
      - {level: III, name: large}
      - level: IV
        name: general
        criteria:
          intensity: {at_least: 6}
    actions:
      - id: convene
        levels: [I, II, III, IV]
        role: commander
        task: Convene the headquarters
        deadline: {I: 30min, II: 1h, III: 2h, IV: 4h}
      - id: search_rescue
        levels: [I, II]
        role: rescue
        task: Deploy search and rescue teams
        deadline: 2h
        depends_on: [convene]
        escalation: {to: commander, after: 10min, repeat: 30min}
      - id: shelter
        levels: [I, II, III]
        role: relief
        task: Open shelters and distribute relief
        deadline: 10h
        depends_on: [convene]
    """)


def _write(tmp_path: Path, text: str, name: str = "plan.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def _line_of(text: str, needle: str, nth: int = 0) -> int:
    lines = [i + 1 for i, line in enumerate(text.splitlines()) if needle in line]
    return lines[nth]


def test_the_test_plan_is_valid(tmp_path: Path) -> None:
    assert check_plan(_write(tmp_path, PLAN)) == []


@pytest.mark.parametrize(("old", "new", "needle", "field", "message"), [
    pytest.param("owner_kind: government\n", "owner_kind: government\ncolour: red\n", "colour:",
                 "colour", "unknown key 'colour'", id="unknown-key"),
    pytest.param("    task: Deploy search", "    tsak: Deploy search", "tsak:",
                 "actions[1].tsak", "unknown key 'tsak'", id="unknown-nested-key"),
    pytest.param("intensity: {at_least: 6}", "intensity: {at_least: six}", "at_least: six",
                 "levels[3].criteria.intensity.at_least", "valid number", id="wrong-type"),
    pytest.param("deadline: 2h", "deadline: two hours", "deadline: two hours",
                 "actions[1].deadline", "is not a duration", id="wrong-duration"),
    pytest.param("  - {level: II, name: major}", "  - {name: major}", "{name: major}",
                 "levels[1].level", "required key missing", id="missing-level-key"),
    pytest.param("levels: [I, II]", "levels: [I, II, V]", "levels: [I, II, V]",
                 "actions[1].levels[2]", "Input should be", id="undefined-level-name"),
    pytest.param("    depends_on: [convene]\n    escalation", "    depends_on: [convene, shelter]\n    escalation",
                 "depends_on: [convene, shelter]", "actions[1].depends_on[1]", "earlier than the deadline", id="deadline-order"),
    pytest.param("    role: rescue", "    role: rescuer", "role: rescuer",
                 "actions[1].role", "unknown role 'rescuer'", id="unknown-role"),
    pytest.param("escalation: {to: commander", "escalation: {to: mayor", "to: mayor",
                 "actions[1].escalation.to", "unknown role 'mayor'", id="unknown-escalation-role"),
])
def test_malformed_plans_name_file_line_and_field(tmp_path: Path, old: str, new: str, needle: str, field: str, message: str) -> None:
    assert old in PLAN
    text = PLAN.replace(old, new, 1)
    path = _write(tmp_path, text)
    errors = check_plan(path)
    match = [e for e in errors if e.field == field]
    assert match, errors
    e = match[0]
    assert e.file == str(path) and message in e.message
    assert e.line == _line_of(text, needle)
    assert str(e).startswith(f"{path}:{e.line}: {field}: ")


def test_missing_level_used_by_an_action(tmp_path: Path) -> None:
    text = PLAN.replace("  - {level: III, name: large}\n", "")
    errors = check_plan(_write(tmp_path, text))
    fields = {e.field: e for e in errors}
    # the rule table grades level III, and two actions name it
    assert "levels" in fields and "III" in fields["levels"].message
    assert fields["actions[0].levels[2]"].message.startswith("level III is not defined")
    assert fields["actions[0].levels[2]"].line == _line_of(text, "levels: [I, II, III, IV]")


def test_cyclic_dependencies(tmp_path: Path) -> None:
    text = PLAN.replace("  - id: convene\n    levels: [I, II, III, IV]\n    role: commander\n",
                        "  - id: convene\n    levels: [I, II, III, IV]\n    role: commander\n    depends_on: [shelter]\n")
    text = text.replace("deadline: {I: 30min, II: 1h, III: 2h, IV: 4h}", "deadline: {I: 30min, II: 1h, III: 2h}")
    text = text.replace("levels: [I, II, III, IV]", "levels: [I, II, III]")
    errors = check_plan(_write(tmp_path, text))
    cyc = [e for e in errors if "cyclic" in e.message]
    assert len(cyc) == 1 and cyc[0].field == "actions[0].depends_on"
    assert "convene -> shelter -> convene" in cyc[0].message
    assert cyc[0].line == _line_of(text, "depends_on: [shelter]")


def test_duplicate_keys_and_yaml_syntax(tmp_path: Path) -> None:
    text = PLAN.replace('version: "3"\n', 'version: "3"\nversion: "4"\n')
    errors = check_plan(_write(tmp_path, text))
    assert any(e.field == "version" and "duplicate key" in e.message and e.line == 4 for e in errors)
    bad = check_plan(_write(tmp_path, PLAN.replace("roles:\n", "roles: [\n"), "syntax.yaml"))
    assert len(bad) == 1 and "not valid YAML" in bad[0].message


def test_load_plan_raises_with_every_error(tmp_path: Path) -> None:
    text = PLAN.replace("role: rescue", "role: nobody").replace("role: relief", "role: ghost")
    with pytest.raises(PlanInvalid, match="unknown role 'nobody'") as err:
        load_plan(_write(tmp_path, text))
    assert len(err.value.errors) == 2 and err.value.field == "actions[1].role"


def test_cli_validate_exit_status_and_output(tmp_path: Path) -> None:
    good = _write(tmp_path, PLAN, "good.yaml")
    bad = _write(tmp_path, PLAN.replace("role: rescue", "role: nobody"), "bad.yaml")
    cmd = [sys.executable, "-m", "quakewatch.clients.cli", "plan", "validate"]
    ok = subprocess.run([*cmd, str(good)], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "valid" in ok.stdout
    ko = subprocess.run([*cmd, str(good), str(bad)], capture_output=True, text=True, timeout=120)
    assert ko.returncode == 1
    assert f"{bad}:{_line_of(bad.read_text(), 'role: nobody')}: actions[1].role: unknown role 'nobody'" in ko.stderr


# --------------------------------------------------------------------------- level


@pytest.fixture
def plan(tmp_path: Path):  # type: ignore[no-untyped-def]
    return load_plan(_write(tmp_path, PLAN))


@pytest.mark.reference
@pytest.mark.parametrize(("deaths", "level"), [(299.0, Level.II), (299.999, Level.II), (300.0, Level.I), (50.0, Level.II),
                                               (49.9, Level.III), (10.0, Level.III), (9.99, Level.IV), (1.0, Level.IV)])
def test_level_boundaries_by_deaths_are_exact(plan, deaths: float, level: Level) -> None:  # type: ignore[no-untyped-def]
    assert decide_level(plan, Situation(T0, deaths=deaths)).level is level


@pytest.mark.reference
def test_one_percent_of_gdp_is_level_one_exactly(plan) -> None:  # type: ignore[no-untyped-def]
    gdp = 2.57e12
    at = decide_level(plan, Situation(T0, deaths=0.0, direct_loss=gdp * 0.01, gdp_previous_year=gdp))
    below = decide_level(plan, Situation(T0, deaths=0.0, direct_loss=gdp * 0.01 * (1 - 1e-15), gdp_previous_year=gdp))
    assert at.level is Level.I and below.level is None


def test_plan_criteria_add_to_the_rule_table(plan) -> None:  # type: ignore[no-untyped-def]
    d = decide_level(plan, Situation(T0, deaths=0.0, intensity=6.0))
    assert d.level is Level.IV and any(r.criterion == "intensity" for r in d.reasons)
    assert decide_level(plan, Situation(T0, deaths=0.0, intensity=5.9)).level is None
    # the initial judgement counts until a deaths estimate arrives
    from quakewatch.server.decision.response_level import PopulationClass

    first = decide_level(plan, Situation(T0, magnitude=7.0, population_class=PopulationClass.POPULATED))
    later = decide_level(plan, Situation(T0, magnitude=7.0, population_class=PopulationClass.POPULATED, deaths=12.0))
    assert first.level is Level.I and later.level is Level.III


# --------------------------------------------------------------------------- checklist, escalation


def test_checklist_has_absolute_deadlines_per_level(plan) -> None:  # type: ignore[no-untyped-def]
    items = {i.action_id: i for i in checklist(plan, Level.II, T0)}
    assert set(items) == {"convene", "search_rescue", "shelter"}
    assert items["convene"].deadline == T0 + timedelta(hours=1)
    assert items["search_rescue"].deadline == T0 + timedelta(hours=2)
    assert {i.action_id for i in checklist(plan, Level.IV, T0)} == {"convene"}


def test_escalation_fires_when_the_deadline_passes(plan) -> None:  # type: ignore[no-untyped-def]
    items = checklist(plan, Level.I, T0)
    convene_due = T0 + timedelta(minutes=30)
    _, events = due_escalations(items, plan, convene_due)  # at the deadline: not passed yet
    assert events == []
    items1, events = due_escalations(items, plan, convene_due + timedelta(microseconds=1))
    assert [(e.action_id, e.to_role) for e in events] == [("convene", "commander")]
    _, again = due_escalations(items1, plan, convene_due + timedelta(minutes=1))
    assert again == []  # recorded once
    # search_rescue: deadline 2 h, escalation 10 min after, then every 30 min
    first = T0 + timedelta(hours=2, minutes=10)
    items2, ev = due_escalations(items1, plan, first)
    assert not [e for e in ev if e.action_id == "search_rescue"]
    items3, ev = due_escalations(items2, plan, first + timedelta(minutes=61))
    sr = [e for e in ev if e.action_id == "search_rescue"]
    assert [e.count for e in sr] == [1, 2, 3] and sr[-1].due == first + timedelta(minutes=60)
    # done actions never escalate
    done = update_status(items, "convene", ActionStatus.DONE, by="t", now=T0)
    _, ev = due_escalations(done, plan, convene_due + timedelta(hours=1))
    assert "convene" not in {e.action_id for e in ev}


def test_done_only_after_dependencies(plan) -> None:  # type: ignore[no-untyped-def]
    items = checklist(plan, Level.I, T0)
    with pytest.raises(FailedPrecondition, match="waits for convene"):
        update_status(items, "shelter", ActionStatus.DONE, by="t")
    acked = update_status(items, "shelter", ActionStatus.ACKNOWLEDGED, by="t")
    done = update_status(update_status(acked, "convene", ActionStatus.DONE, by="t"), "shelter", ActionStatus.DONE, by="t")
    assert {i.action_id: i.status for i in done}["shelter"] is ActionStatus.DONE


def test_revision_keeps_status_adds_and_cancels(plan) -> None:  # type: ignore[no-untyped-def]
    items = update_status(checklist(plan, Level.III, T0), "convene", ActionStatus.DONE, by="t")
    up = {i.action_id: i for i in revise(items, plan, Level.I, T0)}
    assert up["convene"].status is ActionStatus.DONE and up["convene"].deadline == T0 + timedelta(minutes=30)
    assert up["search_rescue"].status is ActionStatus.PENDING
    down = {i.action_id: i for i in revise(list(up.values()), plan, Level.IV, T0)}
    assert down["search_rescue"].status is ActionStatus.CANCELLED and down["shelter"].status is ActionStatus.CANCELLED
    assert down["convene"].status is ActionStatus.DONE
    back = {i.action_id: i for i in revise(list(down.values()), plan, Level.II, T0)}
    assert back["search_rescue"].status is ActionStatus.PENDING


def test_deadline_counted_from_another_action(tmp_path: Path) -> None:
    text = PLAN.replace("""    deadline: 10h
    depends_on: [convene]""", """    deadline: 6h
    deadline_from: convene
    depends_on: [convene]""")
    loaded = load_plan(_write(tmp_path, text))
    items = {i.action_id: i for i in checklist(loaded, Level.II, T0)}
    # provisional: convene's deadline (1 h at level II) + 6 h
    assert items["shelter"].deadline == T0 + timedelta(hours=7)
    done_at = T0 + timedelta(minutes=20)
    after = {i.action_id: i for i in update_status(list(items.values()), "convene", ActionStatus.DONE, by="t", now=done_at)}
    assert after["shelter"].deadline == done_at + timedelta(hours=6)
    # the level goes up: convene stays done, shelter keeps counting from its completion
    up = {i.action_id: i for i in revise(list(after.values()), loaded, Level.I, T0)}
    assert up["shelter"].deadline == done_at + timedelta(hours=6)
    bad = text.replace("deadline_from: convene", "deadline_from: search_rescue")
    errors = check_plan(_write(tmp_path, bad, "bad.yaml"))
    assert [e.field for e in errors] == ["actions[2].deadline_from"] and "must be one of depends_on" in errors[0].message


@pytest.mark.reference
def test_plan_loss_share_criterion_is_exact(tmp_path: Path) -> None:
    # a plan's own loss-share bound, compared exactly: 1 % of GDP is in, 1 % less one part in 1e15 is not
    old = "    criteria:\n      intensity: {at_least: 6}\n"
    assert old in PLAN
    text = PLAN.replace(old, old + "      direct_loss_share: {at_least: 0.001}\n")
    loaded = load_plan(_write(tmp_path, text))
    gdp = 3.3e12
    assert decide_level(loaded, Situation(T0, deaths=0.0, direct_loss=gdp * 0.001, gdp_previous_year=gdp)).level is Level.IV
    assert decide_level(loaded, Situation(T0, deaths=0.0, direct_loss=gdp * 0.001 * (1 - 1e-15), gdp_previous_year=gdp)).level is None
