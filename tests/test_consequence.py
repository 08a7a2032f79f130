"""Tests for quakewatch.ext.consequence (Hazus) and consequence_china.

Independent truth (``reference``): table values typed here from the Hazus
Earthquake Model Technical Manual tables as published (Hazus-MH 2.1 Tables
13.3-13.8, 15.2-15.4, Sec. 14.2 / Hazus 6.1 Tables 12-2..12-8, 13-1, 11-2;
REFERENCES.md quotes complete-without-collapse 5/1/0.01/0.01 %, collapse
40/20/5/10 %, RES1 structural 0.5/2.3/11.7/23.4 %), never read back from the
CSV files; hand-computed analytic cases (pure damage states, event-tree mixes,
replacement cost at complete damage); OpenQuake's occupants_avg definition.
The Chinese path ships no tables, so its tests use small synthetic tables and
check the arithmetic by hand.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from quakewatch.ext import consequence as cq
from quakewatch.ext.consequence import (
    CHINA_DAMAGE_GRADES,
    CHINA_DAMAGE_GRADES_ZH,
    ChinaDPM,
    ChinaLossRatios,
    HazusCasualtyRates,
    china_direct_loss,
    displaced_people,
    hazus_casualties,
    hazus_casualty_rates,
    hazus_displaced_household_weights,
    hazus_occupants,
    hazus_repair_cost_ratios,
    occupants_at,
    repair_cost,
)
from quakewatch.ext.consequence_hazus_tables import hazus_population_distribution
from quakewatch.ext.fragility import LognormalFragility, damage_fractions

DATA = Path(cq.__file__).resolve().parent / "data"
NONE, SLIGHT, MODERATE, EXTENSIVE, COMPLETE = np.eye(5)


def pure(state: np.ndarray, n: int = 1) -> np.ndarray:
    return np.tile(state, (n, 1))


# --------------------------------------------------------------------------- #
# published tables, typed from the manual
# --------------------------------------------------------------------------- #

# (building type, damage state): severity 1..4 in percent of indoor occupants
CASUALTY_POINTS = [
    ("W1", "slight", (0.05, 0, 0, 0)),  # Table 13.3
    ("S2M", "slight", (0.05, 0, 0, 0)),
    ("W1", "moderate", (0.25, 0.03, 0, 0)),  # Table 13.4
    ("S1L", "moderate", (0.20, 0.025, 0, 0)),
    ("URML", "moderate", (0.35, 0.40, 0.001, 0.001)),
    ("C1L", "extensive", (1, 0.1, 0.001, 0.001)),  # Table 13.5
    ("URMM", "extensive", (2, 0.2, 0.002, 0.002)),
    ("C1L", "complete", (5, 1, 0.01, 0.01)),  # Table 13.6 (no collapse)
    ("URML", "complete", (10, 2, 0.02, 0.02)),
    ("W1", "collapse", (40, 20, 3, 5)),  # Table 13.7 (with collapse)
    ("S3", "collapse", (40, 20, 3, 5)),
    ("C2M", "collapse", (40, 20, 5, 10)),
    ("URML", "collapse", (40, 20, 5, 10)),
]

# probability of collapse given complete damage, percent (Table 13.8)
COLLAPSE_POINTS = [("W1", 3), ("S1L", 8), ("S1M", 5), ("C1L", 13), ("C1M", 10), ("C3L", 15), ("PC2M", 13), ("RM2H", 5), ("URML", 15), ("MH", 3)]

# repair cost ratio, percent of replacement cost: slight, moderate, extensive, complete
REPAIR_POINTS = [
    ("RES1", "structural", (0.5, 2.3, 11.7, 23.4)),  # Table 15.2
    ("COM10", "structural", (1.3, 6.1, 30.4, 60.9)),
    ("EDU2", "structural", (0.2, 1.1, 5.5, 11.0)),
    ("RES1", "nonstructural_acceleration", (0.5, 2.7, 8.0, 26.6)),  # Table 15.3
    ("IND1", "nonstructural_acceleration", (1.4, 7.2, 21.8, 72.5)),
    ("RES1", "nonstructural_drift", (1.0, 5.0, 25.0, 50.0)),  # Table 15.4
    ("COM1", "nonstructural_drift", (0.6, 2.7, 13.8, 27.5)),
]


@pytest.mark.reference
@pytest.mark.parametrize(("btype", "state", "pct"), CASUALTY_POINTS, ids=[f"{b}-{s}" for b, s, _ in CASUALTY_POINTS])
def test_indoor_casualty_rates_match_hazus_tables_13_3_to_13_7(btype: str, state: str, pct: tuple[float, ...]) -> None:
    table = hazus_casualty_rates()
    row = table.rates[table.building_types.index(btype), cq.CASUALTY_STATES.index(state)]
    np.testing.assert_allclose(row, np.array(pct) / 100.0, rtol=0, atol=1e-15)


@pytest.mark.reference
@pytest.mark.parametrize(("btype", "pct"), COLLAPSE_POINTS, ids=[b for b, _ in COLLAPSE_POINTS])
def test_collapse_rates_match_hazus_table_13_8(btype: str, pct: float) -> None:
    table = hazus_casualty_rates()
    assert table.collapse_fraction[table.building_types.index(btype)] == pytest.approx(pct / 100.0, abs=1e-15)


@pytest.mark.reference
def test_casualty_table_covers_the_36_general_building_types() -> None:
    expected = (
        "W1 W2 S1L S1M S1H S2L S2M S2H S3 S4L S4M S4H S5L S5M S5H C1L C1M C1H C2L C2M C2H C3L C3M C3H "
        "PC1 PC2L PC2M PC2H RM1L RM1M RM2L RM2M RM2H URML URMM MH"
    ).split()
    assert sorted(hazus_casualty_rates().building_types) == sorted(expected)


@pytest.mark.reference
@pytest.mark.parametrize(("occ", "comp", "pct"), REPAIR_POINTS, ids=[f"{o}-{c}" for o, c, _ in REPAIR_POINTS])
def test_repair_cost_ratios_match_hazus_tables_15_2_to_15_4(occ: str, comp: str, pct: tuple[float, ...]) -> None:
    table = hazus_repair_cost_ratios()
    row = table.ratios[table.occupancies.index(occ), cq.REPAIR_COMPONENTS.index(comp)]
    np.testing.assert_allclose(row, [0.0, *np.array(pct) / 100.0], rtol=0, atol=1e-15)


@pytest.mark.reference
def test_complete_damage_of_all_three_groups_costs_the_whole_building() -> None:
    # Hazus builds Tables 15.2-15.4 so that structural + acceleration- + drift-sensitive
    # ratios at complete damage add to 100 % of replacement cost, for every occupancy.
    table = hazus_repair_cost_ratios()
    assert len(table.occupancies) == 28
    np.testing.assert_allclose(table.ratios[:, :, 4].sum(axis=1), 1.0, rtol=0, atol=1e-12)


@pytest.mark.reference
@pytest.mark.parametrize(
    ("occ", "weights"),
    [("RES1", (0, 0, 1)), ("RES3", (0, 0.9, 1)), ("RES3A", (0, 0.9, 1)), ("RES3F", (0, 0.9, 1))],
)
def test_displaced_household_weights_match_hazus(occ: str, weights: tuple[float, ...]) -> None:
    table = hazus_displaced_household_weights()
    np.testing.assert_array_equal(table.weights[table.occupancies.index(occ)], [0, 0, *weights])


@pytest.mark.reference
@pytest.mark.parametrize(
    ("cls", "scenario", "base", "present", "indoor"),
    [
        ("residential", "2am", "NRES", 0.99, 0.999),
        ("residential", "2pm", "DRES", 0.75, 0.70),
        ("residential", "5pm", "NRES", 0.50, 0.70),
        ("commercial", "2pm", "COMW", 0.98, 0.99),
        ("educational", "2pm", "GRADE", 0.80, 0.90),
        ("industrial", "2am", "INDW", 0.10, 0.999),
    ],
)
def test_population_distribution_matches_hazus_table_13_2(cls: str, scenario: str, base: str, present: float, indoor: float) -> None:
    assert hazus_population_distribution()[(cls, scenario)] == (base, pytest.approx(present), pytest.approx(indoor))


@pytest.mark.reference
def test_china_damage_grades_are_those_of_gb_t_24335() -> None:
    assert CHINA_DAMAGE_GRADES_ZH == ("基本完好", "轻微破坏", "中等破坏", "严重破坏", "毁坏")
    assert CHINA_DAMAGE_GRADES == ("basically_intact", "slight", "moderate", "severe", "destroyed")


@pytest.mark.parametrize("name", sorted(p.name for p in DATA.glob("hazus_*.csv")))
def test_every_data_file_names_its_source(name: str) -> None:
    text = (DATA / name).read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    assert "Hazus" in header and "Table" in header
    data = [line for line in text.splitlines() if line and not line.startswith("#")]
    assert data[0].split(",")[-1] == "source"
    assert all(line.rsplit(",", 1)[-1].strip() for line in data[1:])


# --------------------------------------------------------------------------- #
# casualties: analytic cases
# --------------------------------------------------------------------------- #


@pytest.mark.reference
def test_all_collapsed_gives_occupants_times_collapse_rates() -> None:
    base = hazus_casualty_rates()
    always = dataclasses.replace(base, collapse_fraction=np.ones(len(base.building_types)))
    occupants = np.array([100.0, 250.0, 8.0])
    est = hazus_casualties(pure(COMPLETE, 3), occupants, ["C1L", "W1", "URML"], rates=always)
    expected = occupants[:, None] * np.array([[40, 20, 5, 10], [40, 20, 3, 5], [40, 20, 5, 10]]) / 100.0
    np.testing.assert_allclose(est.severity, expected, rtol=1e-14)
    np.testing.assert_array_equal(est.collapsed_fraction, [1.0, 1.0, 1.0])


@pytest.mark.reference
@pytest.mark.parametrize(
    ("btype", "c", "no_collapse", "collapse"),
    [("C1L", 0.13, (5, 1, 0.01, 0.01), (40, 20, 5, 10)), ("URML", 0.15, (10, 2, 0.02, 0.02), (40, 20, 5, 10)), ("W1", 0.03, (5, 1, 0.01, 0.01), (40, 20, 3, 5))],
)
def test_complete_damage_splits_by_collapse_rate(btype: str, c: float, no_collapse: tuple[float, ...], collapse: tuple[float, ...]) -> None:
    est = hazus_casualties([COMPLETE], [1000.0], [btype])
    expected = 1000.0 * ((1 - c) * np.array(no_collapse) + c * np.array(collapse)) / 100.0
    np.testing.assert_allclose(est.severity[0], expected, rtol=1e-14)
    assert est.collapsed_fraction[0] == pytest.approx(c)


@pytest.mark.reference
def test_casualties_are_linear_in_the_damage_fractions() -> None:
    mix = np.array([0.1, 0.2, 0.3, 0.25, 0.15])
    est = hazus_casualties([mix], [400.0], ["S2L"])
    # S2L by hand: slight .05/0/0/0, moderate .2/.025/0/0, extensive 1/.1/.001/.001,
    # complete 5/1/.01/.01 (92 %) and collapse 40/20/5/10 (8 %).
    by_hand = (
        0.2 * np.array([0.05, 0, 0, 0])
        + 0.3 * np.array([0.2, 0.025, 0, 0])
        + 0.25 * np.array([1, 0.1, 0.001, 0.001])
        + 0.15 * (0.92 * np.array([5, 1, 0.01, 0.01]) + 0.08 * np.array([40, 20, 5, 10]))
    ) / 100.0
    np.testing.assert_allclose(est.rate[0], by_hand, rtol=1e-13)
    np.testing.assert_allclose(est.severity[0], 400.0 * by_hand, rtol=1e-13)
    np.testing.assert_allclose(est.total, est.severity.sum(axis=0))


def test_no_damage_no_casualties_and_shapes() -> None:
    est = hazus_casualties(pure(NONE, 4), [10, 20, 30, 40], ["W1", "W2", "S3", "MH"])
    assert est.severity.shape == (4, 4) and est.severity.dtype == np.float64
    assert not est.severity.any() and not est.severity.flags.writeable
    assert est.building_types == ("W1", "W2", "S3", "MH")


def test_casualties_from_fragility_output() -> None:
    frag = LognormalFragility.from_median([0.1, 0.25, 0.5, 1.0], [0.6, 0.6, 0.7, 0.7], imt="PGA")
    dsf = damage_fractions(frag.poes(np.array([0.05, 0.3, 2.0])))
    est = hazus_casualties(dsf, [100, 100, 100], ["C1L"] * 3)
    assert (np.diff(est.severity[:, 3]) > 0).all()  # more shaking, more deaths


# --------------------------------------------------------------------------- #
# repair cost and displacement: analytic cases
# --------------------------------------------------------------------------- #


@pytest.mark.reference
def test_complete_damage_costs_replacement_and_structural_alone_23_4_pct() -> None:
    value = np.array([2.0e6, 5.0e5])
    full = repair_cost(pure(COMPLETE, 2), value, ["RES1", "COM4"])
    np.testing.assert_allclose(full.loss, value, rtol=1e-12)
    np.testing.assert_allclose(full.loss_ratio, 1.0, rtol=1e-12)
    structural = repair_cost(pure(COMPLETE, 2), value, ["RES1", "COM4"], components=["structural"])
    np.testing.assert_allclose(structural.loss, value * np.array([0.234, 0.192]), rtol=1e-12)
    res3 = repair_cost(pure(MODERATE, 2), value, ["RES3", "RES3D"], components=["structural"])
    np.testing.assert_allclose(res3.loss, value * 0.014, rtol=1e-12)  # RES3 row, Table 15.2


@pytest.mark.reference
def test_repair_cost_uses_each_groups_own_damage_fractions() -> None:
    mix = np.array([0.4, 0.3, 0.2, 0.1, 0.0])
    est = repair_cost([mix], [1.0e6], ["RES1"], nonstructural_acceleration_fractions=[NONE], nonstructural_drift_fractions=[COMPLETE])
    structural = 0.3 * 0.005 + 0.2 * 0.023 + 0.1 * 0.117
    np.testing.assert_allclose(est.by_component[0], [1e6 * structural, 0.0, 1e6 * 0.50], rtol=1e-12)
    assert est.total == pytest.approx(1e6 * (structural + 0.5))


def test_zero_replacement_cost_has_zero_loss_ratio() -> None:
    est = repair_cost([COMPLETE], [0.0], ["RES1"])
    assert est.loss[0] == 0.0 and est.loss_ratio[0] == 0.0


@pytest.mark.reference
def test_displaced_people_by_dwelling_type() -> None:
    dsf = np.array([EXTENSIVE, COMPLETE, EXTENSIVE, [0.2, 0.2, 0.2, 0.2, 0.2], NONE])
    est = displaced_people(dsf, [10, 10, 10, 100, 0], ["RES1", "RES1", "RES3B", "RES3", "COM1"])
    np.testing.assert_allclose(est.displaced, [0.0, 10.0, 9.0, 100 * (0.2 * 0.9 + 0.2), 0.0], rtol=1e-14)
    np.testing.assert_allclose(est.uninhabitable_fraction, [0.0, 1.0, 0.9, 0.38, 0.0], rtol=1e-14)
    assert est.total == pytest.approx(10 + 9 + 38)


def test_displaced_people_refuses_residents_without_weights() -> None:
    with pytest.raises(ValueError, match=r"occupancy has no displaced-household weights for \['RES2'\]"):
        displaced_people([COMPLETE], [4], ["RES2"])


# --------------------------------------------------------------------------- #
# occupants by time of day
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("when", "expected"),
    [("day", 10.0), ("night", 20.0), ("transit", 30.0), ("2pm", 10.0), ("2am", 20.0), ("5pm", 30.0), (2, 20.0), (14, 10.0), (17.5, 30.0), (7, 30.0), (23.99, 20.0), (9.0, 10.0)],
)
def test_occupants_at_period_or_hour(when: str | float, expected: float) -> None:
    assert occupants_at(when, day=[10.0], night=[20.0], transit=[30.0])[0] == expected


@pytest.mark.reference
def test_occupants_avg_is_openquake_mean_of_three_periods() -> None:
    out = occupants_at("avg", day=[10.0, 0.0], night=[20.0, 3.0], transit=[30.0, 0.0])
    np.testing.assert_allclose(out, [20.0, 1.0])


@pytest.mark.reference
def test_hazus_occupants_primary_component() -> None:
    est = hazus_occupants("night", [1000.0, 1000.0, 500.0], ["residential", "commercial", "educational"])
    np.testing.assert_allclose(est.indoor, [1000 * 0.99 * 0.999, 1000 * 0.02 * 0.999, 0.0], rtol=1e-14)
    np.testing.assert_allclose(est.present, [990.0, 20.0, 0.0], rtol=1e-14)
    assert est.scenario == "2am" and est.census_base == ("NRES", "COMW", "GRADE")
    day = hazus_occupants(14, [1000.0], ["residential"])
    assert day.census_base == ("DRES",) and day.indoor[0] == pytest.approx(1000 * 0.75 * 0.70)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: occupants_at(24, day=[1], night=[1], transit=[1]), r"time_of_day hour must be within \[0, 24\)"),
        (lambda: occupants_at("noon", day=[1], night=[1], transit=[1]), r"time_of_day must be one of"),
        (lambda: occupants_at("day", day=[1], night=[-1], transit=[1]), r"night must be >= 0"),
        (lambda: occupants_at("day", day=[1, 2], night=[1], transit=[1]), r"night must have 2 entries"),
        (lambda: hazus_occupants("avg", [1], ["residential"]), r"'avg' is not a Hazus scenario"),
        (lambda: hazus_occupants("day", [1], ["hotels"]), r"occupancy_class has values with no Hazus population distribution: \['hotels'\]"),
        (lambda: hazus_occupants("day", [np.nan], ["residential"]), r"population must not contain NaN"),
    ],
    ids=["hour-24", "bad-name", "negative", "length", "avg", "hotels", "nan"],
)
def test_occupant_inputs_rejected(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# --------------------------------------------------------------------------- #
# validation and purity (Hazus)
# --------------------------------------------------------------------------- #


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: hazus_casualties([[np.nan, 0, 0, 0, 1]], [1], ["W1"]), r"damage_fractions must not contain NaN"),
        (lambda: hazus_casualties([[0.5, 0, 0, 0, 0.6]], [1], ["W1"]), r"damage_fractions rows must sum to 1"),
        (lambda: hazus_casualties([[-0.1, 0.1, 0, 0, 1]], [1], ["W1"]), r"damage_fractions values must be within \[0, 1\]"),
        (lambda: hazus_casualties([[1, 0, 0, 0]], [1], ["W1"]), r"damage_fractions must have shape \(n_assets, 5\)"),
        (lambda: hazus_casualties([COMPLETE], [-1], ["W1"]), r"occupants must be >= 0"),
        (lambda: hazus_casualties([COMPLETE], [np.nan], ["W1"]), r"occupants must not contain NaN"),
        (lambda: hazus_casualties([COMPLETE], [np.inf], ["W1"]), r"occupants must be finite"),
        (lambda: hazus_casualties(pure(COMPLETE, 2), [1], ["W1", "W1"]), r"occupants must have 2 entries"),
        (lambda: hazus_casualties([COMPLETE], [1], ["ADOBE"]), r"building_type has values with no Hazus casualty rates: \['ADOBE'\]"),
        (lambda: hazus_casualties([COMPLETE], [1], ["W1", "W2"]), r"building_type must have 1 entries"),
        (lambda: repair_cost([COMPLETE], [-5.0], ["RES1"]), r"replacement_cost must be >= 0"),
        (lambda: repair_cost([COMPLETE], [5.0], ["RES9"]), r"occupancy has values with no Hazus repair cost ratios"),
        (lambda: repair_cost([COMPLETE], [5.0], ["RES1"], components=["contents"]), r"components must be distinct names"),
        (lambda: repair_cost([COMPLETE], [5.0], ["RES1"], nonstructural_drift_fractions=pure(NONE, 2)), r"nonstructural_drift_fractions must have 1 rows"),
        (lambda: displaced_people([COMPLETE], [np.nan], ["RES1"]), r"residents must not contain NaN"),
        (lambda: displaced_people([COMPLETE], [-2], ["RES1"]), r"residents must be >= 0"),
    ],
    ids=["nan", "sum", "negative-fraction", "shape", "negative-occupants", "nan-occupants", "inf-occupants", "length",
         "unknown-type", "type-length", "negative-cost", "unknown-occupancy", "bad-component", "ns-rows", "nan-residents", "negative-residents"],
)
def test_invalid_input_names_the_argument(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


def test_inputs_are_not_mutated() -> None:
    rng = np.random.default_rng(7)
    dsf = rng.dirichlet(np.ones(5), size=6)
    occ = rng.uniform(0, 100, size=6)
    value = rng.uniform(1e5, 1e6, size=6)
    types = np.array(["W1", "C1L", "URML", "S2M", "PC1", "MH"])
    occupancy = ["RES1", "RES3", "COM1", "RES1", "IND2", "RES3A"]
    snapshot = [a.copy() for a in (dsf, occ, value, types)]
    hazus_casualties(dsf, occ, types)
    repair_cost(dsf, value, occupancy)
    displaced_people(dsf, occ, ["RES1", "RES3", "RES3A", "RES1", "RES3F", "RES3B"])
    for before, after in zip(snapshot, (dsf, occ, value, types), strict=True):
        np.testing.assert_array_equal(before, after)
    dsf.setflags(write=False)
    occ.setflags(write=False)
    assert hazus_casualties(dsf, occ, types).severity.shape == (6, 4)


def test_custom_rate_tables_are_validated() -> None:
    with pytest.raises(ValueError, match=r"rates must have shape \(1, 5, 4\)"):
        HazusCasualtyRates(("X",), np.zeros((1, 4, 4)), np.zeros(1))
    with pytest.raises(ValueError, match=r"collapse_fraction must be finite and within \[0, 1\]"):
        HazusCasualtyRates(("X",), np.zeros((1, 5, 4)), np.array([1.5]))
    with pytest.raises(ValueError, match=r"rates must not sum above 1"):
        HazusCasualtyRates(("X",), np.full((1, 5, 4), 0.3), np.zeros(1))


# --------------------------------------------------------------------------- #
# China: synthetic tables, hand arithmetic
# --------------------------------------------------------------------------- #

DPM_CSV = """# synthetic test DPM (not a published table)
structure_class,intensity,basically_intact_pct,slight_pct,moderate_pct,severe_pct,destroyed_pct,source
masonry,VI,80,15,5,0,0,synthetic
masonry,VII,50,30,15,5,0,synthetic
masonry,8,20,30,30,15,5,synthetic
masonry,IX,0,0,0,0,100,synthetic
rc_frame,VI,90,10,0,0,0,synthetic
rc_frame,VII,70,20,10,0,0,synthetic
rc_frame,VIII,40,30,20,10,0,synthetic
rc_frame,IX,10,20,30,30,10,synthetic
"""

LR_CSV = """# synthetic test loss ratios (not GB/T 18208.4 values)
structure_class,grade,low_pct,high_pct,source
masonry,basically_intact,0,4,synthetic
masonry,slight,4,10,synthetic
masonry,moderate,10,30,synthetic
masonry,severe,30,70,synthetic
masonry,destroyed,80,100,synthetic
rc_frame,basically_intact,0,2,synthetic
rc_frame,slight,2,8,synthetic
rc_frame,moderate,8,20,synthetic
rc_frame,severe,20,60,synthetic
rc_frame,destroyed,60,100,synthetic
"""


@pytest.fixture
def china_tables(tmp_path: Path) -> tuple[ChinaDPM, ChinaLossRatios]:
    (tmp_path / "dpm.csv").write_text(DPM_CSV, encoding="utf-8")
    (tmp_path / "lr.csv").write_text(LR_CSV, encoding="utf-8")
    return ChinaDPM.from_csv(tmp_path / "dpm.csv"), ChinaLossRatios.from_csv(tmp_path / "lr.csv")


def test_china_all_destroyed_costs_area_times_unit_cost_times_midpoint(china_tables: tuple[ChinaDPM, ChinaLossRatios]) -> None:
    dpm, lr = china_tables
    est = china_direct_loss([9.0, 9.2], [1000.0, 250.0], [3000.0, 2000.0], ["masonry", "masonry"], dpm=dpm, loss_ratios=lr)
    np.testing.assert_allclose(est.loss, [1000 * 3000 * 0.9, 250 * 2000 * 0.9], rtol=1e-14)
    np.testing.assert_array_equal(est.degree, [9, 9])
    assert est.total == pytest.approx(2.7e6 + 4.5e5)


def test_china_mixed_grades_by_hand(china_tables: tuple[ChinaDPM, ChinaLossRatios]) -> None:
    dpm, lr = china_tables
    est = china_direct_loss([7.0, 8.0], [100.0, 100.0], [10.0, 10.0], ["masonry", "rc_frame"], dpm=dpm, loss_ratios=lr)
    masonry_vii = 0.5 * 0.02 + 0.30 * 0.07 + 0.15 * 0.20 + 0.05 * 0.50
    rc_viii = 0.4 * 0.01 + 0.3 * 0.05 + 0.2 * 0.14 + 0.1 * 0.40
    np.testing.assert_allclose(est.loss_ratio, [masonry_vii, rc_viii], rtol=1e-14)
    np.testing.assert_allclose(est.loss, 1000.0 * np.array([masonry_vii, rc_viii]), rtol=1e-14)
    np.testing.assert_allclose(est.grade_fractions.sum(axis=1), 1.0)
    assert est.grade_fractions.shape == (2, 5) and est.loss.dtype == np.float64


@pytest.mark.parametrize(
    ("intensity", "degree"),
    [(6.5, 7), (7.0, 7), (7.49, 7), (7.5, 8), (8.49999, 8), (5.5, 6), (9.4, 9)],
)
def test_china_uses_the_degree_containing_the_intensity(china_tables: tuple[ChinaDPM, ChinaLossRatios], intensity: float, degree: int) -> None:
    dpm, lr = china_tables
    est = china_direct_loss([intensity], [1.0], [1.0], ["rc_frame"], dpm=dpm, loss_ratios=lr)
    assert est.degree[0] == degree
    np.testing.assert_array_equal(est.grade_fractions[0], dpm.fractions[1, degree - 6])


def test_china_below_table_is_intact_or_raises(china_tables: tuple[ChinaDPM, ChinaLossRatios]) -> None:
    dpm, lr = china_tables
    est = china_direct_loss([5.49, 3.0], [100.0, 100.0], [10.0, 10.0], ["masonry", "rc_frame"], dpm=dpm, loss_ratios=lr)
    np.testing.assert_array_equal(est.grade_fractions[:, 0], [1.0, 1.0])
    np.testing.assert_allclose(est.loss, [100 * 10 * 0.02, 100 * 10 * 0.01])
    with pytest.raises(ValueError, match=r"intensity must be >= 5.5 \(lowest DPM degree 6\)"):
        china_direct_loss([5.0], [1.0], [1.0], ["masonry"], dpm=dpm, loss_ratios=lr, below_table="raise")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"intensity": [9.5]}, r"intensity must be < 9.5 \(highest DPM degree 9\)"),
        ({"intensity": [np.nan]}, r"intensity must not contain NaN"),
        ({"intensity": [13.0]}, r"intensity must be finite and within \[1, 12\]"),
        ({"floor_area_m2": [-1.0]}, r"floor_area_m2 must be >= 0"),
        ({"unit_cost": [np.nan]}, r"unit_cost must not contain NaN"),
        ({"structure_class": ["adobe"]}, r"structure_class has values with no damage probability matrix: \['adobe'\]"),
        ({"floor_area_m2": [1.0, 2.0]}, r"floor_area_m2 must have 1 entries"),
        ({"dpm": None}, r"dpm is required"),
        ({"loss_ratios": None}, r"loss_ratios is required"),
        ({"below_table": "clamp"}, r"below_table must be 'intact' or 'raise'"),
    ],
    ids=["above", "nan", "scale", "area", "cost", "class", "length", "no-dpm", "no-ratios", "below-option"],
)
def test_china_invalid_input_names_the_argument(china_tables: tuple[ChinaDPM, ChinaLossRatios], kwargs: dict[str, object], message: str) -> None:
    dpm, lr = china_tables
    args: dict[str, object] = {"intensity": [8.0], "floor_area_m2": [1.0], "unit_cost": [1.0], "structure_class": ["masonry"], "dpm": dpm, "loss_ratios": lr}
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        china_direct_loss(**args)  # type: ignore[arg-type]


def test_china_inputs_not_mutated(china_tables: tuple[ChinaDPM, ChinaLossRatios]) -> None:
    dpm, lr = china_tables
    inten, area, cost = np.array([6.2, 8.7]), np.array([10.0, 20.0]), np.array([5.0, 6.0])
    before = [a.copy() for a in (inten, area, cost)]
    china_direct_loss(inten, area, cost, ["masonry", "rc_frame"], dpm=dpm, loss_ratios=lr)
    for b, a in zip(before, (inten, area, cost), strict=True):
        np.testing.assert_array_equal(a, b)


def test_china_table_validation(tmp_path: Path) -> None:
    bad_sum = DPM_CSV.replace("masonry,VII,50,30,15,5,0", "masonry,VII,50,30,15,4,0")
    (tmp_path / "dpm.csv").write_text(bad_sum, encoding="utf-8")
    with pytest.raises(ValueError, match=r"'masonry' at intensity 7 sums to 0.99"):
        ChinaDPM.from_csv(tmp_path / "dpm.csv")
    (tmp_path / "gap.csv").write_text(DPM_CSV.replace("rc_frame,VII,70,20,10,0,0,synthetic\n", ""), encoding="utf-8")
    with pytest.raises(ValueError, match=r"table\['rc_frame'\] must list the degrees"):
        ChinaDPM.from_csv(tmp_path / "gap.csv")
    (tmp_path / "nosrc.csv").write_text(DPM_CSV.replace("masonry,IX,0,0,0,0,100,synthetic", "masonry,IX,0,0,0,0,100,"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"nosrc.csv:6: source: must not be empty"):
        ChinaDPM.from_csv(tmp_path / "nosrc.csv")
    (tmp_path / "lr.csv").write_text(LR_CSV.replace("masonry,slight,4,10", "masonry,slight,12,10"), encoding="utf-8")
    with pytest.raises(ValueError, match=r"low must be non-decreasing with damage grade"):
        ChinaLossRatios.from_csv(tmp_path / "lr.csv")
    (tmp_path / "lr2.csv").write_text(LR_CSV.replace("rc_frame,severe,20,60,synthetic\n", ""), encoding="utf-8")
    with pytest.raises(ValueError, match=r"'rc_frame' has no rows for grades \['severe'\]"):
        ChinaLossRatios.from_csv(tmp_path / "lr2.csv")
    with pytest.raises(ValueError, match=r"low must be <= high"):
        ChinaLossRatios(("x",), np.full((1, 5), 0.5), np.full((1, 5), 0.4))


def test_china_mapping_constructor_matches_csv(china_tables: tuple[ChinaDPM, ChinaLossRatios]) -> None:
    dpm, _ = china_tables
    other = ChinaDPM.from_mapping({"masonry": {6: (80, 15, 5, 0, 0), 7: (50, 30, 15, 5, 0), 8: (20, 30, 30, 15, 5), 9: (0, 0, 0, 0, 100)}}, source="synthetic", percent=True)
    np.testing.assert_allclose(other.fractions[0], dpm.fractions[0])
    np.testing.assert_array_equal(other.intensities, [6, 7, 8, 9])
    assert not other.fractions.flags.writeable
