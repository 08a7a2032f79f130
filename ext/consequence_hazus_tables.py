"""Hazus consequence tables: typed containers and loaders for ``ext/data``.

Part of issue "[4] Loss estimation"; used by :mod:`quakewatch.ext.consequence`
(which re-exports everything here).  Each loader reads its CSV once
(:func:`functools.cache`), checks every row (units, ranges, completeness, a
non-empty ``source``) and returns a frozen dataclass whose arrays are
read-only float64.  Callers may build the same dataclasses from their own
tables; the constructors validate them the same way.  Values and provenance:
see the header comment of each data file and [Hazus-TM]_ in
:mod:`quakewatch.ext.consequence`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from quakewatch.ext._consequence_tables import (
    DATA_DIR,
    FloatArray,
    IntArray,
    frozen,
    labels,
    lookup,
    read_table,
    sources,
)

__all__ = [
    "CASUALTY_STATES",
    "DAMAGE_STATES",
    "HAZUS_SCENARIOS",
    "REPAIR_COMPONENTS",
    "DisplacedHouseholdWeights",
    "HazusCasualtyRates",
    "HazusRepairCostRatios",
    "hazus_casualty_rates",
    "hazus_displaced_household_weights",
    "hazus_population_distribution",
    "hazus_repair_cost_ratios",
]

ArrayLike = npt.ArrayLike

DAMAGE_STATES: tuple[str, ...] = ("none", "slight", "moderate", "extensive", "complete")
#: Rows of a casualty-rate table: the four damage states plus the collapse branch.
CASUALTY_STATES: tuple[str, ...] = ("slight", "moderate", "extensive", "complete", "collapse")
REPAIR_COMPONENTS: tuple[str, ...] = ("structural", "nonstructural_acceleration", "nonstructural_drift")
_N_DS = len(DAMAGE_STATES)
#: Hazus casualty scenario times (Table 13.2 columns).
HAZUS_SCENARIOS: tuple[str, ...] = ("2am", "2pm", "5pm")

# --------------------------------------------------------------------------- #
# tables
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class HazusCasualtyRates:
    """Indoor casualty rates and collapse probabilities by model building type.

    Parameters
    ----------
    building_types : sequence of str, length n_types
    rates : array_like, shape (n_types, 5, 4)
        Fraction of indoor occupants at severity 1..4 for the rows slight,
        moderate, extensive, complete without collapse, complete with
        collapse.  Values in [0, 1].
    collapse_fraction : array_like, shape (n_types,)
        Probability of collapse given complete damage, in [0, 1].
    source : str
        Provenance (document and table numbers).
    """

    building_types: tuple[str, ...]
    rates: FloatArray
    collapse_fraction: FloatArray
    source: str = ""

    def __post_init__(self) -> None:
        types = labels("building_types", self.building_types)
        if len(set(types)) != len(types):
            raise ValueError("building_types must be distinct")
        rates = np.asarray(self.rates, dtype=np.float64)
        if rates.shape != (len(types), len(CASUALTY_STATES), 4):
            raise ValueError(f"rates must have shape ({len(types)}, 5, 4), got {rates.shape}")
        if not np.isfinite(rates).all() or (rates < 0).any() or (rates > 1).any():
            raise ValueError("rates must be finite and within [0, 1]")
        if (rates.sum(axis=2) > 1.0 + 1e-12).any():
            raise ValueError("rates must not sum above 1 over the four severities")
        collapse = np.asarray(self.collapse_fraction, dtype=np.float64)
        if collapse.shape != (len(types),):
            raise ValueError(f"collapse_fraction must have shape ({len(types)},), got {collapse.shape}")
        if not np.isfinite(collapse).all() or (collapse < 0).any() or (collapse > 1).any():
            raise ValueError("collapse_fraction must be finite and within [0, 1]")
        object.__setattr__(self, "building_types", types)
        object.__setattr__(self, "rates", frozen(rates))
        object.__setattr__(self, "collapse_fraction", frozen(collapse))

    def index(self, building_type: ArrayLike | Sequence[str], n: int | None = None) -> IntArray:
        """Row of each asset's building type; unknown types raise ``ValueError``."""
        keys = labels("building_type", building_type, n)
        return lookup("building_type", keys, self.building_types, "Hazus casualty rates")


@dataclass(frozen=True, eq=False)
class HazusRepairCostRatios:
    """Repair cost ratios by occupancy, component group and damage state.

    ``ratios[i, c, k]`` is the fraction of total building replacement cost for
    occupancy ``i``, component ``REPAIR_COMPONENTS[c]`` and damage state
    ``DAMAGE_STATES[k]`` (``k = 0``, none, is 0).  Shape (n_occupancies, 3, 5).
    """

    occupancies: tuple[str, ...]
    ratios: FloatArray
    source: str = ""

    def __post_init__(self) -> None:
        occ = labels("occupancies", self.occupancies)
        if len(set(occ)) != len(occ):
            raise ValueError("occupancies must be distinct")
        ratios = np.asarray(self.ratios, dtype=np.float64)
        if ratios.shape != (len(occ), len(REPAIR_COMPONENTS), _N_DS):
            raise ValueError(f"ratios must have shape ({len(occ)}, 3, 5), got {ratios.shape}")
        if not np.isfinite(ratios).all() or (ratios < 0).any() or (ratios > 1).any():
            raise ValueError("ratios must be finite and within [0, 1]")
        if (ratios[:, :, 0] != 0).any():
            raise ValueError("ratios for damage state 'none' must be 0")
        if (np.diff(ratios, axis=2) < 0).any():
            raise ValueError("ratios must be non-decreasing with damage state")
        object.__setattr__(self, "occupancies", occ)
        object.__setattr__(self, "ratios", frozen(ratios))


@dataclass(frozen=True, eq=False)
class DisplacedHouseholdWeights:
    """Uninhabitable fraction of dwelling units per damage state, by occupancy.

    ``weights[i, k]`` for ``DAMAGE_STATES[k]``, shape (n_occupancies, 5), in [0, 1].
    """

    occupancies: tuple[str, ...]
    weights: FloatArray
    source: str = ""

    def __post_init__(self) -> None:
        occ = labels("occupancies", self.occupancies)
        if len(set(occ)) != len(occ):
            raise ValueError("occupancies must be distinct")
        w = np.asarray(self.weights, dtype=np.float64)
        if w.shape != (len(occ), _N_DS):
            raise ValueError(f"weights must have shape ({len(occ)}, 5), got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any() or (w > 1).any():
            raise ValueError("weights must be finite and within [0, 1]")
        object.__setattr__(self, "occupancies", occ)
        object.__setattr__(self, "weights", frozen(w))


@functools.cache
def hazus_casualty_rates() -> HazusCasualtyRates:
    """Hazus indoor casualty rates (Tables 13.3-13.7) and collapse rates (13.8)."""
    rows = read_table(
        DATA_DIR / "hazus_indoor_casualty_rates.csv",
        ["building_type", "damage_state", *(f"severity_{s}_pct" for s in range(1, 5))],
    )
    col_rows = read_table(DATA_DIR / "hazus_collapse_rates.csv", ["building_type", "collapse_pct"])
    types = tuple(dict.fromkeys(r.text("building_type") for r in rows))
    rates = np.full((len(types), len(CASUALTY_STATES), 4), np.nan)
    for r in rows:
        ds = r.text("damage_state")
        if ds not in CASUALTY_STATES:
            raise ValueError(f"{r.where('damage_state')}: {ds!r} not one of {CASUALTY_STATES}")
        i, k = types.index(r.text("building_type")), CASUALTY_STATES.index(ds)
        if not np.isnan(rates[i, k]).all():
            raise ValueError(f"{r.where('damage_state')}: duplicate row")
        rates[i, k] = [r.number(f"severity_{s}_pct", low=0, high=100) / 100.0 for s in range(1, 5)]
    if np.isnan(rates).any():
        raise ValueError("hazus_indoor_casualty_rates.csv: every building type needs all five damage-state rows")
    collapse = {r.text("building_type"): r.number("collapse_pct", low=0, high=100) / 100.0 for r in col_rows}
    if set(collapse) != set(types) or len(collapse) != len(col_rows):
        raise ValueError("hazus_collapse_rates.csv must list each casualty-table building type exactly once")
    return HazusCasualtyRates(
        building_types=types,
        rates=rates,
        collapse_fraction=np.array([collapse[t] for t in types]),
        source=f"{sources(rows)}; {sources(col_rows)}",
    )


@functools.cache
def hazus_repair_cost_ratios() -> HazusRepairCostRatios:
    """Hazus repair cost ratios (Tables 15.2-15.4), structural and non-structural."""
    states = DAMAGE_STATES[1:]
    rows = read_table(
        DATA_DIR / "hazus_repair_cost_ratios.csv", ["occupancy", "component", *(f"{s}_pct" for s in states)]
    )
    occ = tuple(dict.fromkeys(r.text("occupancy") for r in rows))
    ratios = np.full((len(occ), len(REPAIR_COMPONENTS), _N_DS), np.nan)
    ratios[:, :, 0] = 0.0
    for r in rows:
        comp = r.text("component")
        if comp not in REPAIR_COMPONENTS:
            raise ValueError(f"{r.where('component')}: {comp!r} not one of {REPAIR_COMPONENTS}")
        i, c = occ.index(r.text("occupancy")), REPAIR_COMPONENTS.index(comp)
        if not np.isnan(ratios[i, c, 1:]).all():
            raise ValueError(f"{r.where('component')}: duplicate row")
        ratios[i, c, 1:] = [r.number(f"{s}_pct", low=0, high=100) / 100.0 for s in states]
    if np.isnan(ratios).any():
        raise ValueError("hazus_repair_cost_ratios.csv: every occupancy needs all three component rows")
    return HazusRepairCostRatios(occupancies=occ, ratios=ratios, source=sources(rows))


@functools.cache
def hazus_displaced_household_weights() -> DisplacedHouseholdWeights:
    """Hazus uninhabitable-dwelling weights (Sec. 14.2; Hazus 6.1 Table 13-1)."""
    rows = read_table(
        DATA_DIR / "hazus_displaced_household_weights.csv",
        ["occupancy", "dwelling_type", "moderate", "extensive", "complete"],
    )
    occ = tuple(r.text("occupancy") for r in rows)
    if len(set(occ)) != len(occ):
        raise ValueError("hazus_displaced_household_weights.csv: duplicate occupancy")
    w = np.zeros((len(rows), _N_DS))
    for i, r in enumerate(rows):
        r.text("dwelling_type")
        w[i, 2:] = [r.number(s, low=0, high=1) for s in ("moderate", "extensive", "complete")]
    return DisplacedHouseholdWeights(occupancies=occ, weights=w, source=sources(rows))


@functools.cache
def hazus_population_distribution() -> dict[tuple[str, str], tuple[str, float, float]]:
    """Hazus Table 13.2 primary components: ``{(class, scenario): (census_base, present, indoor)}``."""
    rows = read_table(
        DATA_DIR / "hazus_population_distribution.csv",
        ["occupancy_class", "scenario", "census_base", "fraction_present", "indoor_fraction"],
    )
    table: dict[tuple[str, str], tuple[str, float, float]] = {}
    for r in rows:
        key = (r.text("occupancy_class"), r.text("scenario"))
        if key[1] not in HAZUS_SCENARIOS or key in table:
            raise ValueError(f"{r.where('scenario')}: unknown or duplicate scenario {key[1]!r}")
        table[key] = (
            r.text("census_base"),
            r.number("fraction_present", low=0, high=1),
            r.number("indoor_fraction", low=0, high=1),
        )
    return table

