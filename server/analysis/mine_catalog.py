"""A mine's seismic catalogue: CSV import and export, validated once at the edge.

Issue "[7] Mine seismic monitoring" ("a catalogue import/export as CSV").
Columns (header row; ``#`` lines are comments)::

    event_id,time,x_m,y_m,z_m,magnitude[,energy_j][,moment_nm][,type]

``time`` is ISO 8601 with a zone (``2026-11-29T03:14:15.5Z``) or epoch
seconds; ``x_m, y_m, z_m`` are the mine's local coordinates (east, north, up);
``energy_j`` and ``moment_nm`` are optional (empty = unknown); ``type`` is
``tremor`` (default), ``blast`` or ``unknown``.  Errors name the file, the row
(1 = the header) and the column.  Events are kept in time order.
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import numpy.typing as npt

from ..errors import InvalidInput

__all__ = ["COLUMNS", "EVENT_TYPES", "MineCatalog", "parse_number", "parse_time", "read_catalog", "read_rows", "write_catalog"]

COLUMNS = ("event_id", "time", "x_m", "y_m", "z_m", "magnitude", "energy_j", "moment_nm", "type")
EVENT_TYPES = ("tremor", "blast", "unknown")
_REQUIRED = COLUMNS[:6]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class MineCatalog:
    """Events in time order; ``time_s`` is epoch seconds (UTC); NaN = unknown energy or moment."""

    event_id: tuple[str, ...]
    time_s: FloatArray
    xyz_m: FloatArray
    magnitude: FloatArray
    energy_j: FloatArray
    moment_nm: FloatArray
    type: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.event_id)

    def select(self, mask: npt.NDArray[np.bool_]) -> MineCatalog:
        idx = np.flatnonzero(mask)
        return MineCatalog(tuple(self.event_id[i] for i in idx), self.time_s[idx], self.xyz_m[idx], self.magnitude[idx],
                           self.energy_j[idx], self.moment_nm[idx], tuple(self.type[i] for i in idx))

    @property
    def tremors(self) -> MineCatalog:
        """Blasts removed: the indicators describe the rock mass, not the blasting.

        Events of type ``unknown`` stay: an event the discrimination could not decide
        may be a tremor, and leaving a possible rockburst precursor out of the warning
        is the unsafe error (an analyst who reclassifies it re-imports it as a blast)."""
        return self.select(np.array([t != "blast" for t in self.type], dtype=bool))


def parse_time(value: str, where: str) -> float:
    v = value.strip()
    try:
        return float(v)
    except ValueError:
        pass
    try:
        t = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{where}: time {value!r} is neither ISO 8601 nor epoch seconds", field="time") from None
    if t.tzinfo is None:
        raise InvalidInput(f"{where}: time {value!r} needs a zone (Z or +08:00)", field="time")
    return t.timestamp()


def parse_number(value: str, where: str, column: str, *, empty_nan: bool = False, positive: bool = False) -> float:
    v = value.strip()
    if not v and empty_nan:
        return math.nan
    try:
        x = float(v)
    except ValueError:
        raise InvalidInput(f"{where}: {column} {value!r} is not a number", field=column) from None
    if not math.isfinite(x) or (positive and x <= 0):
        raise InvalidInput(f"{where}: {column} {value!r} must be {'> 0' if positive else 'finite'}", field=column)
    return x


def read_rows(source: str | Path, label: str, field: str, columns: tuple[str, ...],
              required: tuple[str, ...]) -> tuple[str, list[str], list[tuple[int, list[str]]]]:
    """A small CSV with a header: (label, header, [(row number, fields)]); ``#`` lines
    are comments; errors name the label, the row (1 = the header) and the column."""
    if isinstance(source, Path):
        label = str(source)
        try:
            text = source.read_text(encoding="utf-8-sig")
        except OSError as exc:
            raise InvalidInput(f"{label}: cannot read: {exc.strerror or exc}", field=field) from None
    else:
        text = source
    rows = [r for r in csv.reader(io.StringIO(text)) if r and any(c.strip() for c in r) and not r[0].lstrip().startswith("#")]
    if not rows:
        raise InvalidInput(f"{label}: empty (needs the header {','.join(required)})", field=field)
    header = [h.strip() for h in rows[0]]
    missing = [c for c in required if c not in header]
    if missing:
        raise InvalidInput(f"{label}: row 1: missing column(s) {', '.join(missing)}", field=field)
    unknown = [c for c in header if c not in columns]
    if unknown:
        raise InvalidInput(f"{label}: row 1: unknown column(s) {', '.join(unknown)} (columns: {', '.join(columns)})", field=field)
    out = []
    for k, r in enumerate(rows[1:], start=2):
        if len(r) != len(header):
            raise InvalidInput(f"{label}: row {k}: {len(r)} fields, the header has {len(header)}", field=field)
        out.append((k, r))
    return label, header, out


def read_catalog(source: str | Path, label: str | None = None) -> MineCatalog:
    """Parse a catalogue CSV: a :class:`~pathlib.Path`, or the CSV text itself."""
    label, header, rows = read_rows(source, label or "catalog", "catalog", COLUMNS, _REQUIRED)
    col = {h: i for i, h in enumerate(header)}
    ids, times, xyz, mag, energy, moment, kind = [], [], [], [], [], [], []
    seen: set[str] = set()
    for k, r in rows:
        where = f"{label}: row {k}"
        eid = r[col["event_id"]].strip()
        if not eid or eid in seen:
            raise InvalidInput(f"{where}: event_id {eid!r} is empty or repeated", field="event_id")
        seen.add(eid)
        ids.append(eid)
        times.append(parse_time(r[col["time"]], where))
        xyz.append([parse_number(r[col[c]], where, c) for c in ("x_m", "y_m", "z_m")])
        mag.append(parse_number(r[col["magnitude"]], where, "magnitude"))
        energy.append(parse_number(r[col["energy_j"]], where, "energy_j", empty_nan=True, positive=True) if "energy_j" in col else math.nan)
        moment.append(parse_number(r[col["moment_nm"]], where, "moment_nm", empty_nan=True, positive=True) if "moment_nm" in col else math.nan)
        t = r[col["type"]].strip().lower() if "type" in col else ""
        if t and t not in EVENT_TYPES:
            raise InvalidInput(f"{where}: type {t!r} is not one of {', '.join(EVENT_TYPES)}", field="type")
        kind.append(t or "tremor")
    order = np.argsort(np.array(times), kind="stable")
    return MineCatalog(tuple(ids[i] for i in order), np.array(times)[order], np.array(xyz, dtype=float).reshape(-1, 3)[order],
                       np.array(mag)[order], np.array(energy)[order], np.array(moment)[order], tuple(kind[i] for i in order))


def write_catalog(cat: MineCatalog) -> str:
    """The CSV text of a catalogue (round-trips through :func:`read_catalog`)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(COLUMNS)
    for i in range(len(cat)):
        t = datetime.fromtimestamp(float(cat.time_s[i]), tz=UTC).isoformat().replace("+00:00", "Z")
        e, m0 = cat.energy_j[i], cat.moment_nm[i]
        w.writerow([cat.event_id[i], t, *(repr(float(v)) for v in cat.xyz_m[i]), repr(float(cat.magnitude[i])),
                    "" if math.isnan(e) else repr(float(e)), "" if math.isnan(m0) else repr(float(m0)), cat.type[i]])
    return out.getvalue()
