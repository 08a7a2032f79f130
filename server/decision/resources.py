"""Emergency resources from CSV: depots and demand points, costs, teams, shelters, roads.

Issue "[5] ... resource dispatch".  Every reader takes a :class:`~pathlib.Path` (a file) or a ``str`` (the CSV
text itself, as a gRPC request carries it), validates once at the edge
and reports the file, the row (1 = the header) and the column of the first
problem (:class:`~quakewatch.server.decision.nrml.InputFileError`).

``depots.csv`` / ``demands.csv``
    ``id,lon,lat,<commodity>...``: every column other than ``id``, ``lon``,
    ``lat``, ``name`` and ``displaced`` (people needing shelter, for shelter
    location) is a commodity, a quantity >= 0 (empty = 0).
``costs.csv``
    ``from_id,to_id,cost``: cost per unit on that arc, >= 0; when given it
    replaces distances and pairs it does not list are not arcs.
``teams.csv``
    ``id,type,size,lon,lat,readiness_h``.
``sites.csv``
    ``id,lon,lat,<team type>...[,priority]``: teams of each type needed.
``shelters.csv``
    ``id,lon,lat,capacity[,open_cost][,open]``.
``vehicles.csv``
    ``id,depot_id,count,capacity_t``: the trucks each depot can load.
``road_nodes.csv`` / ``road_edges.csv``
    ``id,lon,lat`` and ``from,to,travel_time_s|length_m+speed_kmh[,oneway][,bridge_id]``.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from .nrml import InputFileError

__all__ = [
    "Points",
    "RoadTable",
    "read_costs",
    "read_points",
    "read_road",
    "read_shelters",
    "read_sites",
    "read_teams",
    "read_vehicles",
]

_RESERVED = ("id", "lon", "lat", "name", "displaced")


@dataclass(frozen=True)
class Points:
    """Located points with named quantities (depot stocks, demands, team needs)."""

    label: str
    ids: tuple[str, ...]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    quantities: dict[str, npt.NDArray[np.float64]]
    extra: dict[str, npt.NDArray[np.float64]]


def _rows(source: str | Path, label: str) -> tuple[list[str], list[list[str]]]:
    if isinstance(source, Path):
        try:
            text = Path(source).read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InputFileError(f"{label}: cannot read {source}: {exc.strerror or exc}") from None
    else:
        text = str(source)
    reader = csv.reader(io.StringIO(text))
    rows = [r for r in reader if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    if not rows:
        raise InputFileError(f"{label}: empty file (needs a header row)")
    header = [h.strip() for h in rows[0]]
    if len(set(header)) != len(header):
        dup = next(h for h in header if header.count(h) > 1)
        raise InputFileError(f"{label}: row 1: column {dup!r} appears twice")
    return header, rows[1:]


def _need(header: list[str], cols: tuple[str, ...], label: str) -> None:
    missing = [c for c in cols if c not in header]
    if missing:
        raise InputFileError(f"{label}: row 1: missing column(s) {', '.join(missing)} (have {', '.join(header)})")


def _records(source: str | Path, label: str, required: tuple[str, ...]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Header and ``(row number, {column: stripped value})`` of every data row."""
    header, rows = _rows(source, label)
    _need(header, required, label)
    out = []
    for k, r in enumerate(rows, start=2):
        if len(r) != len(header):
            raise InputFileError(f"{label}: row {k}: {len(r)} fields, the header has {len(header)}")
        out.append((k, {h: c.strip() for h, c in zip(header, r)}))
    return header, out


def _float(label: str, row: int, col: str, value: str, *, low: float | None = None, high: float | None = None,
           empty: float | None = None) -> float:
    v = value.strip()
    if not v and empty is not None:
        return empty
    try:
        x = float(v)
    except ValueError:
        raise InputFileError(f"{label}: row {row}: {col} {value!r} is not a number") from None
    if not math.isfinite(x) or (low is not None and x < low) or (high is not None and x > high):
        rng = f"[{low if low is not None else '-inf'}, {high if high is not None else 'inf'}]"
        raise InputFileError(f"{label}: row {row}: {col} {value!r} is outside {rng}")
    return x


def _located(source: str | Path, label: str, fixed: tuple[str, ...], numeric: tuple[str, ...] = ()) -> tuple[list[str], list[dict[str, str]], list[int]]:
    header, records = _records(source, label, ("id", "lon", "lat", *fixed))
    out, seen, numbers = [], set(), []
    for k, d in records:
        if not d["id"]:
            raise InputFileError(f"{label}: row {k}: empty id")
        if d["id"] in seen:
            raise InputFileError(f"{label}: row {k}: id {d['id']!r} appears twice")
        seen.add(d["id"])
        _float(label, k, "lon", d["lon"], low=-180, high=180)
        _float(label, k, "lat", d["lat"], low=-90, high=90)
        out.append(d)
        numbers.append(k)
    return header, out, numbers


def read_points(source: str | Path, label: str, *, reserved: tuple[str, ...] = _RESERVED,
                extra: tuple[str, ...] = ()) -> Points:
    """``id,lon,lat,<quantity>...`` (depots, demands, sites); ``extra`` columns kept apart."""
    header, rows, line = _located(source, label, ())
    names = [h for h in header if h not in reserved and h not in extra]
    q = {n: np.array([_float(label, line[i], n, r[n], low=0.0, empty=0.0) for i, r in enumerate(rows)]) for n in names}
    x = {n: np.array([_float(label, line[i], n, r[n], low=0.0, empty=math.nan) for i, r in enumerate(rows)])
         for n in extra if n in header}
    return Points(label, tuple(r["id"] for r in rows), np.array([float(r["lon"]) for r in rows]),
                  np.array([float(r["lat"]) for r in rows]), q, x)


def read_costs(source: str | Path, from_ids: tuple[str, ...], to_ids: tuple[str, ...], label: str = "costs.csv") -> npt.NDArray[np.float64]:
    """``from_id,to_id,cost`` -> (n_from, n_to) matrix, ``inf`` where no row is given."""
    _, records = _records(source, label, ("from_id", "to_id", "cost"))
    fi = {x: i for i, x in enumerate(from_ids)}
    ti = {x: i for i, x in enumerate(to_ids)}
    out = np.full((len(from_ids), len(to_ids)), np.inf)
    for k, r in records:
        a, b = r["from_id"], r["to_id"]
        if a not in fi:
            raise InputFileError(f"{label}: row {k}: from_id {a!r} is not a depot")
        if b not in ti:
            raise InputFileError(f"{label}: row {k}: to_id {b!r} is not a demand point")
        if math.isfinite(out[fi[a], ti[b]]):
            raise InputFileError(f"{label}: row {k}: arc {a} -> {b} is given twice")
        out[fi[a], ti[b]] = _float(label, k, "cost", r["cost"], low=0.0)
    return out


@dataclass(frozen=True)
class Teams:
    ids: tuple[str, ...]
    type: tuple[str, ...]
    size: npt.NDArray[np.float64]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    readiness_s: npt.NDArray[np.float64]


def read_teams(source: str | Path, label: str = "teams.csv") -> Teams:
    header, rows, line = _located(source, label, ("type",))
    for i, r in enumerate(rows):
        if not r["type"]:
            raise InputFileError(f"{label}: row {line[i]}: empty type")
    return Teams(
        tuple(r["id"] for r in rows), tuple(r["type"] for r in rows),
        np.array([_float(label, line[i], "size", r.get("size", ""), low=0.0, empty=1.0) for i, r in enumerate(rows)]),
        np.array([float(r["lon"]) for r in rows]), np.array([float(r["lat"]) for r in rows]),
        np.array([3600.0 * _float(label, line[i], "readiness_h", r.get("readiness_h", ""), low=0.0, empty=0.0)
                  for i, r in enumerate(rows)]))


def read_sites(source: str | Path, label: str = "sites.csv") -> Points:
    """Sites needing teams: a column per team type (integers), optional ``priority``."""
    pts = read_points(source, label, extra=("priority",))
    for name, v in pts.quantities.items():
        if not np.array_equal(v, np.round(v)):
            raise InputFileError(f"{label}: column {name}: teams needed must be whole numbers")
    return pts


@dataclass(frozen=True)
class Shelters:
    ids: tuple[str, ...]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    capacity: npt.NDArray[np.float64]
    open_cost: npt.NDArray[np.float64]
    already_open: npt.NDArray[np.bool_]


def read_shelters(source: str | Path, label: str = "shelters.csv") -> Shelters:
    header, rows, line = _located(source, label, ("capacity",))

    def flag(i: int, r: dict[str, str]) -> bool:
        v = r.get("open", "").strip().lower()
        if v not in ("", "0", "1", "true", "false", "yes", "no"):
            raise InputFileError(f"{label}: row {line[i]}: open {v!r} is not a yes/no value")
        return v in ("1", "true", "yes")

    return Shelters(
        tuple(r["id"] for r in rows), np.array([float(r["lon"]) for r in rows]), np.array([float(r["lat"]) for r in rows]),
        np.array([_float(label, line[i], "capacity", r["capacity"], low=0.0) for i, r in enumerate(rows)]),
        np.array([_float(label, line[i], "open_cost", r.get("open_cost", ""), low=0.0, empty=0.0) for i, r in enumerate(rows)]),
        np.array([flag(i, r) for i, r in enumerate(rows)], dtype=bool))


def read_vehicles(source: str | Path, depot_ids: tuple[str, ...], label: str = "vehicles.csv") -> npt.NDArray[np.float64]:
    """``id,depot_id,count,capacity_t`` -> tonnes the fleet of each depot carries per trip."""
    _, records = _records(source, label, ("id", "depot_id", "count", "capacity_t"))
    index = {d: i for i, d in enumerate(depot_ids)}
    out = np.zeros(len(depot_ids))
    for k, r in records:
        if r["depot_id"] not in index:
            raise InputFileError(f"{label}: row {k}: depot_id {r['depot_id']!r} is not a depot")
        count = _float(label, k, "count", r["count"], low=0.0)
        out[index[r["depot_id"]]] += count * _float(label, k, "capacity_t", r["capacity_t"], low=0.0)
    return out


@dataclass(frozen=True)
class RoadTable:
    node_ids: tuple[str, ...]
    lon: npt.NDArray[np.float64]
    lat: npt.NDArray[np.float64]
    edge_from: npt.NDArray[np.int64]
    edge_to: npt.NDArray[np.int64]
    travel_time_s: npt.NDArray[np.float64]
    oneway: npt.NDArray[np.bool_]
    bridge_id: npt.NDArray[np.str_]


def read_road(nodes: str | Path, edges: str | Path) -> RoadTable:
    """A road graph: nodes ``id,lon,lat``; edges ``from,to`` and ``travel_time_s`` or ``length_m`` + ``speed_kmh``."""
    _, nrows, _ = _located(nodes, "road_nodes.csv", ())
    index = {r["id"]: i for i, r in enumerate(nrows)}
    label = "road_edges.csv"
    header, records = _records(edges, label, ("from", "to"))
    if "travel_time_s" not in header and not {"length_m", "speed_kmh"} <= set(header):
        raise InputFileError(f"{label}: row 1: give travel_time_s, or length_m and speed_kmh")
    ef, et, tt, ow, br = [], [], [], [], []
    for k, r in records:
        a, b = r["from"], r["to"]
        for name, v in (("from", a), ("to", b)):
            if v not in index:
                raise InputFileError(f"{label}: row {k}: {name} node {v!r} is not in road_nodes.csv")
        if r.get("travel_time_s"):
            t = _float(label, k, "travel_time_s", r["travel_time_s"], low=0.0)
        else:
            if "length_m" not in r:
                raise InputFileError(f"{label}: row {k}: travel_time_s is empty and there is no length_m column")
            length = _float(label, k, "length_m", r["length_m"], low=0.0)
            speed = _float(label, k, "speed_kmh", r["speed_kmh"], low=1e-9)
            t = length / (speed / 3.6)
        ef.append(index[a])
        et.append(index[b])
        tt.append(t)
        ow.append(r.get("oneway", "").lower() in ("1", "true", "yes"))
        br.append(r.get("bridge_id", ""))
    return RoadTable(tuple(index), np.array([float(r["lon"]) for r in nrows]), np.array([float(r["lat"]) for r in nrows]),
                     np.array(ef, dtype=np.int64), np.array(et, dtype=np.int64), np.array(tt), np.array(ow, dtype=bool),
                     np.array(br, dtype=str))
