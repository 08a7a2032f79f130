"""Tests for quakewatch.server.decision.response_level.

Thresholds come from the text of the 2012 National Earthquake Emergency Plan
(disaster grading, as quoted by Xinhua 2014-10-08; REFERENCES.md "Response
levels"): deaths I >= 300, II 50-299, III 10-49, IV < 10; direct loss >= 1 % of
the province's previous-year GDP -> I; initial judgement M >= 7.0 populated /
M >= 6.0 densely populated -> I, 6.0-7.0 / 5.0-6.0 -> II, 5.0-6.0 / 4.0-5.0 -> III,
4.0-5.0 populated -> IV.  The lower bound 1 of IV and the combination rule are
QuakeWatch's documented reading (module docstring).
"""

from __future__ import annotations

import copy
import dataclasses
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
import yaml

from quakewatch.server.decision.response_level import (
    DEFAULT_RULE_TABLE,
    InitialJudgementPolicy,
    Level,
    PopulationClass,
    ResponseRuleTable,
    evaluate,
    load_rule_table,
    parse_rule_table,
)
from quakewatch.server.errors import InvalidInput, NotFound


@pytest.fixture(scope="module")
def table() -> ResponseRuleTable:
    return load_rule_table()


@pytest.fixture
def raw() -> dict[str, Any]:
    text = resources.files("quakewatch.plans").joinpath(*DEFAULT_RULE_TABLE.split("/")).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert isinstance(data, dict)
    return data


# --------------------------------------------------------------------------- #
# the shipped table
# --------------------------------------------------------------------------- #


@pytest.mark.reference
def test_default_table_is_the_2012_plan(table: ResponseRuleTable) -> None:
    assert table.id == "cn-national-2012"
    assert table.version == "1"
    assert str(table.effective_date) == "2012-08-28"
    assert "国家地震应急预案" in table.source
    assert table.deaths_include_missing is True
    assert table.initial_judgement_policy is InitialJudgementPolicy.UNTIL_DEATHS_ESTIMATE
    assert [r.level for r in table.levels] == [Level.I, Level.II, Level.III, Level.IV]
    assert [r.name_zh for r in table.levels] == ["特别重大地震灾害", "重大地震灾害", "较大地震灾害", "一般地震灾害"]
    assert table.rule(Level.I).direct_loss_share.at_least == 0.01
    # the plan gives no number for II..IV: represented as qualitative, with the plan's wording
    for lv, word in ((Level.II, "严重"), (Level.III, "较重"), (Level.IV, "一定")):
        share = table.rule(lv).direct_loss_share
        assert share.at_least is None and word in share.wording
    assert table.rule(Level.IV).initial_judgement.densely_populated is None


def test_default_table_loads_from_a_path_too(tmp_path: Path, raw: dict[str, Any], table: ResponseRuleTable) -> None:
    p = tmp_path / "copy.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    assert load_rule_table(p) == table


# --------------------------------------------------------------------------- #
# boundaries
# --------------------------------------------------------------------------- #


@pytest.mark.reference
@pytest.mark.parametrize(
    ("deaths", "level"),
    [
        (1e5, Level.I),
        (300.0, Level.I),
        (299.999, Level.II),
        (299.6, Level.II),  # expected value compared as it is, no rounding
        (299.0, Level.II),
        (50.0, Level.II),
        (49.999, Level.III),
        (49.0, Level.III),
        (10.0, Level.III),
        (9.999, Level.IV),
        (9.0, Level.IV),
        (1.0, Level.IV),
        (0.999, None),
        (0.0, None),
    ],
)
def test_deaths_boundaries(table: ResponseRuleTable, deaths: float, level: Level | None) -> None:
    d = evaluate(table, deaths=deaths)
    assert d.level is level
    assert d.reasons[0].criterion == "deaths" and d.reasons[0].value == deaths and d.reasons[0].level is level
    assert d.basis == "loss_estimate"


@pytest.mark.reference
@pytest.mark.parametrize(
    ("loss", "gdp", "level"),
    [
        (10_000_000_000, 1_000_000_000_000, Level.I),  # exactly 1 %
        (3_700_000_000, 370_000_000_000, Level.I),  # exactly 1 %, ratio not a round binary number
        (3_699_999_999, 370_000_000_000, None),  # one yuan short
        (3_700_000_001, 370_000_000_000, Level.I),
        (0, 370_000_000_000, None),
    ],
)
def test_loss_share_boundary_is_exact(table: ResponseRuleTable, loss: float, gdp: float, level: Level | None) -> None:
    d = evaluate(table, direct_loss=loss, gdp_previous_year=gdp)
    assert d.level is level
    (reason,) = d.reasons
    assert reason.criterion == "direct_loss_share" and reason.value == pytest.approx(loss / gdp)
    if level is None:
        assert "qualitative" in reason.threshold


@pytest.mark.reference
@pytest.mark.parametrize(
    ("magnitude", "pc", "level"),
    [
        (8.0, "populated", Level.I),
        (7.0, "populated", Level.I),
        (6.99, "populated", Level.II),
        (6.0, "populated", Level.II),
        (5.99, "populated", Level.III),
        (5.0, "populated", Level.III),
        (4.99, "populated", Level.IV),
        (4.0, "populated", Level.IV),
        (3.99, "populated", None),
        (6.0, "densely_populated", Level.I),
        (5.99, "densely_populated", Level.II),
        (5.0, "densely_populated", Level.II),
        (4.99, "densely_populated", Level.III),
        (4.0, "densely_populated", Level.III),
        (3.99, "densely_populated", None),
    ],
)
def test_initial_judgement_boundaries(table: ResponseRuleTable, magnitude: float, pc: str, level: Level | None) -> None:
    d = evaluate(table, magnitude=magnitude, population_class=pc)
    assert d.level is level and d.initial_judgement is level
    assert d.basis == "initial_judgement"
    assert d.reasons[0].criterion == f"magnitude ({pc})"


# --------------------------------------------------------------------------- #
# combination
# --------------------------------------------------------------------------- #


def test_deaths_estimate_replaces_initial_judgement(table: ResponseRuleTable) -> None:
    d = evaluate(table, deaths=12.0, magnitude=7.2, population_class=PopulationClass.POPULATED)
    assert d.level is Level.III  # may go down from the initial I
    assert d.initial_judgement is Level.I
    assert [r.criterion for r in d.reasons] == ["deaths"]
    assert d.basis == "loss_estimate"
    assert (d.rule_table_id, d.rule_table_version) == ("cn-national-2012", "1")


def test_most_severe_criterion_wins(table: ResponseRuleTable) -> None:
    d = evaluate(table, deaths=12.0, direct_loss=2e10, gdp_previous_year=1e12)
    assert d.level is Level.I
    assert [(r.criterion, r.level) for r in d.reasons] == [("deaths", Level.III), ("direct_loss_share", Level.I)]


def test_initial_judgement_counts_while_no_deaths_estimate(table: ResponseRuleTable) -> None:
    d = evaluate(table, direct_loss=1e9, gdp_previous_year=1e12, magnitude=6.5, population_class="populated")
    assert d.level is Level.II
    assert d.basis == "loss_estimate+initial_judgement"
    assert [r.level for r in d.reasons] == [None, Level.II]


def test_policy_always_keeps_initial_judgement(raw: dict[str, Any]) -> None:
    raw["initial_judgement_policy"] = "always"
    t = parse_rule_table(raw)
    d = evaluate(t, deaths=12.0, magnitude=7.2, population_class="populated")
    assert d.level is Level.I
    assert d.basis == "loss_estimate+initial_judgement"


def test_no_estimate_gives_no_level(table: ResponseRuleTable) -> None:
    d = evaluate(table)
    assert d.level is None and d.reasons == () and d.basis == "none"


def test_decision_is_frozen(table: ResponseRuleTable) -> None:
    d = evaluate(table, deaths=3.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.level = Level.I  # type: ignore[misc]


# --------------------------------------------------------------------------- #
# invalid estimates
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("kwargs", "field", "pattern"),
    [
        ({"deaths": -1.0}, "deaths", r"deaths: must be >= 0"),
        ({"deaths": float("nan")}, "deaths", r"deaths: must be finite"),
        ({"deaths": True}, "deaths", r"deaths: must be a number"),
        ({"direct_loss": 1.0}, "gdp_previous_year", r"gdp_previous_year: direct_loss and gdp_previous_year go together"),
        ({"gdp_previous_year": 1.0}, "direct_loss", r"direct_loss: direct_loss and gdp_previous_year go together"),
        ({"direct_loss": 1.0, "gdp_previous_year": 0.0}, "gdp_previous_year", r"gdp_previous_year: must be > 0"),
        ({"direct_loss": -1.0, "gdp_previous_year": 1.0}, "direct_loss", r"direct_loss: must be >= 0"),
        ({"magnitude": 6.0}, "population_class", r"population_class: magnitude and population_class go together"),
        ({"population_class": "populated"}, "magnitude", r"magnitude: magnitude and population_class go together"),
        ({"magnitude": 6.0, "population_class": "urban"}, "population_class", r"population_class: must be one of populated"),
    ],
)
def test_invalid_estimates_name_the_argument(table: ResponseRuleTable, kwargs: dict[str, Any], field: str, pattern: str) -> None:
    with pytest.raises(InvalidInput, match=pattern) as info:
        evaluate(table, **kwargs)
    assert info.value.field == field


# --------------------------------------------------------------------------- #
# malformed tables
# --------------------------------------------------------------------------- #


def _break(raw: dict[str, Any], how: str) -> dict[str, Any]:
    d = copy.deepcopy(raw)
    if how == "unknown_key":
        d["levels"][1]["deaths"]["at_leest"] = 3
    elif how == "unknown_top_key":
        d["colour"] = "red"
    elif how == "wrong_type":
        d["levels"][0]["deaths"]["at_least"] = "many"
    elif how == "missing_level":
        del d["levels"][2]
    elif how == "missing_field":
        del d["version"]
    elif how == "bad_level_name":
        d["levels"][0]["level"] = "V"
    elif how == "overlap":
        d["levels"][3]["deaths"] = {"at_least": 5, "less_than": 60}
    elif how == "both_lower_bounds":
        d["levels"][3]["deaths"]["more_than"] = 0
    elif how == "bad_policy":
        d["initial_judgement_policy"] = "sometimes"
    elif how == "bad_date":
        d["effective_date"] = "yesterday"
    elif how == "share_above_one":
        d["levels"][0]["direct_loss_share"]["at_least"] = 2
    return d


@pytest.mark.parametrize(
    ("how", "field", "pattern"),
    [
        ("unknown_key", "levels.1.deaths.at_leest", r"levels\.1\.deaths\.at_leest: Extra inputs are not permitted"),
        ("unknown_top_key", "colour", r"colour: Extra inputs are not permitted"),
        ("wrong_type", "levels.0.deaths.at_least", r"levels\.0\.deaths\.at_least: Input should be a valid number"),
        ("missing_level", "levels", r"levels: level III missing"),
        ("missing_field", "version", r"version: Field required"),
        ("bad_level_name", "levels.0.level", r"levels\.0\.level: Input should be 'I', 'II', 'III' or 'IV'"),
        ("overlap", "levels", r"levels: deaths: ranges of levels IV and III overlap"),
        ("both_lower_bounds", "levels.3.deaths", r"levels\.3\.deaths: give at_least or more_than, not both"),
        ("bad_policy", "initial_judgement_policy", r"initial_judgement_policy: Input should be 'until_deaths_estimate' or 'always'"),
        ("bad_date", "effective_date", r"effective_date: Input should be a valid date"),
        ("share_above_one", "levels.0.direct_loss_share", r"at_least must be a share in \(0, 1\]"),
    ],
)
def test_malformed_table_errors_name_the_field(raw: dict[str, Any], how: str, field: str, pattern: str) -> None:
    with pytest.raises(InvalidInput, match=pattern) as info:
        parse_rule_table(_break(raw, how))
    assert info.value.field == field


def test_table_file_errors(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match=r"does not exist") as nf:
        load_rule_table(tmp_path / "missing.yaml")
    assert nf.value.field == "path"
    bad = tmp_path / "bad.yaml"
    bad.write_text("levels: [unclosed\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"not valid YAML"):
        load_rule_table(bad)
    scalar = tmp_path / "scalar.yaml"
    scalar.write_text("just text\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"rule table must be a mapping, got str") as info:
        load_rule_table(scalar)
    assert info.value.field == "rule_table"
