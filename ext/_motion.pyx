"""Peak response of damped single-degree-of-freedom oscillators (compiled core).

Private: call it through :func:`quakewatch.ext.motion.response_spectrum`, which
validates and converts the inputs once.

Method [NJ69]: the relative displacement ``u`` of an oscillator of natural
circular frequency ``w = 2 pi / T`` and damping ratio ``z`` obeys

    u'' + 2 z w u' + w^2 u = -a(t)                                  (NJ69 eq. 1)

With ``a(t)`` linear between samples ``a_i`` and ``a_{i+1}`` (first-order hold),
the state ``(u, u')`` after one step ``dt`` is an exact linear map

    [u_{i+1}, v_{i+1}]^T = A [u_i, v_i]^T + B [a_i, a_{i+1}]^T      (NJ69 eq. 8-10)

so the recurrence has no time-step error at any period (explicit and implicit
integrators such as Newmark's need ``dt <= T / 10``).  ``A`` and ``B`` are
derived here in the same way as in [NJ69]: the particular solution for linear
forcing, ``u_p(s) = c0 + c1 s`` with ``c1 = -r / w^2``, ``c0 = -a_i / w^2 +
2 z r / w^3`` and ``r = (a_{i+1} - a_i) / dt``, plus the free damped vibration
of ``(u - u_p, v - c1)``.  With ``E = exp(-z w dt)``, ``wd = w sqrt(1 - z^2)``,
``C = cos(wd dt)``, ``S = sin(wd dt)``:

    a11 = E (C + z w S / wd)      a12 = E S / wd
    a21 = -E w^2 S / wd           a22 = E (C - z w S / wd)
    b11 = (1 - a11) (-1/w^2 - 2z/(w^3 dt)) + (dt - a12) / (w^2 dt)
    b12 = (1 - a11) (2z/(w^3 dt)) - (dt - a12) / (w^2 dt)
    b21 = a21 (1/w^2 + 2z/(w^3 dt)) + (1 - a22) / (w^2 dt)
    b22 = -a21 (2z/(w^3 dt)) - (1 - a22) / (w^2 dt)

The absolute acceleration is ``u'' + a = -(2 z w u' + w^2 u)``.  Every
oscillator starts at rest (``u = u' = 0`` at the first sample); peaks are taken
over the sample times.

The loop runs samples outermost and periods innermost, so the independent
oscillators fill the floating-point pipeline (and SIMD lanes) instead of one
recurrence waiting on its own latency.  State and peaks are float64 whatever
the sample type.

[NJ69] Nigam, N. C. and Jennings, P. C. (1969). Calculation of response spectra
from strong-motion earthquake records. BSSA 59(2), 909-922.
"""

cimport numpy as cnp
from libc.math cimport cos, exp, fabs, sin, sqrt

from _typedefs cimport float32_t, float64_t

cnp.import_array()

ctypedef fused real_t:
    float32_t
    float64_t

# Rows of the per-period coefficient table.
cdef enum:
    _A11 = 0
    _A12 = 1
    _A21 = 2
    _A22 = 3
    _B11 = 4
    _B12 = 5
    _B21 = 6
    _B22 = 7
    _CV = 8   # 2 z w  (absolute acceleration = -(CV v + CU u))
    _CU = 9   # w^2
    _N_COEF = 10
    _W = 4    # oscillators advanced together, held in registers (periods padded to a multiple)


cdef void _coefficients(
    const float64_t[::1] periods_s, float64_t dt_s, float64_t damping, float64_t[:, ::1] coef
) noexcept nogil:
    """Recurrence coefficients (module docstring) of every period, one column each."""
    cdef Py_ssize_t j
    cdef float64_t w, wd, e, c, s, w2, k0, k1
    for j in range(periods_s.shape[0]):
        w = 6.283185307179586 / periods_s[j]
        w2 = w * w
        wd = w * sqrt(1.0 - damping * damping)
        e = exp(-damping * w * dt_s)
        c = cos(wd * dt_s)
        s = sin(wd * dt_s)
        coef[_A11, j] = e * (c + damping * w * s / wd)
        coef[_A12, j] = e * s / wd
        coef[_A21, j] = -e * w2 * s / wd
        coef[_A22, j] = e * (c - damping * w * s / wd)
        k0 = 2.0 * damping / (w2 * w * dt_s)   # d c0 / d a_{i+1}
        k1 = 1.0 / (w2 * dt_s)                 # -d c1 / d a_{i+1}
        coef[_B11, j] = (1.0 - coef[_A11, j]) * (-1.0 / w2 - k0) + (dt_s - coef[_A12, j]) * k1
        coef[_B12, j] = (1.0 - coef[_A11, j]) * k0 - (dt_s - coef[_A12, j]) * k1
        coef[_B21, j] = coef[_A21, j] * (1.0 / w2 + k0) + (1.0 - coef[_A22, j]) * k1
        coef[_B22, j] = -coef[_A21, j] * k0 - (1.0 - coef[_A22, j]) * k1
        coef[_CV, j] = 2.0 * damping * w
        coef[_CU, j] = w2


cdef void _peaks(
    const real_t[:, ::1] acc,
    const float64_t[:, ::1] coef,
    float64_t[:, ::1] sd,
    float64_t[:, ::1] sa,
) noexcept nogil:
    """Peak |u| into ``sd[k, j]`` and peak |u'' + a| into ``sa[k, j]``.

    ``coef`` has a multiple of ``_W`` columns; ``sd`` and ``sa`` as many.
    """
    cdef Py_ssize_t k, i, b, j, q
    cdef Py_ssize_t n = acc.shape[1]
    cdef float64_t a0, a1, un, vn, x
    cdef float64_t u[_W]
    cdef float64_t v[_W]
    cdef float64_t dmax[_W]
    cdef float64_t amax[_W]
    cdef float64_t c[_N_COEF][_W]
    for k in range(acc.shape[0]):
        for b in range(coef.shape[1] // _W):
            j = b * _W
            for q in range(_W):
                u[q] = 0.0
                v[q] = 0.0
                dmax[q] = 0.0
                amax[q] = 0.0
                for i in range(_N_COEF):
                    c[i][q] = coef[i, j + q]
            a1 = <float64_t>acc[k, 0]
            for i in range(1, n):
                a0 = a1
                a1 = <float64_t>acc[k, i]
                for q in range(_W):
                    un = c[_A11][q] * u[q] + c[_A12][q] * v[q] + c[_B11][q] * a0 + c[_B12][q] * a1
                    vn = c[_A21][q] * u[q] + c[_A22][q] * v[q] + c[_B21][q] * a0 + c[_B22][q] * a1
                    u[q] = un
                    v[q] = vn
                    x = fabs(un)
                    dmax[q] = x if x > dmax[q] else dmax[q]
                    x = fabs(c[_CV][q] * vn + c[_CU][q] * un)
                    amax[q] = x if x > amax[q] else amax[q]
            for q in range(_W):
                sd[k, j + q] = dmax[q]
                sa[k, j + q] = amax[q]


cdef cnp.ndarray _empty(Py_ssize_t rows, Py_ssize_t cols):
    cdef cnp.npy_intp dims[2]
    dims[0] = rows
    dims[1] = cols
    return cnp.PyArray_EMPTY(2, dims, cnp.NPY_FLOAT64, 0)


def sdof_peaks(
    cnp.ndarray acc not None,
    float64_t dt_s,
    const float64_t[::1] periods_s not None,
    float64_t damping,
):
    """Peak relative displacement and peak absolute acceleration of SDOF oscillators.

    Kernel for ``acc`` C-contiguous float32 or float64, shape (n_components,
    n_samples), native byte order, finite, in m/s^2; ``dt_s > 0``; ``periods_s``
    > 0; ``0 <= damping < 1``.  The front-end validates; nothing is checked
    here except dimensions and dtype.

    Returns ``(sd_m, sa_mps2)``, float64 arrays of shape (n_components,
    n_periods).  Fewer than 2 samples give zeros.
    """
    if acc.ndim != 2:
        raise ValueError(f"acc must have 2 dimensions, got {acc.ndim}")
    cdef int typenum = cnp.PyArray_TYPE(acc)
    if typenum != cnp.NPY_FLOAT32 and typenum != cnp.NPY_FLOAT64:
        raise TypeError(f"acc must have dtype float32 or float64, got {acc.dtype}")
    cdef Py_ssize_t n_periods = periods_s.shape[0]
    cdef Py_ssize_t n_padded = ((n_periods + _W - 1) // _W) * _W
    cdef Py_ssize_t j
    # Padding columns repeat the last period; their results are dropped.
    padded_arr = _empty(1, n_padded)
    cdef float64_t[:, ::1] padded = padded_arr
    for j in range(n_padded):
        padded[0, j] = periods_s[j if j < n_periods else n_periods - 1]
    coef_arr = _empty(_N_COEF, n_padded)
    sd_arr = _empty(acc.shape[0], n_padded)
    sa_arr = _empty(acc.shape[0], n_padded)
    cdef float64_t[:, ::1] coef = coef_arr
    cdef float64_t[:, ::1] sd = sd_arr
    cdef float64_t[:, ::1] sa = sa_arr
    cdef const float32_t[:, ::1] a32
    cdef const float64_t[:, ::1] a64
    if n_periods > 0 and acc.shape[0] > 0:
        if typenum == cnp.NPY_FLOAT32:
            a32 = acc
            with nogil:
                _coefficients(padded[0], dt_s, damping, coef)
                _peaks(a32, coef, sd, sa)
        else:
            a64 = acc
            with nogil:
                _coefficients(padded[0], dt_s, damping, coef)
                _peaks(a64, coef, sd, sa)
    return sd_arr[:, :n_periods].copy(), sa_arr[:, :n_periods].copy()


def coefficients(float64_t dt_s, const float64_t[::1] periods_s not None, float64_t damping):
    """The recurrence table (module docstring), float64 shape (10, n_periods):
    rows a11 a12 a21 a22 b11 b12 b21 b22, 2 z w, w^2.  For tests and twins."""
    coef_arr = _empty(_N_COEF, periods_s.shape[0])
    cdef float64_t[:, ::1] coef = coef_arr
    with nogil:
        _coefficients(periods_s, dt_s, damping, coef)
    return coef_arr


# Columns of the time-domain table (re-exported as Python ints for the front-end).
cdef enum:
    _T_PGA = 0
    _T_PGV = 1
    _T_PGD = 2
    _T_ARIAS = 3   # integral a^2 dt (m^2/s^3); the front-end applies pi / (2 g)
    _T_CAV = 4
    _T_START = 5   # first time the normalised Arias curve reaches q_start (s)
    _T_END1 = 6    # ... reaches q_end1
    _T_END2 = 7    # ... reaches q_end2
    _N_TCOLS = 8

T_PGA = _T_PGA
T_PGV = _T_PGV
T_PGD = _T_PGD
T_ARIAS = _T_ARIAS
T_CAV = _T_CAV
T_START = _T_START
T_END1 = _T_END1
T_END2 = _T_END2


cdef float64_t _crossing(
    const float64_t[::1] x, float64_t dt_s, float64_t total, float64_t q
) noexcept nogil:
    """First time the normalised cumulative trapezoid of ``x^2`` reaches ``q``.

    The curve ``h[k] = c[k] / total`` (``c[0] = 0``) is linear between samples;
    with ``k`` the first index where ``h[k] >= q``, the time is
    ``(k - 1 + (q - h[k-1]) / (h[k] - h[k-1])) dt`` (0 when ``k == 0``).
    """
    cdef Py_ssize_t k
    cdef float64_t c = 0.0, prev_h = 0.0, h, frac
    if q <= 0.0:
        return 0.0
    cdef float64_t half = 0.5 * dt_s
    for k in range(1, x.shape[0]):
        c += half * (x[k - 1] * x[k - 1] + x[k] * x[k])  # as in _time_domain, bit for bit
        h = c / total
        if h >= q:
            frac = (q - prev_h) / (h - prev_h)
            return (k - 1 + (frac if frac < 1.0 else 1.0)) * dt_s
        prev_h = h
    return (x.shape[0] - 1) * dt_s


cdef void _time_domain(
    const float64_t[:, ::1] acc, float64_t dt_s, float64_t q0, float64_t q1, float64_t q2,
    float64_t[:, ::1] out,
) noexcept nogil:
    cdef Py_ssize_t k, i
    cdef float64_t a_prev, a, v, d, v_prev, pga, pgv, pgd, e, cav, half = 0.5 * dt_s
    for k in range(acc.shape[0]):
        a_prev = acc[k, 0]
        v = 0.0
        d = 0.0
        pga = fabs(a_prev)
        pgv = 0.0
        pgd = 0.0
        e = 0.0
        cav = 0.0
        for i in range(1, acc.shape[1]):
            a = acc[k, i]
            v_prev = v
            v = v + half * (a_prev + a)
            d = d + half * (v_prev + v)
            e = e + half * (a_prev * a_prev + a * a)
            cav = cav + half * (fabs(a_prev) + fabs(a))
            pga = fabs(a) if fabs(a) > pga else pga
            pgv = fabs(v) if fabs(v) > pgv else pgv
            pgd = fabs(d) if fabs(d) > pgd else pgd
            a_prev = a
        out[k, _T_PGA] = pga
        out[k, _T_PGV] = pgv
        out[k, _T_PGD] = pgd
        out[k, _T_ARIAS] = e
        out[k, _T_CAV] = cav
        if e > 0.0:
            out[k, _T_START] = _crossing(acc[k], dt_s, e, q0)
            out[k, _T_END1] = _crossing(acc[k], dt_s, e, q1)
            out[k, _T_END2] = _crossing(acc[k], dt_s, e, q2)
        else:
            out[k, _T_START] = 0.0
            out[k, _T_END1] = 0.0
            out[k, _T_END2] = 0.0


def time_domain(const float64_t[:, ::1] acc not None, float64_t dt_s, float64_t q_start, float64_t q_end1, float64_t q_end2):
    """Time-domain metrics of each row of ``acc`` (m/s^2, float64, shape
    (n_components, n_samples), n_samples >= 1), trapezoidal rule throughout.

    Returns float64 shape (n_components, 8), columns ``T_*``: peak |a|, peak |v|,
    peak |d| (v, d from zero initial values), ``integral a^2 dt``,
    ``integral |a| dt``, and the times (s) at which the normalised cumulative
    ``integral a^2 dt`` first reaches ``q_start``, ``q_end1``, ``q_end2``
    (each in [0, 1]; all 0 for a row without energy).
    """
    out_arr = _empty(acc.shape[0], _N_TCOLS)
    cdef float64_t[:, ::1] out = out_arr
    if acc.shape[1] == 0:
        raise ValueError("acc must have at least 1 sample")
    with nogil:
        _time_domain(acc, dt_s, q_start, q_end1, q_end2, out)
    return out_arr


cdef void _vector_peaks(const float64_t[:, ::1] acc, float64_t dt_s, float64_t[::1] vel, float64_t* peaks) noexcept nogil:
    cdef Py_ssize_t k, i
    cdef float64_t sa, sv, half = 0.5 * dt_s
    cdef float64_t amax = 0.0, vmax = 0.0
    for k in range(acc.shape[0]):
        vel[k] = 0.0
        amax += acc[k, 0] * acc[k, 0]
    for i in range(1, acc.shape[1]):
        sa = 0.0
        sv = 0.0
        for k in range(acc.shape[0]):
            vel[k] += half * (acc[k, i - 1] + acc[k, i])
            sa += acc[k, i] * acc[k, i]
            sv += vel[k] * vel[k]
        amax = sa if sa > amax else amax
        vmax = sv if sv > vmax else vmax
    peaks[0] = sqrt(amax)
    peaks[1] = sqrt(vmax)


def vector_peaks(const float64_t[:, ::1] acc not None, float64_t dt_s):
    """Peaks of the vector sums over rows of ``acc`` (m/s^2, float64, shape
    (n_components, n_samples), n_samples >= 1): ``(max_t |a(t)|, max_t |v(t)|)``
    with ``v`` the trapezoidal integral of each row from 0."""
    if acc.shape[1] == 0:
        raise ValueError("acc must have at least 1 sample")
    vel_arr = _empty(1, acc.shape[0])
    cdef float64_t[:, ::1] vel = vel_arr
    cdef float64_t peaks[2]
    with nogil:
        _vector_peaks(acc, dt_s, vel[0], peaks)
    return peaks[0], peaks[1]


cdef void _sosfilt(const float64_t[:, ::1] sos, float64_t[:, ::1] y, bint backward) noexcept nogil:
    """Cascade of biquads (direct form II transposed, zero initial state) over
    each row of ``y``, in place; from the last sample to the first when
    ``backward``.  ``sos`` rows are ``b0 b1 b2 a0 a1 a2`` with ``a0 == 1``."""
    cdef Py_ssize_t k, i, s, idx
    cdef Py_ssize_t n = y.shape[1], n_sec = sos.shape[0]
    cdef float64_t x, out
    cdef float64_t z1[16]
    cdef float64_t z2[16]
    for k in range(y.shape[0]):
        for s in range(n_sec):
            z1[s] = 0.0
            z2[s] = 0.0
        for i in range(n):
            idx = n - 1 - i if backward else i
            x = y[k, idx]
            for s in range(n_sec):
                out = sos[s, 0] * x + z1[s]
                z1[s] = sos[s, 1] * x - sos[s, 4] * out + z2[s]
                z2[s] = sos[s, 2] * x - sos[s, 5] * out
                x = out
            y[k, idx] = x


def sosfilt_inplace(const float64_t[:, ::1] sos not None, float64_t[:, ::1] y not None, bint zero_phase):
    """Filter each row of ``y`` (float64, C-contiguous, modified in place) by the
    second-order sections ``sos`` (shape (n_sections <= 16, 6), ``a0 == 1``, as
    ``scipy.signal.butter(..., output="sos")`` gives): one causal pass, then,
    when ``zero_phase``, one pass backward (no padding; ObsPy's zerophase)."""
    if sos.shape[1] != 6 or sos.shape[0] > 16:
        raise ValueError(f"sos must have shape (<= 16, 6), got ({sos.shape[0]}, {sos.shape[1]})")
    with nogil:
        _sosfilt(sos, y, False)
        if zero_phase:
            _sosfilt(sos, y, True)
