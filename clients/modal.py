"""``quakewatch modal``: operational modal analysis of a recorded file.

Runs :func:`quakewatch.ext.modal.identify` (automated SSI-cov) on a record read from

* miniSEED files (read with pymseed / libmseed) and SAC files (``*.sac``, read with
  :mod:`quakewatch.clients.sac`), given as files, directories (searched recursively,
  hidden files skipped) or glob patterns. Every trace must have the same sampling rate;
  the channels are the traces sorted by SEED id; the record is the time span common to
  all traces (or the part of it chosen with ``--start``/``--end``). Samples are taken
  on the nearest sample of each trace (the largest sub-sample misalignment is kept in
  the provenance);
* one ``.npy`` file holding a 2-D array ``(n_samples, n_channels)``, or one ``.csv``
  file with one column per channel and an optional header row of channel names; these
  carry no time or rate, so ``--fs`` is required and ``--start``/``--end`` are seconds.

Gaps (telemetry outages, a trace missing for a while, NaN samples in an array file)
are not an error: wherever some channel has no sample the record has a gap, and each
stretch between gaps is correlated on its own, so that no lag product spans a gap
(:meth:`~quakewatch.ext.covariance.CovarianceAccumulator.gap`). The gaps are listed
(``gaps`` in the JSON, a warning otherwise); ``n_samples`` counts the samples analysed.
An infinite sample is refused.

Channels: ``--channels LIST`` chooses them (comma list of channel ids or shell-style
patterns such as ``XX.BR1.*.HN?``; column names for .npy/.csv). Without it, traces
whose SEED channel code names a sensor that does not measure motion (temperature
``LKO``, strain, wind, mass position ...) are left out: a structure's archive keeps its
covariates beside its accelerometers, often at another rate. What was left out, and
why, is in the provenance (``input.left_out``).

Conditioning (``clients/modal_conditioning.py``): ``--highpass HZ`` removes drift with a
zero-phase Butterworth high-pass, ``--decimate Q`` keeps every ``Q``-th sample after a
zero-phase anti-alias filter; both work stretch by stretch between gaps.

Options map to :func:`identify`: ``--max-order``, ``--block-rows``, ``--lowest-hz``, ``--ref-channels``
(indices or channel ids), ``--freq-range LOW,HIGH``, ``--no-uncertainty``; unset ones
keep identify's defaults. ``--start``/``--end`` take ISO times or seconds from the start
of the data (the start of the span common to all traces).

Output: a table (rich) of modes, harmonics, dead channels and channels; or with
``--json`` one object with ``frequencies_hz``, ``std_frequencies_hz``, ``damping_ratios``,
``std_damping_ratios`` (ratios, not %), ``mode_shapes`` (per mode, one value per channel
in the order of ``channels``), ``channels`` (ids), ``harmonics_hz``, ``dead_channels``
(ids), ``mpc``, ``n_poles``, ``provenance`` (identify's, plus ``input`` and
``software``), ``fs_hz``, ``n_samples`` (analysed, gaps excluded), ``start_time`` (ISO,
null for .npy/.csv) and ``gaps`` (``start``, ``end``: ISO times or, for .npy/.csv,
sample indices; ``seconds``; ``channels`` missing); NaN is written as null.
``--plot FILE.png`` also draws the stabilisation diagram.

Exit status: 0 on success; 1 when the data cannot be analysed (unreadable or missing
file, mixed sampling rates, overlapping data, an infinite sample, a record too short
for the block rows), as for ``quakewatch replay``; 2 when the command line cannot be honoured (argparse errors, a
missing or contradictory option, ``--plot`` without matplotlib). Messages name the
file, trace or option concerned; user errors never print a traceback.

``--structure-id ID`` shows the identification the server ran on one of that
structure's stored windows instead: the latest, or with ``--start`` (ISO) the one
holding that time (:func:`run_structure`, ``clients/health.py``).
"""

from __future__ import annotations

import argparse
import glob
import itertools
import logging
import math
import sys
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .modal_conditioning import condition
from .output import print_json

if TYPE_CHECKING:  # the kernel (and SciPy) is imported only once the input has been read
    from quakewatch.ext.modal import ModalResult

log = logging.getLogger(__name__)

NS = 1_000_000_000
ARRAY_SUFFIXES = (".npy", ".csv")


class UsageError(Exception):
    """The command line cannot be honoured (exit status 2)."""


class DataError(Exception):
    """The input data cannot be analysed (exit status 1)."""


@dataclass(frozen=True, eq=False)
class Record:
    """A multichannel record ready for identification.

    ``data`` has shape (n_samples, n_channels), float64, in the files' units.
    ``start_ns`` is the time of the first sample (ns since 1970, UTC), None if unknown.
    ``source`` describes the input for the provenance.
    """

    data: np.ndarray
    fs_hz: float
    channels: tuple[str, ...]
    start_ns: int | None
    source: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------------------- times


def iso(ns: int) -> str:
    """ISO 8601 UTC time of ``ns`` (ns since 1970), to the microsecond."""
    sec, us = divmod((int(ns) + 500) // 1000, 1_000_000)
    return datetime.fromtimestamp(sec, UTC).replace(microsecond=us).isoformat(timespec="microseconds").replace("+00:00", "Z")


def parse_time(option: str, text: str | None) -> tuple[str, float] | None:
    """``--start``/``--end``: ``("s", seconds from the start)`` or ``("ns", absolute time)``."""
    if text is None:
        return None
    try:
        s = float(text)
    except ValueError:
        pass
    else:
        if not (math.isfinite(s) and s >= 0):
            raise UsageError(f"{option}: seconds from the start must be >= 0, got {text!r}")
        return ("s", s)
    try:
        t = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(f"{option}: expected an ISO time such as 2024-05-01T12:00:00Z or seconds from the start of the data, got {text!r}") from None
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return ("ns", (t - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1) * 1000)


# ---------------------------------------------------------------------------- files


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Files named directly, found under directories (recursively) or matched by globs;
    each once, in the order given."""
    out: dict[Path, Path] = {}  # resolved -> as named (messages use the name given)
    for p in paths:
        if p.is_dir():
            found = sorted(f for f in p.rglob("*") if f.is_file() and not any(part.startswith(".") for part in f.relative_to(p).parts))
            if not found:
                raise DataError(f"{p}: directory holds no files")
        elif p.exists():
            found = [p]
        elif glob.has_magic(str(p)):
            found = sorted(Path(f) for f in glob.glob(str(p), recursive=True) if Path(f).is_file())
            if not found:
                raise DataError(f"{p}: no file matches")
        else:
            raise DataError(f"{p}: no such file")
        for f in found:
            out.setdefault(f.resolve(), f)
    return list(out.values())


@dataclass
class _Run:
    """Contiguous samples of one trace, possibly from several files."""

    start_ns: int
    rate_hz: float
    chunks: list[np.ndarray]
    first_file: Path
    last_file: Path
    n: int = 0

    def end_ns(self) -> int:
        return self.start_ns + round(self.n * NS / self.rate_hz)

    def samples(self) -> np.ndarray:
        if len(self.chunks) > 1:
            self.chunks = [np.concatenate(self.chunks)]
        return self.chunks[0]


def _read_segments(files: list[Path]) -> list[tuple[str, int, float, np.ndarray, Path]]:
    """(SEED id, start ns, rate Hz, float64 samples, file) of every contiguous segment."""
    from pymseed import MiniSEEDError, MS3TraceList, sourceid2nslc

    from .sac import read_sac

    out = []
    for f in files:
        if f.suffix.lower() == ".sac":
            try:
                t = read_sac(f)
            except ValueError as exc:
                raise DataError(str(exc)) from None
            except OSError as exc:
                raise DataError(f"{f}: {exc.strerror}") from None
            out.append((t.seed_id, t.start_ns, t.sample_rate_hz, t.samples.astype(np.float64), f))
            continue
        n_before = len(out)
        tl = MS3TraceList()
        try:
            tl.add_file(str(f), unpack_data=True)
        except MiniSEEDError as exc:
            raise DataError(f"{f}: not readable as miniSEED ({str(exc).split(' :: ')[0]})") from None
        except OSError as exc:
            raise DataError(f"{f}: {exc.strerror}") from None
        for tid in tl:
            seed = ".".join(sourceid2nslc(tid.sourceid))
            for seg in tid:
                if seg.numsamples and seg.samprate > 0 and seg.sampletype in ("i", "f", "d"):
                    out.append((seed, int(seg.starttime), float(seg.samprate), np.array(seg.np_datasamples, dtype=np.float64), f))
        tl.close()
        if len(out) == n_before:
            raise DataError(f"{f}: no miniSEED data samples (only empty, text or log records)")
    return out


def _check_rates(segments: list[tuple[str, int, float, np.ndarray, Path]]) -> float:
    groups: dict[float, dict[str, Path]] = defaultdict(dict)
    for seed, _, rate, _, f in segments:
        groups[round(rate, 6)].setdefault(seed, f)
    if len(groups) == 1:
        return float(next(iter(groups)))
    parts = []
    for rate, ids in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        shown = [f"{s} ({f.name})" for s, f in sorted(ids.items())[:3]]
        more = f" and {len(ids) - 3} more" if len(ids) > 3 else ""
        parts.append(f"{rate:g} Hz: {', '.join(shown)}{more}")
    raise DataError(f"mixed sampling rates ({'; '.join(parts)}); all traces must share one rate")


def _runs(seed: str, segments: list[tuple[int, float, np.ndarray, Path]]) -> list[_Run]:
    """Join a trace's segments that follow each other within half a sample."""
    runs: list[_Run] = []
    for start, rate, x, f in sorted(segments, key=lambda s: s[0]):
        half = 0.5 * NS / rate
        if runs:
            r = runs[-1]
            d = start - r.end_ns()
            if abs(d) <= half:
                r.chunks.append(x)
                r.n += x.size
                r.last_file = f
                continue
            if d < 0:
                where = f"in {f}" if f == r.last_file else f"{f} overlaps {r.last_file}"
                raise DataError(f"{seed}: overlapping data at {iso(start)} ({where}); give each stretch of data once")
        runs.append(_Run(start, rate, [x], f, f, x.size))
    return runs


#: SEED instrument codes of motion sensors (SEED manual v2.4, Appendix A): high- and
#: low-gain seismometers, accelerometers, geophones, gravimeters
MOTION_INSTRUMENTS = {"H": "high-gain seismometer", "L": "low-gain seismometer", "N": "accelerometer",
                      "P": "geophone", "G": "gravimeter"}
#: the other instrument codes, for the message that leaves such a trace out
OTHER_INSTRUMENTS = {"K": "temperature", "W": "wind", "D": "pressure", "S": "strain", "M": "mass position",
                     "I": "humidity", "R": "rainfall", "E": "electronic test point", "F": "magnetometer",
                     "O": "water current", "T": "tide", "V": "volumetric strain", "Q": "voltage", "U": "bolometer",
                     "X": "derived or generated"}


def select_channels(names: list[str], patterns: str | None, *, seed_ids: bool) -> tuple[list[str], dict[str, str]]:
    """The channels to analyse and the ones left out with why.

    ``--channels`` patterns (comma list of shell-style globs, case-sensitive) choose
    explicitly. Otherwise miniSEED/SAC traces whose SEED channel code names a sensor
    other than a motion sensor (temperature ``LKO``, strain, wind, mass position ...)
    are left out: a structure's archive holds its covariates beside its accelerometers,
    often at another rate. Channel codes that are not SEED-like are kept.
    """
    from fnmatch import fnmatchcase

    if patterns is not None:
        pats = [p.strip() for p in patterns.split(",") if p.strip()]
        if not pats:
            raise UsageError("--channels: give at least one channel id or pattern")
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        for p in pats:
            if not any(fnmatchcase(n, p) for n in names):
                raise UsageError(f"--channels: {p!r} matches none of the channels ({shown})")
        kept = [n for n in names if any(fnmatchcase(n, p) for p in pats)]
        return kept, {n: "not chosen by --channels" for n in names if n not in kept}
    if not seed_ids:
        return list(names), {}
    out: dict[str, str] = {}
    for n in names:
        code = n.rsplit(".", 1)[-1]
        if len(code) == 3 and code[1] not in MOTION_INSTRUMENTS and code[1].isalpha():
            what = OTHER_INSTRUMENTS.get(code[1], f"instrument code {code[1]!r}")
            out[n] = f"not a motion sensor ({what}); choose it with --channels"
    kept = [n for n in names if n not in out]
    if not kept:
        raise DataError(f"no motion channel among the {len(names)} traces (SEED instrument codes "
                        f"{', '.join(MOTION_INSTRUMENTS)}): {', '.join(names[:4])}{' ...' if len(names) > 4 else ''}; "
                        "choose channels with --channels")
    return kept, out


def read_traces(files: list[Path], fs: float | None, start: tuple[str, float] | None, end: tuple[str, float] | None,
                channels: str | None = None) -> Record:
    """miniSEED and SAC traces cut to their common span (or the chosen window)."""
    segments = _read_segments(files)
    kept, left_out = select_channels(sorted({s[0] for s in segments}), channels, seed_ids=True)
    if left_out:
        log.info("left out %d trace(s): %s", len(left_out), "; ".join(f"{k}: {v}" for k, v in left_out.items()))
    segments = [s for s in segments if s[0] in set(kept)]
    rate = _check_rates(segments)
    if fs is not None and abs(fs - rate) > 1e-6 * rate:
        raise UsageError(f"--fs: {fs:g} Hz disagrees with the {rate:g} Hz of the traces; leave --fs out for miniSEED and SAC")
    by_id: dict[str, list[tuple[int, float, np.ndarray, Path]]] = defaultdict(list)
    for seed, t, r_hz, x, f in segments:
        by_id[seed].append((t, r_hz, x, f))
    runs = {seed: _runs(seed, segs) for seed, segs in sorted(by_id.items())}
    first = max(runs, key=lambda s: runs[s][0].start_ns)
    last = min(runs, key=lambda s: runs[s][-1].end_ns())
    common0, common1 = runs[first][0].start_ns, runs[last][-1].end_ns()
    if common1 <= common0:
        raise DataError(f"the traces share no time: {last} ends at {iso(common1)}, before {first} starts at {iso(common0)}")
    t0, t1 = common0, common1
    for option, w in (("--start", start), ("--end", end)):
        if w is None:
            continue
        t = common0 + round(w[1] * NS) if w[0] == "s" else int(w[1])
        if not common0 <= t <= common1:
            raise UsageError(f"{option}: {iso(t)} is outside the span common to all traces, {iso(common0)} to {iso(common1)}")
        t0, t1 = (t, t1) if option == "--start" else (t0, t)
    if t1 <= t0:
        raise UsageError(f"--start/--end: the window {iso(t0)} to {iso(t1)} is empty")
    n = round((t1 - t0) * rate / NS)
    data = np.full((n, len(runs)), np.nan)  # NaN where a trace has no sample: a gap
    offsets = []
    for c, (seed, rs) in enumerate(runs.items()):
        for r in rs:
            k = round((r.start_ns - t0) * rate / NS)  # grid index of the run's first sample
            lo, hi = max(k, 0), min(k + r.n, n)
            if lo < hi:
                data[lo:hi, c] = r.samples()[lo - k: hi - k]
                offsets.append(abs(r.start_ns - (t0 + round(k * NS / rate))) / NS)
        if np.isnan(data[:, c]).all():
            raise UsageError(f"--start/--end: the window {iso(t0)} to {iso(t1)} holds no sample of {seed}")
    if max(offsets) * rate > 0.01:
        log.warning("traces are misaligned by up to %.3g samples; each was taken on its nearest sample", max(offsets) * rate)
    kinds = sorted({"sac" if f.suffix.lower() == ".sac" else "miniseed" for f in files})
    source = {"format": "+".join(kinds), "files": [str(f) for f in files], "start_time": iso(t0), "end_time": iso(t0 + round(n * NS / rate)),
              "common_span": [iso(common0), iso(common1)], "max_alignment_offset_s": max(offsets), "left_out": left_out}
    return Record(data, rate, tuple(runs), t0, source)


def _read_csv(path: Path) -> tuple[np.ndarray, list[str] | None]:
    """Comma-separated columns; the first non-comment line is a header if it is not all numbers."""
    with path.open(encoding="utf-8", errors="replace") as fh:
        lines: Iterator[str] = (line for line in fh if line.strip() and not line.lstrip().startswith("#"))
        first = next(lines, "")
        cells = [c.strip().strip('"') for c in first.split(",")]
        header: list[str] | None = None
        try:
            [float(c) for c in cells]
            lines = itertools.chain([first], lines)
        except ValueError:
            header = cells
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)  # "Empty input file": reported below
                x = np.loadtxt(lines, delimiter=",", ndmin=2, dtype=np.float64)
        except ValueError:
            raise DataError(f"{path}: {_csv_problem(path, header is not None)} (expected comma-separated numbers, "
                            "one column per channel, and an optional header row)") from None
    if header is not None and x.size and len(header) != x.shape[1]:
        raise DataError(f"{path}: the header names {len(header)} columns but the rows have {x.shape[1]}")
    return x, header


def _csv_problem(path: Path, has_header: bool) -> str:
    """The first line of a csv file that np.loadtxt rejected, for the message."""
    width = None
    with path.open(encoding="utf-8", errors="replace") as fh:
        for no, line in enumerate(fh, start=1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            if has_header:
                has_header = False
                continue
            cells = line.split(",")
            try:
                [float(c) for c in cells]
            except ValueError:
                return f"line {no}: {line.strip()[:60]!r} is not all numbers"
            if width is not None and len(cells) != width:
                return f"line {no}: {len(cells)} columns, the rows before have {width}"
            width = len(cells)
    return "not readable as numbers"


def read_array(path: Path, fs: float | None, start: tuple[str, float] | None, end: tuple[str, float] | None,
               channels: str | None = None) -> Record:
    """A ``.npy`` or ``.csv`` record; ``fs`` is required, the window is in seconds."""
    if fs is None:
        raise UsageError(f"--fs: required for {path.suffix} input ({path.name} carries no sampling rate)")
    for option, w in (("--start", start), ("--end", end)):
        if w is not None and w[0] != "s":
            raise UsageError(f"{option}: {path.suffix} input has no time stamps; give seconds from its first sample")
    names: list[str] | None = None
    try:
        if path.suffix.lower() == ".npy":
            x = np.load(path, allow_pickle=False)
        else:
            x, names = _read_csv(path)
    except OSError as exc:
        raise DataError(f"{path}: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise DataError(f"{path}: not a .npy array file ({exc})") from None
    if x.ndim != 2:
        raise DataError(f"{path}: expected a 2-D array (n_samples, n_channels), got shape {x.shape}")
    if x.size == 0:
        raise DataError(f"{path}: holds no samples")
    if not (np.issubdtype(x.dtype, np.integer) or np.issubdtype(x.dtype, np.floating)):
        raise DataError(f"{path}: expected real numbers, got dtype {x.dtype}")
    if x.shape[0] < x.shape[1]:
        raise DataError(f"{path}: shape {x.shape} has fewer samples than channels; expected (n_samples, n_channels): transpose it")
    k0 = 0 if start is None else round(start[1] * fs)
    k1 = x.shape[0] if end is None else round(end[1] * fs)
    span = x.shape[0] / fs
    for option, k in (("--start", k0), ("--end", k1)):
        if k > x.shape[0]:
            raise UsageError(f"{option}: {k / fs:g} s is beyond the end of {path.name} ({span:g} s at {fs:g} Hz)")
    if k1 <= k0:
        raise UsageError(f"--start/--end: the window {k0 / fs:g} s to {k1 / fs:g} s is empty")
    all_names = list(names) if names else [f"ch{c:02d}" for c in range(x.shape[1])]
    twice = sorted({n for n in all_names if all_names.count(n) > 1})
    if twice:
        raise DataError(f"{path}: the header names a column twice ({', '.join(twice)})")
    kept, left_out = select_channels(all_names, channels, seed_ids=False)
    cols = [all_names.index(n) for n in kept]
    source = {"format": path.suffix.lower().lstrip("."), "files": [str(path)], "first_sample": k0, "window_s": [k0 / fs, k1 / fs],
              "left_out": left_out}
    return Record(np.asarray(x[k0:k1, cols], dtype=np.float64), fs, tuple(kept), None, source)


def read_record(paths: list[Path], fs: float | None, start: str | None, end: str | None, channels: str | None = None) -> Record:
    """The record named by the FILE arguments (the ``channels`` chosen), checked for
    infinite samples, its gaps listed."""
    if fs is not None and not (math.isfinite(fs) and fs > 0):
        raise UsageError(f"--fs: must be a finite rate > 0 Hz, got {fs:g}")
    w0, w1 = parse_time("--start", start), parse_time("--end", end)
    files = expand_inputs(paths)
    arrays = [f for f in files if f.suffix.lower() in ARRAY_SUFFIXES]
    if arrays and len(files) > 1:
        raise UsageError(f"FILE: {arrays[0].name} must be the only input: a .npy or .csv file holds the whole record")
    rec = read_array(files[0], fs, w0, w1, channels) if arrays else read_traces(files, fs, w0, w1, channels)
    bad = np.isinf(rec.data)
    if bad.any():
        k, c = np.argwhere(bad)[0]
        raise DataError(f"{rec.channels[c]}: infinite sample at {_at(rec, k)} ({bad[:, c].sum()} in the record)")
    gaps = find_gaps(rec)
    if gaps:
        missing = sum(g["seconds"] for g in gaps)
        span = rec.data.shape[0] / rec.fs_hz
        log.warning("%d gap(s) in the window, %.6g s of %.6g s (%.1f %%) without every channel; each stretch of data "
                    "is correlated on its own (no lag spans a gap)", len(gaps), missing, span, 100 * missing / span)
    rec.source["gaps"] = gaps
    return rec


def _at(rec: Record, k: int) -> str:
    """Where sample ``k`` of the record is: its time, or its index in an array file."""
    return iso(rec.start_ns + round(k * NS / rec.fs_hz)) if rec.start_ns is not None else f"sample {k}"


def find_gaps(rec: Record) -> list[dict[str, Any]]:
    """Every stretch of the window in which some channel has no sample (NaN), with the
    channels missing there: ``start`` and ``end`` (ISO times, or sample indices of an
    array file), ``seconds`` and ``channels``."""
    from quakewatch.ext.covariance import finite_runs

    def place(k: int) -> str | int:
        return _at(rec, k) if rec.start_ns is not None else int(k)

    # the gaps are what identify() leaves out: the complement of its runs
    bounds = [0, *(k for run in finite_runs(rec.data) for k in run), rec.data.shape[0]]
    return [{"start": place(a), "end": place(b), "seconds": (b - a) / rec.fs_hz,
             "channels": [rec.channels[c] for c in np.flatnonzero(np.isnan(rec.data[a:b]).any(axis=0))]}
            for a, b in zip(bounds[::2], bounds[1::2]) if b > a]


# ---------------------------------------------------------------------------- options


def ref_channel_indices(text: str | None, channels: tuple[str, ...]) -> list[int] | None:
    """``--ref-channels``: comma list of channel indices or ids, as sorted indices."""
    if text is None:
        return None
    out = set()
    for tok in (t.strip() for t in text.split(",")):
        if not tok:
            continue
        if tok in channels:
            out.add(channels.index(tok))
        elif tok.lstrip("-").isdigit() and 0 <= int(tok) < len(channels):
            out.add(int(tok))
        else:
            shown = ", ".join(channels[:4]) + (", ..." if len(channels) > 4 else "")
            raise UsageError(f"--ref-channels: {tok!r} is neither a channel index (0..{len(channels) - 1}) nor a channel id ({shown})")
    if not out:
        raise UsageError("--ref-channels: name at least one channel")
    return sorted(out)


def identify_options(a: argparse.Namespace, rec: Record) -> dict[str, Any]:
    """Keyword arguments of :func:`identify` from the command line (its defaults otherwise)."""
    opts: dict[str, Any] = {"uncertainty": not a.no_uncertainty}
    if getattr(a, "method", "ssi-cov") != "ssi-cov":
        if (a.ref_channels or a.block_rows is not None or a.max_order is not None or getattr(a, "weighting", None)
                or getattr(a, "svd", None) or getattr(a, "lowest_hz", None) is not None):
            raise UsageError("--method efdd: --ref-channels, --block-rows, --max-order, --weighting, --svd and --lowest-hz "
                             "apply to ssi-cov only")
        opts = {"method": a.method}
    refs = ref_channel_indices(a.ref_channels, rec.channels)
    if refs is not None:
        opts["ref_channels"] = refs
    if getattr(a, "weighting", None):
        opts["weighting"] = a.weighting
    if getattr(a, "svd", None):
        opts["svd"] = a.svd
    lowest = getattr(a, "lowest_hz", None)
    if lowest is not None:
        if not (math.isfinite(lowest) and 0 < lowest < rec.fs_hz / 2):
            raise UsageError(f"--lowest-hz: must be > 0 and below half the sample rate ({rec.fs_hz / 2:g} Hz), got {lowest:g}")
        if a.block_rows is not None:
            raise UsageError("--lowest-hz sets the block rows: give --lowest-hz or --block-rows, not both")
        opts["lowest_hz"] = lowest
    for name, value in (("max_order", a.max_order), ("block_rows", a.block_rows)):
        if value is not None:
            if value < 2:
                raise UsageError(f"--{name.replace('_', '-')}: must be >= 2, got {value}")
            opts[name] = value
    if a.freq_range is not None:
        try:
            lo, hi = (float(v) for v in a.freq_range.split(","))
        except ValueError:
            raise UsageError(f"--freq-range: expected LOW,HIGH in Hz such as 0.5,20; got {a.freq_range!r}") from None
        if not (0 <= lo < hi and math.isfinite(hi)):
            raise UsageError(f"--freq-range: need 0 <= LOW < HIGH, got {lo:g},{hi:g}")
        if lo >= rec.fs_hz / 2:
            raise UsageError(f"--freq-range: {lo:g} Hz is at or above the Nyquist frequency {rec.fs_hz / 2:g} Hz")
        opts["frequency_range_hz"] = (lo, hi)
    return opts


def run_identify(rec: Record, opts: dict[str, Any]) -> ModalResult:
    """:func:`identify` on the record; its input errors (too few samples for the block
    rows, and the like) become a :class:`DataError` naming the input."""
    from quakewatch.ext.modal import identify

    try:
        res = identify(rec.data, rec.fs_hz, **opts)
    except ValueError as exc:
        files = rec.source.get("files", [])
        name = files[0] if len(files) == 1 else f"{len(files)} files"
        n = rec.data.shape[0]
        gaps = rec.source.get("gaps")
        holes = f", {sum(g['seconds'] for g in gaps):g} s of it in {len(gaps)} gap(s)" if gaps else ""
        raise DataError(f"{name} ({n} samples, {n / rec.fs_hz:g} s at {rec.fs_hz:g} Hz in the window{holes}): {exc}") from None
    res.provenance["input"] = {**rec.source, "channels": list(rec.channels)}
    res.provenance["software"] = {"quakewatch": _version()}
    return res


# ---------------------------------------------------------------------------- output


def _json_safe(obj: Any) -> Any:
    """Plain JSON values: numpy to Python, NaN and infinities to None."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, np.ndarray)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, Enum):
        return _json_safe(obj.value)
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if obj is None or isinstance(obj, str):
        return obj
    return str(obj)


def result_json(res: ModalResult, rec: Record) -> dict[str, Any]:
    """The ``--json`` document (see the module docstring of the CLI for the keys)."""
    return _json_safe({
        "frequencies_hz": res.frequencies_hz,
        "std_frequencies_hz": res.std_frequencies_hz,
        "damping_ratios": res.damping_ratios,
        "std_damping_ratios": res.std_damping_ratios,
        "mode_shapes": res.mode_shapes.T,
        "channels": rec.channels,
        "harmonics_hz": res.harmonics_hz,
        "dead_channels": [rec.channels[c] for c in res.dead_channels],
        "mpc": res.mpc,
        "n_poles": res.n_poles,
        "provenance": res.provenance,
        "fs_hz": rec.fs_hz,
        "n_samples": res.provenance.get("n_samples", rec.data.shape[0]),
        "start_time": None if rec.start_ns is None else iso(rec.start_ns),
        "gaps": rec.source.get("gaps", []),
    })


def _fmt(v: float, spec: str) -> str:
    return format(v, spec) if math.isfinite(v) else "-"


def print_table(res: ModalResult, rec: Record) -> None:
    from rich.console import Console
    from rich.table import Table

    m = rec.data.shape[1]
    n = int(res.provenance.get("n_samples", rec.data.shape[0]))
    when = f", from {iso(rec.start_ns)}" if rec.start_ns is not None else ""
    gaps = rec.source.get("gaps")
    holes = f", {len(gaps)} gap{'s' if len(gaps) > 1 else ''} left out" if gaps else ""
    t = Table(title=f"{res.n_modes} modes: {m} channels, {n} samples ({n / rec.fs_hz:g} s{holes}) at {rec.fs_hz:g} Hz{when}")
    for col in ("mode", "f [Hz]", "std f [Hz]", "damping [%]", "std damping [%]", "MPC", "poles"):
        t.add_column(col, justify="right")
    for k in range(res.n_modes):
        t.add_row(str(k + 1), _fmt(res.frequencies_hz[k], ".4f"), _fmt(res.std_frequencies_hz[k], ".4f"), _fmt(100 * res.damping_ratios[k], ".2f"),
                  _fmt(100 * res.std_damping_ratios[k], ".2f"), _fmt(res.mpc[k], ".3f"), str(res.n_poles[k]))
    con = Console()
    con.print(t)
    harmonics = ", ".join(f"{f:.4f} Hz" for f in res.harmonics_hz) or "none"
    dead = ", ".join(f"{c}: {rec.channels[c]}" for c in res.dead_channels) or "none"
    con.print(f"harmonics (periodic excitation, not modes): {harmonics}", highlight=False)
    con.print(f"dead channels (left out): {dead}", highlight=False)
    for name, why in rec.source.get("left_out", {}).items():
        con.print(f"not analysed: {name}: {why}", highlight=False)
    weak = res.provenance.get("rejected_insignificant", [])
    if weak:
        listed = ", ".join(f"{d['frequency_hz']:.4f} Hz (t {d['amplitude_t']:.1f})" for d in weak)
        con.print(f"stable poles within the sampling noise (not modes): {listed}", highlight=False)
    ch = Table(title="channels")
    for col in ("#", "channel", ""):
        ch.add_column(col)
    for c, name in enumerate(rec.channels):
        ch.add_row(str(c), name, "dead" if c in res.dead_channels else "")
    con.print(ch)


def plot_diagram(res: ModalResult, rec: Record, path: Path) -> None:
    """Stabilisation diagram: every physical pole (model order against frequency), the
    stable ones marked, the poles of each selected mode coloured, modes as vertical lines."""
    from matplotlib.figure import Figure

    d = res.diagram
    fig = Figure(figsize=(10, 6), layout="constrained")
    ax = fig.add_subplot()
    n_modes = res.n_modes
    in_mode = (d.cluster >= 0) & (d.cluster < n_modes)
    ax.scatter(d.frequencies_hz[~d.stable], d.orders[~d.stable], s=6, c="0.75", marker=".", label="pole")
    ax.scatter(d.frequencies_hz[d.stable & ~in_mode], d.orders[d.stable & ~in_mode], s=10, c="0.3", marker="x", linewidths=0.7, label="stable pole")
    ax.scatter(d.frequencies_hz[in_mode], d.orders[in_mode], s=14, c="tab:blue", marker="o", label="pole of a selected mode")
    for k, f in enumerate(res.frequencies_hz):
        ax.axvline(f, color="tab:red", lw=0.9, alpha=0.7, zorder=0, label="mode" if k == 0 else None)
    for k, f in enumerate(res.harmonics_hz):
        ax.axvline(f, color="tab:orange", lw=0.9, ls="--", zorder=0, label="harmonic" if k == 0 else None)
    ax.set_xlim(0, rec.fs_hz / 2)
    ax.set_xlabel("frequency [Hz]")
    ax.set_ylabel("model order")
    files = rec.source.get("files", [])
    name = Path(files[0]).name if len(files) == 1 else f"{len(files)} files"
    ax.set_title(f"Stabilisation diagram, SSI-cov: {name}, {n_modes} modes")
    ax.legend(loc="upper right", fontsize="small")
    fig.savefig(path, dpi=120)


# ---------------------------------------------------------------------------- command


def run_structure(a: argparse.Namespace) -> int:
    """``quakewatch modal --structure-id ID``: the window stored by the server (the
    identification the server ran at ingest; see ``clients/health.py``)."""
    from .cli import _options
    from .health import modal_structure_command

    return modal_structure_command(a, _options(a))


def modal_command(a: argparse.Namespace) -> int:
    if a.structure_id is not None:
        return run_structure(a)
    try:
        if a.plot is not None:
            try:
                import matplotlib.figure  # noqa: F401  (optional extra: fail before the analysis)
            except ImportError:
                raise UsageError("--plot: needs matplotlib, an optional extra (pip install matplotlib)") from None
            if not a.plot.parent.is_dir():
                raise UsageError(f"--plot: directory {a.plot.parent} does not exist")
        rec = read_record(a.files, a.fs, a.start, a.end, getattr(a, "channels", None))
        rec = condition(rec, getattr(a, "highpass", None), getattr(a, "decimate", None))
        res = run_identify(rec, identify_options(a, rec))
        if a.plot is not None:
            try:
                plot_diagram(res, rec, a.plot)
            except OSError as exc:
                raise UsageError(f"--plot: cannot write {a.plot}: {exc.strerror or exc}") from None
    except UsageError as exc:
        print(f"quakewatch modal: error: {exc}", file=sys.stderr)
        return 2
    except DataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if a.json:
        print_json(result_json(res, rec))
    else:
        print_table(res, rec)
        if a.plot is not None:
            print(f"stabilisation diagram: {a.plot}")
    return 0


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("quakewatch")
    except PackageNotFoundError:
        return "unknown"
