"""Structural health of every structure, continuously: OMA per window, mode tracking,
environmental normalisation, novelty, GREEN / YELLOW / RED, post-event tags.

Data flow (one :class:`HealthEngine` per server):

* Every accepted ingest block is appended to a list on the event loop (no work there);
  batches go to one worker thread, which feeds the structure's
  :class:`~quakewatch.ext.covariance.CovarianceAccumulator` (motion channels) and the
  running means of its covariate channels (temperature units).  Windows are aligned
  to sample time (``HealthSettings.window_s``, e.g. :00 and :30), so replays and live
  streams give the same windows.  A gap inside a window ends a run of the accumulator
  (:meth:`~quakewatch.ext.covariance.CovarianceAccumulator.gap`: no lag product spans
  it) and the window goes on; a window whose end passes in a gap, or whose stream
  overlaps itself or changes rate, ends there.  A window is identified when it holds
  at least ``min_window_fraction`` of its samples, dropped otherwise.  When the slowest
  mode is known (the structure's ``lowest_mode_hz`` or the server's), the motion
  channels first pass a causal Butterworth high-pass at ``highpass_fraction`` of it:
  sensor drift (a MEMS offset following its temperature) otherwise takes model order
  and modes.
* A complete window is identified (:func:`quakewatch.ext.modal.identify`) on the same
  worker; the :class:`ModalResult` is stored with its modes tracked against the
  baseline (mode identities ``M1..``: frequency within ``tracking_window`` and MAC at
  least ``tracking_min_mac``).
* The first ``baseline_windows`` results form the baseline: modes found in at least
  half of them become the tracked modes, and a novelty model
  (:func:`quakewatch.ext.novelty.fit_novelty`: regression on the covariates, PCA when
  there are none) is fitted on their frequencies.  Every later window is scored:
  Hotelling T^2 against its threshold and a control chart; the periodic assessment is
  GREEN, or YELLOW when the chart alarms ("dynamic properties changed beyond what the
  environment explains") or a tracked mode is lost.  A periodic assessment alone is
  never RED: RED needs two independent damage indicators (REFERENCES.md), which only a
  post-event tag can combine.
* Every closed event gets a post-event tag (:mod:`.tagging`): inter-storey drift ratios
  from floor sensors with heights (:func:`quakewatch.ext.drift.interstorey_drift`),
  and, with the first window identified after the event, the frequency shift of the
  fundamental against the baseline (the tag is then re-issued).

The models are rebuilt from stored results after a restart, so nothing here needs to
survive the process.
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.signal import butter
from sqlalchemy.engine import Engine

from quakewatch.ext.covariance import CovarianceAccumulator
from quakewatch.ext.filters import SosFilter, sos_filter
from quakewatch.ext.modal import (ModalResult, choose_references, default_block_rows, identify, mac_matrix,
                                  reference_count)
from quakewatch.ext.novelty import NoveltyModel, fit_novelty
from quakewatch.v1 import events_pb2, health_pb2

from ..settings import HealthSettings
from ..storage.models import Channel, Structure
from . import health_store
from .detector import MOTION_UNITS, Window
from .post_event import post_event_assessment

log = logging.getLogger(__name__)
NS = 1_000_000_000
TEMPERATURE_UNITS = frozenset({"degc", "celsius", "c", "k", "kelvin", "temperature_c", "temperature_degc"})
BATCH_BLOCKS = 64  # blocks handed to the worker at once
HIGHPASS_ORDER = 2  # the drift high-pass: Butterworth, causal (a stream has no future)


@dataclass
class _Window:
    """One analysis window of one channel group being accumulated."""

    start_ns: int  # window boundary (sample time)
    first_ns: int  # first sample received
    next_ns: int  # time of the next expected sample
    rate_hz: float
    acc: CovarianceAccumulator
    motion: np.ndarray  # row indices of the motion channels in the blocks
    lowest_hz: float | None = None  # the slowest mode's frequency the lags were sized for, when known
    missing_ns: int = 0  # time lost in gaps inside the window
    highpass_hz: float | None = None  # corner of the drift high-pass of the motion channels, when on


@dataclass
class _Highpass:
    """The drift high-pass of one channel group: its state runs on across windows and is
    cleared at a gap."""

    rate_hz: float
    corner_hz: float
    flt: SosFilter
    next_ns: int


@dataclass
class _Baseline:
    modes: list[tuple[float, np.ndarray]] = field(default_factory=list)  # (frequency, real shape)
    model: NoveltyModel | None = None
    covariate_ids: tuple[str, ...] = ()
    history: list[float] = field(default_factory=list)
    collected: int = 0
    trained_windows: int = 0
    missing_run: list[int] = field(default_factory=list)  # consecutive windows each mode was missing


@dataclass
class _Structure:
    tenant: str
    kind: str
    channels: dict[str, Channel]
    lowest_mode_hz: float = 0.0  # the registry's value; 0: the server's health.lowest_mode_hz, or found per record
    windows: dict[tuple[str, ...], _Window] = field(default_factory=dict)
    covariates: dict[tuple[str, int], list[float]] = field(default_factory=dict)  # (channel, window) -> [sum, n]
    covariate_rows: dict[tuple[str, ...], list[tuple[int, str]]] = field(default_factory=dict)  # group -> rows
    highpass: dict[tuple[str, ...], _Highpass] = field(default_factory=dict)  # group -> its drift filter
    baseline: _Baseline | None = None
    last_event: tuple[str, int, Any] | None = None  # (event id, onset ns, tag inputs)


class HealthEngine:
    """Accumulates, identifies, tracks and assesses (see the module docstring)."""

    def __init__(self, engine: Engine, cfg: HealthSettings) -> None:
        self.engine = engine
        self.cfg = cfg
        self._structures: dict[str, _Structure] = {}
        self._pending: list[tuple[str, tuple[str, ...], int, float, np.ndarray]] = []
        self._pending_since = 0.0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="qw-health")
        self.windows_identified = 0
        self._inflight = 0  # batches handed over and not yet accumulated (int updates are atomic under the GIL)
        self.dropped_blocks = 0
        self._dropped_logged = 0.0

    # -- event loop ------------------------------------------------------------------
    def submit(self, structure_id: str, channel_ids: tuple[str, ...], start_ns: int, rate_hz: float, samples: np.ndarray) -> None:
        """Queue one accepted block (event-loop thread; constant time)."""
        if not self.cfg.enabled:
            return
        now = time.monotonic()
        if not self._pending:
            self._pending_since = now
        self._pending.append((structure_id, channel_ids, start_ns, rate_hz, samples))
        if len(self._pending) >= BATCH_BLOCKS or now - self._pending_since > 1.0:
            self.flush()

    def flush(self) -> None:
        """Hand the queued blocks to the worker; when it is more than
        ``max_backlog_batches`` behind, drop them (the windows they belong to see a gap and
        are identified short or dropped; ingest itself never waits for the analysis)."""
        if not self._pending:
            return
        batch, self._pending = self._pending, []
        if self._inflight >= self.cfg.max_backlog_batches:
            self.dropped_blocks += len(batch)
            now = time.monotonic()
            if now - self._dropped_logged > 60.0:
                self._dropped_logged = now
                log.warning("health: analysis %d batches behind ingest; %d blocks skipped so far", self._inflight, self.dropped_blocks)
            return
        self._inflight += 1
        self._pool.submit(self._guarded, self._accumulate, batch)

    def structure_loaded(self, structure_id: str, loaded: tuple[Structure, list[Channel]] | None) -> None:
        """Registry (re)read or dropped: applied on the worker, in order with the data."""
        self.flush()
        self._pool.submit(self._guarded, self._set_structure, structure_id, loaded)

    def event_closed(self, structure_id: str, event: events_pb2.Event, windows: Sequence[Window]) -> None:
        """A closed event (any thread): tag the structure on the worker."""
        self._pool.submit(self._guarded, self._post_event, structure_id, event, list(windows))

    def shutdown(self) -> None:
        self.flush()
        self._pool.shutdown(wait=True)

    def drain(self) -> None:
        """Wait until everything queued so far has been processed (tests, demo)."""
        self.flush()
        self._pool.submit(lambda: None).result()

    # -- worker ----------------------------------------------------------------------
    def _guarded(self, fn: Any, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # one structure's failure must not stop the others
            log.exception("health task %s failed", getattr(fn, "__name__", fn))

    def _set_structure(self, structure_id: str, loaded: tuple[Structure, list[Channel]] | None) -> None:
        if loaded is None:
            self._structures.pop(structure_id, None)
            return
        st, chans = loaded
        cur = self._structures.get(structure_id)
        by_id = {c.channel_id: c for c in chans}
        if cur is None:
            self._structures[structure_id] = _Structure(st.tenant, st.kind, by_id, st.lowest_mode_hz)
        else:
            cur.tenant, cur.kind, cur.channels, cur.lowest_mode_hz = st.tenant, st.kind, by_id, st.lowest_mode_hz
            cur.covariate_rows.clear()
            cur.highpass.clear()
            cur.windows.clear()  # channel metadata changed: start the windows afresh

    def _accumulate(self, batch: list[tuple[str, tuple[str, ...], int, float, np.ndarray]]) -> None:
        try:
            for structure_id, channel_ids, start_ns, rate_hz, samples in batch:
                st = self._structures.get(structure_id)
                if st is not None:
                    self._add_block(structure_id, st, channel_ids, start_ns, rate_hz, samples)
        finally:
            self._inflight -= 1

    def _add_block(self, sid: str, st: _Structure, ids: tuple[str, ...], start_ns: int, rate: float, samples: np.ndarray) -> None:
        window_ns = int(self.cfg.window_s * NS)
        n = samples.shape[1]
        # covariate channels (temperature) may stream in any group, at any rate: their
        # sums go to the structure, by analysis window (of the block's start)
        k = start_ns // window_ns
        rows = st.covariate_rows.get(ids)
        if rows is None:  # once per channel group, not per block
            rows = st.covariate_rows[ids] = [(r, c) for r, c in enumerate(ids)
                                             if c in st.channels and st.channels[c].units.lower() in TEMPERATURE_UNITS]
        for row, cid in rows:
            acc = st.covariates.setdefault((cid, k), [0.0, 0])
            acc[0] += float(np.sum(samples[row], dtype=np.float64))
            acc[1] += n
        offset = 0
        while offset < n:
            t0 = start_ns + round(offset * NS / rate)
            w = st.windows.get(ids)
            if w is not None:
                late = t0 - w.next_ns
                if w.rate_hz != rate or late < -NS / rate / 2 or t0 >= w.start_ns + window_ns:
                    self._finish(sid, st, ids, w, complete=False)  # new rate, overlap, or a gap past the end
                    w = None
                elif late > NS / rate / 2:  # a gap inside the window: no lag product spans it
                    w.acc.gap()
                    w.missing_ns += late
                    w.next_ns = t0
            if w is None:
                w = self._new_window(st, ids, t0 - t0 % window_ns, t0, rate, samples[:, offset:])
                if w is None:
                    return
                st.windows[ids] = w
            end_ns = w.start_ns + window_ns
            take = min(n - offset, max(1, math.ceil((end_ns - t0) * rate / NS - 1e-9)))
            part = samples[:, offset: offset + take]
            motion = part[w.motion]
            if w.highpass_hz is not None:
                motion = self._highpassed(st, ids, w, t0, rate, motion)
            w.acc.update(motion.T)
            offset += take
            w.next_ns = t0 + round(take * NS / rate)
            if w.next_ns >= end_ns - NS / rate / 2:
                self._finish(sid, st, ids, w, complete=True)

    def _highpassed(self, st: _Structure, ids: tuple[str, ...], w: _Window, t0: int, rate: float,
                    x: np.ndarray) -> np.ndarray:
        """``x`` (motion channels, samples) through the group's drift high-pass (a causal
        Butterworth: the same filter on every channel keeps the structure's poles and
        shapes, and its own poles are damped far beyond a mode's)."""
        hp = st.highpass.get(ids)
        assert w.highpass_hz is not None
        if hp is None or hp.rate_hz != rate or hp.corner_hz != w.highpass_hz or hp.flt.n_channels != x.shape[0]:
            sos = butter(HIGHPASS_ORDER, w.highpass_hz, "highpass", fs=rate, output="sos")
            hp = st.highpass[ids] = _Highpass(rate, w.highpass_hz, sos_filter(sos, x.shape[0]), t0)
        elif abs(t0 - hp.next_ns) > NS / rate / 2:
            hp.flt.reset()  # a gap: no filter memory spans it (the next block primes the state)
        hp.next_ns = t0 + round(x.shape[1] * NS / rate)
        return hp.flt.process(np.ascontiguousarray(x))

    def _new_window(self, st: _Structure, ids: tuple[str, ...], start_ns: int, first_ns: int, rate: float,
                    first: np.ndarray) -> _Window | None:
        motion = [i for i, c in enumerate(ids) if c in st.channels and st.channels[c].units in MOTION_UNITS]
        if len(motion) < self.cfg.min_channels:
            return None
        m = len(motion)
        # many channels: reference channels chosen on the window's first block (as identify
        # does on a record's first minute); the accumulation costs m x n_refs per sample
        refs = None
        n_refs = reference_count(m, rate, self.cfg.max_order)
        if n_refs < m and first.shape[1] >= 4 * n_refs:
            refs = choose_references(np.asarray(first[motion], dtype=np.float64).T, n_refs)
        n_r = m if refs is None else refs.size
        window_samples = int(self.cfg.window_s * rate)
        lowest = st.lowest_mode_hz or self.cfg.lowest_mode_hz or None
        if lowest is not None and lowest >= rate / 2:  # a sensor slower than the mode: find it per record
            log.warning("health: the slowest mode (%g Hz) is not below half the sample rate (%g Hz); the lags "
                        "follow each record's lowest spectral peak", lowest, rate)
            lowest = None
        i = default_block_rows(m, n_r, rate, self.cfg.max_order, n_samples=window_samples,
                               n_blocks=self.cfg.jackknife_blocks, lowest_hz=lowest)
        acc = CovarianceAccumulator(m, 2 * i, ref_channels=refs, block_samples=max(1, window_samples // self.cfg.jackknife_blocks))
        corner = lowest * self.cfg.highpass_fraction if lowest is not None and self.cfg.highpass_fraction > 0 else None
        return _Window(start_ns, first_ns, first_ns, rate, acc, np.array(motion, dtype=np.intp), lowest, highpass_hz=corner)

    def _finish(self, sid: str, st: _Structure, ids: tuple[str, ...], w: _Window, *, complete: bool) -> None:
        st.windows.pop(ids, None)
        expected = self.cfg.window_s * w.rate_hz
        if w.acc.n_samples < self.cfg.min_window_fraction * expected:
            log.info("health %s: window at %d dropped (%d of %d samples)", sid, w.start_ns, w.acc.n_samples, int(expected))
            return
        motion_ids = [ids[i] for i in w.motion]
        try:
            every = w.acc.ref_channels == tuple(range(w.motion.size))  # CVA needs every channel as a reference
            res = identify(w.acc, w.rate_hz, max_order=self.cfg.max_order, lowest_hz=w.lowest_hz,
                           weighting=self.cfg.weighting if every else "none")
        except (ValueError, np.linalg.LinAlgError) as exc:  # one bad window must not stop the batch
            log.warning("health %s: window at %d not identified: %s", sid, w.start_ns, exc)
            return
        self.windows_identified += 1
        k = w.start_ns // int(self.cfg.window_s * NS)
        covariates = {c: v[0] / v[1] / _sensitivity(st.channels[c]) for (c, kk), v in st.covariates.items()
                      if kk == k and v[1] and c in st.channels}
        for key in [key for key in st.covariates if key[1] <= k]:  # older windows are done
            del st.covariates[key]
        msg = self._result_message(sid, st, w, motion_ids, res, covariates, complete)
        base = self._baseline(sid, st)
        _track(msg, base.modes, self.cfg)
        if not health_store.save_result(self.engine, st.tenant, msg):
            return
        if base.model is None:
            base.collected += 1
            # a baseline short of complete windows (all tracked modes identified) is
            # extended: the fit is retried every 10 windows, up to 3x the training period
            extra = base.collected - self.cfg.baseline_windows
            if 0 <= extra <= 2 * self.cfg.baseline_windows and extra % 10 == 0:
                self._train(sid, st, base)
            return
        self._assess(sid, st, base, msg)
        if st.last_event is not None:  # the first window after an event completes its tag
            event_id, onset_ns, inputs = st.last_event
            if w.first_ns > onset_ns:
                st.last_event = None
                shift = _fundamental_shift(msg, base)
                tag = post_event_assessment(sid, event_id, onset_ns, inputs, shift, msg.result_id)
                health_store.save_assessment(self.engine, st.tenant, tag)

    def _result_message(self, sid: str, st: _Structure, w: _Window, motion_ids: list[str], res: ModalResult,
                        covariates: dict[str, float], complete: bool) -> health_pb2.ModalResult:
        sens = np.array([_sensitivity(st.channels[c]) for c in motion_ids])
        msg = health_pb2.ModalResult(
            result_id=uuid.uuid4().hex, structure_id=sid, window_start_ns=w.first_ns, window_end_ns=w.next_ns,
            sample_rate_hz=w.rate_hz, channel_ids=motion_ids, harmonics_hz=res.harmonics_hz.tolist(),
            dead_channel_ids=[motion_ids[i] for i in res.dead_channels], covariates=covariates)
        for k in range(res.n_modes):
            shape = res.mode_shapes[:, k] / sens  # counts -> physical units
            peak = np.nanmax(np.abs(shape)) if np.isfinite(shape).any() else 1.0
            msg.modes.add(frequency_hz=res.frequencies_hz[k], damping_ratio=res.damping_ratios[k],
                          std_frequency_hz=res.std_frequencies_hz[k], std_damping_ratio=res.std_damping_ratios[k],
                          mode_shape=(shape / peak).tolist(), mpc=res.mpc[k], n_poles=int(res.n_poles[k]))
        prov = dict(res.provenance)
        prov.pop("selection", None)
        prov.update(window_complete=complete and not w.missing_ns, missing_s=w.missing_ns / NS,
                    highpass_hz=w.highpass_hz, software="quakewatch.ext.modal")
        msg.provenance_json = json.dumps(prov, default=float)
        msg.create_time.GetCurrentTime()
        return msg

    def _baseline(self, sid: str, st: _Structure) -> _Baseline:
        if st.baseline is None:  # first window since start-up: rebuild from storage
            st.baseline = _Baseline()
            stored = health_store.results_of(self.engine, sid, 3 * self.cfg.baseline_windows)
            st.baseline.collected = len(stored)
            # a baseline trained before the restart: the same windows again (the periodic
            # assessments record how many), and the control chart continues where it stopped
            last = health_store.recent_assessments(self.engine, sid, "periodic", 1)
            used = json.loads(last[0].provenance_json or "{}").get("baseline_windows") if last else None
            if used:
                stored = stored[:used]
            if len(stored) >= self.cfg.baseline_windows:
                self._train(sid, st, st.baseline, stored)
                model = st.baseline.model
                if model is not None:
                    recent = health_store.recent_assessments(self.engine, sid, "periodic", model.chart_window)
                    st.baseline.history = [a.novelty_index for a in recent if math.isfinite(a.novelty_index)]
        return st.baseline

    def _train(self, sid: str, st: _Structure, base: _Baseline, stored: list[health_pb2.ModalResult] | None = None) -> None:
        results = stored if stored is not None else health_store.results_of(self.engine, sid, base.collected)
        base.modes = _reference_modes(results, self.cfg)
        if not base.modes:
            log.warning("health %s: no mode found in half of the %d baseline windows", sid, len(results))
            return
        for r in results:
            _track(r, base.modes, self.cfg)
        feats = np.array([_features(r, len(base.modes)) for r in results])
        base.covariate_ids = tuple(sorted(set.intersection(*(set(r.covariates) for r in results)))) if results else ()
        cov = np.array([[r.covariates[c] for c in base.covariate_ids] for r in results]) if base.covariate_ids else None
        n_train = int(np.isfinite(feats).all(axis=1).sum())
        rule = "empirical" if n_train * self.cfg.novelty_alpha >= 5 else "f"
        try:
            base.model = fit_novelty(feats, cov, method="auto", alpha=self.cfg.novelty_alpha, threshold=rule)
        except ValueError as exc:
            log.warning("health %s: novelty model not fitted: %s", sid, exc)
            return
        base.history = []
        base.trained_windows = len(results)
        log.info("health %s: baseline trained on %d windows, %d modes, %s", sid, len(results), len(base.modes), base.model.method)

    def _assess(self, sid: str, st: _Structure, base: _Baseline, msg: health_pb2.ModalResult) -> None:
        assert base.model is not None
        feats = _features(msg, len(base.modes))[None, :]
        cov = None
        if base.covariate_ids:
            if not all(c in msg.covariates for c in base.covariate_ids):
                cov = np.full((1, len(base.covariate_ids)), np.nan)
            else:
                cov = np.array([[msg.covariates[c] for c in base.covariate_ids]])
        sc = base.model.score(feats, cov, history=base.history[-base.model.chart_window:])
        reasons: list[str] = []
        status = health_pb2.HEALTH_STATUS_GREEN
        if bool(sc.scorable[0]):
            base.history.append(float(sc.index[0]))
        missing = sc.feature_missing[0]
        base.missing_run = [(run + 1) if miss else 0 for run, miss in zip(base.missing_run or [0] * missing.size, missing)]
        lost = [f"M{k + 1}" for k, run in enumerate(base.missing_run) if run >= self.cfg.lost_mode_windows]
        gone = [f"M{k + 1}" for k, run in enumerate(base.missing_run) if 0 < run < self.cfg.lost_mode_windows]
        if lost:
            status = health_pb2.HEALTH_STATUS_YELLOW
            reasons.append(f"tracked mode(s) {', '.join(lost)} not identified in the last "
                           f"{self.cfg.lost_mode_windows} or more windows")
        if gone:
            reasons.append(f"tracked mode(s) {', '.join(gone)} not identified in this window (not scored)")
        if bool(sc.alarm[0]):
            status = health_pb2.HEALTH_STATUS_YELLOW
            reasons.append(f"novelty chart {sc.chart[0]:.3g} >= limit {sc.chart_limit:.3g}: dynamic properties changed "
                           f"beyond what the environment explains (T^2 {sc.index[0]:.3g}, threshold {sc.threshold:.3g})")
        elif bool(sc.scorable[0]):
            chart = (f"chart {sc.chart[0]:.3g} below {sc.chart_limit:.3g}" if np.isfinite(sc.chart[0]) else
                     f"chart warming up ({len(base.history)} of {base.model.chart_window} scored windows)")
            reasons.insert(0, f"T^2 {sc.index[0]:.3g} (threshold {sc.threshold:.3g}); {chart}")
        if bool(sc.extrapolated[0]):
            reasons.append("environmental conditions outside the baseline range: the normalisation extrapolates")
        a = health_pb2.Assessment(
            assessment_id=uuid.uuid4().hex, structure_id=sid, kind=health_pb2.ASSESSMENT_KIND_PERIODIC, status=status,
            reasons=reasons, time_ns=msg.window_end_ns, novelty_index=float(sc.index[0]), novelty_threshold=sc.threshold,
            chart_statistic=float(sc.chart[0]), chart_limit=sc.chart_limit, alarm=bool(sc.alarm[0]),
            frequency_shift=_fundamental_shift(msg, base) or 0.0, result_id=msg.result_id,
            provenance_json=json.dumps({"normalisation": str(base.model.method), "n_train": base.model.n_train,
                                        "baseline_windows": base.trained_windows, "covariates": list(base.covariate_ids),
                                        "threshold_rule": str(base.model.threshold_rule), "chart": str(base.model.chart),
                                        "alpha": base.model.alpha}))
        a.create_time.GetCurrentTime()
        health_store.save_assessment(self.engine, st.tenant, a)

    def _post_event(self, sid: str, event: events_pb2.Event, windows: list[Window]) -> None:
        st = self._structures.get(sid)
        if st is None:
            return
        base = self._baseline(sid, st)
        # drift high-pass at a fifth of the fundamental when the baseline knows it (ext/drift.py:
        # integration noise grows fast below that; 0.1 Hz otherwise)
        f1 = base.modes[0][0] if base.modes else None
        inputs = {"windows": windows, "kind": st.kind, "system": self.cfg.drift_system.get(st.kind, ""),
                  "code": self.cfg.drift_code, "highpass_hz": max(0.1, f1 / 5.0) if f1 else None}
        tag = post_event_assessment(sid, event.event_id, event.trigger_time_ns, inputs, None, "")
        health_store.save_assessment(self.engine, st.tenant, tag)
        if base.modes:
            st.last_event = (event.event_id, event.trigger_time_ns, inputs)


def _sensitivity(c: Channel) -> float:
    return c.sensitivity if c.sensitivity else 1.0


def _reference_modes(results: list[health_pb2.ModalResult], cfg: HealthSettings) -> list[tuple[float, np.ndarray]]:
    """Modes present in at least half of the baseline windows (running-mean clusters)."""
    refs: list[list[Any]] = []  # [sum f, count, shape]
    for r in results:
        for m in r.modes:
            shape = np.nan_to_num(np.array(m.mode_shape))
            best, score = -1, -math.inf
            for j, (fs, cnt, sh) in enumerate(refs):
                f = fs / cnt
                mac = float(mac_matrix(shape, sh)[0, 0]) if shape.size == sh.size else 0.0
                if abs(m.frequency_hz - f) <= cfg.tracking_window * f and mac >= cfg.tracking_min_mac and mac > score:
                    best, score = j, mac
            if best < 0:
                refs.append([m.frequency_hz, 1, shape])
            else:
                refs[best][0] += m.frequency_hz
                refs[best][1] += 1
    keep = [(fs / cnt, sh) for fs, cnt, sh in refs if cnt >= 0.5 * len(results)]
    return sorted(keep, key=lambda x: x[0])


def _track(msg: health_pb2.ModalResult, refs: list[tuple[float, np.ndarray]], cfg: HealthSettings) -> None:
    """Label the result's modes with the baseline identities (greedy by MAC)."""
    for m in msg.modes:
        m.mode_id, m.mac_to_baseline = "", 0.0
    pairs = []
    for j, (f, sh) in enumerate(refs):
        for k, m in enumerate(msg.modes):
            shape = np.nan_to_num(np.array(m.mode_shape))
            if shape.size != sh.size or abs(m.frequency_hz - f) > cfg.tracking_window * f:
                continue
            mac = float(mac_matrix(shape, sh)[0, 0])
            if mac >= cfg.tracking_min_mac:
                pairs.append((mac, j, k))
    used_j: set[int] = set()
    used_k: set[int] = set()
    for mac, j, k in sorted(pairs, reverse=True):
        if j not in used_j and k not in used_k:
            used_j.add(j)
            used_k.add(k)
            msg.modes[k].mode_id, msg.modes[k].mac_to_baseline = f"M{j + 1}", mac


def _features(msg: health_pb2.ModalResult, n_ref: int) -> np.ndarray:
    out = np.full(n_ref, np.nan)
    for m in msg.modes:
        if m.mode_id:
            out[int(m.mode_id[1:]) - 1] = m.frequency_hz
    return out


def _fundamental_shift(msg: health_pb2.ModalResult, base: _Baseline) -> float | None:
    if not base.modes:
        return None
    for m in msg.modes:
        if m.mode_id == "M1":
            return m.frequency_hz / base.modes[0][0] - 1.0
    return None
