"""The emergency plans shipped in ``plans/`` validate and say what their sources say.

Each plan's ``notes`` name its sources.  The facts checked here:

- National Earthquake Emergency Plan, revised 2012-08-28: four levels 特别重大 / 重大 /
  较大 / 一般 graded by the rule table ``cn-national-2012``; level I led by the State
  Council headquarters with the provincial headquarters, II by the provincial
  headquarters, III municipal, IV county.  Clocks of the provincial plans QuakeWatch
  serves (ARCHITECTURE.md): parameters 1 min, intensity 5 / 10 min, rapid loss 20 min,
  trend 30 min, people helped within 10 h.  State Council General Office rule (2016):
  authoritative release within 5 h and a press conference within 24 h for especially
  major and major events.
- Bridge and dam examples: the PGA bounds are those at which the GB/T 17742-2020
  Annex A formula I_PGA = 3.17 log10(PGA) + 6.59 (REFERENCES.md) reaches the lower edge
  of the intensity degree of the same level.
- Coal mine example: stop work and withdraw when the warning index is exceeded
  (防治煤矿冲击地压细则); an accident is reported within 1 h
  (生产安全事故报告和调查处理条例 art. 9); tremor magnitudes 2.0 / 2.5 / 3.0 of the 2020
  rockburst-mine information sharing mechanism.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from quakewatch.server.decision.activation import Situation, decide_level
from quakewatch.server.decision.plan_loader import LoadedPlan, check_plan, load_plan, shipped_plans
from quakewatch.server.decision.plan_schema import HealthStatus, MineRiskGrade, OwnerKind
from quakewatch.server.decision.response_level import Level

PLANS = shipped_plans()
ORIGIN = datetime(2025, 1, 1, tzinfo=UTC)
ALL = [Level.I, Level.II, Level.III, Level.IV]


def _plan(plan_id: str) -> LoadedPlan:
    path = next(p for p in PLANS if p.stem == plan_id)
    return load_plan(path)


def _action(loaded: LoadedPlan, action_id: str):  # noqa: ANN202 (pydantic model)
    return next(a for a in loaded.plan.actions if a.id == action_id)


def test_the_four_plans_are_shipped() -> None:
    assert {p.stem for p in PLANS} >= {
        "cn-national-earthquake-2012", "bridge-owner-example", "dam-owner-example", "coal-mine-example"}


@pytest.mark.parametrize("path", PLANS, ids=lambda p: p.name)
def test_shipped_plan_is_valid(path: Path) -> None:
    assert [str(e) for e in check_plan(path)] == []
    plan = load_plan(path).plan
    assert plan.id == path.stem
    assert plan.source and plan.notes
    assert len(plan.actions) >= 6
    assert plan.escalation_role in plan.roles
    assert plan.notifications


# ---- National Earthquake Emergency Plan (2012) ------------------------------------------

@pytest.mark.reference
def test_national_plan_levels_and_rule_table() -> None:
    loaded = _plan("cn-national-earthquake-2012")
    plan = loaded.plan
    assert plan.owner_kind is OwnerKind.GOVERNMENT
    assert str(plan.effective_date) == "2012-08-28"
    assert [s.level for s in plan.levels] == ALL
    assert [s.name_zh for s in plan.levels] == ["特别重大地震灾害", "重大地震灾害", "较大地震灾害", "一般地震灾害"]
    # grading lives in the 2012 rule table only; the 2012 plan has no intensity criterion
    assert plan.rule_table == "response_levels/cn-national-2012.yaml"
    assert loaded.rule_table is not None and loaded.rule_table.id == "cn-national-2012"
    assert all(s.criteria is None for s in plan.levels)
    assert decide_level(loaded, Situation(ORIGIN, deaths=300)).level is Level.I
    assert decide_level(loaded, Situation(ORIGIN, deaths=299.6)).level is Level.II


@pytest.mark.reference
def test_national_plan_who_leads_each_level() -> None:
    loaded = _plan("cn-national-earthquake-2012")
    leads = {a.id: (a.role, list(a.levels)) for a in loaded.plan.actions}
    assert leads["launch_level_i"] == ("state_council_hq", [Level.I])
    assert leads["coordinate_level_ii"] == ("state_council_hq", [Level.II])
    assert leads["provincial_command"] == ("provincial_hq", [Level.I, Level.II])
    assert leads["municipal_command"] == ("municipal_hq", [Level.III])
    assert leads["county_command"] == ("county_hq", [Level.IV])


@pytest.mark.reference
@pytest.mark.parametrize(("action_id", "deadline"), [
    ("auto_parameters", timedelta(minutes=1)),
    ("intensity_initial_report", timedelta(minutes=5)),
    ("intensity_report", timedelta(minutes=10)),
    ("rapid_loss_assessment", timedelta(minutes=20)),
    ("trend_opinion", timedelta(minutes=30)),
    ("shelter_and_relief", timedelta(hours=10)),
])
def test_national_plan_clocks_are_the_served_ones(action_id: str, deadline: timedelta) -> None:
    action = _action(_plan("cn-national-earthquake-2012"), action_id)
    assert list(action.levels) == ALL
    assert all(action.deadline_at(lv) == deadline for lv in ALL)


@pytest.mark.reference
def test_national_plan_relief_and_information_release() -> None:
    loaded = _plan("cn-national-earthquake-2012")
    relief = loaded.plan.relief
    assert (relief.norms, relief.days, relief.deadline) == ("default", 3.0, timedelta(hours=10))
    release = _action(loaded, "first_public_release")
    press = _action(loaded, "press_conference")
    assert release.deadline_at(Level.I) == release.deadline_at(Level.II) == timedelta(hours=5)
    assert list(press.levels) == [Level.I, Level.II] and press.deadline_at(Level.I) == timedelta(hours=24)


# ---- owner examples -----------------------------------------------------------------------

@pytest.mark.reference
@pytest.mark.parametrize("plan_id", ["bridge-owner-example", "dam-owner-example"])
def test_pga_bounds_match_the_intensity_bounds(plan_id: str) -> None:
    checked = 0
    for spec in _plan(plan_id).plan.levels:
        c = spec.criteria
        if c is None or c.pga_mps2 is None or c.intensity is None:
            continue
        i_pga = 3.17 * math.log10(c.pga_mps2.at_least) + 6.59  # GB/T 17742-2020 Annex A
        assert i_pga == pytest.approx(c.intensity.at_least, abs=0.01), spec.level
        checked += 1
    assert checked >= 3


def test_bridge_closes_at_levels_i_and_ii() -> None:
    loaded = _plan("bridge-owner-example")
    assert list(_action(loaded, "close_bridge").levels) == [Level.I, Level.II]
    assert decide_level(loaded, Situation(ORIGIN, pga_mps2=1.0)).level is Level.II
    assert decide_level(loaded, Situation(ORIGIN, pga_mps2=0.3, structure_health=HealthStatus.RED)).level is Level.I
    assert decide_level(loaded, Situation(ORIGIN, structure_health=HealthStatus.GREEN)).level is None


def test_dam_emergency_only_on_red() -> None:
    loaded = _plan("dam-owner-example")
    assert decide_level(loaded, Situation(ORIGIN, structure_health=HealthStatus.RED)).level is Level.I
    assert decide_level(loaded, Situation(ORIGIN, intensity=8.2, pga_mps2=3.0)).level is Level.II
    for action_id in ("lower_reservoir", "downstream_warning"):
        assert list(_action(loaded, action_id).levels) == [Level.I]
    assert list(_action(loaded, "first_report").levels) == ALL


@pytest.mark.reference
def test_coal_mine_grades_and_reporting() -> None:
    loaded = _plan("coal-mine-example")
    assert loaded.plan.initial_judgement_policy == "always"
    grade = {g: decide_level(loaded, Situation(ORIGIN, mine_risk_grade=g)).level for g in MineRiskGrade}
    assert grade == {MineRiskGrade.NONE: None, MineRiskGrade.WEAK: Level.III,
                     MineRiskGrade.MEDIUM: Level.II, MineRiskGrade.STRONG: Level.I}
    assert [decide_level(loaded, Situation(ORIGIN, magnitude=m)).level for m in (1.9, 2.0, 2.5, 3.0)] == [
        None, Level.IV, Level.III, Level.II]
    assert list(_action(loaded, "stop_and_evacuate").levels) == [Level.I, Level.II]
    report = _action(loaded, "report_to_authority")
    assert report.deadline_at(Level.I) == report.deadline_at(Level.II) == timedelta(hours=1)
    assert _action(loaded, "resume_decision").depends_on == ("effect_check",)
