"""SSI-cov with automatic pole clustering: QuakeWatch next to koma and pyOMA-2 in one process.

Every tool goes end to end from the same raw (n_samples, n_channels) float64 array to a
list of modes (frequency, damping, mode shape); the figure is the best (minimum) wall
time over ``--repeats`` runs in this process (a peer whose first run takes more than
30 s is run once; the table says so). Ratios are peer time / ours (> 1: we are faster).

Records (seeded, ``--seed``): ``structure_model("building", n_channels, seed, fs_hz=fs)``
from ``quakewatch.ext.synthetic`` (X/Y sensor pairs per level from the roof down, five
shear-building modes per direction, 10 modes), driven by ``AmbientVibration`` (modal
white-noise force RMS 1e-3 m/s^2), plus independent white noise per channel with RMS
10 % of that channel's RMS.

* (a) 16 channels, 100 Hz, 30 min (180,000 samples): ours, koma and pyOMA-2;
* (b) 32 channels, 200 Hz, 1 h (720,000 samples, 184 MB): ours only, time and memory
  beyond the data window, measured twice: the tracemalloc peak during the call in this
  process (Python and NumPy allocations, counted when allocated even if never touched),
  and the peak-RSS growth across the call in a fresh subprocess (sees C, BLAS and OpenMP
  memory too): it warms ``identify`` up on a 60 s record, makes the record block by
  block, resets the kernel's peak-RSS mark (``/proc/self/clear_refs``), calls ``identify``
  once and reports the peak RSS of the call (``VmHWM``, the counter behind ``ru_maxrss``,
  which after fork + exec also holds the parent's RSS) minus the RSS before the call
  (freed heap that malloc keeps and the call reuses is not seen). The figure checked against the
  target is the larger of the two.

Configurations. The peers get the block rows i and model orders that ours chose for the
record, read from ``ModalResult.provenance`` (currently i = 20 for 16 channels at 100 Hz,
orders 2, 4, ..., 100); the table prints i per row.

* ours: ``quakewatch.ext.modal.identify(data, fs_hz)`` with its defaults (these include
  the jackknife uncertainties, which the peers do not compute).
* exact (information, not a target): ours with ``svd="exact"``, the dense
  eigen-decomposition instead of the default randomized subspace.
* koma 1.3.6, as in its "Automatic OMA - Shear frame" example (examples/ in
  github.com/knutankv/koma): ``koma.oma.covssi(data, fs, i, orders, showinfo=False)``
  (weighting 'none', Hankel, 'shift'); ``koma.oma.find_stable_poles(..., s=3,
  stabcrit={'freq': 0.05, 'damping': 0.2, 'mac': 0.2}, indicator='freq')``;
  ``koma.clustering.PoleClusterer(..., min_cluster_size=15, min_samples=15,
  scaling={'mac': 0.4, 'omega_n': 0.8}, normalize_distances=False,
  boolean_stops='avoid_same_order')`` (HDBSCAN, Kvale & Oiseth 2020; the constructor
  clusters, so the example's extra ``.cluster()`` call is not repeated);
  ``postprocess(prob_threshold=1.0, normalize_and_maxreal=True)`` and
  ``group_clusters``; frequency, damping and shape are cluster means, as in the example.
* pyOMA-2 1.4.3, as in its "Example5 - Clustering for Automatic OMA" (docs/ in
  github.com/dagghe/pyOMA2; its text still says ``AutoSSI``, in 1.4 the clustering
  methods are on ``SSI``) with every default: ``SingleSetup(data, fs)``;
  ``SSI(name, run_params=SSIRunParams(br=i, method='cov', ordmin=2, ordmax=100,
  step=2))`` (1.4 has one ``SSI`` class, ``method='cov'`` is its default; it also
  solves order 0, ``ordmin`` only bounds its soft stability criteria);
  ``add_clustering(Clustering(name, steps=(Step1(), Step2(), Step3())))`` (default
  steps: hard criteria, hierarchical average linkage with automatic cut-off, post-
  processing merge/IQR/1-per-order/min-size/MTT, medoid); ``run_by_name``,
  ``run_clustering``. Its INFO log and tqdm bars are silenced (outside the timing).

Answer checks (every row, so that speed is never compared for a wrong answer): each true
mode is matched one-to-one (minimum total relative error, ``linear_sum_assignment``) to
an identified mode within 2 % in frequency; the table gives found / total, the largest
relative frequency error of the matches, the number of modes identified and the smallest
MAC of the matches (information). The run fails (exit 1) if ours misses a true mode that
a peer finds, or if any tool modifies its input; ``--strict`` also fails on a missed
target. A target counts as met only with a correct answer (case (b): all true modes).

BLAS/OpenMP thread counts (threadpoolctl) are printed with the table.

Targets (issue [3] Structural health, acceptance 3): koma / ours >= 15x and pyOMA-2 /
ours >= 25x on (a); (b) in <= 3 s with <= 64 MB (10^6 bytes) beyond the data window.

    python benchmarks/modal.py [--repeats R] [--seed S] [--quick] [--strict] [--json]

``--quick`` runs 5 min records (one repeat unless ``--repeats`` is given); its speed
targets are not evaluated (smoke run for tests).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import io
import json
import logging
import os
import resource
import subprocess
import sys
import time
import tracemalloc
import warnings
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import numpy as np
from scipy.optimize import linear_sum_assignment

from quakewatch.ext.modal import identify
from quakewatch.ext.synthetic import AmbientVibration, ModalModel, structure_model

FREQ_TOL = 0.02  # a true mode is found if an identified mode lies within 2 %
NOISE_FRACTION = 0.10  # sensor-noise RMS / channel RMS
EXCITATION_RMS_MPS2 = 1e-3
SINGLE_RUN_ABOVE_S = 30.0  # a peer slower than this is run once
KOMA_S = 3
KOMA_STABCRIT = {"freq": 0.05, "damping": 0.2, "mac": 0.2}
KOMA_CLUSTERER = {"min_cluster_size": 15, "min_samples": 15, "scaling": {"mac": 0.4, "omega_n": 0.8},
                  "normalize_distances": False, "boolean_stops": "avoid_same_order"}
KOMA_PROB_THRESHOLD = 1.0
TARGET_KOMA_X, TARGET_PYOMA_X = 15.0, 25.0
TARGET_B_S, TARGET_B_MB = 3.0, 64.0
MB = 1e6  # decimal megabytes, as in the target
_BLOCK_S = 60.0


# ----------------------------------------------------------------------------- records

@dataclass(frozen=True)
class Case:
    label: str
    n_channels: int
    fs_hz: float
    duration_s: float
    seed: int

    @property
    def n_samples(self) -> int:
        return int(round(self.duration_s * self.fs_hz))


def make_record(case: Case) -> tuple[np.ndarray, ModalModel]:
    """Acceleration (n_samples, n_channels) float64 in m/s^2 and the true model, made block by
    block into one array (peak memory: the array plus one 60 s block of scratch)."""
    model = structure_model("building", case.n_channels, case.seed, fs_hz=case.fs_hz)[0]
    gen = AmbientVibration(model, case.fs_hz, seed=case.seed,
                           excitation_rms_mps2=EXCITATION_RMS_MPS2, noise_rms_mps2=0.0)
    n, n_ch, step = case.n_samples, case.n_channels, int(_BLOCK_S * case.fs_hz)
    data = np.empty((n, n_ch))
    for k in range(0, n, step):
        data[k:k + step] = gen.next_block(min(step, n - k)).T
    rms = np.sqrt(np.einsum("ij,ij->j", data, data) / n)
    rng = np.random.default_rng([case.seed, 1])  # sensor noise, independent of the structure
    for k in range(0, n, step):
        m = min(step, n - k)
        data[k:k + m] += rng.standard_normal((m, n_ch)) * (NOISE_FRACTION * rms)
    return data, model


# ----------------------------------------------------------------------------- tools

@dataclass
class Modes:
    frequencies_hz: np.ndarray
    damping_ratios: np.ndarray
    mode_shapes: np.ndarray  # (n_channels, n_modes), possibly complex
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SsiSettings:
    """Block rows and model orders ``min_order, min_order + step, ..., max_order``."""

    block_rows: int
    min_order: int = 2
    max_order: int = 100
    order_step: int = 2

    @property
    def orders(self) -> np.ndarray:
        return np.arange(self.min_order, self.max_order + 1, self.order_step)


def run_ours(data: np.ndarray, fs_hz: float, ssi: SsiSettings | None = None, **options: Any) -> Modes:
    """``identify`` with its defaults (``ssi`` is ignored: the peers follow ours)."""
    res = identify(data, fs_hz, **options)
    prov = getattr(res, "provenance", {}) or {}
    settings = {}
    if "block_rows" in prov and "orders" in prov:
        lo, hi, step = prov["orders"]
        settings = {"block_rows": int(prov["block_rows"]), "min_order": int(lo), "max_order": int(hi),
                    "order_step": int(step)}
    return Modes(np.asarray(res.frequencies_hz), np.asarray(res.damping_ratios), np.asarray(res.mode_shapes),
                 settings)


def run_koma(data: np.ndarray, fs_hz: float, ssi: SsiSettings) -> Modes:
    import koma.clustering
    import koma.oma

    lambd, phi, orders = koma.oma.covssi(data, fs_hz, ssi.block_rows, ssi.orders, showinfo=False)
    lambd_s, phi_s, orders_s, _ = koma.oma.find_stable_poles(lambd, phi, orders, KOMA_S,
                                                             stabcrit=dict(KOMA_STABCRIT), indicator="freq")
    clusterer = koma.clustering.PoleClusterer(lambd_s, phi_s, orders_s, **KOMA_CLUSTERER)
    out = clusterer.postprocess(prob_threshold=KOMA_PROB_THRESHOLD, normalize_and_maxreal=True)
    xi, omega_n, phis, *_ = koma.clustering.group_clusters(*out)
    n_ch = data.shape[1]
    return Modes(np.array([np.mean(w) for w in omega_n]) / (2 * np.pi), np.array([np.mean(x) for x in xi]),
                 np.column_stack([np.mean(p, axis=1) for p in phis]) if phis else np.empty((n_ch, 0)))


def run_pyoma2(data: np.ndarray, fs_hz: float, ssi: SsiSettings) -> Modes:
    from pyoma2.algorithms.data.run_params import Clustering, SSIRunParams, Step1, Step2, Step3
    from pyoma2.algorithms.ssi import SSI
    from pyoma2.setup.single import SingleSetup

    setup = SingleSetup(data, fs=fs_hz)
    algo = SSI(name="ssicov", run_params=SSIRunParams(br=ssi.block_rows, method="cov", ordmin=ssi.min_order,
                                                        ordmax=ssi.max_order, step=ssi.order_step))
    algo.add_clustering(Clustering(name="auto", steps=(Step1(), Step2(), Step3())))
    setup.add_algorithms(algo)
    setup.run_by_name("ssicov")
    algo.run_clustering(name="auto")
    result = algo.result
    if result is None or not result.clustering_results:
        raise RuntimeError("pyOMA-2 returned no clustering result")
    r = result.clustering_results["auto"]
    return Modes(np.atleast_1d(np.asarray(r.Fn, dtype=float)), np.atleast_1d(np.asarray(r.Xi, dtype=float)),
                 np.asarray(r.Phi).reshape(data.shape[1], -1))


@contextlib.contextmanager
def _quiet_peers() -> Iterator[None]:
    """Silence peer chatter: koma's SyntaxWarnings (``is`` with literals) and scikit-learn's
    HDBSCAN FutureWarning; pyOMA-2's INFO log handler and tqdm bars on stderr."""
    log = logging.getLogger("pyoma2")
    level = log.level
    log.setLevel(logging.WARNING)
    try:
        with warnings.catch_warnings(), contextlib.redirect_stderr(io.StringIO()):
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", FutureWarning)
            yield
    finally:
        log.setLevel(level)


PEER_MODULES = {"koma": ("koma.oma", "koma.clustering"), "pyOMA-2": ("pyoma2.setup.single", "pyoma2.algorithms.ssi")}


def _missing_peer(tool: str) -> str | None:
    """None if the peer imports (outside the timing), else the reason."""
    try:
        with _quiet_peers():
            for name in PEER_MODULES.get(tool, ()):
                __import__(name)
    except ImportError as exc:
        return str(exc)
    return None


def run_ours_exact(data: np.ndarray, fs_hz: float, ssi: SsiSettings | None = None) -> Modes:
    """``identify(..., svd="exact")``: the dense eigen-decomposition instead of the default
    randomized subspace (information: how much of the margin the randomized step buys)."""
    return run_ours(data, fs_hz, ssi, svd="exact")


RUNNERS: dict[str, Callable[[np.ndarray, float, SsiSettings], Modes]] = {
    "ours": run_ours, "koma": run_koma, "pyOMA-2": run_pyoma2, "exact": run_ours_exact}


# ----------------------------------------------------------------------------- checks

def match_modes(true_hz: np.ndarray, found_hz: np.ndarray) -> dict[int, int]:
    """True-mode index -> identified-mode index, one to one, within FREQ_TOL (relative)."""
    if found_hz.size == 0:
        return {}
    rel = np.abs(found_hz[None, :] - true_hz[:, None]) / true_hz[:, None]
    rows, cols = linear_sum_assignment(np.where(rel <= FREQ_TOL, rel, 1e6))
    return {int(r): int(c) for r, c in zip(rows, cols) if rel[r, c] <= FREQ_TOL}


def _mac(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.vdot(a, b)) ** 2 / (np.vdot(a, a).real * np.vdot(b, b).real))


def check(model: ModalModel, modes: Modes) -> dict[str, Any]:
    f_true = model.frequencies_hz
    pairs = match_modes(f_true, modes.frequencies_hz)
    errs = [abs(modes.frequencies_hz[j] - f_true[i]) / f_true[i] for i, j in pairs.items()]
    macs = [_mac(model.mode_shapes[:, i], modes.mode_shapes[:, j]) for i, j in pairs.items()]
    return {"found": len(pairs), "total": int(f_true.size), "found_modes": sorted(pairs),
            "missed_hz": [round(float(f_true[i]), 4) for i in range(f_true.size) if i not in pairs],
            "max_rel_freq_error": max(errs) if errs else None, "min_mac": min(macs) if macs else None,
            "identified": int(modes.frequencies_hz.size)}


def _best(fn: Callable[[], Modes], repeats: int) -> tuple[float, int, Modes]:
    best, runs, out = float("inf"), 0, None
    while runs < repeats:
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
        runs += 1
        if best > SINGLE_RUN_ABOVE_S:
            break
    assert out is not None
    return best, runs, out


def run_row(case: Case, tool: str, data: np.ndarray, model: ModalModel, repeats: int,
            ssi: SsiSettings) -> dict[str, Any]:
    row: dict[str, Any] = {"case": case.label, "tool": tool}
    why = _missing_peer(tool)
    if why is not None:
        return {**row, "available": False, "reason": why}
    crc = zlib.crc32(data.data)
    ours = tool in ("ours", "exact")
    quiet = _quiet_peers() if not ours else contextlib.nullcontext()
    with quiet:
        t, runs, modes = _best(lambda: RUNNERS[tool](data, case.fs_hz, ssi), repeats)
    settings = modes.settings if ours else dataclasses.asdict(ssi)
    return {**row, "available": True, "time_s": t, "runs": runs, "single_run": runs < repeats, "ssi": settings,
            "input_unchanged": zlib.crc32(data.data) == crc, **check(model, modes),
            "frequencies_hz": [round(float(f), 4) for f in np.sort(modes.frequencies_hz)]}


# ----------------------------------------------------------------------------- memory

def tracemalloc_peak(data: np.ndarray, fs_hz: float) -> int:
    """Peak bytes allocated (Python + NumPy) during one ``identify`` call, beyond what existed."""
    gc.collect()
    tracemalloc.start()
    try:
        base = tracemalloc.get_traced_memory()[0]
        tracemalloc.reset_peak()
        identify(data, fs_hz)
        return tracemalloc.get_traced_memory()[1] - base
    finally:
        tracemalloc.stop()


def rss_growth(case: Case) -> dict[str, Any]:
    """Peak-RSS growth across one ``identify`` call in a fresh interpreter (see _rss_child)."""
    cmd = [sys.executable, os.path.abspath(__file__), "--rss-child",
           json.dumps([case.label, case.n_channels, case.fs_hz, case.duration_s, case.seed])]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines()
        return {"error": lines[-1] if lines else f"exit {proc.returncode}"}
    return json.loads(proc.stdout)


def _rss_kib(key: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    raise KeyError(key)


def _rss_child(spec: str) -> int:
    """Warm ``identify`` up on 60 s (imports, BLAS buffers, thread pools), make the record,
    reset the peak-RSS mark (``/proc/self/clear_refs`` = 5, Linux >= 4.0, so neither the
    warm-up nor the generator can hide the call's peak), call ``identify`` once and report
    the peak resident size of the call (``VmHWM``) minus the resident size before it.

    ``VmHWM`` is the per-process high-water mark behind ``ru_maxrss``; ``ru_maxrss`` itself
    also keeps the RSS of the parent at fork time (the kernel saves it at exec), which is
    the benchmark process with its records and peers, so it is used only if the reset fails.
    """
    case = Case(*json.loads(spec))
    warm = Case("warm-up", case.n_channels, case.fs_hz, min(_BLOCK_S, case.duration_s), case.seed + 1)
    identify(make_record(warm)[0], warm.fs_hz)
    data, _ = make_record(case)
    gc.collect()
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        reset = True
    except OSError:
        reset = False
    before = _rss_kib("VmRSS") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB
    identify(data, case.fs_hz)
    after = _rss_kib("VmHWM") if reset else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"rss_before_bytes": before * 1024, "peak_rss_bytes": after * 1024,
                      "growth_bytes": (after - before) * 1024,
                      "counter": "VmHWM after clear_refs" if reset else "ru_maxrss (no reset)",
                      "data_bytes": data.nbytes}))
    return 0


# ----------------------------------------------------------------------------- report

def thread_info() -> list[str]:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return ["threadpoolctl not installed"]
    return [f"{d['internal_api']} ({os.path.basename(os.path.dirname(d['filepath']))}) x{d['num_threads']}"
            for d in threadpool_info()]


def versions() -> dict[str, str]:
    out = {}
    for dist in ("quakewatch", "koma-python", "pyOMA-2", "numpy", "scipy", "scikit-learn"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "not installed"
    return out


def _fmt(x: float | None, spec: str, missing: str = "-") -> str:
    return missing if x is None else format(x, spec)


def print_report(res: dict[str, Any]) -> None:
    print(f"threads: OMP_NUM_THREADS={res['omp_num_threads']}, {os.cpu_count()} CPUs; "
          + "; ".join(res["threads"]))
    print("versions: " + ", ".join(f"{k} {v}" for k, v in res["versions"].items()))
    peers = res["peer_ssi"]
    print(f"SSI: ours with identify() defaults; koma and pyOMA-2 with ours' block rows and orders (its "
          f"provenance): i={peers['block_rows']}, orders {peers['min_order']}..{peers['max_order']} step "
          f"{peers['order_step']}")
    print(f"timing: best of {res['repeats']} in this process (a peer slower than {SINGLE_RUN_ABOVE_S:g} s: "
          f"1 run); modes: true modes matched one-to-one within {FREQ_TOL:.0%}")
    print()
    print(f"{'case':24s} {'tool':8s} {'i':>3s} {'time s':>8s} {'runs':>4s} {'peer/ours':>9s} {'modes':>6s} "
          f"{'max df/f':>8s} {'ident.':>6s} {'min MAC':>7s}")
    for r in res["rows"]:
        if not r["available"]:
            print(f"{r['case']:24s} {r['tool']:8s} not available ({r['reason']})")
            continue
        runs = f"{r['runs']}{'*' if r['single_run'] else ''}"
        ratio = "" if r.get("ratio") is None else f"{r['ratio']:.1f}x"
        print(f"{r['case']:24s} {r['tool']:8s} {r['ssi'].get('block_rows', '?'):>3} {r['time_s']:8.3f} "
              f"{runs:>4s} {ratio:>9s} {r['found']:>3d}/{r['total']:<2d} "
              f"{_fmt(r['max_rel_freq_error'], '.2%'):>8s} {r['identified']:6d} {_fmt(r['min_mac'], '.3f'):>7s}"
              + ("" if r["input_unchanged"] else "  INPUT MODIFIED"))
        if r["missed_hz"]:
            print(f"{'':24s} {'':8s} missed true modes (Hz): {r['missed_hz']}")
    exact = next((r for r in res["rows"] if r["tool"] == "exact" and r["available"]), None)
    koma = next((r for r in res["rows"] if r["tool"] == "koma" and r["available"]), None)
    if exact is not None:
        print(f"{'':24s} exact = ours with identify(..., svd=\"exact\") (information, not a target)"
              + (f": koma / exact {koma['time_s'] / exact['time_s']:.1f}x" if koma is not None else ""))
    if any(r.get("single_run") for r in res["rows"]):
        print(f"* first run took more than {SINGLE_RUN_ABOVE_S:g} s: run once")
    mem = res["memory"]
    rss = mem["rss"]
    rss_txt = f"{rss['growth_bytes'] / MB:.1f} MB" if "growth_bytes" in rss else f"failed ({rss['error']})"
    print(f"\nmemory beyond the data window ({mem['case']}, data {mem['data_bytes'] / MB:.0f} MB): "
          f"tracemalloc peak {mem['tracemalloc_peak_bytes'] / MB:.1f} MB; peak-RSS growth in a fresh "
          f"process {rss_txt}; figure (the larger) {mem['figure_bytes'] / MB:.1f} MB")
    print()
    for t in res["targets"]:
        status = {None: f"n/a ({t.get('why', '')})", True: "PASS", False: "FAIL"}[t["met"]]
        print(f"target {t['name']:38s} {t['value']:>9s}  {t['target']:>8s}  {status}")
    for msg in res["answer_failures"]:
        print(f"ANSWER CHECK FAILED: {msg}")
    print(f"answers: {'OK' if res['answers_ok'] else 'FAILED'}")


# ----------------------------------------------------------------------------- main

def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--repeats", type=int, default=None, help="best of R runs (default 3, 1 with --quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="5 min records, targets not evaluated")
    p.add_argument("--strict", action="store_true", help="exit 1 if a target is missed")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.add_argument("--rss-child", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.rss_child:
        return _rss_child(args.rss_child)
    repeats = args.repeats if args.repeats is not None else (1 if args.quick else 3)
    if repeats < 1:
        p.error("--repeats must be >= 1")
    dur_a, dur_b = (300.0, 300.0) if args.quick else (1800.0, 3600.0)
    case_a = Case(f"16 ch 100 Hz {dur_a / 60:g} min", 16, 100.0, dur_a, args.seed)
    case_b = Case(f"32 ch 200 Hz {dur_b / 60:g} min", 32, 200.0, dur_b, args.seed)

    # (a) ours first: its provenance fixes the block rows and orders the peers get
    data, model_a = make_record(case_a)
    ours_a = run_row(case_a, "ours", data, model_a, repeats, SsiSettings(0))
    if not ours_a["ssi"]:
        raise SystemExit("ModalResult.provenance has no block_rows / orders: cannot configure the peers alike")
    peer_ssi = SsiSettings(**ours_a["ssi"])
    rows = [ours_a] + [run_row(case_a, tool, data, model_a, repeats, peer_ssi) for tool in ("koma", "pyOMA-2")]
    rows.append(run_row(case_a, "exact", data, model_a, repeats, SsiSettings(0)))  # information only
    del data
    for r in rows:
        if r["available"]:
            r["ratio"] = r["time_s"] / ours_a["time_s"]

    # (b) ours only: time, then memory (tracemalloc here, peak RSS in a fresh process)
    data, model_b = make_record(case_b)
    ours_b = run_row(case_b, "ours", data, model_b, repeats, SsiSettings(0))
    rows.append(ours_b)
    peak = tracemalloc_peak(data, case_b.fs_hz)
    del data
    rss = rss_growth(case_b)
    memory = {"case": case_b.label, "data_bytes": case_b.n_samples * case_b.n_channels * 8,
              "tracemalloc_peak_bytes": peak, "rss": rss, "figure_bytes": max(peak, rss.get("growth_bytes", 0))}

    # answers: ours must find every true mode a peer finds; no tool may modify its input
    failures = [f"{r['tool']} modified its input ({r['case']})" for r in rows
                if r["available"] and not r["input_unchanged"]]
    peer_misses: dict[str, list[float]] = {}
    for r in rows[1:3]:
        if r["available"]:
            missed = sorted(set(r["found_modes"]) - set(ours_a["found_modes"]))
            if missed:
                peer_misses[r["tool"]] = [round(float(f), 4) for f in model_a.frequencies_hz[missed]]
                failures.append(f"ours misses true modes {peer_misses[r['tool']]} Hz that {r['tool']} finds "
                                f"({case_a.label})")

    def target(name: str, value: str, goal: str, ok: bool | None, why: str = "") -> dict[str, Any]:
        if args.quick:
            ok, why = None, "--quick"
        return {"name": name, "value": value, "target": goal, "met": ok, "why": why}

    targets = []
    for r, goal in ((rows[1], TARGET_KOMA_X), (rows[2], TARGET_PYOMA_X)):
        name = f"{r['tool']} / ours, {case_a.label}"
        if not r["available"]:
            targets.append(target(name, "-", f">= {goal:g}x", None, f"{r['tool']} not installed"))
        else:
            targets.append(target(name, f"{r['ratio']:.1f}x", f">= {goal:g}x",
                                  r["ratio"] >= goal and r["tool"] not in peer_misses))
    complete = ours_b["found"] == ours_b["total"]
    targets.append(target(f"ours, {case_b.label}", f"{ours_b['time_s']:.2f} s", f"<= {TARGET_B_S:g} s",
                          ours_b["time_s"] <= TARGET_B_S and complete))
    targets.append(target(f"memory beyond data, {case_b.label}", f"{memory['figure_bytes'] / MB:.1f} MB",
                          f"<= {TARGET_B_MB:g} MB", memory["figure_bytes"] <= TARGET_B_MB * MB
                          and "growth_bytes" in rss))

    res = {"cases": [dataclasses.asdict(case_a), dataclasses.asdict(case_b)], "repeats": repeats,
           "quick": args.quick, "peer_ssi": dataclasses.asdict(peer_ssi),
           "settings": {"freq_tolerance": FREQ_TOL, "noise_fraction": NOISE_FRACTION,
                        "excitation_rms_mps2": EXCITATION_RMS_MPS2,
                        "koma": {"s": KOMA_S, "stabcrit": KOMA_STABCRIT, "clusterer": KOMA_CLUSTERER,
                                 "prob_threshold": KOMA_PROB_THRESHOLD},
                        "pyOMA-2": {"run_params": "SSIRunParams(br=i, method='cov', ordmin, ordmax, step)",
                                    "clustering": "Clustering(steps=(Step1(), Step2(), Step3()))"}},
           "true_frequencies_hz": {c.label: [round(float(f), 4) for f in m.frequencies_hz]
                                   for c, m in ((case_a, model_a), (case_b, model_b))},
           "rows": rows, "memory": memory, "targets": targets, "answer_failures": failures,
           "answers_ok": not failures, "threads": thread_info(),
           "omp_num_threads": os.environ.get("OMP_NUM_THREADS", "unset"), "versions": versions()}
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        print_report(res)
    if failures:
        return 1
    return 1 if args.strict and any(t["met"] is False for t in targets) else 0


if __name__ == "__main__":
    sys.exit(main())
