"""Running continuity and data-quality state of every channel of a sensor array.

Public as :class:`quakewatch.ext.quality.QualityTracker`; the statistics of a
block are ``_channel_stats.channel_stats`` (definitions in
``quakewatch.ext.quality``).  One :meth:`QualityTracker.update` per block checks
the block against each channel's history (sample rate, time order), computes its
statistics and, only when every check passes, folds them into the running state:
a refused block leaves the state as it was (except the overlap counter, which
counts refusals).
"""

cimport numpy as cnp
from cpython.mem cimport PyMem_Free, PyMem_Realloc
from libc.math cimport NAN, fabs

from _channel_stats cimport ChannelOut, channel_stats
from _typedefs cimport float32_t, float64_t, int32_t, int64_t, sample_t

import numpy as np

cnp.import_array()

ctypedef cnp.intp_t intp_t

cdef enum:
    _OK = 0
    _RATE_REGISTERED = 1
    _RATE_STREAMED = 2
    _OVERLAP = 3
    _NONFINITE = 4

OK = _OK
RATE_REGISTERED = _RATE_REGISTERED
RATE_STREAMED = _RATE_STREAMED
OVERLAP = _OVERLAP
NONFINITE = _NONFINITE

cdef float64_t NS_F = 1e9
cdef float64_t RATE_RTOL = 1e-9

# name, dtype, initial value: every per-channel array, in allocation order.
_FIELDS = (
    ("clip_level", np.float64, 0.0),
    ("registered_rate_hz", np.float64, 0.0),
    ("rate_hz", np.float64, 0.0),
    ("end_ns", np.int64, 0),
    ("durable_end_ns", np.int64, 0),
    ("samples", np.int64, 0),
    ("gaps", np.int64, 0),
    ("gap_total_s", np.float64, 0.0),
    ("last_gap_ns", np.int64, 0),
    ("overlaps", np.int64, 0),
    ("clipped", np.int64, 0),
    ("last_clip_ns", np.int64, 0),
    ("spikes", np.int64, 0),
    ("last_spike_ns", np.int64, 0),
    ("carry_last", np.float64, NAN),
    ("carry_last2", np.float64, NAN),
    ("carry_run", np.int64, 0),
    ("latency_s", np.float64, 0.0),
    ("max_latency_s", np.float64, 0.0),
    ("last_recv_ns", np.int64, 0),
    ("rms", np.float64, 0.0),
    ("mean", np.float64, 0.0),
    ("minimum", np.float64, 0.0),
    ("maximum", np.float64, 0.0),
    ("timing_quality", np.int32, -1),
)


cdef class QualityTracker:
    """Per-channel running state of one sensor array, updated one block at a time.

    Parameters
    ----------
    n_channels : int
        Number of channels (>= 0); :meth:`grow` adds more later.

    Every attribute below is a NumPy array of shape (n_channels,) indexed by the
    channel's index in the array (not its row in a block).  The owner writes the
    configuration arrays (``clip_level``, ``registered_rate_hz``) and may restore
    ``end_ns``/``durable_end_ns``/``rate_hz`` after a restart; the tracker writes
    the rest.  The attributes cannot be rebound, only written into; :meth:`grow`
    replaces them with longer arrays, so hold the tracker, not an array.

    Attributes
    ----------
    clip_level : float64
        Full scale in sample units; ``<= 0`` disables the clip count.
    registered_rate_hz : float64
        Sample rate the channel is registered with; 0 = any.
    rate_hz : float64
        Sample rate of the accepted blocks so far; 0 = none yet.
    end_ns, durable_end_ns : int64
        End (exclusive, ns since the epoch) of the last accepted block and of the
        last block the owner marked durable (:meth:`mark_durable`); 0 = none.
    samples, gaps, overlaps, clipped, spikes : int64
        Counts: samples accepted, gaps (a block starting more than
        ``gap_tolerance_samples`` after the previous one ended), refused
        overlapping blocks, clipped samples, isolated spikes.
    gap_total_s : float64
        Summed length of the gaps.
    last_gap_ns, last_clip_ns, last_spike_ns : int64
        Start of the last gap, end of the last block with clipping / a spike.
    carry_last, carry_last2, carry_run
        Quality carry (see :class:`quakewatch.ext.quality.ChannelCarry`).
    latency_s, max_latency_s : float64
        Arrival time minus block end, for the last block and the largest so far.
    last_recv_ns : int64
        Arrival time of the last block.
    rms, mean, minimum, maximum : float64
        Statistics of the last block.
    timing_quality : int32
        Timing quality (0-100 %) reported with the last block; -1 = none.
    """

    cdef readonly Py_ssize_t n_channels
    cdef dict _arrays

    # raw pointers into the arrays above, refreshed by _bind()
    cdef float64_t* _clip
    cdef float64_t* _registered
    cdef float64_t* _rate
    cdef int64_t* _end
    cdef int64_t* _durable_end
    cdef int64_t* _samples
    cdef int64_t* _gaps
    cdef float64_t* _gap_total
    cdef int64_t* _last_gap
    cdef int64_t* _overlaps
    cdef int64_t* _clipped
    cdef int64_t* _last_clip
    cdef int64_t* _spikes
    cdef int64_t* _last_spike
    cdef float64_t* _carry_last
    cdef float64_t* _carry_last2
    cdef int64_t* _carry_run
    cdef float64_t* _latency
    cdef float64_t* _max_latency
    cdef int64_t* _last_recv
    cdef float64_t* _rms
    cdef float64_t* _mean
    cdef float64_t* _minimum
    cdef float64_t* _maximum
    cdef int32_t* _timing

    # per-row scratch of the block being checked (grown on demand)
    cdef ChannelOut* _out
    cdef Py_ssize_t _out_rows

    def __cinit__(self, Py_ssize_t n_channels=0):
        self._out = NULL
        self._out_rows = 0

    def __init__(self, Py_ssize_t n_channels=0):
        if n_channels < 0:
            raise ValueError(f"n_channels must be >= 0, got {n_channels}")
        self._arrays = {name: np.full(n_channels, fill, dtype=dtype) for name, dtype, fill in _FIELDS}
        self.n_channels = n_channels
        self._bind()

    def __dealloc__(self):
        PyMem_Free(self._out)

    def __getattr__(self, name):
        try:
            return self._arrays[name]
        except KeyError:
            raise AttributeError(f"QualityTracker has no attribute {name!r}") from None

    def __dir__(self):
        return [*object.__dir__(self), *self._arrays]

    cdef void* _data(self, str name):
        return cnp.PyArray_DATA(<cnp.ndarray>self._arrays[name])

    cdef void _bind(self):
        self._clip = <float64_t*>self._data("clip_level")
        self._registered = <float64_t*>self._data("registered_rate_hz")
        self._rate = <float64_t*>self._data("rate_hz")
        self._end = <int64_t*>self._data("end_ns")
        self._durable_end = <int64_t*>self._data("durable_end_ns")
        self._samples = <int64_t*>self._data("samples")
        self._gaps = <int64_t*>self._data("gaps")
        self._gap_total = <float64_t*>self._data("gap_total_s")
        self._last_gap = <int64_t*>self._data("last_gap_ns")
        self._overlaps = <int64_t*>self._data("overlaps")
        self._clipped = <int64_t*>self._data("clipped")
        self._last_clip = <int64_t*>self._data("last_clip_ns")
        self._spikes = <int64_t*>self._data("spikes")
        self._last_spike = <int64_t*>self._data("last_spike_ns")
        self._carry_last = <float64_t*>self._data("carry_last")
        self._carry_last2 = <float64_t*>self._data("carry_last2")
        self._carry_run = <int64_t*>self._data("carry_run")
        self._latency = <float64_t*>self._data("latency_s")
        self._max_latency = <float64_t*>self._data("max_latency_s")
        self._last_recv = <int64_t*>self._data("last_recv_ns")
        self._rms = <float64_t*>self._data("rms")
        self._mean = <float64_t*>self._data("mean")
        self._minimum = <float64_t*>self._data("minimum")
        self._maximum = <float64_t*>self._data("maximum")
        self._timing = <int32_t*>self._data("timing_quality")

    def grow(self, Py_ssize_t n_channels):
        """Add channels with fresh state; existing channels keep theirs (no-op when
        ``n_channels`` is not larger)."""
        if n_channels <= self.n_channels:
            return
        for name, dtype, fill in _FIELDS:
            arr = np.full(n_channels, fill, dtype=dtype)
            arr[: self.n_channels] = self._arrays[name]
            self._arrays[name] = arr
        self.n_channels = n_channels
        self._bind()

    def update(
        self,
        cnp.ndarray data not None,
        idx,
        int64_t start_ns,
        int64_t end_ns,
        float64_t rate_hz,
        int64_t recv_ns,
        int32_t timing_quality=-1,
        float64_t spike_factor=20.0,
        float64_t gap_tolerance_samples=0.5,
        float64_t overlap_tolerance_samples=0.5,
    ):
        """Check one block against the channels' history and, if it passes, fold it in.

        Parameters
        ----------
        data : ndarray of float32, float64 or int32, shape (n_rows, n_samples)
            The block, C-contiguous; never modified.
        idx : ndarray of intp, shape (n_rows,)
            Channel index of each row (distinct, ``0 <= idx < n_channels``).
        start_ns, end_ns : int
            Time of the first sample and the end of the block (exclusive), ns.
        rate_hz : float
            Sample rate of the block, > 0.
        recv_ns : int
            Arrival time (latency reference), ns.
        timing_quality : int
            Gateway-reported timing quality 0-100, -1 = none.
        spike_factor : float
            See :func:`quakewatch.ext.quality.block_quality`.
        gap_tolerance_samples, overlap_tolerance_samples : float
            A block starting more than this many samples after the previous end
            counts as a gap; one starting more than this many before it is refused.

        Returns
        -------
        (status, row, detail) : tuple of int
            ``status`` is ``OK`` (folded in) or the first failed check, in this
            order: ``RATE_REGISTERED`` (the rate differs from ``registered_rate_hz``
            of ``idx[row]``), ``RATE_STREAMED`` (differs from ``rate_hz``),
            ``OVERLAP`` (starts before ``end_ns`` of ``idx[row]`` beyond the
            tolerance; ``overlaps`` counts it), ``NONFINITE`` (sample ``detail`` of
            row ``row`` is NaN or infinite).  ``row`` and ``detail`` are -1 when
            unused.
        """
        cdef const intp_t[::1] ix = idx
        cdef Py_ssize_t r
        if data.ndim != 2:
            raise ValueError(f"data must have shape (n_rows, n_samples), got {data.ndim} dimensions")
        if ix.shape[0] != data.shape[0]:
            raise ValueError(f"idx has {ix.shape[0]} entries for {data.shape[0]} rows of data")
        if not rate_hz > 0.0:
            raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
        for r in range(ix.shape[0]):
            if not 0 <= ix[r] < self.n_channels:
                raise IndexError(f"idx[{r}] = {ix[r]} is outside 0..{self.n_channels - 1}")
        if ix.shape[0] > self._out_rows:
            self._out = <ChannelOut*>PyMem_Realloc(self._out, ix.shape[0] * sizeof(ChannelOut))
            if self._out == NULL:
                self._out_rows = 0
                raise MemoryError()
            self._out_rows = ix.shape[0]
        cdef int status
        cdef Py_ssize_t row = -1
        cdef int64_t detail = -1
        cdef int typenum = cnp.PyArray_TYPE(data)
        if typenum == cnp.NPY_FLOAT32:
            status = self._update[float32_t](data, ix, start_ns, end_ns, rate_hz, recv_ns, timing_quality, spike_factor, gap_tolerance_samples, overlap_tolerance_samples, &row, &detail)
        elif typenum == cnp.NPY_FLOAT64:
            status = self._update[float64_t](data, ix, start_ns, end_ns, rate_hz, recv_ns, timing_quality, spike_factor, gap_tolerance_samples, overlap_tolerance_samples, &row, &detail)
        elif typenum == cnp.NPY_INT32:
            status = self._update[int32_t](data, ix, start_ns, end_ns, rate_hz, recv_ns, timing_quality, spike_factor, gap_tolerance_samples, overlap_tolerance_samples, &row, &detail)
        else:
            raise TypeError(f"data must have dtype float32, float64 or int32 (native byte order), got {data.dtype}")
        return status, row, detail

    cdef int _update(
        self,
        const sample_t[:, ::1] data,
        const intp_t[::1] ix,
        int64_t start_ns,
        int64_t end_ns,
        float64_t rate_hz,
        int64_t recv_ns,
        int32_t timing_quality,
        float64_t spike_factor,
        float64_t gap_tolerance_samples,
        float64_t overlap_tolerance_samples,
        Py_ssize_t* row,
        int64_t* detail,
    ) noexcept nogil:
        cdef Py_ssize_t n_rows = data.shape[0], n = data.shape[1], r
        cdef intp_t c
        cdef float64_t tol_rate = RATE_RTOL * rate_hz
        cdef float64_t overlap_ns = overlap_tolerance_samples * NS_F / rate_hz
        cdef float64_t gap_s_limit = gap_tolerance_samples / rate_hz
        cdef float64_t gap_s, latency_s
        cdef int64_t prev
        cdef ChannelOut* out

        for r in range(n_rows):
            c = ix[r]
            if self._registered[c] > 0.0 and fabs(self._registered[c] - rate_hz) > tol_rate:
                row[0] = r
                return _RATE_REGISTERED
        for r in range(n_rows):
            c = ix[r]
            if self._rate[c] > 0.0 and fabs(self._rate[c] - rate_hz) > tol_rate:
                row[0] = r
                return _RATE_STREAMED
        for r in range(n_rows):
            c = ix[r]
            prev = self._end[c]
            if prev > 0 and <float64_t>(prev - start_ns) > overlap_ns:
                self._overlaps[c] += 1
                row[0] = r
                return _OVERLAP
        for r in range(n_rows):
            c = ix[r]
            channel_stats(
                data[r], self._carry_last[c], self._carry_last2[c], self._carry_run[c],
                self._clip[c], spike_factor, &self._out[r],
            )
            if self._out[r].first_nonfinite >= 0:
                row[0] = r
                detail[0] = self._out[r].first_nonfinite
                return _NONFINITE

        latency_s = <float64_t>(recv_ns - end_ns) / NS_F
        for r in range(n_rows):
            c = ix[r]
            out = &self._out[r]
            prev = self._end[c]
            if prev > 0:
                gap_s = <float64_t>(start_ns - prev) / NS_F
                if gap_s > gap_s_limit:
                    self._gaps[c] += 1
                    self._gap_total[c] += gap_s
                    self._last_gap[c] = start_ns
            self._samples[c] += n
            self._clipped[c] += out.n_clipped
            if out.n_clipped > 0:
                self._last_clip[c] = end_ns
            self._spikes[c] += out.n_spikes
            if out.n_spikes > 0:
                self._last_spike[c] = end_ns
            self._carry_last[c] = out.last
            self._carry_last2[c] = out.last2
            self._carry_run[c] = out.run
            self._latency[c] = latency_s
            if latency_s > self._max_latency[c]:
                self._max_latency[c] = latency_s
            self._last_recv[c] = recv_ns
            self._rms[c] = out.rms
            self._mean[c] = out.mean
            self._minimum[c] = out.minimum
            self._maximum[c] = out.maximum
            self._timing[c] = timing_quality
            self._end[c] = end_ns
            self._rate[c] = rate_hz
        return _OK

    def mark_durable(self, idx, int64_t end_ns):
        """Record that the channels ``idx`` are durable up to ``end_ns`` (never moves back)."""
        cdef const intp_t[::1] ix = self._checked(idx)
        cdef Py_ssize_t r
        for r in range(ix.shape[0]):
            if end_ns > self._durable_end[ix[r]]:
                self._durable_end[ix[r]] = end_ns

    def rollback(self, idx):
        """Forget accepted blocks that never became durable: ``end_ns`` of ``idx``
        goes back to ``durable_end_ns``, so the gateway's resend is accepted."""
        cdef const intp_t[::1] ix = self._checked(idx)
        cdef Py_ssize_t r
        for r in range(ix.shape[0]):
            self._end[ix[r]] = self._durable_end[ix[r]]

    cdef const intp_t[::1] _checked(self, idx) except *:
        cdef const intp_t[::1] ix = idx
        cdef Py_ssize_t r
        for r in range(ix.shape[0]):
            if not 0 <= ix[r] < self.n_channels:
                raise IndexError(f"idx[{r}] = {ix[r]} is outside 0..{self.n_channels - 1}")
        return ix

