"""Shared helpers for the consequence modules: CSV tables and array checks.

Private to :mod:`quakewatch.ext.consequence` and
:mod:`quakewatch.ext.consequence_china`.  Table files are plain CSV with
``#`` comment lines (the header comment names the source document and table
numbers) and a mandatory, non-empty ``source`` column on every row.  Errors
raise :class:`ValueError` naming the file, the line and the column, or the
argument and the limit.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Tolerance on "fractions sum to one" for every damage-state distribution.
SUM_TOL = 1e-6

DATA_DIR = Path(__file__).resolve().parent / "data"


# --------------------------------------------------------------------------- #
# CSV tables
# --------------------------------------------------------------------------- #


class TableRow:
    """One data row of a table file, with its line number for error messages."""

    __slots__ = ("path", "line", "values")

    def __init__(self, path: Path, line: int, values: dict[str, str]) -> None:
        self.path = path
        self.line = line
        self.values = values

    def where(self, column: str) -> str:
        return f"{self.path.name}:{self.line}: {column}"

    def text(self, column: str) -> str:
        value = self.values[column].strip()
        if not value:
            raise ValueError(f"{self.where(column)}: must not be empty")
        return value

    def number(self, column: str, *, low: float = -np.inf, high: float = np.inf) -> float:
        raw = self.text(column)
        try:
            value = float(raw)
        except ValueError:
            raise ValueError(f"{self.where(column)}: {raw!r} is not a number") from None
        if not np.isfinite(value) or not low <= value <= high:
            raise ValueError(f"{self.where(column)}: {value} must be finite and within [{low}, {high}]")
        return value


def read_table(path: Path, columns: Sequence[str]) -> list[TableRow]:
    """Rows of a ``#``-commented CSV file that has exactly ``columns`` + ``source``.

    Every row must carry a non-empty ``source``; the file must have at least one
    row.  Column order in the file is free; unknown or missing columns raise.
    """
    path = Path(path)
    expected = [*columns, "source"]
    with path.open(newline="", encoding="utf-8") as fh:
        numbered = [(i, line) for i, line in enumerate(fh, start=1) if line.strip() and not line.lstrip().startswith("#")]
    if not numbered:
        raise ValueError(f"{path.name}: no header row")
    reader = csv.reader([line for _, line in numbered])
    header = [h.strip() for h in next(reader)]
    missing = [c for c in expected if c not in header]
    unknown = [c for c in header if c not in expected]
    if missing or unknown or len(set(header)) != len(header):
        raise ValueError(
            f"{path.name}:{numbered[0][0]}: columns must be {expected}, "
            f"missing {missing}, unknown {unknown}"
        )
    rows: list[TableRow] = []
    for (lineno, _), cells in zip(numbered[1:], reader, strict=True):
        if len(cells) != len(header):
            raise ValueError(f"{path.name}:{lineno}: expected {len(header)} fields, got {len(cells)}")
        row = TableRow(path, lineno, dict(zip(header, cells, strict=True)))
        row.text("source")
        rows.append(row)
    if not rows:
        raise ValueError(f"{path.name}: no data rows")
    return rows


def sources(rows: Iterable[TableRow]) -> str:
    """Distinct ``source`` values of ``rows`` joined by ``"; "`` (first-seen order)."""
    seen: dict[str, None] = {}
    for row in rows:
        seen.setdefault(row.text("source"), None)
    return "; ".join(seen)


# --------------------------------------------------------------------------- #
# arrays (edge validation)
# --------------------------------------------------------------------------- #


def frozen(a: npt.ArrayLike) -> FloatArray:
    """Read-only float64 copy."""
    out: FloatArray = np.array(a, dtype=np.float64, copy=True)
    out.setflags(write=False)
    return out


def frozen_int(a: npt.ArrayLike) -> IntArray:
    """Read-only int64 copy."""
    out: IntArray = np.array(a, dtype=np.int64, copy=True)
    out.setflags(write=False)
    return out


def fractions(name: str, values: npt.ArrayLike, n_states: int, n_assets: int | None = None) -> FloatArray:
    """``(n_assets, n_states)`` float64 copy; finite, in [0, 1], rows sum to 1 within 1e-6."""
    a = np.array(values, dtype=np.float64, copy=True)
    if a.ndim == 1 and a.shape[0] == n_states and n_assets in (None, 1):
        a = a[np.newaxis, :]
    if a.ndim != 2 or a.shape[1] != n_states:
        raise ValueError(f"{name} must have shape (n_assets, {n_states}), got {a.shape}")
    if n_assets is not None and a.shape[0] != n_assets:
        raise ValueError(f"{name} must have {n_assets} rows (one per asset), got {a.shape[0]}")
    if np.isnan(a).any():
        raise ValueError(f"{name} must not contain NaN")
    if not np.isfinite(a).all() or (a < 0.0).any() or (a > 1.0).any():
        raise ValueError(f"{name} values must be within [0, 1]")
    bad = np.abs(a.sum(axis=1) - 1.0) > SUM_TOL
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} rows must sum to 1 within {SUM_TOL:g}; row {i} sums to {float(a[i].sum())!r}")
    return a


def nonnegative(name: str, values: npt.ArrayLike, n: int | None = None) -> FloatArray:
    """1-D float64 copy; finite and >= 0; length ``n`` if given."""
    a = np.array(values, dtype=np.float64, copy=True)
    if a.ndim == 0:
        a = a.reshape(1)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {a.shape}")
    if n is not None and a.size != n:
        raise ValueError(f"{name} must have {n} entries (one per asset), got {a.size}")
    if np.isnan(a).any():
        raise ValueError(f"{name} must not contain NaN")
    if not np.isfinite(a).all():
        raise ValueError(f"{name} must be finite (no Inf)")
    if (a < 0.0).any():
        raise ValueError(f"{name} must be >= 0")
    return a


def labels(name: str, values: npt.ArrayLike | Sequence[str], n: int | None = None) -> tuple[str, ...]:
    """Tuple of non-empty strings (one per asset); a bare string is one label."""
    seq: list[object] = [values] if isinstance(values, str) else list(np.asarray(values, dtype=object).ravel())
    if not seq:
        raise ValueError(f"{name} must not be empty")
    if any(not isinstance(v, str) or not v.strip() for v in seq):
        raise ValueError(f"{name} must contain non-empty strings")
    out: tuple[str, ...] = tuple(str(v).strip() for v in seq)
    if n is not None and len(out) != n:
        raise ValueError(f"{name} must have {n} entries (one per asset), got {len(out)}")
    return out


def lookup(name: str, keys: Sequence[str], table_keys: Sequence[str], what: str) -> IntArray:
    """Row index in ``table_keys`` of every key; unknown keys raise, naming ``name``."""
    index = {k: i for i, k in enumerate(table_keys)}
    missing = sorted({k for k in keys if k not in index})
    if missing:
        raise ValueError(
            f"{name} has values with no {what}: {missing[:10]}; known: {', '.join(table_keys)}"
        )
    return np.fromiter((index[k] for k in keys), dtype=np.int64, count=len(keys))
