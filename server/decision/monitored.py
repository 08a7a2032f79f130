"""Monitored structures as assets of a loss estimate.

The bridges, dams, mines and buildings QuakeWatch monitors are part of the exposure
headquarters care most about. A scenario names them in a CSV (``monitored:`` in the
scenario file)::

    structure_id,taxonomy,number,structural,day,night,transit,residents
    fenhe-bridge,C2M,1,350000000,40,5,120,0

* ``structure_id`` a registered structure; on a server it is placed at its registered
  location (a structure without one, or one the caller may not read, is an error);
  ``lon``, ``lat`` columns place it offline (``quakewatch loss --scenario``) and must
  agree with the registry within 0.01 degree where both exist;
* ``taxonomy`` a risk id of the scenario's fragility or vulnerability model (through its
  taxonomy mapping, if any);
* one column per cost type of the main exposure (the structure's total replacement
  value, currency of the exposure; required), the exposure's occupancy periods and
  ``residents`` when it has them (people; default 0); ``number`` default 1.

They join the exposure as assets ``structure:<id>``: their damage, losses and casualties
are in the totals, and the estimate document gets a ``monitored`` section, one entry per
structure with its damage-state fractions, expected losses and casualties, and what its
own free-field sensors recorded when the ground motion was conditioned on them.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from .estimate import LossEstimate
from .nrml import Exposure, InputFileError

__all__ = ["PREFIX", "merge_exposures", "monitored_section", "read_monitored"]

PREFIX = "structure:"
LOCATION_TOLERANCE_DEG = 0.01


def _number(path: Path, row: int, name: str, text: str, *, signed: bool = False) -> float:
    try:
        v = float(text)
    except ValueError:
        raise InputFileError(f"{path}: row {row}, {name!r}: {text!r} is not a number") from None
    if not (np.isfinite(v) and (signed or v >= 0)):
        raise InputFileError(f"{path}: row {row}, {name!r}: must be finite{'' if signed else ' and >= 0'}, got {text!r}")
    return v


def read_monitored(path: str | Path, like: Exposure,
                   locations: Mapping[str, tuple[float, float]] | None = None) -> Exposure:
    """The monitored structures of ``path`` as an exposure with the fields of ``like``.

    ``locations``: registered structure id -> (lon, lat) of the structures the caller may
    read (server side); None offline, where the CSV's ``lon``/``lat`` are required.
    """
    import csv

    p = Path(path)
    try:
        with p.open(encoding="utf-8-sig", newline="") as f:
            rows = list(csv.DictReader(line for line in f if not line.lstrip().startswith("#")))
    except OSError as exc:
        raise InputFileError(f"{p}: cannot read the monitored structures: {exc}") from None
    if not rows:
        raise InputFileError(f"{p}: no monitored structures")
    header = set(rows[0])
    need = {"structure_id", "taxonomy", *like.values}
    missing = sorted(need - header)
    if missing:
        raise InputFileError(f"{p}: missing column(s) {', '.join(missing)} (the exposure's cost types are required)")
    ids, lon, lat, taxo, number = [], [], [], [], []
    values: dict[str, list[float]] = {k: [] for k in like.values}
    periods = [k for k in like.occupants if k != "avg"]
    occupants: dict[str, list[float]] = {k: [] for k in periods}
    residents: list[float] = []
    for i, r in enumerate(rows, start=2):
        sid = (r.get("structure_id") or "").strip()
        if not sid or not (r.get("taxonomy") or "").strip():
            raise InputFileError(f"{p}: row {i}: structure_id and taxonomy are required")
        if sid in ids:
            raise InputFileError(f"{p}: row {i}: structure {sid!r} is listed twice")
        here = None
        if (r.get("lon") or "").strip() and (r.get("lat") or "").strip():
            here = (_number(p, i, "lon", r["lon"], signed=True), _number(p, i, "lat", r["lat"], signed=True))
        if locations is not None:
            reg = locations.get(sid)
            if reg is None:
                raise InputFileError(f"{p}: row {i}: structure {sid!r} is not registered with a location, "
                                     "or not visible to this token")
            if here is not None and max(abs(here[0] - reg[0]), abs(here[1] - reg[1])) > LOCATION_TOLERANCE_DEG:
                raise InputFileError(f"{p}: row {i}: structure {sid!r}: lon/lat {here} differ from its registered "
                                     f"location {reg} by more than {LOCATION_TOLERANCE_DEG} degree")
            here = reg
        if here is None:
            raise InputFileError(f"{p}: row {i}: structure {sid!r} needs lon and lat (no registry here)")
        if not (abs(here[0]) <= 180 and abs(here[1]) <= 90):
            raise InputFileError(f"{p}: row {i}: lon must be within [-180, 180] and lat within [-90, 90]")
        ids.append(sid)
        lon.append(here[0])
        lat.append(here[1])
        taxo.append(r["taxonomy"].strip())
        number.append(_number(p, i, "number", r["number"]) if (r.get("number") or "").strip() else 1.0)
        for k in values:
            values[k].append(_number(p, i, k, r[k]))
        for k in periods:
            occupants[k].append(_number(p, i, k, r[k]) if (r.get(k) or "").strip() else 0.0)
        residents.append(_number(p, i, "residents", r["residents"]) if (r.get("residents") or "").strip() else 0.0)
    occ = {k: np.array(v) for k, v in occupants.items()}
    if occ:
        occ["avg"] = np.sum(list(occ.values()), axis=0) / len(occ)
    n = len(ids)
    return Exposure(ids=np.array([PREFIX + s for s in ids]), lon=np.round(np.array(lon), 5), lat=np.round(np.array(lat), 5),
                    taxonomy=np.array(taxo), number=np.array(number), area=np.ones(n),
                    values={k: np.array(v) for k, v in values.items()}, occupants=occ,
                    residents=np.array(residents) if like.residents is not None else None,
                    tags={t: np.array(["monitored"] * n) for t in like.tags}, units=dict(like.units), source=str(p),
                    category=like.category)


def merge_exposures(a: Exposure, b: Exposure) -> Exposure:
    """``a`` then ``b`` (same fields; ``b`` from :func:`read_monitored`)."""
    clash = set(a.ids.tolist()) & set(b.ids.tolist())
    if clash:
        raise InputFileError(f"{b.source}: asset ids {sorted(clash)[:3]} already in the exposure")
    return Exposure(
        ids=np.concatenate([a.ids.astype(str), b.ids.astype(str)]), lon=np.concatenate([a.lon, b.lon]),
        lat=np.concatenate([a.lat, b.lat]), taxonomy=np.concatenate([a.taxonomy.astype(str), b.taxonomy.astype(str)]),
        number=np.concatenate([a.number, b.number]), area=np.concatenate([a.area, b.area]),
        values={k: np.concatenate([a.values[k], b.values[k]]) for k in a.values},
        occupants={k: np.concatenate([a.occupants[k], b.occupants[k]]) for k in a.occupants},
        residents=None if a.residents is None or b.residents is None else np.concatenate([a.residents, b.residents]),
        tags={k: np.concatenate([a.tags[k].astype(str), b.tags[k].astype(str)]) for k in a.tags},
        units=a.units, source=f"{a.source} + {b.source}", category=a.category)


def monitored_section(est: LossEstimate, observed_sources: tuple[str, ...] = (),
                      observed_values: Mapping[tuple[str, str], float] | None = None) -> list[dict[str, Any]]:
    """One entry per monitored structure: damage fractions, losses, casualties and what its
    own sensors recorded (``observed_values``: (structure_id, IMT) -> value)."""
    out = []
    ids = est.asset_ids.astype(str)
    for i in np.flatnonzero(np.char.startswith(ids, PREFIX)):
        sid = ids[i][len(PREFIX):]
        rec = {k[1]: v for k, v in (observed_values or {}).items() if k[0] == sid}
        out.append({
            "structure_id": sid, "taxonomy": str(est.taxonomy[i]), "lon": float(est.lon[i]), "lat": float(est.lat[i]),
            "damage": {lt: {s: float(fr[i, k]) for k, s in enumerate(est.damage_states)} for lt, fr in est.damage.items()},
            "losses": {lt: float(v[i]) for lt, v in est.losses.items()},
            "casualties": {n: float(v[i]) for n, v in est.casualties.items()},
            "recorded": {"PGA_g": rec.get("PGA"), "PGV_cmps": rec.get("PGV")} if rec else None,
        })
    return out
