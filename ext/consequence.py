"""Consequence models: damage-state fractions to casualties, repair cost, displaced people.

Issue "[4] Loss estimation", for analysts who do not bring OpenQuake consequence
files.  Arrays in, frozen dataclasses out; numpy only.  All arithmetic is
float64, inputs are never modified, invalid input raises :class:`ValueError`
naming the argument and the limit.  Tables are data (``ext/data/*.csv``, each
row with a ``source``), loaded once and validated; every function also accepts
a caller-supplied table object of the same type.  The Chinese intensity-based
path (GB/T 24335 grades, damage probability matrices, GB/T 18208.4 loss ratios)
lives in :mod:`quakewatch.ext.consequence_china`, the table containers and
loaders in :mod:`quakewatch.ext.consequence_hazus_tables`, the time-of-day
occupants in :mod:`quakewatch.ext.consequence_occupancy`; all are re-exported
here.

Damage states
    ``damage_fractions[:, k]`` for ``k = 0..4`` = none, slight, moderate,
    extensive, complete (the output of
    :func:`quakewatch.ext.fragility.damage_fractions` for a Hazus 4-state
    fragility).  Rows must be in [0, 1] and sum to 1 within 1e-6.

Indoor casualties [Hazus-TM]_ Tables 13.3-13.8 (Hazus 6.1: 12-3..12-8)
    Per severity ``s = 1..4`` (1 first aid, 2 hospital not life-threatening,
    3 life-threatening, 4 killed or mortally injured) the expected number of
    people is ``occupants * rate_s`` with the event tree of Hazus Figure 13.1 /
    12-1::

        rate_s = P_slight r_slight,s + P_moderate r_moderate,s
               + P_extensive r_extensive,s
               + P_complete [(1 - c) r_complete,s + c r_collapse,s]

    ``c`` = probability of collapse given complete damage (Table 13.8), by
    model building type.  ``occupants`` are the people *indoors* at the time
    of the event (:func:`hazus_occupants` gives the Hazus indoor/outdoor split;
    outdoor casualty rates, Tables 13.9-13.11, are not implemented).

Repair cost [Hazus-TM]_ Equations 15.2-15.4, Tables 15.2-15.4
    ``loss_c = replacement_cost * sum_ds P_c,ds RC_c,ds`` for the component
    groups structural, acceleration-sensitive and drift-sensitive
    non-structural, ``RC`` in fraction of total building replacement cost
    (contents excluded).  Hazus evaluates each group with its own damage-state
    probabilities; pass them as ``nonstructural_*_fractions``.  When they are
    omitted the structural fractions are used for all three groups (a single
    building-level damage state; with all three groups the complete state
    then costs 100 % of replacement, as the tables are built to).

Displaced people [Hazus-TM]_ Section 14.2 (Hazus 6.1 Table 13-1)
    Uninhabitable share of dwelling units
    ``u = w_M P_moderate + w_E P_extensive + w_C P_complete`` with the weights
    0 / 0 / 1 (single-family, RES1) and 0 / 0.9 / 1 (multi-family, RES3x);
    ``displaced = residents * u`` (Hazus: displaced households = uninhabitable
    units x households per unit, people = households x persons per household;
    per asset this is ``residents * u`` when residents occupy its units
    evenly).  The short-term shelter filter (Hazus Eq. 14-2, demographic
    factors) is not applied: the result is everyone displaced, an upper bound
    on shelter need.  Occupancies without weights (RES2, RES4-RES6, non-
    residential) raise when they have residents.

Occupants by time of day
    :func:`occupants_at` follows the OpenQuake exposure convention
    [OQ-exposure]_: the caller supplies ``occupants_day``, ``_night`` and
    ``_transit`` per asset; ``"avg"`` is their plain mean
    (``calc_occupants_avg``: (day + night + transit) / 3).  An hour of the day
    is mapped to a period with the SimCenter pelicun Hazus tables
    [pelicun-hazus]_ (night 20:00-05:59, day 09:00-15:59, transit 06:00-08:59
    and 16:00-19:59).  :func:`hazus_occupants` applies Hazus Table 13.2
    (Hazus 6.1 Table 12-2) to the primary population component of each
    general occupancy class at the Hazus scenario times 2 a.m. / 2 p.m. /
    5 p.m. (secondary components such as visitors and commuters are omitted;
    hotels are not tabulated, see the data file).

Data files (``ext/data``)
    ``hazus_indoor_casualty_rates.csv``, ``hazus_collapse_rates.csv``,
    ``hazus_repair_cost_ratios.csv``, ``hazus_displaced_household_weights.csv``,
    ``hazus_population_distribution.csv``.  Values are in percent as printed in
    the manual (fractions for the household weights).  The header comment of
    each file names the document, the table numbers and the public
    transcription the numbers were taken from (SimCenter pelicun
    ``hazus_data_eq.json``) and what they were cross-checked against.

References
----------
.. [Hazus-TM] FEMA, *Hazus Earthquake Model Technical Manual*, Hazus-MH 2.1
   (2012) numbering: Ch. 13 casualties (Tables 13.1-13.8), Ch. 14 shelter
   (Sec. 14.2), Ch. 15 direct economic losses (Tables 15.2-15.4).  Hazus 5.1 /
   6.1 renumber the chapters (6.1: casualties Ch. 12, shelter Ch. 13, economic
   losses Ch. 11) with the same values.
.. [OQ-exposure] GEM Foundation, OpenQuake engine,
   ``openquake/risklib/asset.py`` (``calc_occupants_avg``; exposure fields
   ``occupants_day``, ``occupants_night``, ``occupants_transit``) and
   ``openquake/commands/consequences.py`` (Hazus casualty tables 13.3-13.8).
.. [pelicun-hazus] NHERI SimCenter, pelicun,
   ``pelicun/resources/SimCenterDBDL/data_sources/HAZUS_MH_5.1_EQ/hazus_data_eq.json``
   (``Injury_rates``, ``P_collapse``, ``Repair_cost``, ``Parts_of_day``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from quakewatch.ext._consequence_tables import FloatArray, fractions, frozen, labels, lookup, nonnegative
from quakewatch.ext.consequence_china import (
    CHINA_DAMAGE_GRADES,
    CHINA_DAMAGE_GRADES_ZH,
    ChinaDPM,
    ChinaLossEstimate,
    ChinaLossRatios,
    china_direct_loss,
)
from quakewatch.ext.consequence_hazus_tables import (
    CASUALTY_STATES,
    DAMAGE_STATES,
    REPAIR_COMPONENTS,
    DisplacedHouseholdWeights,
    HazusCasualtyRates,
    HazusRepairCostRatios,
    hazus_casualty_rates,
    hazus_displaced_household_weights,
    hazus_repair_cost_ratios,
)
from quakewatch.ext.consequence_occupancy import HazusOccupants, hazus_occupants, occupants_at

__all__ = [
    "CHINA_DAMAGE_GRADES",
    "CHINA_DAMAGE_GRADES_ZH",
    "DAMAGE_STATES",
    "REPAIR_COMPONENTS",
    "CasualtyEstimate",
    "ChinaDPM",
    "ChinaLossEstimate",
    "ChinaLossRatios",
    "DisplacedHouseholdWeights",
    "DisplacementEstimate",
    "HazusCasualtyRates",
    "HazusOccupants",
    "HazusRepairCostRatios",
    "RepairCostEstimate",
    "china_direct_loss",
    "displaced_people",
    "hazus_casualties",
    "hazus_casualty_rates",
    "hazus_displaced_household_weights",
    "hazus_occupants",
    "hazus_repair_cost_ratios",
    "occupants_at",
    "repair_cost",
]

ArrayLike = npt.ArrayLike
_N_DS = len(DAMAGE_STATES)
#: Hazus multi-family subclasses RES3A..RES3F share the RES3 row of Tables 15.2-15.4.
_RES3_ALIAS = {f"RES3{x}": "RES3" for x in "ABCDEF"}


# --------------------------------------------------------------------------- #
# casualties
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class CasualtyEstimate:
    """Expected indoor casualties per asset.

    Attributes
    ----------
    severity : ndarray, shape (n_assets, 4), float64
        Expected number of people at severity 1..4 (people).
    rate : ndarray, shape (n_assets, 4), float64
        The same per indoor occupant (``severity / occupants``; 0 fractions).
    collapsed_fraction : ndarray, shape (n_assets,), float64
        Fraction of the asset in complete damage with collapse
        (``P_complete * c``).
    building_types : tuple of str
    source : str
        Provenance of the rate table.
    """

    severity: FloatArray
    rate: FloatArray
    collapsed_fraction: FloatArray
    building_types: tuple[str, ...]
    source: str

    @property
    def total(self) -> FloatArray:
        """Expected people at severity 1..4 summed over assets, shape (4,)."""
        out: FloatArray = self.severity.sum(axis=0)
        return out


def hazus_casualties(
    damage_fractions: ArrayLike,
    occupants: ArrayLike,
    building_type: ArrayLike | Sequence[str],
    *,
    rates: HazusCasualtyRates | None = None,
) -> CasualtyEstimate:
    """Hazus indoor casualties by severity from damage-state fractions.

    Parameters
    ----------
    damage_fractions : array_like, shape (n_assets, 5)
        Fractions in none, slight, moderate, extensive, complete; rows sum to 1.
    occupants : array_like, shape (n_assets,)
        People indoors at the time of the event (people), >= 0.
    building_type : sequence of str, length n_assets
        Hazus model building type of each asset (``W1``, ``C1L``, ``URML`` ...).
    rates : HazusCasualtyRates, optional
        Rate table (default: :func:`hazus_casualty_rates`).

    Returns
    -------
    CasualtyEstimate
        ``severity[i, s] = occupants[i] * rate[i, s]``, complete damage split
        into collapse / no collapse by the building type's collapse rate.
    """
    table = rates if rates is not None else hazus_casualty_rates()
    dsf = fractions("damage_fractions", damage_fractions, _N_DS)
    n = dsf.shape[0]
    occ = nonnegative("occupants", occupants, n)
    idx = table.index(building_type, n)
    c = table.collapse_fraction[idx]
    weights = np.empty((n, len(CASUALTY_STATES)))
    weights[:, :3] = dsf[:, 1:4]
    weights[:, 3] = dsf[:, 4] * (1.0 - c)
    weights[:, 4] = dsf[:, 4] * c
    rate = np.einsum("nk,nks->ns", weights, table.rates[idx])
    return CasualtyEstimate(
        severity=frozen(rate * occ[:, np.newaxis]),
        rate=frozen(rate),
        collapsed_fraction=frozen(weights[:, 4]),
        building_types=tuple(table.building_types[i] for i in idx),
        source=table.source,
    )


# --------------------------------------------------------------------------- #
# repair cost
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class RepairCostEstimate:
    """Expected repair cost per asset, in the currency of ``replacement_cost``.

    Attributes
    ----------
    by_component : ndarray, shape (n_assets, n_components)
        Cost per component group (order of ``components``).
    loss : ndarray, shape (n_assets,)
        Sum over the component groups.
    loss_ratio : ndarray, shape (n_assets,)
        ``loss / replacement_cost`` (0 where the replacement cost is 0).
    components : tuple of str
    source : str
    """

    by_component: FloatArray
    loss: FloatArray
    loss_ratio: FloatArray
    components: tuple[str, ...]
    source: str

    @property
    def total(self) -> float:
        """Portfolio repair cost (currency)."""
        return float(self.loss.sum())


def repair_cost(
    damage_fractions: ArrayLike,
    replacement_cost: ArrayLike,
    occupancy: ArrayLike | Sequence[str],
    *,
    ratios: HazusRepairCostRatios | None = None,
    nonstructural_acceleration_fractions: ArrayLike | None = None,
    nonstructural_drift_fractions: ArrayLike | None = None,
    components: Sequence[str] = REPAIR_COMPONENTS,
) -> RepairCostEstimate:
    """Hazus building repair cost from damage-state fractions.

    Parameters
    ----------
    damage_fractions : array_like, shape (n_assets, 5)
        Structural damage-state fractions (none .. complete).
    replacement_cost : array_like, shape (n_assets,)
        Total building replacement cost (currency, >= 0), contents excluded.
    occupancy : sequence of str, length n_assets
        Hazus occupancy class (``RES1``, ``COM4``, ``IND2`` ...); the
        multi-family subclasses ``RES3A``..``RES3F`` use the ``RES3`` row.
    ratios : HazusRepairCostRatios, optional
        Default :func:`hazus_repair_cost_ratios` (Tables 15.2-15.4).
    nonstructural_acceleration_fractions, nonstructural_drift_fractions : array_like, optional
        Damage-state fractions of the non-structural groups, shape
        (n_assets, 5); default: the structural fractions.
    components : sequence of str
        Subset of :data:`REPAIR_COMPONENTS` to include (default all three).

    Returns
    -------
    RepairCostEstimate
    """
    table = ratios if ratios is not None else hazus_repair_cost_ratios()
    comps = tuple(components)
    if not comps or len(set(comps)) != len(comps) or any(c not in REPAIR_COMPONENTS for c in comps):
        raise ValueError(f"components must be distinct names from {REPAIR_COMPONENTS}, got {comps}")
    dsf = fractions("damage_fractions", damage_fractions, _N_DS)
    n = dsf.shape[0]
    per_group = {
        "structural": dsf,
        "nonstructural_acceleration": dsf
        if nonstructural_acceleration_fractions is None
        else fractions("nonstructural_acceleration_fractions", nonstructural_acceleration_fractions, _N_DS, n),
        "nonstructural_drift": dsf
        if nonstructural_drift_fractions is None
        else fractions("nonstructural_drift_fractions", nonstructural_drift_fractions, _N_DS, n),
    }
    value = nonnegative("replacement_cost", replacement_cost, n)
    occ = tuple(_RES3_ALIAS.get(o, o) if o not in table.occupancies else o for o in labels("occupancy", occupancy, n))
    idx = lookup("occupancy", occ, table.occupancies, "Hazus repair cost ratios")
    by_comp = np.empty((n, len(comps)))
    for j, comp in enumerate(comps):
        rc = table.ratios[idx, REPAIR_COMPONENTS.index(comp)]  # (n, 5)
        by_comp[:, j] = value * np.einsum("nk,nk->n", per_group[comp], rc)
    loss = by_comp.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr = np.where(value > 0, loss / np.where(value > 0, value, 1.0), 0.0)
    return RepairCostEstimate(
        by_component=frozen(by_comp),
        loss=frozen(loss),
        loss_ratio=frozen(lr),
        components=comps,
        source=table.source,
    )


# --------------------------------------------------------------------------- #
# displaced people
# --------------------------------------------------------------------------- #


@dataclass(frozen=True, eq=False)
class DisplacementEstimate:
    """People displaced from uninhabitable dwellings, per asset.

    Attributes
    ----------
    displaced : ndarray, shape (n_assets,)
        Expected displaced residents (people).
    uninhabitable_fraction : ndarray, shape (n_assets,)
        Expected fraction of the asset's dwelling units that is uninhabitable.
    source : str
    """

    displaced: FloatArray
    uninhabitable_fraction: FloatArray
    source: str

    @property
    def total(self) -> float:
        """Portfolio displaced people."""
        return float(self.displaced.sum())


def displaced_people(
    damage_fractions: ArrayLike,
    residents: ArrayLike,
    occupancy: ArrayLike | Sequence[str],
    *,
    weights: DisplacedHouseholdWeights | None = None,
) -> DisplacementEstimate:
    """Hazus displaced residents from damage-state fractions.

    Parameters
    ----------
    damage_fractions : array_like, shape (n_assets, 5)
        Structural damage-state fractions (none .. complete).
    residents : array_like, shape (n_assets,)
        Residents (people, night-time population) of each asset, >= 0.
    occupancy : sequence of str, length n_assets
        Hazus occupancy class.  Classes without weights are allowed only
        with 0 residents (non-residential assets contribute nothing).
    weights : DisplacedHouseholdWeights, optional
        Default :func:`hazus_displaced_household_weights`.

    Returns
    -------
    DisplacementEstimate
        ``displaced = residents * (w . damage_fractions)``.
    """
    table = weights if weights is not None else hazus_displaced_household_weights()
    dsf = fractions("damage_fractions", damage_fractions, _N_DS)
    n = dsf.shape[0]
    res = nonnegative("residents", residents, n)
    occ = labels("occupancy", occupancy, n)
    known = {k: i for i, k in enumerate(table.occupancies)}
    orphan = sorted({o for o, r in zip(occ, res, strict=True) if o not in known and r > 0})
    if orphan:
        raise ValueError(
            f"occupancy has no displaced-household weights for {orphan} but residents > 0 there; "
            f"weights exist for {', '.join(table.occupancies)}"
        )
    w = np.zeros((n, _N_DS))
    rows = [i for i, o in enumerate(occ) if o in known]
    w[rows] = table.weights[[known[occ[i]] for i in rows]]
    u = np.einsum("nk,nk->n", dsf, w)
    return DisplacementEstimate(displaced=frozen(res * u), uninhabitable_fraction=frozen(u), source=table.source)

