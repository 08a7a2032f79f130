"""Streaming output correlations of a multichannel record, for covariance-driven OMA.

:class:`CovarianceAccumulator` is fed blocks of samples as they arrive and keeps, for
lags ``k = 0 .. max_lag``, the sums

    S_k[i, j] = sum_t y_i[t] * y_ref_j[t - k]        (t - k >= 0)

so that ``R_k = S_k / (n - k)`` is the unbiased estimate of ``E[y(t + k) y_ref(t)^T]``
(Peeters & De Roeck 1999, eq. 7) after ``n`` samples.  Nothing is re-read: the raw
samples of a window are touched once, when they arrive.

Method
------
Samples are cut into segments of ``S`` samples at fixed positions ``[cS, (c + 1) S)``.
For a segment ``u`` (all channels) and the references over ``[cS - L, (c + 1) S)``
(``v``, the ``L = max_lag`` samples before it included), the circular correlation of
zero-padded FFTs of length ``N >= S + L`` has no wrap-around for lags ``0 .. L``:

    r[d] = sum_n u[n] v[n + d] = IFFT(conj(U) V)[d],   S_k = r[L - k]

(overlap-save correlation; e.g. Oppenheim & Schafer, Discrete-Time Signal
Processing, 3rd ed., sec. 8.7).  The inverse FFT is linear, so the cross-spectra
``conj(U) V`` of all segments are summed in the frequency domain and transformed back
once per *jackknife block*.  Per sample this costs about ``n_channels * n_refs``
complex multiply-adds (a batched matrix product over segments), against
``max_lag * n_channels * n_refs`` for direct time-domain sums.

Blocks and determinism
----------------------
Segments are processed in groups of up to :data:`GROUP_SEGMENTS` and groups never
straddle a jackknife block, all at fixed sample positions, so the state is bit-for-bit
the same however the stream was split into :meth:`~CovarianceAccumulator.update`
calls.  The lag sums of every completed block are kept apart (``block_sums``): they
give delete-one-block jackknife estimates of the modal parameters' uncertainty
(Efron & Tibshirani, An Introduction to the Bootstrap, 1993, ch. 11) without touching
the raw data again.  Samples of an incomplete segment are held (fewer than ``S``)
and included in :meth:`~CovarianceAccumulator.sums` on the fly, without changing the
state.

Gaps
----
Real records have telemetry gaps.  :meth:`~CovarianceAccumulator.gap` ends a *run* of
contiguous samples: the held samples are folded with zeros after them up to the
segment's end (zero after the offset adds nothing to any sum) and the reference
history is cleared, so no lag product spans the gap.  Each run has its own offset,
the mean of its first segment: a logger restarted after an outage may come back at
another DC level, and a step between runs would otherwise enter every lag as a
zero-frequency component (on a record whose every run had its own level, 100 times
the vibration, no mode was lost with per-run offsets).  Each run then contributes
``max(n_run - k, 0)`` products to ``S_k`` (``counts``), and the mean removal of
:meth:`CorrelationSums.covariances` uses the first and last ``max_lag`` samples of
every run, summed position by position (``head``, ``tail``).  The padding shifts the
later segments, groups and jackknife blocks by whole segments, the same for any split
of the stream into updates, so the state stays independent of the splits.
"""

from __future__ import annotations

import operator
import os
from collections import deque
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.fft

#: segments per batched cross-spectrum product (bounds memory and keeps BLAS busy)
GROUP_SEGMENTS = 16
#: rows checked at once by :func:`finite_runs`
FINITE_ROWS = 16384
#: threads computing the cross-spectra of the groups of one large update
THREADS = max(1, min(2, os.cpu_count() or 1))


@dataclass(frozen=True, eq=False)
class CorrelationSums:
    """Lag sums of an accumulator at one moment (arrays are read-only copies).

    Attributes
    ----------
    sums : ndarray, shape (max_lag + 1, n_channels, n_refs)
        ``S_k[i, j] = sum_t y_i[t] y_ref_j[t - k]`` over all samples so far.
    counts : ndarray, shape (max_lag + 1,)
        Number of products in each ``S_k`` (``n - k``, never below 0).
    block_sums : ndarray, shape (n_blocks, block_max_lag + 1, n_channels, n_refs)
        The same sums restricted to each completed jackknife block (products whose
        later sample ``t`` lies in the block); the remainder after the last complete
        block is in ``sums`` only.
    block_counts : ndarray, shape (n_blocks, block_max_lag + 1)
    channel_sums, channel_sumsq : ndarray, shape (n_channels,)
        ``sum_t y_i[t]`` and ``sum_t y_i[t]^2``.
    block_channel_sums : ndarray, shape (n_blocks, n_channels)
    head : ndarray, shape (min(n, max_lag), n_channels)
        The first samples of every channel (with gaps: the first samples of every run,
        summed position by position).
    tail : ndarray, shape (min(n, max_lag), n_refs)
        The last samples of the references (with gaps: of every run, summed position by
        position from the run's end).
    offset : ndarray, shape (n_channels,)
        Constant subtracted from every sample before any sum (the mean of the first
        segment), so that DC offsets (gravity, counts) cost no precision.
    run_offsets : ndarray, shape (n_runs, n_channels)
        The offset of each run of contiguous samples (``offset`` is the first): the
        sums are of ``y - run_offsets[r]`` within run ``r`` (default: ``offset``).
    ref_channels : tuple of int
    n_samples : int
    n_runs : int
        Runs of contiguous samples (1 + the gaps between them; 0 before any sample).
    """

    sums: npt.NDArray[np.float64]
    counts: npt.NDArray[np.float64]
    block_sums: npt.NDArray[np.float64]
    block_counts: npt.NDArray[np.float64]
    channel_sums: npt.NDArray[np.float64]
    channel_sumsq: npt.NDArray[np.float64]
    block_channel_sums: npt.NDArray[np.float64]
    head: npt.NDArray[np.float64]
    tail: npt.NDArray[np.float64]
    offset: npt.NDArray[np.float64]
    ref_channels: tuple[int, ...]
    n_samples: int
    n_runs: int = 1
    run_offsets: npt.NDArray[np.float64] = None  # type: ignore[assignment]  # default: (offset,)

    def __post_init__(self) -> None:
        if self.run_offsets is None:
            object.__setattr__(self, "run_offsets", np.asarray(self.offset, dtype=np.float64).reshape(1, -1))

    @property
    def variances(self) -> npt.NDArray[np.float64]:
        """Sample variance of each channel (``n - 1`` in the denominator; 0 below 2 samples)."""
        n = self.n_samples
        if n < 2:
            return np.zeros_like(self.channel_sums)
        return np.maximum(self.channel_sumsq - self.channel_sums**2 / n, 0.0) / (n - 1)

    def covariances(self) -> npt.NDArray[np.float64]:
        """Unbiased lag covariances of the mean-removed record, shape (max_lag + 1, m, n_refs).

        Exact removal of the record mean ``mu`` from the lag sums:
        ``C_k = S_k - mu_j A_i(k) - mu_i B_j(k) + (n - k) mu_i mu_j`` with
        ``A_i(k) = sum_(t >= k) y_i[t]`` (from ``head``) and
        ``B_j(k) = sum_(t < n - k) y_j[t]`` (from ``tail``); ``R_k = C_k / (n - k)``.
        With gaps the sums run over each run's own samples and ``counts`` replaces
        ``n - k``.
        """
        n, lag1 = self.n_samples, self.sums.shape[0]
        if n == 0:
            return np.zeros_like(self.sums)
        refs = np.asarray(self.ref_channels)
        mu = self.channel_sums / n
        k = np.arange(lag1)
        head_cum = np.concatenate([np.zeros((1, mu.size)), np.cumsum(self.head, axis=0)])
        tail_cum = np.concatenate([np.zeros((1, refs.size)), np.cumsum(self.tail[::-1], axis=0)])
        a = self.channel_sums - head_cum[np.minimum(k, head_cum.shape[0] - 1)]
        b = self.channel_sums[refs] - tail_cum[np.minimum(k, tail_cum.shape[0] - 1)]
        c = (self.sums - mu[refs][None, None, :] * a[:, :, None] - mu[None, :, None] * b[:, None, :]
             + self.counts[:, None, None] * np.outer(mu, mu[refs])[None])
        return _divide(c, self.counts)

    def jackknife_covariances(self) -> npt.NDArray[np.float64]:
        """Delete-one-block covariances, shape (n_blocks, block_max_lag + 1, m, n_refs).

        The mean removal uses the record mean and each block's channel sums; the
        edge terms (at most ``max_lag`` samples per block) are neglected, which is
        harmless because the samples were already offset by ``offset``.
        """
        out = np.empty((self.block_sums.shape[0], self.block_sums.shape[1], *self.sums.shape[1:]))
        for b, cov in enumerate(self.iter_jackknife_covariances()):
            out[b] = cov
        return out

    def iter_jackknife_covariances(self) -> Iterator[npt.NDArray[np.float64]]:
        """The delete-one-block covariances of :meth:`jackknife_covariances`, one block at
        a time (a caller that keeps a slice of each holds one set, not two)."""
        n = self.n_samples
        refs = np.asarray(self.ref_channels)
        lag1 = self.block_sums.shape[1]
        mu = self.channel_sums / n if n else np.zeros_like(self.channel_sums)
        for b in range(self.block_sums.shape[0]):
            counts = self.counts[:lag1] - self.block_counts[b]
            s = self.sums[:lag1] - self.block_sums[b]
            a = self.channel_sums - self.block_channel_sums[b]
            c = (s - mu[refs][None, None, :] * a[None, :, None] - mu[None, :, None] * a[refs][None, None, :]
                 + counts[:, None, None] * np.outer(mu, mu[refs])[None])
            yield _divide(c, counts)


def _divide(sums: np.ndarray, counts: np.ndarray) -> npt.NDArray[np.float64]:
    safe = np.where(counts > 0, counts, 1.0)
    out = sums / safe.reshape((-1,) + (1,) * (sums.ndim - counts.ndim))
    out[counts <= 0] = 0.0
    return out


def segment_length(max_lag: int) -> tuple[int, int]:
    """``(S, N)``: segment length and FFT length used for ``max_lag``.

    ``N`` is the smallest fast FFT length ``>= 4 (max_lag + 1)`` (at least 256) so that
    the zero padding wastes at most a third of each transform.
    """
    n_fft = scipy.fft.next_fast_len(max(256, 4 * (max_lag + 1)), real=True)
    return n_fft - max_lag, n_fft


class CovarianceAccumulator:
    """Streaming lag sums of a multichannel record (see the module docstring).

    Parameters
    ----------
    n_channels : int
        Number of channels, >= 1.
    max_lag : int
        Largest lag in samples, >= 1.
    ref_channels : sequence of int, optional
        Reference channels (columns of each ``R_k``); all channels when omitted.
    block_samples : int, optional
        Length of a jackknife block in samples (rounded down to whole segments, at
        least one); ``None`` keeps no blocks.
    block_max_lag : int, optional
        Lags kept per block (default ``max_lag``): long lags for spectra (FDD) need
        not be kept per block.
    """

    def __init__(self, n_channels: int, max_lag: int, *, ref_channels: npt.ArrayLike | None = None,
                 block_samples: int | None = None, block_max_lag: int | None = None) -> None:
        self.n_channels = check_count(n_channels, "n_channels", 1)
        self.max_lag = check_count(max_lag, "max_lag", 1)
        if ref_channels is None:
            refs = np.arange(self.n_channels)
        else:
            refs = np.asarray(ref_channels)
            if refs.ndim != 1 or refs.size == 0 or refs.dtype.kind not in "iu":
                raise ValueError("ref_channels must be a non-empty 1-D sequence of channel indices")
            if refs.min() < 0 or refs.max() >= self.n_channels or np.unique(refs).size != refs.size:
                raise ValueError(f"ref_channels must be distinct indices in [0, {self.n_channels - 1}], "
                                 f"got {refs.tolist()}")
        self.ref_channels: tuple[int, ...] = tuple(int(r) for r in refs)
        self._refs = np.asarray(self.ref_channels, dtype=np.intp)
        self.segment, self.n_fft = segment_length(self.max_lag)
        self.block_max_lag = self.max_lag if block_max_lag is None else min(
            check_count(block_max_lag, "block_max_lag", 1), self.max_lag)
        if block_samples is None:
            self._block_segments = 0
        else:
            self._block_segments = max(1, check_count(block_samples, "block_samples", 1) // self.segment)
        n_r, lag1 = len(self.ref_channels), self.max_lag + 1
        self._spec = np.zeros((self.n_fft // 2 + 1, self.n_channels, n_r), dtype=np.complex128)
        self._spec_start = 0  # first sample covered by the block being summed in _spec
        self._total = np.zeros((lag1, self.n_channels, n_r))
        self._blocks: list[np.ndarray] = []
        self._block_counts: list[np.ndarray] = []
        # last max_lag samples of the references before the pending ones (zeros before t = 0)
        self._history = np.zeros((self.max_lag, n_r))
        self._chunks: list[np.ndarray] = []
        self._n_pending = 0
        self._done = 0  # samples folded into _spec / _total
        self._offset: np.ndarray | None = None
        self._sum = np.zeros(self.n_channels)
        self._sumsq = np.zeros(self.n_channels)
        self._block_sum = np.zeros(self.n_channels)
        self._block_channel_sums: list[np.ndarray] = []
        # runs of contiguous samples (see "Gaps"): positions count the zero padding too
        self._head = np.zeros((self.max_lag, self.n_channels))  # first samples of every run, summed
        self._run_head = 0  # samples of the current run in _head
        self._tails = np.zeros((self.max_lag, n_r))  # last reference samples of every ended run, summed
        self._run_start = 0  # position of the current run's first sample
        self._run_end: int | None = None  # its end while its last group is folded with padding
        self._runs: list[tuple[int, int]] = []  # ended runs that may reach into the current block
        self._ended_counts = np.zeros(lag1)  # products of the ended runs in each S_k
        self._padding = 0  # zeros folded after the ends of runs
        self._n_runs_ended = 0
        self._ended_offsets: list[np.ndarray] = []

    # ------------------------------------------------------------------ feeding

    @property
    def n_samples(self) -> int:
        """Samples received so far."""
        return self._done - self._padding + self._n_pending

    @property
    def n_runs(self) -> int:
        """Runs of contiguous samples so far (the current one included once it has a sample)."""
        return self._n_runs_ended + (self._done + self._n_pending > self._run_start)

    def gap(self) -> None:
        """End the current run: the next sample does not follow the last one.

        No lag product will span the gap (see "Gaps" in the module docstring).  Nothing
        happens before the first sample or right after another gap.
        """
        end = self._done + self._n_pending
        if end == self._run_start:
            return
        tail = self._history
        if self._n_pending:
            waiting = self._pending
            x = waiting - self._start_offset(waiting)
            tail = _tail(self._history, x[:, self._refs], self.max_lag)
            n_seg = -(-x.shape[0] // self.segment)
            padded = np.zeros((n_seg * self.segment, self.n_channels))
            padded[: x.shape[0]] = x
            self._chunks, self._n_pending = [], 0
            self._run_end = end
            self._apply(padded, n_seg, self._cross_spectrum(padded, self._history, n_seg))
            self._padding += padded.shape[0] - x.shape[0]
        self._tails += tail
        self._ended_counts += self._run_counts(end - self._run_start)
        if self._block_segments:  # (only block counts look back at ended runs)
            self._runs.append((self._run_start, end))
        self._n_runs_ended += 1
        assert self._offset is not None  # a run with a sample has fixed its offset
        self._ended_offsets.append(self._offset)
        self._run_start, self._run_end, self._run_head = self._done, None, 0
        self._history = np.zeros_like(self._history)
        self._offset = None  # the next run's first segment sets its own

    def update(self, block: npt.ArrayLike) -> None:
        """Add ``block`` of shape ``(n_samples, n_channels)`` (any real dtype; finite).

        The block is not modified.  Raises :class:`ValueError` naming the problem; a
        rejected block leaves the state unchanged.
        """
        x = np.asarray(block)
        if x.ndim != 2 or x.shape[1] != self.n_channels:
            raise ValueError(f"block must have shape (n_samples, {self.n_channels}), got {x.shape}")
        if x.dtype.kind not in "iuf":
            raise TypeError(f"block must be a real array, got dtype {x.dtype}")
        if x.shape[0] == 0:
            return
        if not np.isfinite(x).all():
            t, c = np.argwhere(~np.isfinite(x))[0]
            raise ValueError(f"block contains NaN or Inf (first at sample {int(t)}, channel {int(c)})")
        self._add(x)

    def _add(self, x: np.ndarray) -> None:
        """:meth:`update` with ``x`` already checked (2-D, real, finite, not empty)."""
        # Samples wait as a list of chunks and are joined only to complete a group (joining
        # on every small block would copy the waiting samples again each time); whole
        # groups inside a large block are folded from views of it, never copied.
        pos = 0
        if self._n_pending:
            need = self._group_samples() - self._n_pending
            if x.shape[0] < need:
                self._chunks.append(np.array(x, dtype=np.float64))
                self._n_pending += x.shape[0]
                return
            head = np.concatenate([*self._chunks, np.asarray(x[:need], dtype=np.float64)])
            self._chunks, self._n_pending = [], 0
            self._fold(head, head.shape[0] // self.segment)
            pos = need
        plan = self._plan(x.shape[0] - pos)
        if len(plan) >= 2 and THREADS > 1:
            self._fold_parallel(x[pos:], plan)
            pos += sum(plan) * self.segment
        else:
            for n_seg in plan:
                self._fold(x[pos: pos + n_seg * self.segment], n_seg)
                pos += n_seg * self.segment
        if pos < x.shape[0]:
            self._chunks = [np.array(x[pos:], dtype=np.float64)]
            self._n_pending = x.shape[0] - pos

    @property
    def _pending(self) -> np.ndarray:
        """The samples not yet folded, joined (float64)."""
        if not self._chunks:
            return np.empty((0, self.n_channels))
        return np.concatenate(self._chunks) if len(self._chunks) > 1 else self._chunks[0]

    def _group_samples(self) -> int:
        """Samples of the next group (the groups sit at fixed positions)."""
        return self._segments_now(1 << 62) * self.segment

    def _segments_now(self, available: int) -> int:
        """Whole segments of the next group that ``available`` samples complete."""
        return self._segments_at(self._done, self._spec_start, available)

    def _segments_at(self, done: int, spec_start: int, available: int) -> int:
        if self._block_segments:
            done_in_block = (done - spec_start) // self.segment
            group_pos = done_in_block % GROUP_SEGMENTS
            left_in_group = min(GROUP_SEGMENTS - group_pos, self._block_segments - done_in_block)
        else:
            left_in_group = GROUP_SEGMENTS - (done // self.segment) % GROUP_SEGMENTS
        # a group is only folded when complete, so the grouping never depends on the splits
        return left_in_group if available >= left_in_group * self.segment else 0

    def _plan(self, available: int) -> list[int]:
        """Segments of each complete group that ``available`` new samples make, in order
        (the bookkeeping of :meth:`_apply` replayed without touching the state)."""
        plan: list[int] = []
        done, spec_start, block = self._done, self._spec_start, self._block_segments * self.segment
        while (n_seg := self._segments_at(done, spec_start, available)) > 0:
            plan.append(n_seg)
            done += n_seg * self.segment
            available -= n_seg * self.segment
            if block and done - spec_start == block:
                spec_start = done
        return plan

    def _fold(self, x: np.ndarray, n_seg: int) -> None:
        """Add ``n_seg`` complete segments (one whole group) to the spectral sum."""
        offset = self._start_offset(x)
        x = x - offset  # float64 copy of the group: the caller's array is never changed
        self._apply(x, n_seg, self._cross_spectrum(x, self._history, n_seg))

    def _start_offset(self, x: np.ndarray) -> np.ndarray:
        """The offset removed from every sample of the run: the mean of its first segment,
        fixed once per run."""
        if self._offset is None:
            self._offset = np.asarray(x[: self.segment], dtype=np.float64).mean(axis=0)
        return self._offset

    def _fold_parallel(self, x: np.ndarray, plan: list[int]) -> None:
        """:meth:`_fold` of the groups ``plan`` at the start of ``x``, their cross-spectra
        computed by :data:`THREADS` threads (the FFTs and the matrix products release the
        GIL) and added in order: the state is bit-for-bit that of the serial folds.

        A group's reference history is the ``max_lag`` samples before it, which for every
        group after the first are in ``x`` (a segment is longer than ``max_lag``).  At most
        ``THREADS + 1`` groups are in flight, which bounds the memory (each holds its
        offset copy and its cross-spectrum).
        """
        offset, lag, seg = self._start_offset(x), self.max_lag, self.segment
        starts = np.concatenate([[0], np.cumsum(plan)[:-1]]) * seg
        first_history = self._history

        def terms(k: int) -> tuple[np.ndarray, int, np.ndarray]:
            p = int(starts[k])
            xg = x[p: p + plan[k] * seg] - offset
            history = first_history if k == 0 else x[p - lag: p, self._refs] - offset[self._refs]
            return xg, plan[k], self._cross_spectrum(xg, history, plan[k])

        with ThreadPoolExecutor(max_workers=THREADS) as pool:
            pending: deque[Future[tuple[np.ndarray, int, np.ndarray]]] = deque()
            for k in range(len(plan)):
                pending.append(pool.submit(terms, k))
                while len(pending) > THREADS or (pending and k == len(plan) - 1):
                    self._apply(*pending.popleft().result())

    def _apply(self, x: np.ndarray, n_seg: int, spec: np.ndarray) -> None:
        """Book a group (``x`` already offset) whose cross-spectrum is ``spec``."""
        self._spec += spec
        self._history = _tail(self._history, x[:, self._refs], self.max_lag)
        if self._run_head < self.max_lag:  # (padding after a run's end adds zeros)
            take = min(self.max_lag - self._run_head, x.shape[0])
            self._head[self._run_head: self._run_head + take] += x[:take]
            self._run_head += take
        group_sum = x.sum(axis=0)
        self._sum += group_sum
        self._block_sum += group_sum
        self._sumsq += np.einsum("ij,ij->j", x, x)
        self._done += n_seg * self.segment
        if self._block_segments and self._done - self._spec_start == self._block_segments * self.segment:
            lags = self._lags(self._spec)
            self._blocks.append(lags[: self.block_max_lag + 1].copy())
            self._block_counts.append(self._counts(self._spec_start, self._done)[: self.block_max_lag + 1])
            self._block_channel_sums.append(self._block_sum.copy())
            self._block_sum[...] = 0.0
            self._total += lags
            self._spec[...] = 0.0
            self._spec_start = self._done
            self._runs = [r for r in self._runs if r[1] > self._spec_start]

    def _cross_spectrum(self, x: np.ndarray, history: np.ndarray, n_seg: int) -> np.ndarray:
        """Sum over ``n_seg`` segments of ``x`` of ``conj(U) V^T`` (shape (F, m, n_r))."""
        s, lag, n_fft = self.segment, self.max_lag, self.n_fft
        u = x[: n_seg * s].reshape(n_seg, s, self.n_channels).astype(np.float64, copy=False)
        refs = np.concatenate([history, x[: n_seg * s, self._refs]]).astype(np.float64, copy=False)
        # v[c] = refs[c s : c s + s + lag]: overlapping windows as a strided view
        v = np.lib.stride_tricks.sliding_window_view(refs, s + lag, axis=0)[::s][:n_seg]
        uf = scipy.fft.rfft(u, n=n_fft, axis=1)            # (C, F, m)
        vf = scipy.fft.rfft(v, n=n_fft, axis=2)            # (C, n_r, F)
        # sum_c conj(U[c, f, i]) V[c, j, f] as one matrix product per frequency
        return np.matmul(np.conj(uf).transpose(1, 2, 0), vf.transpose(2, 0, 1))

    def _lags(self, spec: np.ndarray) -> np.ndarray:
        """Lag sums ``S_0 .. S_L`` from a summed cross-spectrum."""
        r = scipy.fft.irfft(spec, n=self.n_fft, axis=0)[: self.max_lag + 1]
        return np.ascontiguousarray(r[::-1])

    def _run_counts(self, length: int) -> np.ndarray:
        """Products in each ``S_k`` of one run of ``length`` samples: ``max(length - k, 0)``."""
        return np.clip(length - np.arange(self.max_lag + 1), 0, None)

    def _counts(self, first: int, end: int) -> np.ndarray:
        """Products in ``S_k`` contributed by samples ``t`` at positions ``[first, end)``
        (the later sample of each product; both in the same run)."""
        k = np.arange(self.max_lag + 1)
        out = np.zeros(self.max_lag + 1)
        current = self._run_end if self._run_end is not None else end
        for a, b in [*self._runs, (self._run_start, current)]:
            out += np.clip(min(end, b) - np.maximum(first, a + k), 0, None)
        return out

    # ------------------------------------------------------------------ reading

    def sums(self) -> CorrelationSums:
        """Lag sums over every sample received so far (the state is not changed)."""
        spec = self._spec.copy()
        waiting = self._pending
        offset = self._offset if self._offset is not None else (
            waiting[: self.segment].mean(axis=0) if waiting.shape[0] else np.zeros(self.n_channels))
        pending = waiting - offset
        total_sum, total_sq = self._sum.copy(), self._sumsq.copy()
        head, tail = self._head.copy(), self._history
        if pending.shape[0]:
            n_seg = -(-pending.shape[0] // self.segment)
            padded = np.zeros((n_seg * self.segment, self.n_channels))
            padded[: pending.shape[0]] = pending
            spec += self._cross_spectrum(padded, self._history, n_seg)
            total_sum += pending.sum(axis=0)
            total_sq += np.einsum("ij,ij->j", pending, pending)
            take = min(self.max_lag - self._run_head, pending.shape[0])
            head[self._run_head: self._run_head + take] += pending[:take]
            tail = _tail(tail, pending[:, self._refs], self.max_lag)
        total = self._total + self._lags(spec) if (self._done > self._spec_start or pending.shape[0]) \
            else self._total.copy()
        n_r = len(self.ref_channels)
        blag1 = self.block_max_lag + 1
        blocks = np.stack(self._blocks) if self._blocks else np.zeros((0, blag1, self.n_channels, n_r))
        bcounts = np.stack(self._block_counts) if self._blocks else np.zeros((0, blag1))
        bsums = np.stack(self._block_channel_sums) if self._blocks else np.zeros((0, self.n_channels))
        n = self.n_samples
        # every run is at most n long: rows beyond min(n, max_lag) of the sums are zero
        head = head[: min(n, self.max_lag)]
        tail = (self._tails + tail)[max(0, self.max_lag - n):]
        end = self._done + self._n_pending
        counts = self._ended_counts + self._run_counts(end - self._run_start)
        current = [offset] if end > self._run_start else []
        run_offsets = np.array(self._ended_offsets + current, dtype=np.float64).reshape(-1, self.n_channels)
        first = run_offsets[0] if run_offsets.shape[0] else offset
        out = (total, counts, blocks, bcounts, total_sum, total_sq, bsums, head, tail,
               np.array(first, dtype=np.float64))
        for arr in (*out, run_offsets):
            arr.setflags(write=False)
        return CorrelationSums(*out, ref_channels=self.ref_channels, n_samples=n, n_runs=self.n_runs,
                               run_offsets=run_offsets)


def finite_runs(x: np.ndarray) -> list[tuple[int, int]]:
    """Row ranges ``[a, b)`` of ``x`` (n_samples, n_channels) in which every channel is
    finite: a row with a NaN in any channel is a missing sample, a gap.

    An infinite sample is not a gap but a fault: ValueError naming its sample and channel.
    """
    if x.dtype.kind not in "iuf":
        raise TypeError(f"data must be a real array, got dtype {x.dtype}")
    n = x.shape[0]
    if x.dtype.kind in "iu":
        return [(0, n)] if n else []
    ok = np.zeros(n + 2, dtype=bool)  # the rows, between two sentinel gaps
    for a in range(0, n, FINITE_ROWS):  # in row blocks: no temporary the size of the record
        blk = x[a: a + FINITE_ROWS]
        with np.errstate(over="ignore", invalid="ignore"):
            row = np.isfinite(np.add.reduce(blk, axis=1, dtype=np.float64))  # NaN and Inf propagate
        if not row.all():
            bad = np.flatnonzero(~row)
            row[bad] = np.isfinite(blk[bad]).all(axis=1)  # a row sum may overflow with finite samples
            inf = np.isinf(blk[bad])
            if inf.any():
                t, c = np.argwhere(inf)[0]
                raise ValueError(f"data holds an infinite value (first at sample {a + int(bad[t])}, channel {int(c)}); "
                                 "NaN marks a missing sample, Inf is not allowed")
        ok[1 + a: 1 + a + blk.shape[0]] = row
    edges = np.flatnonzero(ok[1:] != ok[:-1])
    return [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2])]


def accumulate_runs(x: np.ndarray, runs: list[tuple[int, int]], max_lag: int, *,
                    ref_channels: npt.ArrayLike | None = None, n_blocks: int = 0) -> CovarianceAccumulator:
    """A :class:`CovarianceAccumulator` fed the rows ``runs`` of ``x`` (2-D, real; the
    runs from :func:`finite_runs`, not empty) with a gap between runs, and, with
    ``n_blocks >= 3``, jackknife blocks of a ``n_blocks``-th of the positions the runs
    fill (padding included, see "Gaps")."""
    block_samples = None
    if n_blocks >= 3:
        segment = segment_length(max_lag)[0]
        lengths = [b - a for a, b in runs]
        filled = sum(-(-n // segment) * segment for n in lengths[:-1]) + (lengths[-1] if lengths else 0)
        block_samples = max(1, filled // n_blocks)
    acc = CovarianceAccumulator(x.shape[1], max_lag, ref_channels=ref_channels, block_samples=block_samples)
    for k, (a, b) in enumerate(runs):
        if k:
            acc.gap()
        acc._add(x[a:b])  # finite_runs has checked every sample of the runs
    return acc


def _tail(history: np.ndarray, new: np.ndarray, n: int) -> np.ndarray:
    if new.shape[0] >= n:
        return np.array(new[new.shape[0] - n:], dtype=np.float64)
    return np.concatenate([history[new.shape[0]:], new])


def check_count(value: int, name: str, minimum: int) -> int:
    """``value`` as an int ``>= minimum``; TypeError/ValueError naming ``name`` otherwise."""
    try:
        out = operator.index(value)
    except TypeError:
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}") from None
    if out < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {out}")
    return out
