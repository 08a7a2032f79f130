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
Threads and SIMD lanes (batch functions, inputs of >= 2**17 samples)
    Every work item reproduces the serial per-sample kernel exactly, so the result
    never depends on the number of OpenMP threads or SIMD lanes (tested against the
    streaming classes for 1-8 threads and every lane width).

    * classic: work items are (row, re-anchoring chunk ``[cP, (c + 1)P)``); two
      (SSE2) or four (AVX, chosen at run time) of them run side by side in the
      lanes of one SIMD register (``qw_classic2`` / ``qw_classic4``; a sample where
      a lane needs an exact recomputation is finished in scalar code).
    * carl_sta_trig: a chunk of a row may start anywhere: run from sample ``s``
      with zero state, ``_carl_row`` has the exact state once each running sum
      was re-anchored from a ring holding exact values (``_carl_exact_from``:
      after at most ``34 (nsta + nlta)`` samples), so a chunk first replays
      ``_carl_replay_start(k0) .. k0`` without output.  Rows with fewer rows than
      threads are split into chunks per thread, and every chunk into two or four
      sub-chunks run side by side in SIMD lanes (``_carl_lockstep``).
    * recursive: groups of four rows, or with fewer than four rows one row per work
      item; with fewer rows than threads a row is split into chunks, chunk
      ``h >= 1`` started from a guessed state (the recursion run
      over the ``64 nlta`` samples before it, ``_recursive_lead``).  The recursion
      forgets its start (error ``(1 - 1/nlta)^k``) and the rounded trajectories
      then meet bit for bit; each chunk is checked in order against the exact
      final state of the previous one and, where the bits differ, recomputed
      until a checkpoint agrees (``_recursive_fix_chunk``): speculative
      parallelisation of a recurrence whose runs from different start states
      converge (the property data-parallel finite-state machines rely on, cf.
      Mytkowicz, Musuvathi and Schulte, ASPLOS 2014).  The results are those of
      the serial recursion in every case; only the speed depends on the data
      (worst case: the serial time plus the lead).
    * z_detect: fixed chunks of ``2**18`` samples.
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
from libc.string cimport memcmp, memset

from _typedefs cimport float32_t, float64_t, int32_t, int64_t, sample_t

import numpy as np

cnp.import_array()

# C = 2**20: relative error bound of the exact window sums is C * 2**-53 = 2**-33.
cdef float64_t EXACT_C = 1048576.0
# ObsPy 1.5's C recursion starts the LTA at 0, so exact zeros that last beyond the
# warm-up give 0/0 (NaN) there. We seed it with 1e-99: all-zero input gives 0, and once a sample is non-zero
# the seed is far below the LTA's last bit, so every later value is ObsPy's, bit for bit.
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
    void _recip_counts "qw_recip_counts"(float64_t k1, float64_t* r, Py_ssize_t n) noexcept nogil
    void _div_sqrt "qw_div_sqrt"(const float64_t* num, const float64_t* var, float64_t* out, Py_ssize_t n) noexcept nogil


cdef extern from *:
    """
    /* Classic STA/LTA steady state of L independent work items side by side, one per
       SIMD lane (L = 2: SSE2; L = 4: AVX, chosen at run time): per lane exactly the
       scalar operations of _classic_steady (IEEE add, sub, mul, div and compare give
       the same bits packed or not; no FMA is enabled, so nothing is contracted).
       x[l] points at lane l's next sample (its samples j - nlta .. j are read).
       Runs ``m`` samples, or stops at the first sample where a lane needs an exact
       recomputation: then *ev has bit l (STA) / bit L + l (LTA) set for lane l, ``st``
       holds the sums after that sample's push and its outputs are not written.
       st = [ss (L), ls (L), ts (L), tl (L)].  Returns the samples done. */
    #if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    #include <immintrin.h>
    #define QW_HAVE_AVX_DISPATCH 1
    static int qw_have_avx(void) {
        static int have = -1;
        if (have < 0) {
            __builtin_cpu_init();
            have = __builtin_cpu_supports("avx") ? 1 : 0;
        }
        return have;
    }
    #else
    static int qw_have_avx(void) { return 0; }
    #endif

    #if defined(__SSE2__)
    #define QW_CLASSIC2(NAME, T)                                                          \\
    static Py_ssize_t NAME(const T** x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta,   \\
                           double ksta, double klta, double ratio, double* st,            \\
                           double** o, int* ev) {                                         \\
        const T* xa = x[0]; const T* xb = x[1]; double* oa = o[0]; double* ob = o[1];     \\
        __m128d ss = _mm_loadu_pd(st), ls = _mm_loadu_pd(st + 2);                         \\
        __m128d ts = _mm_loadu_pd(st + 4), tl = _mm_loadu_pd(st + 6);                     \\
        const __m128d ks = _mm_set1_pd(ksta), kl = _mm_set1_pd(klta);                     \\
        const __m128d r = _mm_set1_pd(ratio), zero = _mm_setzero_pd();                    \\
        Py_ssize_t j;                                                                     \\
        *ev = 0;                                                                          \\
        for (j = 0; j < m; j++) {                                                         \\
            __m128d v = _mm_set_pd((double)xb[j], (double)xa[j]);                         \\
            __m128d vs = _mm_set_pd((double)xb[j - nsta], (double)xa[j - nsta]);          \\
            __m128d vl = _mm_set_pd((double)xb[j - nlta], (double)xa[j - nlta]);          \\
            __m128d sq = _mm_mul_pd(v, v);                                                \\
            ss = _mm_add_pd(ss, _mm_sub_pd(sq, _mm_mul_pd(vs, vs)));                      \\
            ls = _mm_add_pd(ls, _mm_sub_pd(sq, _mm_mul_pd(vl, vl)));                      \\
            ts = _mm_add_pd(ts, sq);                                                      \\
            tl = _mm_add_pd(tl, sq);                                                      \\
            int e = _mm_movemask_pd(_mm_cmpgt_pd(_mm_mul_pd(ts, ks), ss))                 \\
                  | (_mm_movemask_pd(_mm_cmpgt_pd(_mm_mul_pd(tl, kl), ls)) << 2);         \\
            if (e) { *ev = e; break; }                                                    \\
            __m128d q = _mm_mul_pd(_mm_div_pd(ss, ls), r);                                \\
            q = _mm_and_pd(q, _mm_cmpneq_pd(ls, zero));                                   \\
            _mm_storel_pd(oa + j, q);                                                     \\
            _mm_storeh_pd(ob + j, q);                                                     \\
        }                                                                                 \\
        _mm_storeu_pd(st, ss); _mm_storeu_pd(st + 2, ls);                                 \\
        _mm_storeu_pd(st + 4, ts); _mm_storeu_pd(st + 6, tl);                             \\
        return j;                                                                         \\
    }
    #else
    #define QW_CLASSIC2(NAME, T)                                                          \\
    static Py_ssize_t NAME(const T** x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta,   \\
                           double ksta, double klta, double ratio, double* st,            \\
                           double** o, int* ev) {                                         \\
        Py_ssize_t j; int l;                                                              \\
        *ev = 0;                                                                          \\
        for (j = 0; j < m; j++) {                                                         \\
            int e = 0;                                                                    \\
            for (l = 0; l < 2; l++) {                                                     \\
                double v = (double)x[l][j], vs = (double)x[l][j - nsta];                  \\
                double vl = (double)x[l][j - nlta], sq = v * v;                           \\
                st[l] = st[l] + (sq - vs * vs);                                           \\
                st[2 + l] = st[2 + l] + (sq - vl * vl);                                   \\
                st[4 + l] = st[4 + l] + sq;                                               \\
                st[6 + l] = st[6 + l] + sq;                                               \\
                e |= (st[4 + l] * ksta > st[l]) << l;                                     \\
                e |= (st[6 + l] * klta > st[2 + l]) << (2 + l);                           \\
            }                                                                             \\
            if (e) { *ev = e; break; }                                                    \\
            for (l = 0; l < 2; l++)                                                       \\
                o[l][j] = st[2 + l] != 0.0 ? st[l] / st[2 + l] * ratio : 0.0;             \\
        }                                                                                 \\
        return j;                                                                         \\
    }
    #endif
    QW_CLASSIC2(qw_classic2_f64, double)
    QW_CLASSIC2(qw_classic2_f32, float)
    QW_CLASSIC2(qw_classic2_i32, int)

    #if defined(QW_HAVE_AVX_DISPATCH)
    /* LD4(p, j): lanes (p[0][j], p[1][j], p[2][j], p[3][j]) as doubles */
    #define QW_LD4_double(p, j) _mm256_set_pd(p[3][j], p[2][j], p[1][j], p[0][j])
    #define QW_LD4_float(p, j) _mm256_cvtps_pd(_mm_set_ps(p[3][j], p[2][j], p[1][j], p[0][j]))
    #define QW_LD4_int(p, j) _mm256_cvtepi32_pd(_mm_set_epi32(p[3][j], p[2][j], p[1][j], p[0][j]))
    #define QW_CLASSIC4(NAME, T)                                                          \\
    __attribute__((target("avx")))                                                        \\
    static Py_ssize_t NAME(const T** x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta,   \\
                           double ksta, double klta, double ratio, double* st,            \\
                           double** o, int* ev) {                                         \\
        const T* p[4] = {x[0], x[1], x[2], x[3]};                                         \\
        const T* ps[4] = {x[0] - nsta, x[1] - nsta, x[2] - nsta, x[3] - nsta};            \\
        const T* pl[4] = {x[0] - nlta, x[1] - nlta, x[2] - nlta, x[3] - nlta};            \\
        double* o0 = o[0]; double* o1 = o[1]; double* o2 = o[2]; double* o3 = o[3];       \\
        __m256d ss = _mm256_loadu_pd(st), ls = _mm256_loadu_pd(st + 4);                   \\
        __m256d ts = _mm256_loadu_pd(st + 8), tl = _mm256_loadu_pd(st + 12);              \\
        const __m256d ks = _mm256_set1_pd(ksta), kl = _mm256_set1_pd(klta);               \\
        const __m256d r = _mm256_set1_pd(ratio), zero = _mm256_setzero_pd();              \\
        Py_ssize_t j;                                                                     \\
        *ev = 0;                                                                          \\
        for (j = 0; j < m; j++) {                                                         \\
            __m256d v = QW_LD4_##T(p, j), vs = QW_LD4_##T(ps, j), vl = QW_LD4_##T(pl, j); \\
            __m256d sq = _mm256_mul_pd(v, v);                                             \\
            ss = _mm256_add_pd(ss, _mm256_sub_pd(sq, _mm256_mul_pd(vs, vs)));             \\
            ls = _mm256_add_pd(ls, _mm256_sub_pd(sq, _mm256_mul_pd(vl, vl)));             \\
            ts = _mm256_add_pd(ts, sq);                                                   \\
            tl = _mm256_add_pd(tl, sq);                                                   \\
            int e = _mm256_movemask_pd(_mm256_cmp_pd(_mm256_mul_pd(ts, ks), ss, _CMP_GT_OQ)) \\
                  | (_mm256_movemask_pd(_mm256_cmp_pd(_mm256_mul_pd(tl, kl), ls, _CMP_GT_OQ)) << 4); \\
            if (e) { *ev = e; break; }                                                    \\
            __m256d q = _mm256_mul_pd(_mm256_div_pd(ss, ls), r);                          \\
            q = _mm256_and_pd(q, _mm256_cmp_pd(ls, zero, _CMP_NEQ_UQ));                   \\
            __m128d lo = _mm256_castpd256_pd128(q), hi = _mm256_extractf128_pd(q, 1);     \\
            _mm_storel_pd(o0 + j, lo); _mm_storeh_pd(o1 + j, lo);                         \\
            _mm_storel_pd(o2 + j, hi); _mm_storeh_pd(o3 + j, hi);                         \\
        }                                                                                 \\
        _mm256_storeu_pd(st, ss); _mm256_storeu_pd(st + 4, ls);                           \\
        _mm256_storeu_pd(st + 8, ts); _mm256_storeu_pd(st + 12, tl);                      \\
        return j;                                                                         \\
    }
    QW_CLASSIC4(qw_classic4_f64, double)
    QW_CLASSIC4(qw_classic4_f32, float)
    QW_CLASSIC4(qw_classic4_i32, int)
    #else
    /* never called (qw_have_avx() is 0) */
    #define QW_CLASSIC4(NAME, T)                                                          \\
    static Py_ssize_t NAME(const T** x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta,   \\
                           double ksta, double klta, double ratio, double* st,            \\
                           double** o, int* ev) { *ev = 0; return 0; }
    QW_CLASSIC4(qw_classic4_f64, double)
    QW_CLASSIC4(qw_classic4_f32, float)
    QW_CLASSIC4(qw_classic4_i32, int)
    #endif
    """
    bint _have_avx "qw_have_avx"() noexcept nogil
    Py_ssize_t _classic2_f64 "qw_classic2_f64"(const float64_t** x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta, float64_t ksta, float64_t klta, float64_t ratio, float64_t* st, float64_t** o, int* ev) noexcept nogil
    Py_ssize_t _classic2_f32 "qw_classic2_f32"(const float32_t** x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta, float64_t ksta, float64_t klta, float64_t ratio, float64_t* st, float64_t** o, int* ev) noexcept nogil
    Py_ssize_t _classic2_i32 "qw_classic2_i32"(const int32_t** x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta, float64_t ksta, float64_t klta, float64_t ratio, float64_t* st, float64_t** o, int* ev) noexcept nogil
    Py_ssize_t _classic4_f64 "qw_classic4_f64"(const float64_t** x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta, float64_t ksta, float64_t klta, float64_t ratio, float64_t* st, float64_t** o, int* ev) noexcept nogil
    Py_ssize_t _classic4_f32 "qw_classic4_f32"(const float32_t** x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta, float64_t ksta, float64_t klta, float64_t ratio, float64_t* st, float64_t** o, int* ev) noexcept nogil
    Py_ssize_t _classic4_i32 "qw_classic4_i32"(const int32_t** x, Py_ssize_t m, Py_ssize_t nsta, Py_ssize_t nlta, float64_t ksta, float64_t klta, float64_t ratio, float64_t* st, float64_t** o, int* ev) noexcept nogil


cdef extern from *:
    """
    /* carl_sta_trig steady steps of L lanes side by side (L = 2: SSE2; L = 4: AVX,
       chosen at run time), one independent stream of samples per lane: per lane
       exactly the operations of _carl_run (IEEE add, sub, mul and sign-bit clearing
       give the same bits packed or not; no FMA is enabled).  Rings are interleaved
       (slot s of lane l at [L * s + l]) and passed at their current slots; the caller
       guarantees that the ``run`` steps neither wrap a ring nor re-anchor a sum.
       x[l]: lane l's next sample; o[l]: where its next output goes, advanced by os[l]
       (0: discarded into one slot) per step.  st = [sa, ssta, sd, sstar, sta_prev],
       L values each. */
    #if defined(__SSE2__)
    #define QW_CARL2(NAME, T)                                                             \\
    static void NAME(const T* const* x, Py_ssize_t run, double* const* o, const Py_ssize_t* os, \\
                     double isa, double ila, double ratio, double quiet, double* ra,      \\
                     double* rs, double* rd, double* rr, double* st) {                    \\
        const T* xa = x[0]; const T* xb = x[1];                                           \\
        double* oa = o[0]; double* ob = o[1]; const Py_ssize_t sa_ = os[0], sb_ = os[1];  \\
        __m128d sa = _mm_loadu_pd(st), ssta = _mm_loadu_pd(st + 2), sd = _mm_loadu_pd(st + 4); \\
        __m128d sstar = _mm_loadu_pd(st + 6), sp = _mm_loadu_pd(st + 8);                  \\
        const __m128d is = _mm_set1_pd(isa), il = _mm_set1_pd(ila);                       \\
        const __m128d r = _mm_set1_pd(ratio), q = _mm_set1_pd(quiet);                     \\
        const __m128d ab = _mm_castsi128_pd(_mm_set1_epi64x(0x7fffffffffffffffLL));       \\
        Py_ssize_t j;                                                                     \\
        for (j = 0; j < run; j++) {                                                       \\
            __m128d v = _mm_set_pd((double)xb[j], (double)xa[j]);                         \\
            __m128d sta_k = _mm_mul_pd(sa, is), lta_k = _mm_mul_pd(ssta, il);             \\
            __m128d star_k = _mm_mul_pd(sd, is), ltar_k = _mm_mul_pd(sstar, il);          \\
            __m128d e = _mm_sub_pd(star_k, _mm_mul_pd(r, ltar_k));                        \\
            e = _mm_sub_pd(_mm_sub_pd(e, _mm_and_pd(_mm_sub_pd(sta_k, lta_k), ab)), q);   \\
            _mm_storel_pd(oa, e); oa += sa_;                                              \\
            _mm_storeh_pd(ob, e); ob += sb_;                                              \\
            __m128d old = _mm_loadu_pd(ra + 2 * j); _mm_storeu_pd(ra + 2 * j, v);         \\
            sa = _mm_add_pd(sa, _mm_sub_pd(v, old));                                      \\
            old = _mm_loadu_pd(rs + 2 * j); _mm_storeu_pd(rs + 2 * j, sp);                \\
            ssta = _mm_add_pd(ssta, _mm_sub_pd(sp, old));                                 \\
            sp = sta_k;                                                                   \\
            __m128d dv = _mm_and_pd(_mm_sub_pd(v, lta_k), ab);                            \\
            old = _mm_loadu_pd(rd + 2 * j); _mm_storeu_pd(rd + 2 * j, dv);                \\
            sd = _mm_add_pd(sd, _mm_sub_pd(dv, old));                                     \\
            old = _mm_loadu_pd(rr + 2 * j); _mm_storeu_pd(rr + 2 * j, star_k);            \\
            sstar = _mm_add_pd(sstar, _mm_sub_pd(star_k, old));                           \\
        }                                                                                 \\
        _mm_storeu_pd(st, sa); _mm_storeu_pd(st + 2, ssta); _mm_storeu_pd(st + 4, sd);    \\
        _mm_storeu_pd(st + 6, sstar); _mm_storeu_pd(st + 8, sp);                          \\
    }
    #else
    #define QW_CARL2(NAME, T)                                                             \\
    static void NAME(const T* const* x, Py_ssize_t run, double* const* o, const Py_ssize_t* os, \\
                     double isa, double ila, double ratio, double quiet, double* ra,      \\
                     double* rs, double* rd, double* rr, double* st) {                    \\
        Py_ssize_t j; int l;                                                              \\
        for (l = 0; l < 2; l++) {                                                         \\
            double sa = st[l], ssta = st[2 + l], sd = st[4 + l], sstar = st[6 + l], sp = st[8 + l]; \\
            double* out = o[l];                                                           \\
            for (j = 0; j < run; j++) {                                                   \\
                double v = (double)x[l][j];                                               \\
                double sta_k = sa * isa, lta_k = ssta * ila, star_k = sd * isa, ltar_k = sstar * ila; \\
                *out = star_k - ratio * ltar_k - fabs(sta_k - lta_k) - quiet; out += os[l]; \\
                double old = ra[2 * j + l]; ra[2 * j + l] = v; sa = sa + (v - old);       \\
                old = rs[2 * j + l]; rs[2 * j + l] = sp; ssta = ssta + (sp - old); sp = sta_k; \\
                double dv = fabs(v - lta_k);                                              \\
                old = rd[2 * j + l]; rd[2 * j + l] = dv; sd = sd + (dv - old);            \\
                old = rr[2 * j + l]; rr[2 * j + l] = star_k; sstar = sstar + (star_k - old); \\
            }                                                                             \\
            st[l] = sa; st[2 + l] = ssta; st[4 + l] = sd; st[6 + l] = sstar; st[8 + l] = sp; \\
        }                                                                                 \\
    }
    #endif
    QW_CARL2(qw_carl2_f64, double)
    QW_CARL2(qw_carl2_f32, float)
    QW_CARL2(qw_carl2_i32, int)

    #if defined(QW_HAVE_AVX_DISPATCH)
    #define QW_CARL4(NAME, T)                                                             \\
    __attribute__((target("avx")))                                                        \\
    static void NAME(const T* const* x, Py_ssize_t run, double* const* o, const Py_ssize_t* os, \\
                     double isa, double ila, double ratio, double quiet, double* ra,      \\
                     double* rs, double* rd, double* rr, double* st) {                    \\
        const T* p[4] = {x[0], x[1], x[2], x[3]};                                         \\
        double* o0 = o[0]; double* o1 = o[1]; double* o2 = o[2]; double* o3 = o[3];       \\
        const Py_ssize_t s0 = os[0], s1 = os[1], s2 = os[2], s3 = os[3];                  \\
        __m256d sa = _mm256_loadu_pd(st), ssta = _mm256_loadu_pd(st + 4);                 \\
        __m256d sd = _mm256_loadu_pd(st + 8), sstar = _mm256_loadu_pd(st + 12);           \\
        __m256d sp = _mm256_loadu_pd(st + 16);                                            \\
        const __m256d is = _mm256_set1_pd(isa), il = _mm256_set1_pd(ila);                 \\
        const __m256d r = _mm256_set1_pd(ratio), q = _mm256_set1_pd(quiet);               \\
        const __m256d ab = _mm256_castsi256_pd(_mm256_set1_epi64x(0x7fffffffffffffffLL)); \\
        Py_ssize_t j;                                                                     \\
        for (j = 0; j < run; j++) {                                                       \\
            __m256d v = QW_LD4_##T(p, j);                                                 \\
            __m256d sta_k = _mm256_mul_pd(sa, is), lta_k = _mm256_mul_pd(ssta, il);       \\
            __m256d star_k = _mm256_mul_pd(sd, is), ltar_k = _mm256_mul_pd(sstar, il);    \\
            __m256d e = _mm256_sub_pd(star_k, _mm256_mul_pd(r, ltar_k));                  \\
            e = _mm256_sub_pd(_mm256_sub_pd(e, _mm256_and_pd(_mm256_sub_pd(sta_k, lta_k), ab)), q); \\
            __m128d lo = _mm256_castpd256_pd128(e), hi = _mm256_extractf128_pd(e, 1);     \\
            _mm_storel_pd(o0, lo); o0 += s0; _mm_storeh_pd(o1, lo); o1 += s1;             \\
            _mm_storel_pd(o2, hi); o2 += s2; _mm_storeh_pd(o3, hi); o3 += s3;             \\
            __m256d old = _mm256_loadu_pd(ra + 4 * j); _mm256_storeu_pd(ra + 4 * j, v);   \\
            sa = _mm256_add_pd(sa, _mm256_sub_pd(v, old));                                \\
            old = _mm256_loadu_pd(rs + 4 * j); _mm256_storeu_pd(rs + 4 * j, sp);          \\
            ssta = _mm256_add_pd(ssta, _mm256_sub_pd(sp, old));                           \\
            sp = sta_k;                                                                   \\
            __m256d dv = _mm256_and_pd(_mm256_sub_pd(v, lta_k), ab);                      \\
            old = _mm256_loadu_pd(rd + 4 * j); _mm256_storeu_pd(rd + 4 * j, dv);          \\
            sd = _mm256_add_pd(sd, _mm256_sub_pd(dv, old));                               \\
            old = _mm256_loadu_pd(rr + 4 * j); _mm256_storeu_pd(rr + 4 * j, star_k);      \\
            sstar = _mm256_add_pd(sstar, _mm256_sub_pd(star_k, old));                     \\
        }                                                                                 \\
        _mm256_storeu_pd(st, sa); _mm256_storeu_pd(st + 4, ssta); _mm256_storeu_pd(st + 8, sd); \\
        _mm256_storeu_pd(st + 12, sstar); _mm256_storeu_pd(st + 16, sp);                  \\
    }
    #else
    #define QW_CARL4(NAME, T)                                                             \\
    static void NAME(const T* const* x, Py_ssize_t run, double* const* o, const Py_ssize_t* os, \\
                     double isa, double ila, double ratio, double quiet, double* ra,      \\
                     double* rs, double* rd, double* rr, double* st) { }
    #endif
    QW_CARL4(qw_carl4_f64, double)
    QW_CARL4(qw_carl4_f32, float)
    QW_CARL4(qw_carl4_i32, int)
    """
    void _carl2_f64 "qw_carl2_f64"(const float64_t** x, Py_ssize_t run, float64_t** o, const Py_ssize_t* os, float64_t isa, float64_t ila, float64_t ratio, float64_t quiet, float64_t* ra, float64_t* rs, float64_t* rd, float64_t* rr, float64_t* st) noexcept nogil
    void _carl2_f32 "qw_carl2_f32"(const float32_t** x, Py_ssize_t run, float64_t** o, const Py_ssize_t* os, float64_t isa, float64_t ila, float64_t ratio, float64_t quiet, float64_t* ra, float64_t* rs, float64_t* rd, float64_t* rr, float64_t* st) noexcept nogil
    void _carl2_i32 "qw_carl2_i32"(const int32_t** x, Py_ssize_t run, float64_t** o, const Py_ssize_t* os, float64_t isa, float64_t ila, float64_t ratio, float64_t quiet, float64_t* ra, float64_t* rs, float64_t* rd, float64_t* rr, float64_t* st) noexcept nogil
    void _carl4_f64 "qw_carl4_f64"(const float64_t** x, Py_ssize_t run, float64_t** o, const Py_ssize_t* os, float64_t isa, float64_t ila, float64_t ratio, float64_t quiet, float64_t* ra, float64_t* rs, float64_t* rd, float64_t* rr, float64_t* st) noexcept nogil
    void _carl4_f32 "qw_carl4_f32"(const float32_t** x, Py_ssize_t run, float64_t** o, const Py_ssize_t* os, float64_t isa, float64_t ila, float64_t ratio, float64_t quiet, float64_t* ra, float64_t* rs, float64_t* rd, float64_t* rr, float64_t* st) noexcept nogil
    void _carl4_i32 "qw_carl4_i32"(const int32_t** x, Py_ssize_t run, float64_t** o, const Py_ssize_t* os, float64_t isa, float64_t ila, float64_t ratio, float64_t quiet, float64_t* ra, float64_t* rs, float64_t* rd, float64_t* rr, float64_t* st) noexcept nogil


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


cdef inline int64_t _chunk_start(Py_ssize_t h, int64_t first, int64_t lead) noexcept nogil:
    """First sample of chunk ``h`` of a row: chunk 0 has ``first`` samples, the others
    ``first - lead`` (they first spend ``lead`` samples rebuilding their start state)."""
    return 0 if h == 0 else first + (h - 1) * (first - lead)


cdef inline int64_t _chunk_end(Py_ssize_t h, Py_ssize_t nch, int64_t n, int64_t first, int64_t lead) noexcept nogil:
    """End of chunk ``h`` of ``nch`` (the last one ends at ``n``).  (Values, not pointers:
    inside ``prange`` a variable is thread-private only if the loop body assigns it.)"""
    return n if h == nch - 1 else first + h * (first - lead)


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


cdef void _recursive_advance(
    const sample_t* x, Py_ssize_t n, int64_t start, Py_ssize_t nsta, Py_ssize_t nlta, float64_t* state,
) noexcept nogil:
    """``_recursive_row``'s state update over ``n`` samples, without output."""
    cdef float64_t csta = 1.0 / nsta, clta = 1.0 / nlta
    cdef float64_t icsta = 1.0 - csta, iclta = 1.0 - clta
    cdef float64_t sta = state[0], lta = state[1], v, sq
    cdef Py_ssize_t i = 1 if start == 0 else 0
    while i < n:
        v = <float64_t>x[i]
        sq = v * v
        sta = csta * sq + icsta * sta
        lta = clta * sq + iclta * lta
        i += 1
    state[0] = sta
    state[1] = lta


# Speculative chunks of one row (recursive STA/LTA): state checkpoints every REC_CHECK samples.
cdef Py_ssize_t REC_CHECK = 1 << 16


cdef inline int64_t _recursive_lead(Py_ssize_t nlta) noexcept nogil:
    """Samples a speculative chunk runs before its first output.  From any start the
    recursions forget their state like (1 - 1/nlta)^k: after ~37 nlta samples the
    difference is below one ulp, and the rounded trajectories then meet (bit for bit)
    within a few nlta more in our tests (noise, counts, constant input)."""
    return 64 * <int64_t>nlta + 4096


cdef void _recursive_spec_chunk(
    const sample_t* x, int64_t k0, int64_t k1, Py_ssize_t nsta, Py_ssize_t nlta,
    float64_t* guess, float64_t* checks, float64_t* out,
) noexcept nogil:
    """Samples ``[k0, k1)`` of a row (``x``, ``out``: the whole row) computed by
    ``_recursive_row`` from a guessed state at ``k0``: the exact recursion run from the
    initial state over the ``_recursive_lead`` samples before ``k0``.  ``guess`` gets
    that state, ``checks[2j: 2j + 2]`` the state after each piece of ``REC_CHECK``
    samples (the last one: after ``k1 - 1``).  ``_recursive_fix_chunk`` then makes the
    result exact."""
    cdef float64_t st[2]
    cdef int64_t w0 = max(<int64_t>0, k0 - _recursive_lead(nlta)), k = k0, m
    cdef Py_ssize_t j = 0
    st[0] = 0.0
    st[1] = REC_LTA_SEED
    _recursive_advance(x + w0, k0 - w0, w0, nsta, nlta, st)
    guess[0] = st[0]
    guess[1] = st[1]
    while k < k1:
        m = min(<int64_t>REC_CHECK, k1 - k)
        _recursive_row(x + k, m, k, nsta, nlta, st, out + k)
        checks[2 * j] = st[0]
        checks[2 * j + 1] = st[1]
        j += 1
        k += m


cdef void _recursive_fix_chunk(
    const sample_t* x, int64_t k0, int64_t k1, Py_ssize_t nsta, Py_ssize_t nlta,
    const float64_t* exact, const float64_t* guess, float64_t* checks, float64_t* out,
) noexcept nogil:
    """Make a speculative chunk exact, given the exact state ``exact`` at ``k0`` (the
    previous chunk's last checkpoint once that chunk is exact).  The recursion is a
    deterministic function of (state, samples), so if the guessed state has the same
    bits every output and checkpoint already is exact; else the chunk is recomputed
    from ``exact`` until a checkpoint has the same bits as the speculative one (the
    rest is then exact too), updating the checkpoints on the way."""
    cdef float64_t st[2]
    cdef int64_t k = k0, m
    cdef Py_ssize_t j = 0
    if memcmp(exact, guess, 2 * sizeof(float64_t)) == 0:
        return
    st[0] = exact[0]
    st[1] = exact[1]
    while k < k1:
        m = min(<int64_t>REC_CHECK, k1 - k)
        _recursive_row(x + k, m, k, nsta, nlta, st, out + k)
        if memcmp(st, checks + 2 * j, 2 * sizeof(float64_t)) == 0:
            return
        checks[2 * j] = st[0]
        checks[2 * j + 1] = st[1]
        j += 1
        k += m


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


cdef struct ClassicItem:
    # one (row, chunk) work item of the batch classic STA/LTA
    Py_ssize_t i      # next sample
    Py_ssize_t stop   # end of the steady part (the re-anchoring sample ``last``, or the chunk end)
    Py_ssize_t last   # sample of the periodic re-anchoring at the chunk end, or -1
    float64_t ss, ls, ts, tl


cdef void _classic_chunk_head(
    const sample_t* x, Py_ssize_t nsta, Py_ssize_t nlta, Py_ssize_t k0, Py_ssize_t k1,
    ClassicItem* it, float64_t* out,
) noexcept nogil:
    """Start the work item ``[k0, k1)`` (``k0`` a multiple of the period): sums after sample
    ``k0 - 1`` (exact), then the warm-up samples ``i < nlta`` (nothing leaves the LTA
    window yet).  ``_classic_steady`` and ``_classic_chunk_tail`` finish it.

    Together these are ``_classic_row`` over ``[k0, k1)`` started from the re-anchored
    state after sample ``k0 - 1``, reading the leaving samples from the input instead of
    a ring: the same operations on the same values, hence the same bits (tested).
    """
    cdef float64_t ksta = (nsta + 4.0) / EXACT_C, klta = (nlta + 4.0) / EXACT_C
    cdef float64_t ratio = <float64_t>nlta / <float64_t>nsta
    cdef float64_t ss = 0.0, ls = 0.0, ts = 0.0, tl = 0.0
    cdef float64_t v, sq, vs, old_s
    cdef int64_t period = _classic_period(nlta)
    cdef Py_ssize_t i = k0, stop
    it.last = -1
    if k1 % period == 0:
        it.last = k1 - 1  # periodic re-anchoring at the chunk's last sample (>= period - 1 >= nlta)
    if k0 > 0:
        ss = _input_sq_sum(x, k0 - 1, nsta)
        ts = ss
        ls = _input_sq_sum(x, k0 - 1, nlta)
        tl = ls
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
    it.i = i
    it.stop = it.last if it.last >= 0 else k1
    it.ss = ss
    it.ls = ls
    it.ts = ts
    it.tl = tl


cdef void _classic_steady(
    const sample_t* x, Py_ssize_t nsta, Py_ssize_t nlta, ClassicItem* it, Py_ssize_t stop, float64_t* out,
) noexcept nogil:
    """Samples ``[it.i, stop)`` of a work item, all with ``i >= nlta``."""
    cdef float64_t ksta = (nsta + 4.0) / EXACT_C, klta = (nlta + 4.0) / EXACT_C
    cdef float64_t ratio = <float64_t>nlta / <float64_t>nsta
    cdef float64_t ss = it.ss, ls = it.ls, ts = it.ts, tl = it.tl
    cdef float64_t v, sq, vs, old_s, vl, old_l
    cdef Py_ssize_t i = it.i
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
    it.i = i
    it.ss = ss
    it.ls = ls
    it.ts = ts
    it.tl = tl


cdef void _classic_lanes(
    int nl, const sample_t** xs, ClassicItem** its, float64_t** outs, Py_ssize_t nsta, Py_ssize_t nlta,
) noexcept nogil:
    """``_classic_steady`` of ``nl`` (2 or 4) work items side by side, one per SIMD lane
    (``qw_classic2`` / ``qw_classic4``), for as many samples as all of them have left;
    a sample where a lane needs an exact recomputation is finished here, as in
    ``_classic_steady``."""
    cdef float64_t ksta = (nsta + 4.0) / EXACT_C, klta = (nlta + 4.0) / EXACT_C
    cdef float64_t ratio = <float64_t>nlta / <float64_t>nsta
    cdef float64_t st[16]  # [ss(nl), ls(nl), ts(nl), tl(nl)]
    cdef const sample_t* xp[4]
    cdef float64_t* op[4]
    cdef Py_ssize_t m = its[0].stop - its[0].i, done
    cdef int ev = 0, j
    for j in range(1, nl):
        m = min(m, its[j].stop - its[j].i)
    if m <= 0:
        return
    for j in range(nl):
        st[j] = its[j].ss
        st[nl + j] = its[j].ls
        st[2 * nl + j] = its[j].ts
        st[3 * nl + j] = its[j].tl
    while m > 0:
        for j in range(nl):
            xp[j] = xs[j] + its[j].i
            op[j] = outs[j] + its[j].i
        if nl == 4:
            if sample_t is float64_t:
                done = _classic4_f64(xp, m, nsta, nlta, ksta, klta, ratio, st, op, &ev)
            elif sample_t is float32_t:
                done = _classic4_f32(xp, m, nsta, nlta, ksta, klta, ratio, st, op, &ev)
            else:
                done = _classic4_i32(xp, m, nsta, nlta, ksta, klta, ratio, st, op, &ev)
        else:
            if sample_t is float64_t:
                done = _classic2_f64(xp, m, nsta, nlta, ksta, klta, ratio, st, op, &ev)
            elif sample_t is float32_t:
                done = _classic2_f32(xp, m, nsta, nlta, ksta, klta, ratio, st, op, &ev)
            else:
                done = _classic2_i32(xp, m, nsta, nlta, ksta, klta, ratio, st, op, &ev)
        for j in range(nl):
            its[j].i += done
        m -= done
        if m == 0:
            break
        # sample its[j].i of every lane: sums after the push in st, output not written yet
        for j in range(nl):
            if ev & (1 << j):
                st[j] = _input_sq_sum(xs[j], its[j].i, nsta)
                st[2 * nl + j] = st[j]
            if ev & (1 << (nl + j)):
                st[nl + j] = _input_sq_sum(xs[j], its[j].i, nlta)
                st[3 * nl + j] = st[nl + j]
            outs[j][its[j].i] = st[j] / st[nl + j] * ratio if st[nl + j] != 0.0 else 0.0
            its[j].i += 1
        m -= 1
    for j in range(nl):
        its[j].ss = st[j]
        its[j].ls = st[nl + j]
        its[j].ts = st[2 * nl + j]
        its[j].tl = st[3 * nl + j]


cdef void _classic_chunk_tail(
    const sample_t* x, Py_ssize_t nsta, Py_ssize_t nlta, ClassicItem* it, float64_t* out,
) noexcept nogil:
    """The last sample of a work item that ends at a periodic re-anchoring: the sums
    after its push are replaced by exact ones."""
    cdef float64_t ratio = <float64_t>nlta / <float64_t>nsta
    cdef float64_t ss, ls
    if it.i == it.last:
        ss = _input_sq_sum(x, it.i, nsta)
        ls = _input_sq_sum(x, it.i, nlta)
        out[it.i] = ss / ls * ratio if ls != 0.0 else 0.0


cdef void _classic_batch_group(
    const sample_t* x, Py_ssize_t nrows, Py_ssize_t n, Py_ssize_t nsta, Py_ssize_t nlta,
    Py_ssize_t w0, int g, Py_ssize_t nitems, float64_t* out,
) noexcept nogil:
    """Work items ``w0 .. w0 + g - 1`` (those ``< nitems``; ``g`` = 1, 2 or 4) of the batch
    classic STA/LTA, side by side in SIMD lanes while all have samples left.  Item ``w``
    is chunk ``w // nrows`` of row ``w % nrows`` (chunk ``h`` = samples
    ``[hP, min(n, (h + 1)P))``), so the items of a group mostly have the same length."""
    cdef Py_ssize_t period = <Py_ssize_t>_classic_period(nlta)
    cdef ClassicItem items[4]
    cdef ClassicItem* its[4]
    cdef const sample_t* xs[4]
    cdef float64_t* outs[4]
    cdef Py_ssize_t k0, w
    cdef int j, m = 0
    for j in range(g):
        w = w0 + j
        if w >= nitems:
            break
        xs[j] = x + (w % nrows) * n
        outs[j] = out + (w % nrows) * n
        its[j] = &items[j]
        k0 = (w // nrows) * period
        _classic_chunk_head(xs[j], nsta, nlta, k0, min(n, k0 + period), its[j], outs[j])
        m += 1
    if m == 4:
        _classic_lanes(4, xs, its, outs, nsta, nlta)
    if m >= 2:  # what is left of items of different lengths, two at a time
        _classic_lanes(2, xs, its, outs, nsta, nlta)
    if m == 4:
        _classic_lanes(2, xs + 2, its + 2, outs + 2, nsta, nlta)
    for j in range(m):
        _classic_steady(xs[j], nsta, nlta, its[j], its[j].stop, outs[j])
        _classic_chunk_tail(xs[j], nsta, nlta, its[j], outs[j])


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
    from the input as in ``_classic_chunk_head`` and started exactly (Neumaier) at ``j0``.
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


cdef inline int64_t _next_at(int64_t k, int64_t r, int64_t period) noexcept nogil:
    """Smallest ``k' >= k`` with ``k' = r (mod period)``."""
    return k + _mod(r - k, period)


cdef int64_t _carl_exact_from(int64_t s, Py_ssize_t nsta, Py_ssize_t nlta) noexcept nogil:
    """Last sample ``k_R`` whose step ``_carl_row`` may still get wrong when started at
    sample ``s`` from an arbitrary state (zero rings and sums): every state value is
    exact after step ``k_R`` and so is every output from sample ``k_R + 1`` on.

    A running sum is exact after its first re-anchoring (recomputation from its ring)
    at which the ring holds ``w`` exact values; the rings feed each other in the
    order a (samples) -> sta (STA values) -> d (|x - LTA|) -> star (STAR values):

    * a: ring exact after step ``s + nsta - 1``; anchors after steps ``16 nsta - 1 (mod 16 nsta)``;
    * sta: pushes STA[k - 1] at step ``k``, exact from ``k_a + 2`` on, ring exact after
      ``k_a + 1 + nlta``; anchors after steps ``0 (mod 16 nlta)``;
    * d: pushes |x[k] - LTA[k]|, exact from ``k_sta + 1``; anchors as a;
    * star: pushes STAR[k], exact from ``k_d + 1``; anchors after steps ``16 nlta - 1 (mod 16 nlta)``.

    Hence ``k_R - s <= (17 nsta - 2) + 17 nlta + (17 nsta - 1) + (17 nlta - 1) = 34 (nsta + nlta) - 4``.
    """
    cdef int64_t pa = ANCHOR_EVERY * nsta, pl = ANCHOR_EVERY * nlta
    cdef int64_t ka = _next_at(s + nsta - 1, pa - 1, pa)
    cdef int64_t ks = _next_at(ka + 1 + nlta, 0, pl)
    cdef int64_t kd = _next_at(ks + nsta, pa - 1, pa)
    return _next_at(kd + nlta, pl - 1, pl)


cdef int64_t _carl_replay_start(int64_t k0, Py_ssize_t nsta, Py_ssize_t nlta) noexcept nogil:
    """Latest sample ``s <= k0`` from which ``_carl_row``, started with zero state, has
    the exact state at sample ``k0`` (0 when the record start is that close: the zero
    state IS the exact state at sample 0)."""
    cdef int64_t lo = k0 - (2 * ANCHOR_EVERY + 2) * (<int64_t>nsta + nlta), hi = k0, mid
    if lo <= 0:
        return 0
    # _carl_exact_from is non-decreasing in s and lo qualifies (k_R - s <= 34 (nsta + nlta) - 4)
    while hi - lo > 1:
        mid = lo + (hi - lo) // 2
        if _carl_exact_from(mid, nsta, nlta) < k0:
            lo = mid
        else:
            hi = mid
    return lo


# replay of a carl_sta_trig chunk's lead-in writes its (discarded) output in pieces of this size
cdef Py_ssize_t CARL_SCRATCH = 4096


cdef void _carl_chunk(
    const sample_t* x, int64_t k0, int64_t k1, Py_ssize_t nsta, Py_ssize_t nlta, float64_t ratio,
    float64_t quiet, float64_t* ring, float64_t* scratch, float64_t* out,
) noexcept nogil:
    """carl_sta_trig of one row at samples ``[k0, k1)`` (``x``, ``out``: the whole row),
    bit-identical to ``_carl_row`` over the whole row: the state at ``k0`` is rebuilt by
    running ``_carl_row`` from ``_carl_replay_start(k0)`` with zero state, output discarded."""
    cdef float64_t st[5]
    cdef int64_t k = _carl_replay_start(k0, nsta, nlta), m
    memset(ring, 0, 2 * (nsta + nlta) * sizeof(float64_t))
    memset(st, 0, 5 * sizeof(float64_t))
    while k < k0:
        m = min(k0 - k, <int64_t>CARL_SCRATCH)
        _carl_row(x + k, m, k, nsta, nlta, ratio, quiet, st, ring, scratch)
        k += m
    _carl_row(x + k0, k1 - k0, k0, nsta, nlta, ratio, quiet, st, ring, out + k0)


cdef float64_t _lane_ring_sum(const float64_t* ring, Py_ssize_t w, Py_ssize_t start, int nl, int lane) noexcept nogil:
    """``_ring_sum`` of lane ``lane`` of an interleaved ring (slot ``j`` at ``ring[nl * j + lane]``),
    oldest value at slot ``start``: the same values in the same (chronological) order."""
    cdef Py_ssize_t j = start % w, m
    cdef float64_t s = 0.0, c = 0.0, v, t
    for m in range(w):
        v = ring[nl * j + lane]
        t = s + v
        if fabs(s) >= fabs(v):
            c += (s - t) + v
        else:
            c += (v - t) + s
        s = t
        j += 1
        if j == w:
            j = 0
    return s + c


cdef void _carl_ring_to_lane(const float64_t* ring, Py_ssize_t nsta, Py_ssize_t nlta, int64_t k,
                             float64_t* lanes, int nl, int lane) noexcept nogil:
    """Copy the rings of ``_carl_row`` (element ``e`` at slot ``e mod w``) into lane ``lane``
    of interleaved rings whose slot 0 holds element ``k`` (mod w), ``k`` = the lane's first sample."""
    cdef Py_ssize_t off = 0, i, w
    cdef int r
    for r in range(4):
        w = nsta if r % 2 == 0 else nlta
        for i in range(w):
            lanes[nl * (off + i) + lane] = ring[off + _mod(k + i, w)]
        off += w


cdef void _carl_lane_to_ring(const float64_t* lanes, int nl, int lane, Py_ssize_t nsta, Py_ssize_t nlta,
                             int64_t k, float64_t* ring) noexcept nogil:
    """Inverse of ``_carl_ring_to_lane``."""
    cdef Py_ssize_t off = 0, i, w
    cdef int r
    for r in range(4):
        w = nsta if r % 2 == 0 else nlta
        for i in range(w):
            ring[off + _mod(k + i, w)] = lanes[nl * (off + i) + lane]
        off += w


cdef void _carl_lockstep(
    const sample_t* x, int nl, const int64_t* base, const int64_t* first, int64_t m,
    Py_ssize_t nsta, Py_ssize_t nlta, float64_t ratio, float64_t quiet,
    float64_t* lr, float64_t* lst, float64_t* dummy, float64_t* out,
) noexcept nogil:
    """``m`` steps of ``_carl_row`` for ``nl`` (2 or 4) lanes at once (``qw_carl2`` /
    ``qw_carl4``): lane ``l`` processes samples ``base[l] + i`` of the row ``x``
    (``base[l] >= nlta + 1``: every window warm) and writes the outputs of samples
    ``>= first[l]`` into ``out``.  Interleaved rings ``lr`` = [a | sta | d | star]
    (slot 0 of every ring = element ``base[l]``), states ``lst`` = [sa, ssta, sd,
    sstar, sta_prev] x ``nl``.  Every lane keeps its own re-anchoring positions
    (absolute sample indices, as ``_carl_row``): runs stop before a step that
    re-anchors some lane; that step is run on its own, then the lane's sums are
    recomputed from its ring as ``_signed_push`` does."""
    cdef float64_t isa = 1.0 / nsta, ila = 1.0 / nlta
    cdef float64_t* ra = lr
    cdef float64_t* rs = lr + nl * nsta
    cdef float64_t* rd = lr + nl * (nsta + nlta)
    cdef float64_t* rr = lr + nl * (2 * nsta + nlta)
    cdef int64_t psa = ANCHOR_EVERY * nsta, pla = ANCHOR_EVERY * nlta
    cdef int64_t ca[4]
    cdef int64_t cl[4]
    cdef int64_t cl1[4]
    cdef const sample_t* xp[4]
    cdef float64_t* op[4]
    cdef Py_ssize_t ostr[4]
    cdef int64_t i = 0, run, k
    cdef Py_ssize_t pa = 0, pl = 0, pl1 = nlta - 1  # shared slots; the sta ring holds element k - 1
    cdef int j
    cdef bint event
    for j in range(nl):
        ca[j] = _mod(psa - 1 - base[j], psa)
        cl[j] = _mod(pla - 1 - base[j], pla)
        cl1[j] = _mod(pla - base[j], pla)
    while i < m:
        run = min(m - i, min(nsta - pa, min(nlta - pl, nlta - pl1)))
        for j in range(nl):
            run = min(run, min(ca[j], min(cl[j], cl1[j])))
            k = base[j] + i
            if k < first[j]:
                run = min(run, first[j] - k)
        event = run == 0
        if event:
            run = 1
        for j in range(nl):
            k = base[j] + i
            xp[j] = x + k
            if k >= first[j]:
                op[j] = out + k
                ostr[j] = 1
            else:
                op[j] = dummy
                ostr[j] = 0
        if nl == 4:
            if sample_t is float64_t:
                _carl4_f64(xp, run, op, ostr, isa, ila, ratio, quiet, ra + nl * pa, rs + nl * pl1, rd + nl * pa, rr + nl * pl, lst)
            elif sample_t is float32_t:
                _carl4_f32(xp, run, op, ostr, isa, ila, ratio, quiet, ra + nl * pa, rs + nl * pl1, rd + nl * pa, rr + nl * pl, lst)
            else:
                _carl4_i32(xp, run, op, ostr, isa, ila, ratio, quiet, ra + nl * pa, rs + nl * pl1, rd + nl * pa, rr + nl * pl, lst)
        else:
            if sample_t is float64_t:
                _carl2_f64(xp, run, op, ostr, isa, ila, ratio, quiet, ra + nl * pa, rs + nl * pl1, rd + nl * pa, rr + nl * pl, lst)
            elif sample_t is float32_t:
                _carl2_f32(xp, run, op, ostr, isa, ila, ratio, quiet, ra + nl * pa, rs + nl * pl1, rd + nl * pa, rr + nl * pl, lst)
            else:
                _carl2_i32(xp, run, op, ostr, isa, ila, ratio, quiet, ra + nl * pa, rs + nl * pl1, rd + nl * pa, rr + nl * pl, lst)
        if event:  # re-anchor: sums after this step's push, recomputed from the rings
            for j in range(nl):
                if ca[j] == 0:
                    lst[j] = _lane_ring_sum(ra, nsta, pa + 1, nl, j)
                    lst[2 * nl + j] = _lane_ring_sum(rd, nsta, pa + 1, nl, j)
                if cl1[j] == 0:
                    lst[nl + j] = _lane_ring_sum(rs, nlta, pl1 + 1, nl, j)
                if cl[j] == 0:
                    lst[3 * nl + j] = _lane_ring_sum(rr, nlta, pl + 1, nl, j)
        i += run
        pa += run
        if pa == nsta:
            pa = 0
        pl += run
        if pl == nlta:
            pl = 0
        pl1 += run
        if pl1 == nlta:
            pl1 = 0
        for j in range(nl):
            ca[j] -= run
            if ca[j] < 0:
                ca[j] += psa
            cl[j] -= run
            if cl[j] < 0:
                cl[j] += pla
            cl1[j] -= run
            if cl1[j] < 0:
                cl1[j] += pla


cdef int64_t _carl_lane_plan(int nl, int64_t b0, int64_t f0, int64_t m, Py_ssize_t nsta, Py_ssize_t nlta,
                             int64_t* base, int64_t* first) noexcept nogil:
    """Lanes of ``m`` steps each covering consecutive outputs from ``f0`` on: lane 0 starts
    at ``b0`` (its state there exact), lane ``l >= 1`` outputs from ``first[l]`` = where
    lane ``l - 1`` stops and starts at ``base[l] = _carl_replay_start(first[l])``.
    Returns the sample after the last output (``base[nl - 1] + m``)."""
    cdef int j
    base[0] = b0
    first[0] = f0
    for j in range(1, nl):
        first[j] = base[j - 1] + m
        base[j] = _carl_replay_start(first[j], nsta, nlta)
    return base[nl - 1] + m


cdef void _carl_lanes_chunk(
    const sample_t* x, int64_t k0, int64_t k1, Py_ssize_t nsta, Py_ssize_t nlta, float64_t ratio,
    float64_t quiet, int nl, float64_t* work, float64_t* out,
) noexcept nogil:
    """``_carl_chunk`` (same bits) with ``nl`` sub-chunks of ``[k0, k1)`` side by side in SIMD
    lanes (``_carl_lockstep``); each lane rebuilds its start state exactly by running from
    ``_carl_replay_start`` with zero state, output discarded.  Falls back to
    ``_carl_chunk`` when the chunk is too short for that.  ``work``: ``_carl_work_size(nsta, nlta, nl)``."""
    cdef Py_ssize_t rl = 2 * (nsta + nlta)
    cdef float64_t* ring = work
    cdef float64_t* st = work + rl
    cdef float64_t* scratch = st + 8
    cdef float64_t* lst = scratch + CARL_SCRATCH
    cdef float64_t* lr = lst + 20
    cdef int64_t base[4]
    cdef int64_t first[4]
    cdef int64_t b0, lo, hi, mid, end
    cdef int j
    # lane 0: from the record start (warm-up run on its own first) or from a replay
    if k0 == 0:
        b0 = nlta + 1
    else:
        b0 = _carl_replay_start(k0, nsta, nlta)
    # longest lanes whose outputs stay inside [k0, k1)
    lo = 0
    hi = k1 - k0
    while hi - lo > 1:
        mid = lo + (hi - lo) // 2
        if _carl_lane_plan(nl, b0, max(k0, b0), mid, nsta, nlta, base, first) <= k1:
            lo = mid
        else:
            hi = mid
    end = _carl_lane_plan(nl, b0, max(k0, b0), lo, nsta, nlta, base, first)
    for j in range(nl):
        # every lane warm (no warm-up branches) and with outputs of its own
        if base[j] < nlta + 1 or first[j] >= base[j] + lo or (k0 == 0 and b0 >= k1):
            _carl_chunk(x, k0, k1, nsta, nlta, ratio, quiet, ring, scratch, out)
            return
    memset(lr, 0, nl * rl * sizeof(float64_t))
    memset(lst, 0, 5 * nl * sizeof(float64_t))
    if k0 == 0:  # exact start: warm-up samples [0, b0) by _carl_row, then lane 0 continues
        memset(ring, 0, rl * sizeof(float64_t))
        memset(st, 0, 5 * sizeof(float64_t))
        _carl_row(x, b0, 0, nsta, nlta, ratio, quiet, st, ring, out)
        _carl_ring_to_lane(ring, nsta, nlta, b0, lr, nl, 0)
        for j in range(5):
            lst[j * nl] = st[j]
    _carl_lockstep(x, nl, base, first, lo, nsta, nlta, ratio, quiet, lr, lst, scratch, out)
    if end < k1:  # the last lane finishes the chunk on its own
        _carl_lane_to_ring(lr, nl, nl - 1, nsta, nlta, base[nl - 1], ring)
        for j in range(5):
            st[j] = lst[j * nl + nl - 1]
        _carl_row(x + end, k1 - end, end, nsta, nlta, ratio, quiet, st, ring, out + end)


cdef inline Py_ssize_t _carl_work_size(Py_ssize_t nsta, Py_ssize_t nlta, int nl) noexcept nogil:
    """float64 values of one thread's work space: ring, state and scratch of ``_carl_chunk``
    (the first ``2 (nsta + nlta) + 8 + CARL_SCRATCH``), then for ``nl > 1`` lanes the
    interleaved states and rings of ``_carl_lanes_chunk``."""
    cdef Py_ssize_t rl = 2 * (nsta + nlta)
    return rl + 8 + CARL_SCRATCH + (20 + nl * rl if nl > 1 else 0)


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
    cdef void* xp = cnp.PyArray_DATA(arr)
    cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
    cdef int t = cnp.PyArray_TYPE(arr)
    cdef int nt = _n_threads(2, nrows * n)
    cdef Py_ssize_t nch
    if 0 < nrows < 4 and nt > 1:
        # rows in parallel, split into speculative chunks when there are fewer rows than
        # threads and the rows are long enough to pay for the chunks' lead-in
        nch = (nt + nrows - 1) // nrows
        if n < 8 * _recursive_lead(l) * nch:
            nch = 1
        if nrows * nch > 1:
            _recursive_chunks(t, xp, nrows, n, s, l, nch, nt, op)
            return out
    cdef float64_t* state = <float64_t*>PyMem_Malloc(max(1, 2 * nrows) * sizeof(float64_t))
    if state == NULL:
        raise MemoryError()
    for c in range(nrows):
        state[2 * c] = 0.0
        state[2 * c + 1] = REC_LTA_SEED
    # groups of four rows (as _recursive_rows), one group per OpenMP work item
    cdef Py_ssize_t g, c0, ngroups = (nrows + 3) // 4
    nt = _n_threads(ngroups, nrows * n)
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


cdef int _recursive_chunks(int t, void* xp, Py_ssize_t nrows, Py_ssize_t n, Py_ssize_t nsta,
                           Py_ssize_t nlta, Py_ssize_t nch, int nt, float64_t* op) except -1:
    """Every row in ``nch`` chunks, all run in parallel; chunk ``h >= 1`` from a guessed
    state (``_recursive_spec_chunk``), then made exact in order (``_recursive_fix_chunk``):
    bit-identical to the serial recursion whatever happens; fast when the guessed
    trajectory has met the exact one before its chunk starts, which the lead makes the
    normal case.  Chunk 0 (exact start) is longer by the lead."""
    cdef Py_ssize_t nitems = nrows * nch, w, c, h
    cdef int64_t lead = _recursive_lead(nlta)
    cdef int64_t first = (n + (nch - 1) * lead + nch - 1) // nch, k0, k1
    cdef Py_ssize_t ncheck = (first + REC_CHECK - 1) // REC_CHECK + 1  # checkpoints per chunk (upper bound)
    cdef float64_t* mem = <float64_t*>PyMem_Malloc(nitems * (2 + 2 * ncheck) * sizeof(float64_t))
    if mem == NULL:
        raise MemoryError()
    cdef float64_t* guess
    cdef float64_t* checks
    cdef float64_t* prev
    try:
        with nogil:
            for w in prange(nitems, num_threads=min(nt, nitems), schedule="dynamic"):
                c = w // nch
                h = w % nch
                k0 = _chunk_start(h, first, lead)
                k1 = _chunk_end(h, nch, n, first, lead)
                guess = mem + w * (2 + 2 * ncheck)
                if t == cnp.NPY_FLOAT64:
                    _recursive_spec_chunk(<const float64_t*>xp + c * n, k0, k1, nsta, nlta, guess, guess + 2, op + c * n)
                elif t == cnp.NPY_FLOAT32:
                    _recursive_spec_chunk(<const float32_t*>xp + c * n, k0, k1, nsta, nlta, guess, guess + 2, op + c * n)
                else:
                    _recursive_spec_chunk(<const int32_t*>xp + c * n, k0, k1, nsta, nlta, guess, guess + 2, op + c * n)
            # in order: chunk h starts from the exact last state of chunk h - 1
            for w in range(nitems):
                c = w // nch
                h = w % nch
                if h == 0:
                    continue
                k0 = _chunk_start(h - 1, first, lead)
                k1 = _chunk_end(h - 1, nch, n, first, lead)
                prev = mem + (w - 1) * (2 + 2 * ncheck) + 2 + 2 * ((k1 - k0 + REC_CHECK - 1) // REC_CHECK - 1)
                k0 = _chunk_start(h, first, lead)
                k1 = _chunk_end(h, nch, n, first, lead)
                guess = mem + w * (2 + 2 * ncheck)
                checks = guess + 2
                if t == cnp.NPY_FLOAT64:
                    _recursive_fix_chunk(<const float64_t*>xp + c * n, k0, k1, nsta, nlta, prev, guess, checks, op + c * n)
                elif t == cnp.NPY_FLOAT32:
                    _recursive_fix_chunk(<const float32_t*>xp + c * n, k0, k1, nsta, nlta, prev, guess, checks, op + c * n)
                else:
                    _recursive_fix_chunk(<const int32_t*>xp + c * n, k0, k1, nsta, nlta, prev, guess, checks, op + c * n)
    finally:
        PyMem_Free(mem)
    return 0


cdef int _check_lanes(object lanes) except -1:
    """SIMD lanes of a batch kernel: 0 = automatic (4 with AVX, else 2), 1 = scalar code,
    2 = SSE2 lanes, 4 = AVX lanes (2 without AVX).  The result does not depend on it."""
    cdef long long v = check_count(lanes, "lanes", 0, 4)
    if v == 3:
        raise ValueError("lanes must be 0, 1, 2 or 4, got 3")
    if v == 0 or v == 4:
        return 4 if _have_avx() else 2
    return <int>v


def classic_sta_lta(data, nsta, nlta, *, lanes=0):
    """Kernel of :func:`quakewatch.ext.trigger.classic_sta_lta` (1-D or 2-D rows);
    ``lanes``: see ``_check_lanes`` (for tests; the result does not depend on it)."""
    cdef long long s, l
    s, l = check_windows(nsta, nlta)
    cdef int g = _check_lanes(lanes)
    cdef cnp.ndarray arr = _as_samples(data, "a", 2)
    cdef cnp.ndarray out = _empty_like_f64(arr)
    cdef Py_ssize_t nrows, n
    _rows(arr, &nrows, &n)
    cdef void* xp = cnp.PyArray_DATA(arr)
    cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
    cdef int t = cnp.PyArray_TYPE(arr)
    # work items: (row, chunk of one re-anchoring period); groups of four (AVX) or two
    # (SSE2) side by side in SIMD lanes, one group per OpenMP work unit
    cdef Py_ssize_t period = <Py_ssize_t>_classic_period(l)
    cdef Py_ssize_t nch = max(1, (n + period - 1) // period)
    cdef Py_ssize_t nitems = nrows * nch, ngroups = (nitems + g - 1) // g
    cdef Py_ssize_t p
    cdef int nt = _n_threads(ngroups, nrows * n)
    with nogil:
        for p in prange(ngroups, num_threads=nt, schedule="dynamic"):
            if t == cnp.NPY_FLOAT64:
                _classic_batch_group(<const float64_t*>xp, nrows, n, s, l, g * p, g, nitems, op)
            elif t == cnp.NPY_FLOAT32:
                _classic_batch_group(<const float32_t*>xp, nrows, n, s, l, g * p, g, nitems, op)
            else:
                _classic_batch_group(<const int32_t*>xp, nrows, n, s, l, g * p, g, nitems, op)
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


def carl_sta_trig(data, nsta, nlta, ratio, quiet, *, lanes=0):
    """Kernel of :func:`quakewatch.ext.trigger.carl_sta_trig` (1-D or 2-D rows);
    ``lanes``: see ``_check_lanes`` (for tests; the result does not depend on it)."""
    cdef long long s, l
    s, l = check_windows(nsta, nlta)
    cdef int nl = _check_lanes(lanes)
    cdef float64_t r = check_real(ratio, "ratio"), q = check_real(quiet, "quiet")
    cdef cnp.ndarray arr = _as_samples(data, "a", 2)
    cdef cnp.ndarray out = _empty_like_f64(arr)
    cdef Py_ssize_t nrows, n
    _rows(arr, &nrows, &n)
    # Work items: rows, and with fewer rows than threads, chunks of a row (each rebuilds
    # its start state exactly, _carl_chunk: the result never depends on the split).
    # Chunk 0 needs no lead-in, so it is longer by the typical lead-in ``lead``.
    cdef int nt = _n_threads(2, nrows * n)
    cdef int64_t lead = 18 * (<int64_t>s + l), k1
    cdef Py_ssize_t nch = 1, nitems, w, c, h, tid
    if 0 < nrows < nt:
        nch = (nt + nrows - 1) // nrows
        nch = max(1, min(nch, n // (8 * lead)))
    nitems = nrows * nch
    nt = min(nt, nitems)
    cdef int64_t first = (n + (nch - 1) * lead + nch - 1) // nch  # chunk 0 length
    # SIMD lanes only where every lane can pay for its lead-in (<= 34 (nsta + nlta) samples)
    if n < 4 * nl * (2 * ANCHOR_EVERY + 2) * (s + l):
        nl = 1
    cdef Py_ssize_t per = _carl_work_size(s, l, nl)  # work space of one thread
    cdef float64_t* buf = <float64_t*>PyMem_Malloc(nt * per * sizeof(float64_t))
    if buf == NULL:
        raise MemoryError()
    cdef void* xp = cnp.PyArray_DATA(arr)
    cdef float64_t* op = <float64_t*>cnp.PyArray_DATA(out)
    cdef float64_t* ring
    cdef int t = cnp.PyArray_TYPE(arr)
    cdef int64_t k0
    try:
        with nogil:
            for w in prange(nitems, num_threads=nt, schedule="dynamic"):
                tid = openmp.omp_get_thread_num()
                ring = buf + tid * per
                c = w // nch
                h = w % nch
                k0 = _chunk_start(h, first, lead)
                k1 = _chunk_end(h, nch, n, first, lead)
                if nl == 1:
                    if t == cnp.NPY_FLOAT64:
                        _carl_chunk(<const float64_t*>xp + c * n, k0, k1, s, l, r, q, ring, ring + 2 * (s + l) + 8, op + c * n)
                    elif t == cnp.NPY_FLOAT32:
                        _carl_chunk(<const float32_t*>xp + c * n, k0, k1, s, l, r, q, ring, ring + 2 * (s + l) + 8, op + c * n)
                    else:
                        _carl_chunk(<const int32_t*>xp + c * n, k0, k1, s, l, r, q, ring, ring + 2 * (s + l) + 8, op + c * n)
                elif t == cnp.NPY_FLOAT64:
                    _carl_lanes_chunk(<const float64_t*>xp + c * n, k0, k1, s, l, r, q, nl, ring, op + c * n)
                elif t == cnp.NPY_FLOAT32:
                    _carl_lanes_chunk(<const float32_t*>xp + c * n, k0, k1, s, l, r, q, nl, ring, op + c * n)
                else:
                    _carl_lanes_chunk(<const int32_t*>xp + c * n, k0, k1, s, l, r, q, nl, ring, op + c * n)
    finally:
        PyMem_Free(buf)
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
