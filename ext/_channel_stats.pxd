# Per-channel statistics of one block of samples, shared by the batch kernel
# (``_quality.pyx``) and the streaming tracker (``_tracker.pyx``).
#
# Definitions of every output (spike, run, clipping, non-finite handling) are in
# the docstring of ``quakewatch.ext.quality``; this file implements exactly those.
# Each channel first goes through ``_channel_fast``, which assumes finite samples
# and needs no per-sample test; a non-finite sum sends the channel to
# ``_channel_careful``, which skips non-finite samples one by one. Both accumulate
# in float64 whatever the sample type.
#
# Reference: T. F. Chan, G. H. Golub, R. J. LeVeque (1983), "Algorithms for
# computing the sample variance: analysis and recommendations", The American
# Statistician 37(3), 242-247 [CGL83].

from libc.math cimport INFINITY, NAN, fabs, isfinite, sqrt
from libc.stdint cimport uint32_t, uint64_t
from libc.string cimport memcpy

from _typedefs cimport float32_t, float64_t, int32_t, int64_t, sample_t


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
    float64_t last
    float64_t last2


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




cdef inline void channel_stats(
    const sample_t[::1] x,
    float64_t last,
    float64_t last2,
    int64_t run,
    float64_t clip_level,
    float64_t spike_factor,
    ChannelOut* out,
) noexcept nogil:
    """Every output of one channel, ``last``/``last2``/``run`` carried in from the
    previous block; ``clip_level <= 0`` or NaN disables the clip count. Fills
    ``out.last``/``out.last2`` with the carry for the next block."""
    cdef Py_ssize_t n = x.shape[0]
    cdef float64_t clip = clip_level if clip_level > 0.0 else INFINITY
    if n == 0:
        out.minimum = NAN
        out.maximum = NAN
        out.mean = 0.0
        out.rms = 0.0
        out.first_nonfinite = -1
        out.n_clipped = 0
        out.longest_run = 0
        out.n_spikes = 0
        out.run = run
        out.last = last
        out.last2 = last2
        return
    if not _channel_fast(x, last, last2, run, clip, spike_factor, out):
        _channel_careful(x, last, last2, run, clip, spike_factor, out)
    out.last = <float64_t>x[n - 1]
    out.last2 = <float64_t>x[n - 2] if n >= 2 else last
