"""Relief needs of displaced people from humanitarian norms.

Issue "[4] Loss estimation".  The norms are data (``data/relief_norms.csv``,
each row with its source; Sphere Handbook 2018 [SPH18]_): water 15 L and
food energy 2,100 kcal per person per day, covered living space 3.5 m2 per
person, one toilet per 20 people, and the survival water minimum 7.5 L per
person per day.  A norm has one of three bases:

``per_person_per_day``
    ``quantity = people * value * days`` (consumables: litres, kcal).
``per_person``
    ``quantity = people * value`` (covered living space, m2; independent of
    the duration).
``people_per_unit``
    ``quantity = ceil(people / value)`` units (toilets: one per 20 people).

Tents are not a norm of their own: given the floor area of the tent model in
stock, :func:`relief_needs` derives ``ceil(people * covered_living_space /
tent_floor_area_m2)`` tents from the covered-space norm.  Displaced people
may be an expected value (a float); quantities scale with it and unit counts
are rounded up.

References
----------
.. [SPH18] Sphere Association (2018).  The Sphere Handbook: Humanitarian
   Charter and Minimum Standards in Humanitarian Response, 4th edition.
   Geneva.  (REFERENCES.md, "Relief norms".)
"""

from __future__ import annotations

import csv
import enum
import functools
import math
import numbers
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import MappingProxyType

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..errors import InvalidInput

__all__ = [
    "NormBasis",
    "ReliefItem",
    "ReliefNeeds",
    "ReliefNorm",
    "load_relief_norms",
    "relief_needs",
]

_NORMS_FILE = "relief_norms.csv"
_COLUMNS = ("commodity", "value", "unit", "basis", "source", "note")


class NormBasis(enum.Enum):
    PER_PERSON_PER_DAY = "per_person_per_day"
    PER_PERSON = "per_person"
    PEOPLE_PER_UNIT = "people_per_unit"


class ReliefNorm(BaseModel):
    """One norm (a row of ``relief_norms.csv``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    commodity: str = Field(pattern=r"^[a-z][a-z0-9_]*$")
    value: float = Field(gt=0.0)
    unit: str = Field(min_length=1)
    basis: NormBasis
    source: str = Field(min_length=1)
    note: str = ""

    @field_validator("value")
    @classmethod
    def _finite(cls, v: float) -> float:
        if not math.isfinite(v):
            raise ValueError("must be finite")
        return v


def _parse_norms(text: str, label: str) -> tuple[ReliefNorm, ...]:
    numbered = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip() and not line.startswith("#")]
    reader = csv.reader(line for _, line in numbered)
    header = tuple(h.strip() for h in next(reader, ()))
    if header != _COLUMNS:
        raise InvalidInput(f"{label}: columns must be {_COLUMNS}, got {header}", field="columns")
    norms: list[ReliefNorm] = []
    for (n, _), values in zip(numbered[1:], reader, strict=True):
        if len(values) != len(_COLUMNS):
            raise InvalidInput(f"{label} line {n}: expected {len(_COLUMNS)} fields, got {len(values)}", field="row")
        row = dict(zip(_COLUMNS, (v.strip() for v in values), strict=True))
        try:
            norm = ReliefNorm.model_validate(row)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = ".".join(str(p) for p in err["loc"]) or "row"
            raise InvalidInput(f"{label} line {n}: {field}: {err['msg']}", field=field) from None
        if any(x.commodity == norm.commodity for x in norms):
            raise InvalidInput(f"{label} line {n}: commodity {norm.commodity!r} appears twice", field="commodity")
        norms.append(norm)
    return tuple(norms)


@functools.cache
def _default_norms() -> tuple[ReliefNorm, ...]:
    text = resources.files(__package__).joinpath("data", _NORMS_FILE).read_text(encoding="utf-8")
    return _parse_norms(text, _NORMS_FILE)


def load_relief_norms(path: str | Path | None = None) -> tuple[ReliefNorm, ...]:
    """Norms from a CSV with the columns of ``data/relief_norms.csv``; ``None`` = the shipped table."""
    if path is None:
        return _default_norms()
    return _parse_norms(Path(path).read_text(encoding="utf-8"), str(path))


@dataclass(frozen=True)
class ReliefItem:
    """Quantity of one commodity, with the norm (value, basis, source) it comes from."""

    commodity: str
    quantity: float
    unit: str
    norm_value: float
    basis: NormBasis
    source: str


@dataclass(frozen=True)
class ReliefNeeds:
    """Needs of ``displaced_people`` over ``days``; ``items`` by commodity in table order."""

    displaced_people: float
    days: float
    items: tuple[ReliefItem, ...]

    def __getitem__(self, commodity: str) -> ReliefItem:
        for item in self.items:
            if item.commodity == commodity:
                return item
        raise KeyError(commodity)

    @property
    def by_commodity(self) -> Mapping[str, ReliefItem]:
        return MappingProxyType({i.commodity: i for i in self.items})


def _number(name: str, value: float, *, positive: bool = False) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise InvalidInput(f"{name}: must be a number, got {value!r}", field=name)
    v = float(value)
    if not math.isfinite(v) or v < 0.0 or (positive and v == 0.0):
        limit = "> 0" if positive else ">= 0"
        raise InvalidInput(f"{name}: must be finite and {limit}, got {value!r}", field=name)
    return v


def relief_needs(
    displaced_people: float,
    days: float,
    norms: Sequence[ReliefNorm] | None = None,
    *,
    tent_floor_area_m2: float | None = None,
) -> ReliefNeeds:
    """Quantities of each commodity for ``displaced_people`` over ``days``.

    Parameters
    ----------
    displaced_people : float
        Number of displaced people (may be an expected value), >= 0.
    days : float
        Planning period in days, >= 0 (only ``per_person_per_day`` norms scale with it).
    norms : sequence of ReliefNorm, optional
        Default: the shipped Sphere 2018 table (:func:`load_relief_norms`).
    tent_floor_area_m2 : float, optional
        Floor area of one tent, m2 > 0; adds a ``tents`` item derived from the
        ``covered_living_space`` norm.
    """
    people = _number("displaced_people", displaced_people)
    d = _number("days", days)
    table = _default_norms() if norms is None else tuple(norms)
    items: list[ReliefItem] = []
    for norm in table:
        if norm.basis is NormBasis.PER_PERSON_PER_DAY:
            qty = people * norm.value * d
        elif norm.basis is NormBasis.PER_PERSON:
            qty = people * norm.value
        else:
            qty = float(math.ceil(people / norm.value))
        items.append(ReliefItem(norm.commodity, qty, norm.unit, norm.value, norm.basis, norm.source))
    if tent_floor_area_m2 is not None:
        area = _number("tent_floor_area_m2", tent_floor_area_m2, positive=True)
        space = next((n for n in table if n.commodity == "covered_living_space"), None)
        if space is None or space.basis is not NormBasis.PER_PERSON:
            raise InvalidInput(
                "tent_floor_area_m2: needs a covered_living_space norm with basis per_person", field="tent_floor_area_m2"
            )
        tents = float(math.ceil(people * space.value / area))
        source = f"derived: ceil(people x {space.value:g} m2 / {area:g} m2 per tent); covered space from {space.source}"
        items.append(ReliefItem("tents", tents, "tent", space.value / area, NormBasis.PER_PERSON, source))
    return ReliefNeeds(people, d, tuple(items))
