"""Per-channel data-quality kernel for ingest blocks (compiled core).

Private: call it through :func:`quakewatch.ext.quality.block_quality`, which
validates and converts the inputs once.  The definitions of every output
(spike, run, clipping, non-finite handling) are documented there; this module
implements exactly those definitions and nothing else.

Each channel first goes through :func:`_channel_fast`, which assumes finite
samples and needs no per-sample test; a non-finite sum sends the channel to
:func:`_channel_careful`, which skips non-finite samples one by one.  Both
accumulate in float64 whatever the sample type.

Outputs, one column per channel:

``fout`` float64, shape (6, n_channels): rows ``F_*`` below.
``iout`` int64, shape (5, n_channels): rows ``I_*`` below.

References
----------
CGL83
    T. F. Chan, G. H. Golub, R. J. LeVeque (1983), "Algorithms for computing
    the sample variance: analysis and recommendations", The American
    Statistician 37(3), 242-247.
"""

cimport numpy as cnp
from libc.math cimport INFINITY, NAN, fabs, isfinite, sqrt
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

from _typedefs cimport float32_t, float64_t, int32_t, int64_t, sample_t

cnp.import_array()

# Row indices of the output arrays (C constants for the nogil loop, re-exported
# as Python ints for the front-end).
cdef enum:
    _F_MINIMUM = 0
    _F_MAXIMUM = 1
    _F_MEAN = 2
    _F_RMS = 3
    _F_LAST = 4
    _F_LAST2 = 5
    _N_FROWS = 6
    _I_FIRST_NONFINITE = 0
    _I_N_CLIPPED = 1
    _I_LONGEST_RUN = 2
    _I_N_SPIKES = 3
    _I_RUN = 4
    _N_IROWS = 5

F_MINIMUM = _F_MINIMUM
F_MAXIMUM = _F_MAXIMUM
F_MEAN = _F_MEAN
F_RMS = _F_RMS
F_LAST = _F_LAST
F_LAST2 = _F_LAST2
N_FROWS = _N_FROWS
I_FIRST_NONFINITE = _I_FIRST_NONFINITE
I_N_CLIPPED = _I_N_CLIPPED
I_LONGEST_RUN = _I_LONGEST_RUN
I_N_SPIKES = _I_N_SPIKES
I_RUN = _I_RUN
N_IROWS = _N_IROWS


cdef struct ChannelOut:
    float64_t minimum
    float64_t maximum
    float64_t mean
    float64_t rms
    int64_t first_nonfinite
    int64_t n_clipped
    int64_t longest_run
    int64_t n_spikes
    int64_t run


cdef inline bint _same(float64_t a, float64_t b) noexcept nogil:
    """Bitwise equality of two float64 values (the run definition)."""
    cdef uint64_t ua, ub
    memcpy(&ua, &a, sizeof(a))
    memcpy(&ub, &b, sizeof(b))
    return ua == ub


cdef inline uint64_t _key(sample_t v) noexcept nogil:
    """Integer key of a sample: equal keys <=> bitwise-equal float64 values.

    The float32 -> float64 and int32 -> float64 conversions are injective on
    everything but NaN payloads, and the fast path (the only user) sees no NaN.
    Compared on the integer units, this keeps run detection off the
    floating-point ports.
    """
    cdef uint32_t u32
    cdef uint64_t u64
    if sample_t is float32_t:
        memcpy(&u32, &v, sizeof(v))
        return u32
    elif sample_t is int32_t:
        return <uint32_t>v
    else:
        memcpy(&u64, &v, sizeof(v))
        return u64


cdef inline void _scan_runs(
    const sample_t[::1] x, float64_t last, int64_t run, int64_t* longest, int64_t* trailing
) noexcept nogil:
    """Longest run of bitwise-equal values, and the run ending at the last sample."""
    cdef Py_ssize_t j
    cdef int64_t cur_run = run, best = 0
    cdef float64_t v, p1 = last
    for j in range(x.shape[0]):
        v = <float64_t>x[j]
        cur_run = cur_run + 1 if _same(v, p1) else 1
        best = cur_run if cur_run > best else best
        p1 = v
    longest[0] = best
    trailing[0] = cur_run


cdef inline float64_t _m2_about(const sample_t[::1] x, float64_t mean) noexcept nogil:
    """Sum of squared deviations of the finite samples about ``mean``.

    Corrected two-pass algorithm of [CGL83], sum (x - m)^2 - (sum (x - m))^2 / n,
    which removes the first-order error of ``mean``.
    """
    cdef Py_ssize_t j
    cdef int64_t n_finite = 0
    cdef float64_t v, dv, s_dev = 0.0, s_dev2 = 0.0
    for j in range(x.shape[0]):
        v = <float64_t>x[j]
        if sample_t is not int32_t:
            if not isfinite(v):
                continue
        dv = v - mean
        s_dev += dv
        s_dev2 += dv * dv
        n_finite += 1
    if n_finite == 0:
        return 0.0
    return s_dev2 - s_dev * s_dev / n_finite


cdef inline int64_t _count_spikes(
    const sample_t[::1] x, float64_t last, float64_t last2, float64_t threshold
) noexcept nogil:
    """Spikes among samples -1 .. n-2 (see quality.py) above ``threshold``."""
    cdef Py_ssize_t j
    cdef int64_t n_spikes = 0
    cdef float64_t v, d, p1 = last, p2 = last2
    for j in range(x.shape[0]):
        v = <float64_t>x[j]
        d = fabs(p2 - 2.0 * p1 + v)
        # NaN d fails every comparison; d == inf (non-finite centre) is excluded.
        if d > threshold and 2.0 * fabs(v - p2) < d and d < INFINITY:
            n_spikes += 1
        p2 = p1
        p1 = v
    return n_spikes


cdef inline int64_t _count_clipped(const sample_t[::1] x, float64_t clip) noexcept nogil:
    """Samples with ``|x| >= clip`` (fast path: all samples are finite)."""
    cdef Py_ssize_t j
    cdef int64_t n_clip = 0
    for j in range(x.shape[0]):
        n_clip += fabs(<float64_t>x[j]) >= clip
    return n_clip


cdef inline bint _channel_fast(
    const sample_t[::1] x,
    float64_t last,
    float64_t last2,
    int64_t run,
    float64_t clip,
    float64_t spike_factor,
    ChannelOut* out,
) noexcept nogil:
    """Statistics of a channel assumed all-finite, ``x.shape[0] >= 1``.

    No per-sample finiteness test: any NaN/Inf sample makes the shifted sums
    non-finite, and the function then returns False (``out`` incomplete) so the
    caller reruns the channel through :func:`_channel_careful`.  ``clip`` is
    +inf when clipping is disabled.

    Two loops small enough to stay in registers, each splitting its sums over
    even/odd samples so that the floating-point add chains run in parallel.
    Runs, clipped samples and spikes get an extra pass only when a cheap test
    shows there can be any (two equal neighbours, an extremum beyond the clip
    level, a second difference above the threshold).
    """
    cdef Py_ssize_t n = x.shape[0], j
    cdef float64_t k = <float64_t>x[0]       # shift: first sample
    cdef float64_t v, w, u, d, e, m2, threshold
    cdef float64_t s1a = 0.0, s1b = 0.0, s2a = 0.0, s2b = 0.0
    cdef float64_t mna = k, mnb = k, mxa = k, mxb = k
    cdef float64_t sda = 0.0, sdb = 0.0, mda = 0.0, mdb = 0.0
    cdef float64_t p1 = last, p2 = last2
    cdef uint64_t ka, kb, kp
    cdef bint any_equal
    cdef int64_t n_d = 0

    # Pass A: shifted sums, extrema, and whether two neighbours are equal.
    any_equal = _same(k, last)
    kp = ~_key(x[0])                         # differs from every key of x[0]
    j = 0
    while j + 1 < n:
        v = <float64_t>x[j]
        w = <float64_t>x[j + 1]
        ka = _key(x[j])
        kb = _key(x[j + 1])
        any_equal |= (ka == kp) | (kb == ka)
        kp = kb
        u = v - k
        s1a += u
        s2a += u * u
        mna = v if v < mna else mna
        mxa = v if v > mxa else mxa
        u = w - k
        s1b += u
        s2b += u * u
        mnb = w if w < mnb else mnb
        mxb = w if w > mxb else mxb
        j += 2
    if j < n:
        v = <float64_t>x[j]
        any_equal |= _key(x[j]) == kp
        u = v - k
        s1a += u
        s2a += u * u
        mna = v if v < mna else mna
        mxa = v if v > mxa else mxa
    s1a += s1b
    s2a += s2b
    if sample_t is not int32_t:
        if not (isfinite(s1a) and isfinite(s2a)):
            return False

    # Pass B: second differences.  The windows ending at samples 0 and 1 touch
    # the carry, whose NaN ("none") leaves them undefined; later ones are finite.
    for j in range(n if n < 2 else 2):
        v = <float64_t>x[j]
        d = fabs(p2 - 2.0 * p1 + v)
        if isfinite(d):
            sda += d
            mda = d if d > mda else mda
            n_d += 1
        p2 = p1
        p1 = v
    j = 2
    while j + 1 < n:
        v = <float64_t>x[j]
        w = <float64_t>x[j + 1]
        d = fabs(p2 - 2.0 * p1 + v)
        e = fabs(p1 - 2.0 * v + w)
        sda += d
        sdb += e
        mda = d if d > mda else mda
        mdb = e if e > mdb else mdb
        p2 = v
        p1 = w
        j += 2
    if j < n:
        v = <float64_t>x[j]
        d = fabs(p2 - 2.0 * p1 + v)
        sda += d
        mda = d if d > mda else mda
    if n > 2:
        n_d += n - 2
    sda += sdb
    mda = mdb if mdb > mda else mda

    out.mean = k + s1a / n
    # n * variance from sums of data shifted by one of its samples [CGL83]: then
    # s2 / m2 <= n + 1, so at most log10(n + 1) digits cancel.  Redo exactly
    # when more would be lost (blocks > 1e6 samples, or rounding near zero).
    m2 = s2a - s1a * s1a / n
    if m2 * 1e6 < s2a:
        m2 = _m2_about(x, out.mean)
    out.rms = sqrt(m2 / n) if m2 > 0.0 else 0.0
    out.minimum = mna if mna < mnb else mnb
    out.maximum = mxa if mxa > mxb else mxb
    out.first_nonfinite = -1
    if any_equal:
        _scan_runs(x, last, run, &out.longest_run, &out.run)
    else:                             # every run has length 1
        out.longest_run = 1
        out.run = 1
    out.n_clipped = 0
    if out.maximum >= clip or -out.minimum >= clip:
        out.n_clipped = _count_clipped(x, clip)
    out.n_spikes = 0
    if n_d > 0:
        threshold = spike_factor * (sda / n_d)
        if threshold > 0.0 and mda > threshold:
            out.n_spikes = _count_spikes(x, last, last2, threshold)
    return True


cdef inline void _channel_careful(
    const sample_t[::1] x,
    float64_t last,
    float64_t last2,
    int64_t run,
    float64_t clip,
    float64_t spike_factor,
    ChannelOut* out,
) noexcept nogil:
    """Same outputs as :func:`_channel_fast`, skipping NaN/Inf samples one by one."""
    cdef Py_ssize_t n = x.shape[0], j
    cdef float64_t v, d, m2, threshold, k = 0.0, p1 = last, p2 = last2
    cdef float64_t s1 = 0.0, s_d = 0.0, mn = INFINITY, mx = -INFINITY
    cdef int64_t n_finite = 0, n_d = 0, n_clip = 0, first_nf = -1

    _scan_runs(x, last, run, &out.longest_run, &out.run)
    for j in range(n):
        v = <float64_t>x[j]
        d = fabs(p2 - 2.0 * p1 + v)
        if isfinite(d):
            s_d += d
            n_d += 1
        p2 = p1
        p1 = v
        if not isfinite(v):
            if first_nf < 0:
                first_nf = j
            continue
        if n_finite == 0:
            k = v
        n_finite += 1
        s1 += v - k
        mn = v if v < mn else mn
        mx = v if v > mx else mx
        n_clip += fabs(v) >= clip

    out.first_nonfinite = first_nf
    out.n_clipped = n_clip
    if n_finite > 0:
        out.mean = k + s1 / n_finite
        m2 = _m2_about(x, out.mean)
        out.minimum = mn
        out.maximum = mx
        out.rms = sqrt(m2 / n_finite) if m2 > 0.0 else 0.0
    else:
        out.mean = 0.0
        out.minimum = NAN
        out.maximum = NAN
        out.rms = 0.0
    out.n_spikes = 0
    if n_d > 0:
        threshold = spike_factor * (s_d / n_d)
        if threshold > 0.0:
            out.n_spikes = _count_spikes(x, last, last2, threshold)


cdef void _block_quality(
    const sample_t[:, ::1] data,
    float64_t clip_scalar,
    const float64_t[::1] clip_levels,
    bint per_channel_clip,
    const float64_t[::1] last_in,
    const float64_t[::1] last2_in,
    const int64_t[::1] run_in,
    float64_t spike_factor,
    float64_t[:, ::1] fout,
    int64_t[:, ::1] iout,
) noexcept nogil:
    cdef Py_ssize_t n_channels = data.shape[0]
    cdef Py_ssize_t n = data.shape[1]
    cdef Py_ssize_t c
    cdef float64_t clip
    cdef ChannelOut out

    for c in range(n_channels):
        if n == 0:
            out.minimum = NAN
            out.maximum = NAN
            out.mean = 0.0
            out.rms = 0.0
            out.first_nonfinite = -1
            out.n_clipped = 0
            out.longest_run = 0
            out.n_spikes = 0
            out.run = run_in[c]
            fout[_F_LAST, c] = last_in[c]
            fout[_F_LAST2, c] = last2_in[c]
        else:
            clip = clip_levels[c] if per_channel_clip else clip_scalar
            if not clip > 0.0:                 # <= 0 or NaN: disabled
                clip = INFINITY
            if not _channel_fast(
                data[c], last_in[c], last2_in[c], run_in[c], clip, spike_factor, &out
            ):
                _channel_careful(
                    data[c], last_in[c], last2_in[c], run_in[c], clip, spike_factor, &out
                )
            fout[_F_LAST, c] = <float64_t>data[c, n - 1]
            fout[_F_LAST2, c] = <float64_t>data[c, n - 2] if n >= 2 else last_in[c]
        fout[_F_MINIMUM, c] = out.minimum
        fout[_F_MAXIMUM, c] = out.maximum
        fout[_F_MEAN, c] = out.mean
        fout[_F_RMS, c] = out.rms
        iout[_I_FIRST_NONFINITE, c] = out.first_nonfinite
        iout[_I_N_CLIPPED, c] = out.n_clipped
        iout[_I_LONGEST_RUN, c] = out.longest_run
        iout[_I_N_SPIKES, c] = out.n_spikes
        iout[_I_RUN, c] = out.run


cdef int _check_lengths(
    Py_ssize_t n_channels,
    const float64_t[::1] clip_levels,
    bint per_channel,
    const float64_t[::1] last,
    const float64_t[::1] last2,
    const int64_t[::1] run,
) except -1:
    # The nogil loop indexes these by channel: never trust the caller on lengths.
    if (last.shape[0] != n_channels or last2.shape[0] != n_channels
            or run.shape[0] != n_channels
            or (per_channel and clip_levels.shape[0] != n_channels)):
        raise ValueError("per-channel arrays must have one entry per row of data")
    return 0


cdef tuple _outputs(Py_ssize_t n_channels):
    """Uninitialised result arrays: (float rows x channels, int rows x channels)."""
    cdef cnp.npy_intp fdims[2]
    cdef cnp.npy_intp idims[2]
    fdims[0] = _N_FROWS
    fdims[1] = n_channels
    idims[0] = _N_IROWS
    idims[1] = n_channels
    return cnp.PyArray_EMPTY(2, fdims, cnp.NPY_FLOAT64, 0), cnp.PyArray_EMPTY(2, idims, cnp.NPY_INT64, 0)


# One plain ``def`` per dtype: each is a compile-time specialisation, so there is
# no run-time fused-type dispatch on the hot path.  The front-end picks one and
# validates; lengths are checked again here because the nogil loop trusts them.


def quality_float32(
    const float32_t[:, ::1] data,
    float64_t clip_level,
    const float64_t[::1] clip_levels,
    const float64_t[::1] last,
    const float64_t[::1] last2,
    const int64_t[::1] run,
    float64_t spike_factor,
):
    """Kernel for float32 blocks; returns ``(fout, iout)``, see module docstring.

    ``clip_levels`` (per channel) replaces the scalar ``clip_level`` unless None.
    """
    cdef bint per_channel = clip_levels is not None
    _check_lengths(data.shape[0], clip_levels, per_channel, last, last2, run)
    fout, iout = _outputs(data.shape[0])
    cdef float64_t[:, ::1] fo = fout
    cdef int64_t[:, ::1] io = iout
    with nogil:
        _block_quality(
            data, clip_level, clip_levels, per_channel, last, last2, run, spike_factor, fo, io
        )
    return fout, iout


def quality_float64(
    const float64_t[:, ::1] data,
    float64_t clip_level,
    const float64_t[::1] clip_levels,
    const float64_t[::1] last,
    const float64_t[::1] last2,
    const int64_t[::1] run,
    float64_t spike_factor,
):
    """Kernel for float64 blocks; returns ``(fout, iout)``, see module docstring.

    ``clip_levels`` (per channel) replaces the scalar ``clip_level`` unless None.
    """
    cdef bint per_channel = clip_levels is not None
    _check_lengths(data.shape[0], clip_levels, per_channel, last, last2, run)
    fout, iout = _outputs(data.shape[0])
    cdef float64_t[:, ::1] fo = fout
    cdef int64_t[:, ::1] io = iout
    with nogil:
        _block_quality(
            data, clip_level, clip_levels, per_channel, last, last2, run, spike_factor, fo, io
        )
    return fout, iout


def quality_int32(
    const int32_t[:, ::1] data,
    float64_t clip_level,
    const float64_t[::1] clip_levels,
    const float64_t[::1] last,
    const float64_t[::1] last2,
    const int64_t[::1] run,
    float64_t spike_factor,
):
    """Kernel for int32 blocks; returns ``(fout, iout)``, see module docstring.

    ``clip_levels`` (per channel) replaces the scalar ``clip_level`` unless None.
    """
    cdef bint per_channel = clip_levels is not None
    _check_lengths(data.shape[0], clip_levels, per_channel, last, last2, run)
    fout, iout = _outputs(data.shape[0])
    cdef float64_t[:, ::1] fo = fout
    cdef int64_t[:, ::1] io = iout
    with nogil:
        _block_quality(
            data, clip_level, clip_levels, per_channel, last, last2, run, spike_factor, fo, io
        )
    return fout, iout
