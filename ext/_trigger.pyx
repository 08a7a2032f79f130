"""Trigger kernels (compiled core of :mod:`quakewatch.ext.trigger`).

Private: definitions, units and references are in the front-end's docstrings.
Every characteristic function is computed by ONE per-sample kernel that carries
its state in plain C memory; the batch functions run that kernel once over the
whole record with fresh state and the streaming classes run it block by block.
The operations applied to sample ``k`` depend only on the samples up to ``k``
and on ``k`` itself (never on where a block starts), so a stream gives the same
bits as the batch function whatever the block boundaries.

Inner kernels take raw pointers (``const sample_t*``) rather than memoryviews:
the streaming ``process`` methods are called ~10^4-10^5 times per second by the
server and acquiring memoryviews costs more than the 200 samples they process.
Entry points check dtype, contiguity and shapes once with the NumPy C-API.

Exact window sums of squares (classic STA/LTA, Z-detector, energy ratio)
    A running sum ``s`` (add the new square, subtract the leaving one) carries
    an absolute error ``E <= u (w + 4) T`` (``u = 2**-53``), where ``T`` is the
    sum at the last re-anchoring plus every square added since.  Whenever
    ``(w + 4) T > C s`` (``C = 2**20``) the sum is recomputed from the ring
    buffer with Neumaier summation (error <= 2 u s) and ``T`` restarts at the
    new sum.  Hence every window sum ever used has relative error
    ``<= C u = 2**-33 ~ 1.2e-10``, including right after a burst 10^7 times the
    noise leaves the window (the case where plain add/subtract sums, as in
    ObsPy's C kernel, keep an error of order ``u * burst / noise``).
    Recomputation happens rarely: about once after a burst leaves each window,
    and every ``~C/(w+4) * s/e`` samples in steady noise of energy ``e`` per
    sample.  A window of exact zeros is recomputed to exactly 0.  Classic
    STA/LTA also recomputes both sums after every sample ``k = P - 1 (mod P)``,
    ``P = max(2**16, 16 nlta)`` (cost ``<= (nsta + nlta) / P`` per sample): the
    state after such a sample depends on the record only, so the batch function
    runs the chunks ``[cP, (c + 1)P)`` in OpenMP threads and still equals the
    stream bit for bit, whatever the number of threads.  The batch Z-detector
    starts each fixed chunk of ``2**18`` samples with an exact window sum, and
    takes mean and deviation from 256-value block sums [Chan1979].
Threads
    Batch functions run independent work items (recursive: groups of four rows;
    classic: rows x re-anchoring chunks; z_detect: fixed chunks) in OpenMP threads
    when the input has >= 2**17 samples.  Work items never depend on the thread
    count, so neither do the results.
Signed window sums (carl_sta_trig)
    Re-anchored (recomputed with Neumaier summation) every ``16 w`` pushes, at
    absolute element indices ``j = 16 w - 1, 32 w - 1, ...``: absolute error
    ``<= ~(2 * 16 + 2) w u max|v|`` over the values ``v`` of the last ``17 w`` samples.
"""

cimport numpy as cnp
cimport openmp
from cython.parallel cimport prange
from cpython.mem cimport PyMem_Free, PyMem_Malloc, PyMem_Realloc
from libc.math cimport fabs, floor, log, pow, sqrt
from libc.string cimport memset

from _typedefs cimport float32_t, float64_t, int32_t, int64_t, sample_t

import numpy as np

cnp.import_array()

# C = 2**20: relative error bound of the exact window sums is C * 2**-53 = 2**-33.
cdef float64_t EXACT_C = 1048576.0
# ObsPy seeds the recursive LTA with 1e-99 to avoid 0/0 on the first samples.
cdef float64_t REC_LTA_SEED = 1e-99
# Largest nlta / nsta accepted (ring buffers are nlta doubles per channel).
MAX_WINDOW = 1 << 30
# Signed window sums (carl_sta_trig) are recomputed every ANCHOR_EVERY window lengths.
cdef int64_t ANCHOR_EVERY = 16
# Blocks smaller than this many samples are processed without releasing the GIL.
cdef Py_ssize_t NOGIL_MIN = 16384
# Batch inputs with fewer samples than this run on one thread.
cdef Py_ssize_t PARALLEL_MIN = 1 << 17

cdef extern from *:
    """
    /* Identity that the optimiser cannot see through: keeps a running sum in a
       scalar register (GCC's SLP vectoriser would otherwise pack two dependent
       recursions into one vector and chain their latencies).  No arithmetic. */
    #if defined(__GNUC__) && defined(__x86_64__)
    static inline double qw_opaque(double v) { __asm__("" : "+x"(v)); return v; }
    #else
    static inline double qw_opaque(double v) { return v; }
    #endif
    """
    float64_t _opaque "qw_opaque"(float64_t v) noexcept nogil


cdef extern from *:
    """
    #include <math.h>
    #if defined(__SSE2__)
    #include <emmintrin.h>
    #endif
    /* r[i] = 1 / (k1 + i): (k1 + i) is an exact integer (< 2**53), so each value is
       the correctly rounded 1/(k+1) whatever the vector width. */
    static void qw_recip_counts(double k1, double* r, Py_ssize_t n) {
        Py_ssize_t i = 0;
    #if defined(__SSE2__)
        const __m128d one = _mm_set1_pd(1.0);
        __m128d c = _mm_set_pd(k1 + 1.0, k1);
        const __m128d two = _mm_set1_pd(2.0);
        for (; i + 2 <= n; i += 2) {
            _mm_storeu_pd(r + i, _mm_div_pd(one, c));
            c = _mm_add_pd(c, two);
        }
    #endif
        for (; i < n; i++) r[i] = 1.0 / (k1 + (double)i);
    }
    /* out[i] = num[i] / sqrt(var[i]) if var[i] > 0 else 0 (IEEE sqrt and division,
       packed two at a time: the same bits as the scalar expression). */
    /* *o0 = s0 / l0 if l0 != 0 else 0, same for o1: one packed division (same bits). */
    static inline void qw_ratio2(double s0, double l0, double s1, double l1, double* o0, double* o1) {
    #if defined(__SSE2__)
        __m128d d = _mm_set_pd(l1, l0);
        __m128d q = _mm_and_pd(_mm_div_pd(_mm_set_pd(s1, s0), d), _mm_cmpneq_pd(d, _mm_setzero_pd()));
        _mm_storel_pd(o0, q);
        _mm_storeh_pd(o1, q);
    #else
        *o0 = l0 != 0.0 ? s0 / l0 : 0.0;
        *o1 = l1 != 0.0 ? s1 / l1 : 0.0;
    #endif
    }
    /* out[i] = num[i] / den[i] if den[i] != 0 else 0 (packed two at a time, same bits). */
    static void qw_div_nonzero(const double* num, const double* den, double* out, Py_ssize_t n) {
        Py_ssize_t i = 0;
    #if defined(__SSE2__)
        const __m128d zero = _mm_setzero_pd();
        for (; i + 2 <= n; i += 2) {
            __m128d d = _mm_loadu_pd(den + i);
            __m128d q = _mm_div_pd(_mm_loadu_pd(num + i), d);
            _mm_storeu_pd(out + i, _mm_and_pd(q, _mm_cmpneq_pd(d, zero)));
        }
    #endif
        for (; i < n; i++) out[i] = den[i] != 0.0 ? num[i] / den[i] : 0.0;
    }
    static void qw_div_sqrt(const double* num, const double* var, double* out, Py_ssize_t n) {
        Py_ssize_t i = 0;
    #if defined(__SSE2__)
        const __m128d zero = _mm_setzero_pd();
        for (; i + 2 <= n; i += 2) {
            __m128d v = _mm_loadu_pd(var + i);
            __m128d m = _mm_cmpgt_pd(v, zero);
            __m128d q = _mm_div_pd(_mm_loadu_pd(num + i), _mm_sqrt_pd(v));
            _mm_storeu_pd(out + i, _mm_and_pd(q, m));
        }
    #endif
        for (; i < n; i++) out[i] = var[i] > 0.0 ? num[i] / sqrt(var[i]) : 0.0;
    }
    """
    void _ratio2 "qw_ratio2"(float64_t s0, float64_t l0, float64_t s1, float64_t l1, float64_t* o0, float64_t* o1) noexcept nogil
    void _div_nonzero "qw_div_nonzero"(const float64_t* num, const float64_t* den, float64_t* out, Py_ssize_t n) noexcept nogil
    void _recip_counts "qw_recip_counts"(float64_t k1, float64_t* r, Py_ssize_t n) noexcept nogil
    void _div_sqrt "qw_div_sqrt"(const float64_t* num, const float64_t* var, float64_t* out, Py_ssize_t n) noexcept nogil


cdef enum:
    _EV_ON = 0
    _EV_CLOSE = 1
    _EV_DROP = 2


# ---------------------------------------------------------------------------
# validation shared by the front-end and the classes


def check_count(object value, str name, long long minimum, long long maximum=MAX_WINDOW):
    """``value`` as an int, raising TypeError / ValueError that name ``name`` and the limit."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    cdef long long v
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    v = value
    return v


def check_windows(object nsta, object nlta):
    """``(nsta, nlta)`` checked: ``1 <= nsta < nlta <= MAX_WINDOW``."""
    cdef long long s = check_count(nsta, "nsta", 1)
    cdef long long l = check_count(nlta, "nlta", 1)
    if l <= s:
        raise ValueError(f"nlta must be > nsta ({s}), got {l}")
    return s, l


def check_real(object value, str name, bint finite=True):
    """``value`` as a float; TypeError unless real, ValueError if not finite (when asked)."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    cdef float64_t v = value
    if finite and not (fabs(v) <= 1.7976931348623157e308):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return v


cdef cnp.ndarray _as_samples(object data, str name, int max_ndim):
    """C-contiguous native float32/float64/int32 view or copy of ``data``.

    Other real dtypes (int8/16/64, uint, float16, bool) are converted to float64
    (exact up to 2**53); complex and object arrays raise TypeError.
    """
    cdef cnp.ndarray arr
    if cnp.PyArray_Check(data):
        arr = <cnp.ndarray>data
    else:
        arr = np.asarray(data)
    cdef int t = cnp.PyArray_TYPE(arr)
    if t != cnp.NPY_FLOAT64 and t != cnp.NPY_FLOAT32 and t != cnp.NPY_INT32:
        if arr.dtype.kind not in "biuf":
            raise TypeError(f"{name} must be a real-valued array, got dtype {arr.dtype}")
        native = arr.dtype.newbyteorder("=")
        if native in (np.dtype(np.float64), np.dtype(np.float32), np.dtype(np.int32)):
            arr = arr.astype(native)
        else:
            arr = arr.astype(np.float64)
    if not cnp.PyArray_ISCARRAY_RO(arr) or not cnp.PyArray_ISNOTSWAPPED(arr):
        arr = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("="))
    if arr.ndim < 1 or arr.ndim > max_ndim:
        raise ValueError(
            f"{name} must have {'1 or 2 dimensions' if max_ndim == 2 else '1 dimension'}, got shape {(<object>arr).shape}"
        )
    return arr


cdef inline cnp.ndarray _empty_like_f64(cnp.ndarray arr):
    return cnp.PyArray_EMPTY(cnp.PyArray_NDIM(arr), cnp.PyArray_DIMS(arr), cnp.NPY_FLOAT64, 0)


cdef inline void _rows(cnp.ndarray arr, Py_ssize_t* nrows, Py_ssize_t* n):
    if cnp.PyArray_NDIM(arr) == 1:
        nrows[0] = 1
        n[0] = cnp.PyArray_DIM(arr, 0)
    else:
        nrows[0] = cnp.PyArray_DIM(arr, 0)
        n[0] = cnp.PyArray_DIM(arr, 1)


cdef inline int _n_threads(Py_ssize_t n_items, Py_ssize_t n_samples) noexcept nogil:
    """OpenMP threads for ``n_items`` independent work items totalling ``n_samples``
    (every item's result is independent of the thread that computes it)."""
    if n_items < 2 or n_samples < PARALLEL_MIN:
        return 1
    return openmp.omp_get_max_threads()


# ---------------------------------------------------------------------------
# shared numerical helpers


cdef float64_t _ring_sum(const float64_t* ring, Py_ssize_t size, Py_ssize_t end, Py_ssize_t w) noexcept nogil:
    """Neumaier sum of the ``w`` ring values that precede index ``end`` (chronological order)."""
    cdef Py_ssize_t j = end - w
    cdef Py_ssize_t m
    cdef float64_t s = 0.0, c = 0.0, v, t
    if j < 0:
        j += size
    for m in range(w):
        v = ring[j]
        t = s + v
        if fabs(s) >= fabs(v):
            c += (s - t) + v
        else:
            c += (v - t) + s
        s = t
        j += 1
        if j == size:
            j = 0
    return s + c


cdef inline Py_ssize_t _mod(int64_t k, Py_ssize_t m) noexcept nogil:
    cdef int64_t r = k % m
    if r < 0:
        r += m
    return <Py_ssize_t>r


# ---------------------------------------------------------------------------
# recursive STA/LTA


cdef void _recursive_row(
    const sample_t* x, Py_ssize_t n, int64_t start, Py_ssize_t nsta, Py_ssize_t nlta,
    float64_t* state, float64_t* out,
) noexcept nogil:
    """state = [sta, lta]; sample k >= 1: sta += (x^2 - sta)/nsta in ObsPy's form."""
    cdef float64_t csta = 1.0 / nsta, clta = 1.0 / nlta
    cdef float64_t icsta = 1.0 - csta, iclta = 1.0 - clta
    cdef float64_t sta = state[0], lta = state[1], v, sq
    cdef Py_ssize_t i = 0, warm
    if start == 0 and n > 0:
        out[0] = 0.0  # ObsPy never uses the first sample
        i = 1
    warm = nlta - start
    if warm > n:
        warm = n
    while i < warm:
        v = <float64_t>x[i]
        sq = v * v
        sta = csta * sq + icsta * sta
        lta = clta * sq + iclta * lta
        out[i] = 0.0
        i += 1
    while i < n:
        v = <float64_t>x[i]
        sq = v * v
        sta = csta * sq + icsta * sta
        lta = clta * sq + iclta * lta
        out[i] = sta / lta if lta != 0.0 else 0.0
        i += 1
    state[0] = sta
    state[1] = lta


cdef void _recursive_row4(
    const sample_t* x, Py_ssize_t n, int64_t start, Py_ssize_t nsta, Py_ssize_t nlta,
    float64_t* state, float64_t* out,
) noexcept nogil:
    """Four consecutive rows at once (``x``, ``out`` row stride ``n``; ``state`` 8 values):
    exactly ``_recursive_row``'s operations per row, interleaved so that the four
    recursions' latency chains overlap."""
    cdef float64_t csta = 1.0 / nsta, clta = 1.0 / nlta
    cdef float64_t icsta = 1.0 - csta, iclta = 1.0 - clta
    cdef float64_t s0 = state[0], l0 = state[1], s1 = state[2], l1 = state[3]
    cdef float64_t s2 = state[4], l2 = state[5], s3 = state[6], l3 = state[7]
    cdef float64_t q0, q1, q2, q3
    cdef const sample_t* x0 = x
    cdef const sample_t* x1 = x + n
    cdef const sample_t* x2 = x + 2 * n
    cdef const sample_t* x3 = x + 3 * n
    cdef float64_t* o0 = out
    cdef float64_t* o1 = out + n
    cdef float64_t* o2 = out + 2 * n
    cdef float64_t* o3 = out + 3 * n
    cdef Py_ssize_t i = 0, warm
    if start == 0 and n > 0:
        o0[0] = 0.0
        o1[0] = 0.0
        o2[0] = 0.0
        o3[0] = 0.0
        i = 1
    warm = nlta - start
    if warm > n:
        warm = n
    while i < n:
        q0 = <float64_t>x0[i]
        q1 = <float64_t>x1[i]
        q2 = <float64_t>x2[i]
        q3 = <float64_t>x3[i]
        q0 = q0 * q0
        q1 = q1 * q1
        q2 = q2 * q2
        q3 = q3 * q3
        s0 = csta * q0 + icsta * s0
        s1 = csta * q1 + icsta * s1
        s2 = csta * q2 + icsta * s2
        s3 = csta * q3 + icsta * s3
        l0 = clta * q0 + iclta * l0
        l1 = clta * q1 + iclta * l1
        l2 = clta * q2 + iclta * l2
        l3 = clta * q3 + iclta * l3
        if i < warm:
            o0[i] = 0.0
            o1[i] = 0.0
            o2[i] = 0.0
            o3[i] = 0.0
        else:  # s / l if l != 0 else 0, two rows per packed division
            _ratio2(s0, l0, s1, l1, o0 + i, o1 + i)
            _ratio2(s2, l2, s3, l3, o2 + i, o3 + i)
        i += 1
    state[0] = s0
    state[1] = l0
    state[2] = s1
    state[3] = l1
    state[4] = s2
    state[5] = l2
    state[6] = s3
    state[7] = l3


cdef void _recursive_rows(
    const sample_t* x, Py_ssize_t nrows, Py_ssize_t n, int64_t start, Py_ssize_t nsta,
    Py_ssize_t nlta, float64_t* state, float64_t* out,
) noexcept nogil:
    cdef Py_ssize_t c = 0
    while c + 4 <= nrows:
        _recursive_row4(x + c * n, n, start, nsta, nlta, state + 2 * c, out + c * n)
        c += 4
    while c < nrows:
        _recursive_row(x + c * n, n, start, nsta, nlta, state + 2 * c, out + c * n)
        c += 1


# ---------------------------------------------------------------------------
# classic STA/LTA with exact window sums


cdef void _classic_recompute(
    const float64_t* ring, Py_ssize_t nlta, Py_ssize_t end, Py_ssize_t nsta,
    float64_t ksta, float64_t klta, float64_t* st,
) noexcept nogil:
    # st = [sta_sum, lta_sum, t_sta, t_lta]
    if st[2] * ksta > st[0]:
        st[0] = _ring_sum(ring, nlta, end, nsta)
        st[2] = st[0]
    if st[3] * klta > st[1]:
        st[1] = _ring_sum(ring, nlta, end, nlta)
        st[3] = st[1]


cdef void _classic_row(
    const sample_t* x, Py_ssize_t n, int64_t start, Py_ssize_t nsta, Py_ssize_t nlta,
    float64_t* st, float64_t* ring, float64_t* out,
) noexcept nogil:
    """cf[k] = mean(x[k-nsta+1..k]^2) / mean(x[k-nlta+1..k]^2) for k >= nlta - 1, else 0.

    ``ring[k % nlta]`` holds ``x[k]^2``; ``st = [sta_sum, lta_sum, t_sta, t_lta]``.
    """
    cdef float64_t ksta = (nsta + 4.0) / EXACT_C, klta = (nlta + 4.0) / EXACT_C
    cdef float64_t ratio = <float64_t>nlta / <float64_t>nsta
    cdef float64_t ss = st[0], ls = st[1], ts = st[2], tl = st[3]
    cdef float64_t v, sq, old_s, old_l
    cdef Py_ssize_t pos = _mod(start, nlta), psta = _mod(start - nsta, nlta)
    cdef Py_ssize_t i = 0, warm = nlta - 1 - start
    # samples until the next periodic re-anchoring (at k = P - 1 (mod P))
    cdef int64_t period = _classic_period(nlta)
    cdef int64_t anchor = _mod(period - 1 - start, period)
    if warm > n:
        warm = n
    while i < n:
        v = <float64_t>x[i]
        sq = v * v
        old_l = ring[pos]
        old_s = ring[psta]
        ring[pos] = sq
        ss += sq - old_s
        ls += sq - old_l
        ts += sq
        tl += sq
        pos += 1
        if pos == nlta:
            pos = 0
        psta += 1
        if psta == nlta:
            psta = 0
        if anchor == 0:
            ss = _ring_sum(ring, nlta, pos, nsta)
            ts = ss
            ls = _ring_sum(ring, nlta, pos, nlta)
            tl = ls
            anchor = period
        elif ts * ksta > ss or tl * klta > ls:
            st[0] = ss
            st[1] = ls
            st[2] = ts
            st[3] = tl
            _classic_recompute(ring, nlta, pos, nsta, ksta, klta, st)
            ss = st[0]
            ls = st[1]
            ts = st[2]
            tl = st[3]
        anchor -= 1
        if i < warm:
            out[i] = 0.0
        else:
            out[i] = ss / ls * ratio if ls != 0.0 else 0.0
        i += 1
    st[0] = ss
    st[1] = ls
    st[2] = ts
    st[3] = tl


cdef float64_t _input_sq_sum(const sample_t* x, Py_ssize_t end, Py_ssize_t w) noexcept nogil:
    """Neumaier sum of x[end-w+1..end]^2 in chronological order (the ring's order and
    values: leading zeros of a ring that is not yet full change nothing)."""
    cdef Py_ssize_t j = end - w + 1
    cdef float64_t s = 0.0, c = 0.0, v, t
    if j < 0:
        j = 0
    while j <= end:
        v = <float64_t>x[j]
        v = v * v
        t = s + v
        if fabs(s) >= fabs(v):
            c += (s - t) + v
        else:
            c += (v - t) + s
        s = t
        j += 1
    return s + c


cdef inline int64_t _classic_period(Py_ssize_t nlta) noexcept nogil:
    """Classic STA/LTA window sums are also recomputed exactly after every sample
    ``k = P - 1 (mod P)``: the state after it depends on the record only, so the batch
    function runs the chunks ``[cP, (c + 1)P)`` independently (in threads)."""
    return max(<int64_t>1 << 16, 16 * <int64_t>nlta)


cdef void _classic_batch_chunk(
    const sample_t* x, Py_ssize_t n, Py_ssize_t nsta, Py_ssize_t nlta, Py_ssize_t k0, Py_ssize_t k1,
    float64_t* out,
) noexcept nogil:
    """``_classic_row`` over samples ``[k0, k1)`` (``k0`` a multiple of the period),
    starting from the re-anchored state after sample ``k0 - 1`` and reading the leaving
    samples from the input instead of a ring: the same operations on the same values,
    hence the same bits (tested)."""
    cdef float64_t ksta = (nsta + 4.0) / EXACT_C, klta = (nlta + 4.0) / EXACT_C
    cdef float64_t ratio = <float64_t>nlta / <float64_t>nsta
    cdef float64_t ss = 0.0, ls = 0.0, ts = 0.0, tl = 0.0
    cdef float64_t v, sq, vs, old_s, vl, old_l
    cdef int64_t period = _classic_period(nlta)
    cdef Py_ssize_t i = k0, stop, last = -1
    if k1 % period == 0:
        last = k1 - 1  # periodic re-anchoring at the chunk's last sample
    if k0 > 0:
        ss = _input_sq_sum(x, k0 - 1, nsta)
        ts = ss
        ls = _input_sq_sum(x, k0 - 1, nlta)
        tl = ls
    # warm-up: i < nlta, nothing leaves the LTA window yet
    stop = min(k1, nlta)
    while i < stop:
        v = <float64_t>x[i]
        sq = v * v
        if i >= nsta:
            vs = <float64_t>x[i - nsta]
            old_s = vs * vs
        else:
            old_s = 0.0
        ss += sq - old_s
        ls += sq - 0.0
        ts += sq
        tl += sq
        if i == last:
            ss = _input_sq_sum(x, i, nsta)
            ts = ss
            ls = _input_sq_sum(x, i, nlta)
            tl = ls
        else:
            if ts * ksta > ss:
                ss = _input_sq_sum(x, i, nsta)
                ts = ss
            if tl * klta > ls:
                ls = _input_sq_sum(x, i, nlta)
                tl = ls
        if i < nlta - 1:
            out[i] = 0.0
        else:
            out[i] = ss / ls * ratio if ls != 0.0 else 0.0
        i += 1
    # (``last``, when set, is >= period - 1 >= nlta: always in this loop, handled after it)
    stop = last if last >= 0 else k1
    while i < stop:
        v = <float64_t>x[i]
        sq = v * v
        vs = <float64_t>x[i - nsta]
        vl = <float64_t>x[i - nlta]
        old_s = vs * vs
        old_l = vl * vl
        ss += sq - old_s
        ls += sq - old_l
        ts += sq
        tl += sq
        if (ts * ksta > ss) | (tl * klta > ls):
            if ts * ksta > ss:
                ss = _input_sq_sum(x, i, nsta)
                ts = ss
            if tl * klta > ls:
                ls = _input_sq_sum(x, i, nlta)
                tl = ls
        out[i] = ss / ls * ratio if ls != 0.0 else 0.0
        i += 1
    if i == last:  # periodic re-anchoring: the sums after the push are replaced
        ss = _input_sq_sum(x, i, nsta)
        ls = _input_sq_sum(x, i, nlta)
        out[i] = ss / ls * ratio if ls != 0.0 else 0.0


cdef void _classic_rows(
    const sample_t* x, Py_ssize_t nrows, Py_ssize_t n, int64_t start, Py_ssize_t nsta,
    Py_ssize_t nlta, float64_t* st, float64_t* ring, float64_t* out,
) noexcept nogil:
    cdef Py_ssize_t c
    for c in range(nrows):
        _classic_row(x + c * n, n, start, nsta, nlta, st + 4 * c, ring + c * nlta, out + c * n)


# ---------------------------------------------------------------------------
# exact trailing window sum of squares, one window (Z-detector, energy ratio)


cdef inline float64_t _sqwin_push(
    float64_t sq, float64_t* ring, Py_ssize_t w, Py_ssize_t* pos, float64_t* st, float64_t kw,
) noexcept nogil:
    """Push ``sq`` into the window; st = [sum, t]; returns the sum of the last ``w`` squares."""
    cdef Py_ssize_t p = pos[0]
    cdef float64_t old = ring[p]
    ring[p] = sq
    st[0] += sq - old
    st[1] += sq
    p += 1
    if p == w:
        p = 0
    pos[0] = p
    if st[1] * kw > st[0]:
        st[0] = _ring_sum(ring, w, p, w)
        st[1] = st[0]
    return st[0]


cdef void _zdetect_stream_row(
    const sample_t* x, Py_ssize_t n, int64_t start, Py_ssize_t nsta,
    float64_t* st, float64_t* ring, float64_t* out,
) noexcept nogil:
    """Causal Z: z[k] = (S[k] - mean(S[0..k])) / std(S[0..k]); S[k] = sum x[k-nsta..k-1]^2 (0 for k < nsta).

    st = [sum, t, mean, m2] (Welford over S).
    """
    cdef float64_t kw = (nsta + 4.0) / EXACT_C
    cdef float64_t win[2]
    cdef float64_t rec[256]
    cdef float64_t var[256]
    cdef float64_t mean = st[2], m2 = st[3], s, d, v, r
    cdef Py_ssize_t pos = _mod(start, nsta), i, b, m
    cdef int64_t k
    win[0] = st[0]
    win[1] = st[1]
    # chunks of 256: reciprocals of the counts (packed), the Welford recursion
    # (scalar), then z = (S - mean) / sqrt(var) (packed)
    b = 0
    while b < n:
        m = min(256, n - b)
        _recip_counts(<float64_t>(start + b + 1), rec, m)
        for i in range(m):
            k = start + b + i
            s = win[0] if k >= nsta else 0.0
            # Welford with the reciprocal of the count: the division is off the
            # mean's dependency chain (one extra rounding of 1/(k+1) per step)
            r = rec[i]
            d = s - mean
            mean += d * r
            m2 += d * (s - mean)
            var[i] = m2 * r
            out[b + i] = s - mean
            v = <float64_t>x[b + i]
            _sqwin_push(v * v, ring, nsta, &pos, win, kw)
        _div_sqrt(out + b, var, out + b, m)
        b += m
    st[0] = win[0]
    st[1] = win[1]
    st[2] = mean
    st[3] = m2


cdef void _zdetect_stream_rows(
    const sample_t* x, Py_ssize_t nrows, Py_ssize_t n, int64_t start, Py_ssize_t nsta,
    float64_t* st, float64_t* ring, float64_t* out,
) noexcept nogil:
    cdef Py_ssize_t c
    for c in range(nrows):
        _zdetect_stream_row(x + c * n, n, start, nsta, st + 4 * c, ring + c * nsta, out + c * n)


cdef void _trailing_sq_sums(const sample_t* x, Py_ssize_t n, Py_ssize_t w, float64_t* ring, float64_t* out) noexcept nogil:
    """out[k] = sum(x[k-w+1..k]^2) (exact to 2**-33 relative), partial sums for k < w - 1."""
    cdef float64_t kw = (w + 4.0) / EXACT_C
    cdef float64_t st[2]
    cdef float64_t v
    cdef Py_ssize_t pos = 0, i
    st[0] = 0.0
    st[1] = 0.0
    memset(ring, 0, w * sizeof(float64_t))
    for i in range(n):
        v = <float64_t>x[i]
        out[i] = _sqwin_push(v * v, ring, w, &pos, st, kw)


cdef inline void _block_stats(const float64_t* v, Py_ssize_t m, float64_t* total, float64_t* m2) noexcept nogil:
    """total = sum v, m2 = sum (v - total / m)^2 over ``m <= 256`` values (four accumulators each)."""
    cdef Py_ssize_t i
    cdef float64_t a0 = 0.0, a1 = 0.0, a2 = 0.0, a3 = 0.0, mean, d0, d1, d2, d3
    i = 0
    while i + 4 <= m:
        a0 += v[i]
        a1 += v[i + 1]
        a2 += v[i + 2]
        a3 += v[i + 3]
        i += 4
    while i < m:
        a0 += v[i]
        i += 1
    total[0] = (a0 + a1) + (a2 + a3)
    mean = total[0] / m
    a0 = 0.0
    a1 = 0.0
    a2 = 0.0
    a3 = 0.0
    i = 0
    while i + 4 <= m:
        d0 = v[i] - mean
        d1 = v[i + 1] - mean
        d2 = v[i + 2] - mean
        d3 = v[i + 3] - mean
        a0 += d0 * d0
        a1 += d1 * d1
        a2 += d2 * d2
        a3 += d3 * d3
        i += 4
    while i < m:
        d0 = v[i] - mean
        a0 += d0 * d0
        i += 1
    m2[0] = (a0 + a1) + (a2 + a3)


# z_detect runs fixed chunks of this many samples (a multiple of 256) in OpenMP threads.
cdef Py_ssize_t ZCHUNK = 1 << 18


cdef void _zdetect_chunk(const sample_t* x, Py_ssize_t n, Py_ssize_t nsta, Py_ssize_t j0, Py_ssize_t j1,
                         float64_t* bsum, float64_t* bm2, float64_t* out) noexcept nogil:
    """out[j] = S[j] for j0 <= j < j1 (``j0`` a multiple of 256), and the sum / sum of
    squared deviations from the block mean of every 256-value block ``j // 256``.

    S[j] = sum x[j-nsta..j-1]^2 (0 for j < nsta) is a running window sum re-anchored
    from the input as in ``_classic_batch_chunk`` and started exactly (Neumaier) at ``j0``.
    """
    cdef Py_ssize_t i, j, b, e
    cdef float64_t kw = (nsta + 4.0) / EXACT_C
    cdef float64_t v, sq, old, ws = 0.0, wt = 0.0
    if j0 == 0:
        out[0] = 0.0
    elif j0 - 1 > 0:
        ws = _input_sq_sum(x, j0 - 2, nsta)  # window ending at sample j0 - 2
        wt = ws
    b = j0
    while b < j1:
        e = min(j1, b + 256)
        # out[j] = window ending at sample i = j - 1
        for j in range(max(b, 1), e):
            i = j - 1
            v = <float64_t>x[i]
            sq = v * v
            if i >= nsta:
                v = <float64_t>x[i - nsta]
                old = v * v
            else:
                old = 0.0
            ws += sq - old
            wt += sq
            if wt * kw > ws:
                ws = _input_sq_sum(x, i, nsta)
                wt = ws
            out[j] = ws if j >= nsta else 0.0
        _block_stats(out + b, e - b, bsum + b // 256, bm2 + b // 256)
        b = e


cdef void _zdetect_batch(const void* xp, int t, Py_ssize_t n, Py_ssize_t nsta, float64_t* bsum, float64_t* bm2,
                         float64_t* out) noexcept nogil:
    """ObsPy z_detect: S[k] = sum x[k-nsta..k-1]^2 (0 for k < nsta), z = (S - mean(S)) / std(S) (0 if std == 0).

    Window sums by fixed chunks of ``ZCHUNK`` samples (``_zdetect_chunk``, run in
    threads; the result does not depend on the number of threads).  The 256-value
    block sums are combined in order by Neumaier summation, and
    ``M2 = sum_b M2_b + n_b (mean_b - mean)^2`` [Chan1979].  ``bsum``, ``bm2`` hold
    ``ceil(n / 256)`` values.
    """
    cdef Py_ssize_t c, nb, nc, j0, j1, i
    cdef float64_t mean, sd, inv, s = 0.0, comp = 0.0, tt, m2 = 0.0, d, tot, cnt
    if n == 0:
        return
    nc = (n + ZCHUNK - 1) // ZCHUNK
    for c in prange(nc, num_threads=_n_threads(nc, n), schedule="dynamic"):
        j0 = c * ZCHUNK
        j1 = min(n, j0 + ZCHUNK)
        if t == cnp.NPY_FLOAT64:
            _zdetect_chunk(<const float64_t*>xp, n, nsta, j0, j1, bsum, bm2, out)
        elif t == cnp.NPY_FLOAT32:
            _zdetect_chunk(<const float32_t*>xp, n, nsta, j0, j1, bsum, bm2, out)
        else:
            _zdetect_chunk(<const int32_t*>xp, n, nsta, j0, j1, bsum, bm2, out)
    nb = (n + 255) // 256
    for c in range(nb):
        tot = bsum[c]
        tt = s + tot
        if fabs(s) >= fabs(tot):
            comp += (s - tt) + tot
        else:
            comp += (tot - tt) + s
        s = tt
    mean = (s + comp) / n
    for c in range(nb):
        cnt = <float64_t>(min(n, c * 256 + 256) - c * 256)
        d = bsum[c] / cnt - mean
        m2 += bm2[c] + cnt * (d * d)
    sd = sqrt(m2 / n)
    if sd >= 1e-300:  # 1/sd finite: multiply by the reciprocal (<= 1.5 ulp from dividing)
        inv = 1.0 / sd
        for i in prange(n, num_threads=_n_threads(2, n), schedule="static"):
            out[i] = (out[i] - mean) * inv
    elif sd > 0.0 or sd != sd:  # NaN input: NaN everywhere (whole-record statistics)
        for i in range(n):
            out[i] = (out[i] - mean) / sd
    else:
        for i in range(n):
            out[i] = 0.0


cdef void _energy_ratio_row(const sample_t* x, Py_ssize_t n, Py_ssize_t nsta, float64_t power, bint modified,
                            float64_t* ring, float64_t* tmp, float64_t* out) noexcept nogil:
    """er[i] = sum x[i..i+nsta-1]^2 / sum x[i-nsta..i-1]^2 for nsta <= i <= n - nsta (0 elsewhere / if 0 below)."""
    cdef Py_ssize_t i
    cdef float64_t den, v
    _trailing_sq_sums(x, n, nsta, ring, tmp)  # tmp[k] = sum x[k-nsta+1..k]^2
    for i in range(n):
        out[i] = 0.0
    for i in range(nsta, n - nsta + 1):
        den = tmp[i - 1]
        if den != 0.0:
            out[i] = tmp[i + nsta - 1] / den
    if modified:
        for i in range(n):
            v = <float64_t>x[i]
            out[i] = pow(out[i] * fabs(v), power)


# ---------------------------------------------------------------------------
# delayed STA/LTA (ObsPy's recursion, reproduced as is)


cdef void _delayed_row(const sample_t* x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta, float64_t* out) noexcept nogil:
    """ObsPy 1.5: sta[i] = (x[i]^2 + x[i-nsta]^2)/nsta + sta[i-1],
    lta[i] = (x[i-nsta-1]^2 + x[i-nsta-nlta-1]^2)/nlta + lta[i-1] (negative indices wrap to
    the end of the record as in Python); cf = sta/lta, 0 for i < nsta + nlta + 50."""
    cdef Py_ssize_t i, j1, j2, j3, mute = nsta + nlta + 50
    cdef float64_t sta = 0.0, lta = 0.0, a, b, c, d
    cdef float64_t fsta = nsta, flta = nlta
    if m <= mute:
        for i in range(m):
            out[i] = 0.0
        return
    for i in range(m):
        j1 = i - nsta
        j2 = i - nsta - 1
        j3 = i - nsta - nlta - 1
        if j1 < 0:
            j1 += m
        if j2 < 0:
            j2 += m
        if j3 < 0:
            j3 += m
        a = <float64_t>x[i]
        b = <float64_t>x[j1]
        c = <float64_t>x[j2]
        d = <float64_t>x[j3]
        sta = (a * a + b * b) / fsta + sta
        lta = (c * c + d * d) / flta + lta
        if i < mute:
            out[i] = 0.0
        else:
            out[i] = sta / lta if lta != 0.0 else 0.0


# ---------------------------------------------------------------------------
# carl_sta_trig (Earthworm carlSTAtrig as in ObsPy)


cdef inline float64_t _signed_push(float64_t v, float64_t* ring, Py_ssize_t w, Py_ssize_t p, float64_t s,
                                   bint anchor) noexcept nogil:
    """Push v at ring slot p (= index mod w); returns the new sum, recomputed from the
    ring when ``anchor`` (then p == w - 1 and the ring is in chronological order)."""
    cdef float64_t old = ring[p]
    ring[p] = v
    if anchor:
        return _ring_sum(ring, w, 0, w)
    return s + (v - old)


cdef inline void _carl_run(
    const sample_t* x, Py_ssize_t run, float64_t isa, float64_t ila, float64_t ratio, float64_t quiet,
    float64_t* ra, float64_t* rs, float64_t* rd, float64_t* rr,
    float64_t* psa, float64_t* pssta, float64_t* psd, float64_t* psstar, float64_t* psta_prev, float64_t* out,
) noexcept nogil:
    """``run`` steps of ``_carl_row`` with every window warm, no re-anchoring and no ring
    wrap (ring pointers already offset to the current slots)."""
    cdef float64_t sa = psa[0], ssta = pssta[0], sd = psd[0], sstar = psstar[0], sta_prev = psta_prev[0]
    cdef float64_t v, sta_k, lta_k, star_k, ltar_k, old, dv
    cdef Py_ssize_t j
    for j in range(run):
        v = <float64_t>x[j]
        sta_k = sa * isa
        lta_k = ssta * ila
        star_k = sd * isa
        ltar_k = sstar * ila
        out[j] = star_k - ratio * ltar_k - fabs(sta_k - lta_k) - quiet
        old = ra[j]
        ra[j] = v
        sa = _opaque(sa + (v - old))
        old = rs[j]
        rs[j] = sta_prev
        ssta = _opaque(ssta + (sta_prev - old))
        sta_prev = sta_k
        dv = fabs(v - lta_k)
        old = rd[j]
        rd[j] = dv
        sd = _opaque(sd + (dv - old))
        old = rr[j]
        rr[j] = star_k
        sstar = _opaque(sstar + (star_k - old))
    psa[0] = sa
    pssta[0] = ssta
    psd[0] = sd
    psstar[0] = sstar
    psta_prev[0] = sta_prev


cdef void _carl_row(
    const sample_t* x, Py_ssize_t n, int64_t start, Py_ssize_t nsta, Py_ssize_t nlta,
    float64_t ratio, float64_t quiet, float64_t* st, float64_t* ring, float64_t* out,
) noexcept nogil:
    """st = [S_a, S_sta, S_d, S_star, sta_prev]; ring = [a (nsta) | sta (nlta) | d (nsta) | star (nlta)].

    STA[k] = sum x[k-nsta..k-1]/nsta (k >= nsta), LTA[k] = sum STA[k-1-nlta..k-2]/nlta
    (k >= nlta + 1), STAR[k] = sum |x - LTA|[k-nsta..k-1]/nsta (k >= nsta),
    LTAR[k] = sum STAR[k-nlta..k-1]/nlta (k >= nlta), all 0 before;
    eta = STAR - ratio LTAR - |STA - LTA| - quiet, -1 for k < nlta.
    """
    cdef float64_t* ring_a = ring
    cdef float64_t* rs = ring + nsta
    cdef float64_t* rd = ring + nsta + nlta
    cdef float64_t* rr = ring + 2 * nsta + nlta
    cdef float64_t sa = st[0], ssta = st[1], sd = st[2], sstar = st[3], sta_prev = st[4]
    # means as products with the reciprocal (<= 1 ulp from ObsPy's division)
    cdef float64_t isa = 1.0 / nsta, ila = 1.0 / nlta, v, sta_k, lta_k, star_k, ltar_k
    cdef Py_ssize_t i, pa = _mod(start, nsta), pl = _mod(start, nlta), pl1 = _mod(start - 1, nlta)
    # re-anchor countdowns: a window pushing element j is recomputed when
    # j = ANCHOR_EVERY * w - 1 (mod ANCHOR_EVERY * w)
    cdef int64_t psa = ANCHOR_EVERY * nsta, pla = ANCHOR_EVERY * nlta
    cdef int64_t ra = _mod(psa - 1 - start, psa), rl = _mod(pla - 1 - start, pla), rl1 = _mod(pla - start, pla)
    cdef int64_t k
    cdef Py_ssize_t run
    i = 0
    while i < n:
        k = start + i
        # Fast run: every window is warm and the next ``run`` samples neither
        # re-anchor nor wrap a ring, so the generic step below reduces to these
        # same operations in the same order (same bits) without its branches.
        run = 0
        if k >= nlta + 1:
            run = min(n - i, min(nsta - pa, min(nlta - pl, nlta - pl1)))
            run = min(run, <Py_ssize_t>min(ra, min(rl, rl1)))
        if run > 0:
            _carl_run(x + i, run, isa, ila, ratio, quiet, ring_a + pa, rs + pl1, rd + pa, rr + pl,
                      &sa, &ssta, &sd, &sstar, &sta_prev, out + i)
            i += run
            ra -= run
            rl -= run
            rl1 -= run
            pa += run
            if pa == nsta:
                pa = 0
            pl += run
            if pl == nlta:
                pl = 0
            pl1 += run
            if pl1 == nlta:
                pl1 = 0
            continue
        v = <float64_t>x[i]
        sta_k = sa * isa if k >= nsta else 0.0
        lta_k = ssta * ila if k >= nlta + 1 else 0.0
        star_k = sd * isa if k >= nsta else 0.0
        ltar_k = sstar * ila if k >= nlta else 0.0
        if k < nlta:
            out[i] = -1.0
        else:
            out[i] = star_k - ratio * ltar_k - fabs(sta_k - lta_k) - quiet
        # windows for k + 1
        sa = _signed_push(v, ring_a, nsta, pa, sa, ra == 0)
        if k >= 1:
            ssta = _signed_push(sta_prev, rs, nlta, pl1, ssta, rl1 == 0)
        sta_prev = sta_k
        sd = _signed_push(fabs(v - lta_k), rd, nsta, pa, sd, ra == 0)
        sstar = _signed_push(star_k, rr, nlta, pl, sstar, rl == 0)
        ra -= 1
        if ra < 0:
            ra = psa - 1
        rl -= 1
        if rl < 0:
            rl = pla - 1
        rl1 -= 1
        if rl1 < 0:
            rl1 = pla - 1
        pa += 1
        if pa == nsta:
            pa = 0
        pl += 1
        if pl == nlta:
            pl = 0
        pl1 += 1
        if pl1 == nlta:
            pl1 = 0
        i += 1
    st[0] = sa
    st[1] = ssta
    st[2] = sd
    st[3] = sstar
    st[4] = sta_prev


cdef void _carl_rows(
    const sample_t* x, Py_ssize_t nrows, Py_ssize_t n, int64_t start, Py_ssize_t nsta, Py_ssize_t nlta,
    float64_t ratio, float64_t quiet, float64_t* st, float64_t* ring, float64_t* out,
) noexcept nogil:
    cdef Py_ssize_t c, rl = 2 * (nsta + nlta)
    for c in range(nrows):
        _carl_row(x + c * n, n, start, nsta, nlta, ratio, quiet, st + 5 * c, ring + c * rl, out + c * n)


# ---------------------------------------------------------------------------
# AIC (Maeda 1985) as in ObsPy's aic_simple


cdef void _aic_row(const sample_t* x, Py_ssize_t n, float64_t* out) noexcept nogil:
    """aic[j] = k log var(x[:k]) + (n-k-1) log var(x[k:]), k = j + 1, j = 0..n-2; the
    k = 1 left term and the k = n-1 right term are left out; aic[n-1] = aic[n-2].
    Variances by Welford's update (population variance; log 0 = -inf)."""
    cdef Py_ssize_t j, k
    cdef float64_t mean = 0.0, m2 = 0.0, d, v
    if n <= 2:
        for j in range(n):
            out[j] = 0.0
        return
    # right variances: out[k - 1] = var(x[k:]) for k = 1..n-2 (suffix of n - k samples)
    for j in range(n - 1, 0, -1):
        v = <float64_t>x[j]
        d = v - mean
        mean += d / <float64_t>(n - j)
        m2 += d * (v - mean)
        if j <= n - 2:
            out[j - 1] = m2 / <float64_t>(n - j)
    mean = 0.0
    m2 = 0.0
    for k in range(1, n):
        v = <float64_t>x[k - 1]
        d = v - mean
        mean += d / <float64_t>k
        m2 += d * (v - mean)
        if k == 1:
            out[0] = (n - 2) * log(out[0])
        elif k == n - 1:
            out[k - 1] = (n - 1) * log(m2 / <float64_t>k)
        else:
            out[k - 1] = k * log(m2 / <float64_t>k) + (n - k - 1) * log(out[k - 1])
    out[n - 1] = out[n - 2]


# ---------------------------------------------------------------------------
# trigger on/off state machine


cdef struct Event:
    int64_t kind
    int64_t channel
    int64_t on
    int64_t off


cdef struct EventBuf:
    Event* ev
    Py_ssize_t n
    Py_ssize_t cap


cdef int _push_event(EventBuf* b, int64_t kind, int64_t ch, int64_t on, int64_t off) except -1 nogil:
    cdef Py_ssize_t cap
    cdef Event* p
    if b.n == b.cap:
        cap = 64 if b.cap == 0 else 2 * b.cap
        with gil:
            p = <Event*>PyMem_Realloc(b.ev, cap * sizeof(Event))
            if p == NULL:
                raise MemoryError()
        b.ev = p
        b.cap = cap
    b.ev[b.n].kind = kind
    b.ev[b.n].channel = ch
    b.ev[b.n].on = on
    b.ev[b.n].off = off
    b.n += 1
    return 0


cdef struct OnsetState:
    int64_t p          # on index of the open trigger
    float64_t last_off # last off index (float: on + max_len may be fractional)
    int32_t active
    int32_t prev_on    # previous cf >= thr_on
    int32_t prev_off   # previous cf >= thr_off


cdef inline int64_t _clip_off(int64_t p, float64_t max_len) noexcept nogil:
    return <int64_t>floor(<float64_t>p + max_len)


cdef int _onset_row(
    const float64_t* cf, Py_ssize_t n, int64_t start, int64_t ch, float64_t thr_on, float64_t thr_off,
    float64_t max_len, bint delete, OnsetState* s, EventBuf* b,
) except -1 nogil:
    """ObsPy trigger_onset as a per-sample state machine (see the front-end docstring)."""
    cdef Py_ssize_t i
    cdef int64_t k, e
    cdef float64_t c
    cdef bint above_on, above_off
    for i in range(n):
        k = start + i
        c = cf[i]
        above_on = c >= thr_on
        above_off = c >= thr_off
        if s.active:
            if s.prev_off and not above_off:  # a run of cf >= thr_off ended at k - 1
                e = k - 1
                if <float64_t>(e - s.p) > max_len:
                    if delete:
                        _push_event(b, _EV_DROP, ch, s.p, e)
                        s.last_off = e
                    else:
                        _push_event(b, _EV_CLOSE, ch, s.p, _clip_off(s.p, max_len))
                        s.last_off = <float64_t>s.p + max_len
                else:
                    _push_event(b, _EV_CLOSE, ch, s.p, e)
                    s.last_off = e
                s.active = 0
            elif not delete and <float64_t>(k - s.p) > max_len:
                _push_event(b, _EV_CLOSE, ch, s.p, _clip_off(s.p, max_len))
                s.last_off = <float64_t>s.p + max_len
                s.active = 0
        if not s.active and above_on and not s.prev_on and <float64_t>k > s.last_off:
            s.active = 1
            s.p = k
            _push_event(b, _EV_ON, ch, k, -1)
        s.prev_on = above_on
        s.prev_off = above_off
    return 0


cdef int _onset_finish(int64_t n_total, int64_t ch, float64_t max_len, bint delete, OnsetState* s, EventBuf* b) except -1 nogil:
    """Batch end-of-record rule for a trigger still open after ``n_total`` samples."""
    cdef int64_t e
    if not s.active:
        return 0
    e = n_total - 1 if s.prev_off else n_total
    if <float64_t>(e - s.p) > max_len:
        if delete:
            _push_event(b, _EV_DROP, ch, s.p, e)
        else:
            _push_event(b, _EV_CLOSE, ch, s.p, _clip_off(s.p, max_len))
    else:
        _push_event(b, _EV_CLOSE, ch, s.p, e)
    s.active = 0
    return 0


cdef void _onset_init(OnsetState* s) noexcept nogil:
    s.p = -1
    s.last_off = -1.0
    s.active = 0
    s.prev_on = 0
    s.prev_off = 0


# ---------------------------------------------------------------------------
# batch entry points (validated by the front-end; shapes re-checked here)


def recursive_sta_lta(data, nsta, nlta):
    """Kernel of :func:`quakewatch.ext.trigger.recursive_sta_lta` (1-D or 2-D rows)."""
    cdef long long s, l
    s, l = check_windows(nsta, nlta)
    cdef cnp.ndarray arr = _as_samples(data, "a", 2)
    cdef cnp.ndarray out = _empty_like_f64(arr)
    cdef Py_ssize_t nrows, n, c
    _rows(arr, &nrows, &n)
    cdef float64_t* state = <float64_t*>PyMem_Malloc(max(1, 2 * nrows) * sizeof(float64_t))
    if state == NULL:
        raise MemoryError()
    for c in range(nrows):
        state[2 * c] = 0.0
        state[2 * c + 1] = REC_LTA_SEED
    cdef void* xp = cnp.PyArray_DATA(arr)
    cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
    cdef int t = cnp.PyArray_TYPE(arr)
    # groups of four rows (as _recursive_rows), one group per OpenMP work item
    cdef Py_ssize_t g, c0, ngroups = (nrows + 3) // 4
    cdef int nt = _n_threads(ngroups, nrows * n)
    try:
        with nogil:
            for g in prange(ngroups, num_threads=nt, schedule="static"):
                c0 = 4 * g
                if t == cnp.NPY_FLOAT64:
                    _recursive_rows(<const float64_t*>xp + c0 * n, min(4, nrows - c0), n, 0, s, l, state + 2 * c0, op + c0 * n)
                elif t == cnp.NPY_FLOAT32:
                    _recursive_rows(<const float32_t*>xp + c0 * n, min(4, nrows - c0), n, 0, s, l, state + 2 * c0, op + c0 * n)
                else:
                    _recursive_rows(<const int32_t*>xp + c0 * n, min(4, nrows - c0), n, 0, s, l, state + 2 * c0, op + c0 * n)
    finally:
        PyMem_Free(state)
    return out


def classic_sta_lta(data, nsta, nlta):
    """Kernel of :func:`quakewatch.ext.trigger.classic_sta_lta` (1-D or 2-D rows)."""
    cdef long long s, l
    s, l = check_windows(nsta, nlta)
    cdef cnp.ndarray arr = _as_samples(data, "a", 2)
    cdef cnp.ndarray out = _empty_like_f64(arr)
    cdef Py_ssize_t nrows, n
    _rows(arr, &nrows, &n)
    cdef void* xp = cnp.PyArray_DATA(arr)
    cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
    cdef int t = cnp.PyArray_TYPE(arr)
    # work items: (row, chunk of one re-anchoring period)
    cdef Py_ssize_t period = <Py_ssize_t>_classic_period(l)
    cdef Py_ssize_t nch = max(1, (n + period - 1) // period)
    cdef Py_ssize_t w, c, k0, k1
    cdef int nt = _n_threads(nrows * nch, nrows * n)
    with nogil:
        for w in prange(nrows * nch, num_threads=nt, schedule="dynamic"):
            c = w // nch
            k0 = (w % nch) * period
            k1 = min(n, k0 + period)
            if t == cnp.NPY_FLOAT64:
                _classic_batch_chunk(<const float64_t*>xp + c * n, n, s, l, k0, k1, op + c * n)
            elif t == cnp.NPY_FLOAT32:
                _classic_batch_chunk(<const float32_t*>xp + c * n, n, s, l, k0, k1, op + c * n)
            else:
                _classic_batch_chunk(<const int32_t*>xp + c * n, n, s, l, k0, k1, op + c * n)
    return out


def delayed_sta_lta(data, nsta, nlta):
    """Kernel of :func:`quakewatch.ext.trigger.delayed_sta_lta` (1-D or 2-D rows)."""
    cdef long long s, l
    s, l = check_windows(nsta, nlta)
    cdef cnp.ndarray arr = _as_samples(data, "a", 2)
    cdef cnp.ndarray out = _empty_like_f64(arr)
    cdef Py_ssize_t nrows, n, c
    _rows(arr, &nrows, &n)
    cdef void* xp = cnp.PyArray_DATA(arr)
    cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
    cdef int t = cnp.PyArray_TYPE(arr)
    with nogil:
        for c in range(nrows):
            if t == cnp.NPY_FLOAT64:
                _delayed_row(<const float64_t*>xp + c * n, n, s, l, op + c * n)
            elif t == cnp.NPY_FLOAT32:
                _delayed_row(<const float32_t*>xp + c * n, n, s, l, op + c * n)
            else:
                _delayed_row(<const int32_t*>xp + c * n, n, s, l, op + c * n)
    return out


def carl_sta_trig(data, nsta, nlta, ratio, quiet):
    """Kernel of :func:`quakewatch.ext.trigger.carl_sta_trig` (1-D or 2-D rows)."""
    cdef long long s, l
    s, l = check_windows(nsta, nlta)
    cdef float64_t r = check_real(ratio, "ratio"), q = check_real(quiet, "quiet")
    cdef cnp.ndarray arr = _as_samples(data, "a", 2)
    cdef cnp.ndarray out = _empty_like_f64(arr)
    cdef Py_ssize_t nrows, n, c
    _rows(arr, &nrows, &n)
    cdef Py_ssize_t rl = 2 * (s + l)
    cdef float64_t* ring = <float64_t*>PyMem_Malloc(rl * sizeof(float64_t))
    cdef float64_t st[5]
    if ring == NULL:
        raise MemoryError()
    cdef void* xp = cnp.PyArray_DATA(arr)
    cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
    cdef int t = cnp.PyArray_TYPE(arr)
    try:
        with nogil:
            for c in range(nrows):
                memset(ring, 0, rl * sizeof(float64_t))
                memset(st, 0, 5 * sizeof(float64_t))
                if t == cnp.NPY_FLOAT64:
                    _carl_row(<const float64_t*>xp + c * n, n, 0, s, l, r, q, st, ring, op + c * n)
                elif t == cnp.NPY_FLOAT32:
                    _carl_row(<const float32_t*>xp + c * n, n, 0, s, l, r, q, st, ring, op + c * n)
                else:
                    _carl_row(<const int32_t*>xp + c * n, n, 0, s, l, r, q, st, ring, op + c * n)
    finally:
        PyMem_Free(ring)
    return out


def z_detect(data, nsta):
    """Kernel of :func:`quakewatch.ext.trigger.z_detect` (1-D or 2-D rows)."""
    cdef long long s = check_count(nsta, "nsta", 1)
    cdef cnp.ndarray arr = _as_samples(data, "a", 2)
    cdef cnp.ndarray out = _empty_like_f64(arr)
    cdef Py_ssize_t nrows, n, c, nb
    _rows(arr, &nrows, &n)
    nb = max(1, (n + 255) // 256)
    cdef float64_t* stats = <float64_t*>PyMem_Malloc(2 * nb * sizeof(float64_t))
    if stats == NULL:
        raise MemoryError()
    cdef const char* xp = <const char*>cnp.PyArray_DATA(arr)
    cdef Py_ssize_t row_bytes = n * cnp.PyArray_ITEMSIZE(arr)
    cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
    cdef int t = cnp.PyArray_TYPE(arr)
    try:
        with nogil:
            for c in range(nrows):
                _zdetect_batch(xp + c * row_bytes, t, n, s, stats, stats + nb, op + c * n)
    finally:
        PyMem_Free(stats)
    return out


def energy_ratio(data, nsta, power=None):
    """Kernel of :func:`quakewatch.ext.trigger.energy_ratio` / ``modified_energy_ratio``
    (``power`` None: plain energy ratio)."""
    cdef cnp.ndarray arr = _as_samples(data, "a", 2)
    cdef Py_ssize_t nrows, n, c
    _rows(arr, &nrows, &n)
    cdef long long s = check_count(nsta, "nsta", 1)
    if s > n // 2:
        raise ValueError(f"nsta must be <= len(a) // 2 = {n // 2}, got {s}")
    cdef bint modified = power is not None
    cdef float64_t pw = check_real(power, "power") if modified else 1.0
    cdef cnp.ndarray out = _empty_like_f64(arr)
    cdef float64_t* ring = <float64_t*>PyMem_Malloc((s + max(n, 1)) * sizeof(float64_t))
    if ring == NULL:
        raise MemoryError()
    cdef void* xp = cnp.PyArray_DATA(arr)
    cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
    cdef int t = cnp.PyArray_TYPE(arr)
    try:
        with nogil:
            for c in range(nrows):
                if t == cnp.NPY_FLOAT64:
                    _energy_ratio_row(<const float64_t*>xp + c * n, n, s, pw, modified, ring, ring + s, op + c * n)
                elif t == cnp.NPY_FLOAT32:
                    _energy_ratio_row(<const float32_t*>xp + c * n, n, s, pw, modified, ring, ring + s, op + c * n)
                else:
                    _energy_ratio_row(<const int32_t*>xp + c * n, n, s, pw, modified, ring, ring + s, op + c * n)
    finally:
        PyMem_Free(ring)
    return out


def aic_simple(data):
    """Kernel of :func:`quakewatch.ext.trigger.aic_simple` (1-D or 2-D rows)."""
    cdef cnp.ndarray arr = _as_samples(data, "a", 2)
    cdef cnp.ndarray out = _empty_like_f64(arr)
    cdef Py_ssize_t nrows, n, c
    _rows(arr, &nrows, &n)
    cdef void* xp = cnp.PyArray_DATA(arr)
    cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
    cdef int t = cnp.PyArray_TYPE(arr)
    with nogil:
        for c in range(nrows):
            if t == cnp.NPY_FLOAT64:
                _aic_row(<const float64_t*>xp + c * n, n, op + c * n)
            elif t == cnp.NPY_FLOAT32:
                _aic_row(<const float32_t*>xp + c * n, n, op + c * n)
            else:
                _aic_row(<const int32_t*>xp + c * n, n, op + c * n)
    return out


def trigger_onset(charfct, thres1, thres2, max_len=9e99, max_len_delete=False):
    """Kernel of :func:`quakewatch.ext.trigger.trigger_onset`: int64 array (k, 2)."""
    cdef float64_t t1 = check_real(thres1, "thres1", False), t2 = check_real(thres2, "thres2", False)
    cdef float64_t ml = check_real(max_len, "max_len", False)
    if not ml >= 0.0:
        raise ValueError(f"max_len must be >= 0, got {max_len!r}")
    cdef cnp.ndarray arr = np.ascontiguousarray(charfct, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"charfct must have 1 dimension, got shape {(<object>arr).shape}")
    cdef bint delete = bool(max_len_delete)
    cdef OnsetState s
    cdef EventBuf b
    cdef Py_ssize_t n = arr.shape[0], i, m = 0
    cdef int64_t[:, ::1] o
    b.ev = NULL
    b.n = 0
    b.cap = 0
    _onset_init(&s)
    cdef const float64_t* cp = <const float64_t*>cnp.PyArray_DATA(arr)
    try:
        with nogil:
            _onset_row(cp, n, 0, 0, t1, t2, ml, delete, &s, &b)
            _onset_finish(n, 0, ml, delete, &s, &b)
        for i in range(b.n):
            m += b.ev[i].kind == _EV_CLOSE
        out = np.empty((m, 2), dtype=np.int64)
        o = out
        m = 0
        for i in range(b.n):
            if b.ev[i].kind == _EV_CLOSE:
                o[m, 0] = b.ev[i].on
                o[m, 1] = b.ev[i].off
                m += 1
    finally:
        PyMem_Free(b.ev)
    return out


# ---------------------------------------------------------------------------
# streaming classes


cdef cnp.ndarray _block(object block, Py_ssize_t n_channels):
    """Hot-path check of a block: C-contiguous native float32/float64/int32 of shape
    (n_channels, n) or (n,) (one channel); anything else goes through the slow path."""
    cdef cnp.ndarray arr
    cdef int t
    if cnp.PyArray_CheckExact(block):
        arr = <cnp.ndarray>block
        t = cnp.PyArray_TYPE(arr)
        if not ((t == cnp.NPY_FLOAT64 or t == cnp.NPY_FLOAT32 or t == cnp.NPY_INT32)
                and cnp.PyArray_ISCARRAY_RO(arr) and cnp.PyArray_ISNOTSWAPPED(arr)):
            arr = _as_samples(arr, "block", 2)
    else:
        arr = _as_samples(block, "block", 2)
    if cnp.PyArray_NDIM(arr) == 2:
        if cnp.PyArray_DIM(arr, 0) != n_channels:
            raise ValueError(f"block must have {n_channels} rows (n_channels), got shape {(<object>arr).shape}")
    elif cnp.PyArray_NDIM(arr) == 1:
        if n_channels != 1:
            raise ValueError(f"a 1-D block needs n_channels == 1, this detector has {n_channels}")
    else:
        raise ValueError(f"block must have shape (n_channels, n) or (n,), got {(<object>arr).shape}")
    return arr


cdef float64_t* _alloc(Py_ssize_t n) except NULL:
    cdef float64_t* p = <float64_t*>PyMem_Malloc(max(n, 1) * sizeof(float64_t))
    if p == NULL:
        raise MemoryError()
    return p


cdef class RecursiveStaLta:
    """Streaming recursive STA/LTA for ``n_channels`` channels.

    :meth:`process` returns, for exactly the samples of the block, the values that
    :func:`quakewatch.ext.trigger.recursive_sta_lta` gives on the concatenation of
    every block since construction or :meth:`reset` (bit for bit, whatever the
    block boundaries; warm-up zeros for the first ``nlta`` samples ever processed).

    Parameters
    ----------
    nsta, nlta : int
        ``1 <= nsta < nlta``, samples.
    n_channels : int
        Rows of every block, ``>= 1``; a 1-D block is allowed when it is 1.
    """

    cdef readonly Py_ssize_t nsta, nlta, n_channels
    cdef readonly int64_t n_processed
    cdef float64_t* state

    def __cinit__(self, nsta, nlta, n_channels=1):
        self.state = NULL

    def __init__(self, nsta, nlta, n_channels=1):
        self.nsta, self.nlta = check_windows(nsta, nlta)
        self.n_channels = check_count(n_channels, "n_channels", 1, 1 << 24)
        self.state = _alloc(2 * self.n_channels)
        self.reset()

    def __dealloc__(self):
        PyMem_Free(self.state)

    def reset(self):
        """Forget every sample processed (next sample is sample 0 again)."""
        cdef Py_ssize_t c
        for c in range(self.n_channels):
            self.state[2 * c] = 0.0
            self.state[2 * c + 1] = REC_LTA_SEED
        self.n_processed = 0

    def process(self, block):
        """Characteristic function (float64, shape of ``block``) of the next samples."""
        cdef cnp.ndarray arr = _block(block, self.n_channels)
        cdef cnp.ndarray out = _empty_like_f64(arr)
        cdef Py_ssize_t nrows, n
        _rows(arr, &nrows, &n)
        cdef void* xp = cnp.PyArray_DATA(arr)
        cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
        cdef int t = cnp.PyArray_TYPE(arr)
        if nrows * n >= NOGIL_MIN:
            with nogil:
                self._run(t, xp, nrows, n, op)
        else:
            self._run(t, xp, nrows, n, op)
        self.n_processed += n
        return out

    cdef void _run(self, int t, void* xp, Py_ssize_t nrows, Py_ssize_t n, float64_t* op) noexcept nogil:
        if t == cnp.NPY_FLOAT64:
            _recursive_rows(<const float64_t*>xp, nrows, n, self.n_processed, self.nsta, self.nlta, self.state, op)
        elif t == cnp.NPY_FLOAT32:
            _recursive_rows(<const float32_t*>xp, nrows, n, self.n_processed, self.nsta, self.nlta, self.state, op)
        else:
            _recursive_rows(<const int32_t*>xp, nrows, n, self.n_processed, self.nsta, self.nlta, self.state, op)


cdef class ClassicStaLta:
    """Streaming classic STA/LTA (exact window sums) for ``n_channels`` channels.

    Bit-identical to :func:`quakewatch.ext.trigger.classic_sta_lta` on the
    concatenated record, whatever the block boundaries (warm-up zeros for the
    first ``nlta - 1`` samples ever processed).  Keeps ``nlta`` squared samples per
    channel.

    Parameters
    ----------
    nsta, nlta : int
        ``1 <= nsta < nlta``, samples.
    n_channels : int
        Rows of every block, ``>= 1``.
    """

    cdef readonly Py_ssize_t nsta, nlta, n_channels
    cdef readonly int64_t n_processed
    cdef float64_t* state
    cdef float64_t* ring

    def __cinit__(self, nsta, nlta, n_channels=1):
        self.state = NULL
        self.ring = NULL

    def __init__(self, nsta, nlta, n_channels=1):
        self.nsta, self.nlta = check_windows(nsta, nlta)
        self.n_channels = check_count(n_channels, "n_channels", 1, 1 << 24)
        self.state = _alloc(4 * self.n_channels)
        self.ring = _alloc(self.nlta * self.n_channels)
        self.reset()

    def __dealloc__(self):
        PyMem_Free(self.state)
        PyMem_Free(self.ring)

    def reset(self):
        """Forget every sample processed (next sample is sample 0 again)."""
        memset(self.state, 0, 4 * self.n_channels * sizeof(float64_t))
        memset(self.ring, 0, self.nlta * self.n_channels * sizeof(float64_t))
        self.n_processed = 0

    def process(self, block):
        """Characteristic function (float64, shape of ``block``) of the next samples."""
        cdef cnp.ndarray arr = _block(block, self.n_channels)
        cdef cnp.ndarray out = _empty_like_f64(arr)
        cdef Py_ssize_t nrows, n
        _rows(arr, &nrows, &n)
        cdef void* xp = cnp.PyArray_DATA(arr)
        cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
        cdef int t = cnp.PyArray_TYPE(arr)
        if nrows * n >= NOGIL_MIN:
            with nogil:
                self._run(t, xp, nrows, n, op)
        else:
            self._run(t, xp, nrows, n, op)
        self.n_processed += n
        return out

    cdef void _run(self, int t, void* xp, Py_ssize_t nrows, Py_ssize_t n, float64_t* op) noexcept nogil:
        if t == cnp.NPY_FLOAT64:
            _classic_rows(<const float64_t*>xp, nrows, n, self.n_processed, self.nsta, self.nlta, self.state, self.ring, op)
        elif t == cnp.NPY_FLOAT32:
            _classic_rows(<const float32_t*>xp, nrows, n, self.n_processed, self.nsta, self.nlta, self.state, self.ring, op)
        else:
            _classic_rows(<const int32_t*>xp, nrows, n, self.n_processed, self.nsta, self.nlta, self.state, self.ring, op)


cdef class CarlStaTrig:
    """Streaming carlSTAtrig for ``n_channels`` channels.

    Bit-identical to :func:`quakewatch.ext.trigger.carl_sta_trig` on the
    concatenated record, whatever the block boundaries (``-1`` for the first
    ``nlta`` samples ever processed).

    Parameters
    ----------
    nsta, nlta : int
        ``1 <= nsta < nlta``, samples.
    ratio, quiet : float
        Finite sensitivity parameters.
    n_channels : int
        Rows of every block, ``>= 1``.
    """

    cdef readonly Py_ssize_t nsta, nlta, n_channels
    cdef readonly float64_t ratio, quiet
    cdef readonly int64_t n_processed
    cdef float64_t* state
    cdef float64_t* ring

    def __cinit__(self, nsta, nlta, ratio, quiet, n_channels=1):
        self.state = NULL
        self.ring = NULL

    def __init__(self, nsta, nlta, ratio, quiet, n_channels=1):
        self.nsta, self.nlta = check_windows(nsta, nlta)
        self.ratio = check_real(ratio, "ratio")
        self.quiet = check_real(quiet, "quiet")
        self.n_channels = check_count(n_channels, "n_channels", 1, 1 << 24)
        self.state = _alloc(5 * self.n_channels)
        self.ring = _alloc(2 * (self.nsta + self.nlta) * self.n_channels)
        self.reset()

    def __dealloc__(self):
        PyMem_Free(self.state)
        PyMem_Free(self.ring)

    def reset(self):
        """Forget every sample processed (next sample is sample 0 again)."""
        memset(self.state, 0, 5 * self.n_channels * sizeof(float64_t))
        memset(self.ring, 0, 2 * (self.nsta + self.nlta) * self.n_channels * sizeof(float64_t))
        self.n_processed = 0

    def process(self, block):
        """Characteristic function (float64, shape of ``block``) of the next samples."""
        cdef cnp.ndarray arr = _block(block, self.n_channels)
        cdef cnp.ndarray out = _empty_like_f64(arr)
        cdef Py_ssize_t nrows, n
        _rows(arr, &nrows, &n)
        cdef void* xp = cnp.PyArray_DATA(arr)
        cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
        cdef int t = cnp.PyArray_TYPE(arr)
        if nrows * n >= NOGIL_MIN:
            with nogil:
                self._run(t, xp, nrows, n, op)
        else:
            self._run(t, xp, nrows, n, op)
        self.n_processed += n
        return out

    cdef void _run(self, int t, void* xp, Py_ssize_t nrows, Py_ssize_t n, float64_t* op) noexcept nogil:
        if t == cnp.NPY_FLOAT64:
            _carl_rows(<const float64_t*>xp, nrows, n, self.n_processed, self.nsta, self.nlta, self.ratio, self.quiet, self.state, self.ring, op)
        elif t == cnp.NPY_FLOAT32:
            _carl_rows(<const float32_t*>xp, nrows, n, self.n_processed, self.nsta, self.nlta, self.ratio, self.quiet, self.state, self.ring, op)
        else:
            _carl_rows(<const int32_t*>xp, nrows, n, self.n_processed, self.nsta, self.nlta, self.ratio, self.quiet, self.state, self.ring, op)


cdef class ZDetect:
    """Streaming, causal Z-detector [Swindell1977] for ``n_channels`` channels.

    ``z[k] = (S[k] - mean(S[0..k])) / std(S[0..k])`` with
    ``S[k] = sum x[k-nsta .. k-1]^2`` (exact window sums; 0 for ``k < nsta``) and the
    population mean / standard deviation (Welford) over every sample since the first
    one processed, warm-up zeros included; ``z = 0`` while that deviation is 0.  So
    ``z[k]`` is ObsPy's whole-record ``z_detect(x[:k+1], nsta)`` evaluated at its
    last sample (tested), whereas the batch :func:`z_detect` uses the statistics of
    the whole record (not causal).  The statistics never forget: call :meth:`reset`
    to restart them.  Non-finite samples make ``z`` NaN until :meth:`reset`.

    Parameters
    ----------
    nsta : int
        Window length in samples, ``>= 1``.
    n_channels : int
        Rows of every block, ``>= 1``.
    """

    cdef readonly Py_ssize_t nsta, n_channels
    cdef readonly int64_t n_processed
    cdef float64_t* state
    cdef float64_t* ring

    def __cinit__(self, nsta, n_channels=1):
        self.state = NULL
        self.ring = NULL

    def __init__(self, nsta, n_channels=1):
        self.nsta = check_count(nsta, "nsta", 1)
        self.n_channels = check_count(n_channels, "n_channels", 1, 1 << 24)
        self.state = _alloc(4 * self.n_channels)
        self.ring = _alloc(self.nsta * self.n_channels)
        self.reset()

    def __dealloc__(self):
        PyMem_Free(self.state)
        PyMem_Free(self.ring)

    def reset(self):
        """Forget every sample processed (next sample is sample 0 again)."""
        memset(self.state, 0, 4 * self.n_channels * sizeof(float64_t))
        memset(self.ring, 0, self.nsta * self.n_channels * sizeof(float64_t))
        self.n_processed = 0

    def process(self, block):
        """Causal Z (float64, shape of ``block``) of the next samples."""
        cdef cnp.ndarray arr = _block(block, self.n_channels)
        cdef cnp.ndarray out = _empty_like_f64(arr)
        cdef Py_ssize_t nrows, n
        _rows(arr, &nrows, &n)
        cdef void* xp = cnp.PyArray_DATA(arr)
        cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
        cdef int t = cnp.PyArray_TYPE(arr)
        if nrows * n >= NOGIL_MIN:
            with nogil:
                self._run(t, xp, nrows, n, op)
        else:
            self._run(t, xp, nrows, n, op)
        self.n_processed += n
        return out

    cdef void _run(self, int t, void* xp, Py_ssize_t nrows, Py_ssize_t n, float64_t* op) noexcept nogil:
        if t == cnp.NPY_FLOAT64:
            _zdetect_stream_rows(<const float64_t*>xp, nrows, n, self.n_processed, self.nsta, self.state, self.ring, op)
        elif t == cnp.NPY_FLOAT32:
            _zdetect_stream_rows(<const float32_t*>xp, nrows, n, self.n_processed, self.nsta, self.state, self.ring, op)
        else:
            _zdetect_stream_rows(<const int32_t*>xp, nrows, n, self.n_processed, self.nsta, self.state, self.ring, op)


cdef object _readonly(cnp.ndarray a):
    a.setflags(write=False)
    return a


cdef class OnsetUpdate:
    """Trigger changes found in one call of :meth:`TriggerOnset.process` (read-only).

    Attributes
    ----------
    on : ndarray of int64, shape (k, 2)
        ``(channel, on_index)`` of triggers switched on, sorted by (index, channel).
    off : ndarray of int64, shape (m, 2)
        ``(channel, off_index)`` of triggers closed (and kept), sorted by (index, channel).
    pairs : ndarray of int64, shape (m, 3)
        ``(channel, on_index, off_index)`` of the same closed triggers, same order.
    dropped : ndarray of int64, shape (d, 2)
        ``(channel, on_index)`` of triggers discarded because they exceeded
        ``max_len`` with ``max_len_delete=True`` (their ``on`` was reported earlier).

    Sample indices count from the first sample the detector processed.
    """

    cdef readonly object on, off, pairs, dropped

    def __bool__(self):
        return bool(len(self.on) or len(self.off) or len(self.dropped))

    def __repr__(self):
        return f"OnsetUpdate(on={self.on.tolist()}, pairs={self.pairs.tolist()}, dropped={self.dropped.tolist()})"


cdef OnsetUpdate _EMPTY_UPDATE = OnsetUpdate.__new__(OnsetUpdate)
_EMPTY_UPDATE.on = _readonly(np.empty((0, 2), dtype=np.int64))
_EMPTY_UPDATE.off = _readonly(np.empty((0, 2), dtype=np.int64))
_EMPTY_UPDATE.pairs = _readonly(np.empty((0, 3), dtype=np.int64))
_EMPTY_UPDATE.dropped = _readonly(np.empty((0, 2), dtype=np.int64))


cdef OnsetUpdate _make_update(EventBuf* b):
    if b.n == 0:
        return _EMPTY_UPDATE
    cdef Py_ssize_t i
    ev = np.empty((b.n, 4), dtype=np.int64)
    cdef int64_t[:, ::1] e = ev
    for i in range(b.n):
        e[i, 0] = b.ev[i].kind
        e[i, 1] = b.ev[i].channel
        e[i, 2] = b.ev[i].on
        e[i, 3] = b.ev[i].off
    cdef OnsetUpdate u = OnsetUpdate.__new__(OnsetUpdate)
    ons = ev[ev[:, 0] == _EV_ON]
    ons = ons[np.lexsort((ons[:, 1], ons[:, 2]))]
    closes = ev[ev[:, 0] == _EV_CLOSE]
    closes = closes[np.lexsort((closes[:, 1], closes[:, 3]))]
    drops = ev[ev[:, 0] == _EV_DROP]
    drops = drops[np.lexsort((drops[:, 1], drops[:, 2]))]
    u.on = _readonly(np.ascontiguousarray(ons[:, 1:3]))
    u.off = _readonly(np.ascontiguousarray(closes[:, [1, 3]]))
    u.pairs = _readonly(np.ascontiguousarray(closes[:, 1:4]))
    u.dropped = _readonly(np.ascontiguousarray(drops[:, 1:3]))
    return u


cdef class TriggerOnset:
    """Streaming :func:`quakewatch.ext.trigger.trigger_onset` for ``n_channels`` channels.

    Runs batch ``trigger_onset``'s rules sample by sample (a trigger switches on
    at an up-crossing of ``on`` and off at the last sample of the first run of
    ``cf >= off`` ending at or after it; ``max_len`` cuts or, with
    ``max_len_delete``, drops it).  Sample indices count from the first sample
    processed.  A trigger is reported closed only once its off sample is known,
    i.e. when ``cf`` has fallen below ``off`` (one sample later) or ``max_len`` is
    exceeded; a trigger still open at the end of a block stays open
    (``active``) and is closed by later blocks, whereas batch ``trigger_onset``
    closes it at the last sample of the record.  :meth:`flush` applies that
    end-of-record rule, so the ``pairs`` of every update plus those of
    :meth:`flush` equal ``trigger_onset`` on the concatenated ``cf`` (tested).

    Parameters
    ----------
    on, off : float
        Thresholds (ObsPy ``thres1``, ``thres2``).
    n_channels : int
        Rows of every block, ``>= 1``.
    max_len : float, keyword-only
        Longest trigger in samples (off - on), default unlimited.
    max_len_delete : bool, keyword-only
        Drop (True) instead of cut (False) longer triggers.
    """

    cdef readonly float64_t on, off, max_len
    cdef readonly bint max_len_delete
    cdef readonly Py_ssize_t n_channels
    cdef readonly int64_t n_processed
    cdef OnsetState* states
    cdef EventBuf buf

    def __cinit__(self, on, off, n_channels=1, *, max_len=9e99, max_len_delete=False):
        self.states = NULL
        self.buf.ev = NULL
        self.buf.n = 0
        self.buf.cap = 0

    def __init__(self, on, off, n_channels=1, *, max_len=9e99, max_len_delete=False):
        self.on = check_real(on, "on", False)
        self.off = check_real(off, "off", False)
        self.max_len = check_real(max_len, "max_len", False)
        if not self.max_len >= 0.0:
            raise ValueError(f"max_len must be >= 0, got {max_len!r}")
        self.max_len_delete = bool(max_len_delete)
        self.n_channels = check_count(n_channels, "n_channels", 1, 1 << 24)
        self.states = <OnsetState*>PyMem_Malloc(self.n_channels * sizeof(OnsetState))
        if self.states == NULL:
            raise MemoryError()
        self.reset()

    def __dealloc__(self):
        PyMem_Free(self.states)
        PyMem_Free(self.buf.ev)

    def reset(self):
        """Forget every sample processed and every open trigger."""
        cdef Py_ssize_t c
        for c in range(self.n_channels):
            _onset_init(&self.states[c])
        self.n_processed = 0

    @property
    def active(self):
        """ndarray of bool, shape (n_channels,): a trigger is open on the channel."""
        out = np.empty(self.n_channels, dtype=bool)
        cdef Py_ssize_t c
        for c in range(self.n_channels):
            out[c] = self.states[c].active != 0
        return out

    def process(self, cf):
        """Feed the next samples of the characteristic function, shape (n_channels, n) or (n,)."""
        cdef cnp.ndarray arr
        if cnp.PyArray_CheckExact(cf):
            arr = <cnp.ndarray>cf
            if not (cnp.PyArray_TYPE(arr) == cnp.NPY_FLOAT64 and cnp.PyArray_ISCARRAY_RO(arr)
                    and cnp.PyArray_ISNOTSWAPPED(arr)):
                arr = np.ascontiguousarray(_as_samples(arr, "cf", 2), dtype=np.float64)
        else:
            arr = np.ascontiguousarray(_as_samples(cf, "cf", 2), dtype=np.float64)
        cdef Py_ssize_t nrows, n, c
        if cnp.PyArray_NDIM(arr) == 2:
            if cnp.PyArray_DIM(arr, 0) != self.n_channels:
                raise ValueError(f"cf must have {self.n_channels} rows (n_channels), got shape {(<object>arr).shape}")
        elif self.n_channels != 1:
            raise ValueError(f"a 1-D cf needs n_channels == 1, this detector has {self.n_channels}")
        _rows(arr, &nrows, &n)
        cdef const float64_t* cp = <const float64_t*>cnp.PyArray_DATA(arr)
        self.buf.n = 0
        for c in range(nrows):
            _onset_row(cp + c * n, n, self.n_processed, c, self.on, self.off, self.max_len,
                       self.max_len_delete, &self.states[c], &self.buf)
        self.n_processed += n
        return _make_update(&self.buf)

    def flush(self):
        """Close open triggers as batch ``trigger_onset`` does at the end of the record, then reset."""
        cdef Py_ssize_t c
        self.buf.n = 0
        for c in range(self.n_channels):
            _onset_finish(self.n_processed, c, self.max_len, self.max_len_delete, &self.states[c], &self.buf)
        u = _make_update(&self.buf)
        self.reset()
        return u
