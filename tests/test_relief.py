"""Tests for quakewatch.server.decision.relief.

The norms are the Sphere Handbook 2018 key indicators quoted in REFERENCES.md
("Relief norms"): water 15 L (survival 7.5 L) and 2,100 kcal per person per
day, covered living space >= 3.5 m2 per person, one toilet per 20 people.
Expected quantities are hand arithmetic on those numbers.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from quakewatch.server.decision.relief import (
    NormBasis,
    ReliefNorm,
    load_relief_norms,
    relief_needs,
)
from quakewatch.server.errors import InvalidInput


@pytest.mark.reference
def test_shipped_norms_are_the_sphere_values_with_sources() -> None:
    norms = {n.commodity: n for n in load_relief_norms()}
    assert (norms["water"].value, norms["water"].unit, norms["water"].basis) == (15.0, "L", NormBasis.PER_PERSON_PER_DAY)
    assert norms["water_survival"].value == 7.5
    assert (norms["food_energy"].value, norms["food_energy"].unit) == (2100.0, "kcal")
    assert (norms["covered_living_space"].value, norms["covered_living_space"].basis) == (3.5, NormBasis.PER_PERSON)
    assert (norms["toilets"].value, norms["toilets"].basis) == (20.0, NormBasis.PEOPLE_PER_UNIT)
    assert all("Sphere" in n.source for n in norms.values())


@pytest.mark.reference
def test_needs_of_1000_people_for_a_week() -> None:
    needs = relief_needs(1000, 7)
    assert needs["water"].quantity == 1000 * 15 * 7  # 105,000 L
    assert needs["water_survival"].quantity == 1000 * 7.5 * 7
    assert needs["food_energy"].quantity == 1000 * 2100 * 7  # 14.7 million kcal
    assert needs["covered_living_space"].quantity == 3500.0  # m2, independent of the days
    assert needs["toilets"].quantity == 50.0
    assert needs["toilets"].unit == "toilet"
    assert needs["water"].source.startswith("Sphere 2018")
    assert set(needs.by_commodity) == {"water", "water_survival", "food_energy", "covered_living_space", "toilets"}


@pytest.mark.reference
@pytest.mark.parametrize(("people", "toilets"), [(0, 0.0), (1, 1.0), (20, 1.0), (21, 2.0), (40, 2.0), (41, 3.0), (20.5, 2.0)])
def test_unit_counts_round_up(people: float, toilets: float) -> None:
    assert relief_needs(people, 1)["toilets"].quantity == toilets


@pytest.mark.reference
def test_tents_follow_from_covered_space() -> None:
    needs = relief_needs(1000, 3, tent_floor_area_m2=12.0)
    assert needs["tents"].quantity == 292.0  # ceil(1000 * 3.5 / 12) = ceil(291.67)
    assert relief_needs(24, 3, tent_floor_area_m2=12.0)["tents"].quantity == 7.0  # 84 m2 exactly
    assert "covered space from Sphere 2018" in needs["tents"].source


def test_expected_people_scale_linearly() -> None:
    assert relief_needs(1234.5, 2)["water"].quantity == pytest.approx(1234.5 * 15 * 2)


def test_custom_norms() -> None:
    norms = [ReliefNorm(commodity="blankets", value=1, unit="blanket", basis=NormBasis.PER_PERSON, source="local plan")]
    needs = relief_needs(10, 5, norms)
    assert [(i.commodity, i.quantity, i.source) for i in needs.items] == [("blankets", 10.0, "local plan")]
    with pytest.raises(InvalidInput, match=r"needs a covered_living_space norm") as info:
        relief_needs(10, 5, norms, tent_floor_area_m2=12.0)
    assert info.value.field == "tent_floor_area_m2"


@pytest.mark.parametrize(
    ("people", "days", "field", "pattern"),
    [
        (-1, 1, "displaced_people", r"displaced_people: must be finite and >= 0"),
        (float("inf"), 1, "displaced_people", r"displaced_people: must be finite and >= 0"),
        (True, 1, "displaced_people", r"displaced_people: must be a number"),
        (10, -0.5, "days", r"days: must be finite and >= 0"),
        (10, "7", "days", r"days: must be a number"),
    ],
)
def test_invalid_arguments_name_the_field(people: float, days: float, field: str, pattern: str) -> None:
    with pytest.raises(InvalidInput, match=pattern) as info:
        relief_needs(people, days)
    assert info.value.field == field


def test_zero_tent_area_rejected() -> None:
    with pytest.raises(InvalidInput, match=r"tent_floor_area_m2: must be finite and > 0"):
        relief_needs(10, 1, tent_floor_area_m2=0.0)


def test_norm_table_errors(tmp_path: Path) -> None:
    p = tmp_path / "norms.csv"
    p.write_text("commodity,value,unit,basis,source,note\nwater,15,L,per_person_per_week,src,\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"line 2: basis: Input should be") as info:
        load_relief_norms(p)
    assert info.value.field == "basis"
    p.write_text("commodity,value,unit,basis,source,note\nwater,0,L,per_person_per_day,src,\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"line 2: value: Input should be greater than 0"):
        load_relief_norms(p)
    p.write_text("commodity,value,unit,basis,source,note\nwater,1,L,per_person,s,\nwater,2,L,per_person,s,\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"line 3: commodity 'water' appears twice"):
        load_relief_norms(p)
    p.write_text("commodity,value,unit\nwater,1,L\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"columns must be"):
        load_relief_norms(p)
    p.write_text("commodity,value,unit,basis,source,note\nwater,1,L,per_person,,\n", encoding="utf-8")
    with pytest.raises(InvalidInput, match=r"line 2: source: String should have at least 1 character") as info:
        load_relief_norms(p)
    assert info.value.field == "source"


def test_results_are_frozen() -> None:
    needs = relief_needs(5, 1)
    with pytest.raises(dataclasses.FrozenInstanceError):
        needs.days = 2.0  # type: ignore[misc]
    with pytest.raises(KeyError):
        needs["helicopters"]
