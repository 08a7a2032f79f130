# Streaming IIR filtering of multichannel blocks: second-order sections with their state
# carried across blocks (see filters.py for the documentation).
cimport cython
cimport numpy as cnp
from libc.math cimport isfinite

from _typedefs cimport float32_t, float64_t, int32_t

import numpy as np

cnp.import_array()


cdef class SosFilter:
    """Cascade of biquads, transposed direct form II, one state per channel (see filters.py)."""

    cdef readonly Py_ssize_t n_channels
    cdef readonly Py_ssize_t n_sections
    cdef float64_t[:, ::1] _sos
    cdef float64_t[:, :, ::1] _z  # (channel, section, 2)
    cdef float64_t[::1] _scale
    cdef bint _primed
    cdef public object zi_steady  # (n_sections, 2): state per unit step input (scipy sosfilt_zi)

    def __cinit__(self, sos, Py_ssize_t n_channels, scale=None, zi_steady=None):
        sos_arr = np.ascontiguousarray(sos, dtype=np.float64)
        if sos_arr.ndim != 2 or sos_arr.shape[1] != 6 or sos_arr.shape[0] < 1:
            raise ValueError(f"sos: expected shape (n_sections >= 1, 6), got {sos_arr.shape}")
        if not np.all(np.isfinite(sos_arr)) or np.any(sos_arr[:, 3] == 0):
            raise ValueError("sos: coefficients must be finite with a0 != 0")
        if n_channels < 1:
            raise ValueError(f"n_channels: must be >= 1, got {n_channels}")
        sos_arr = sos_arr / sos_arr[:, 3:4]  # normalise a0 = 1 (a copy: the caller's array is kept)
        self._sos = sos_arr
        self.n_channels = n_channels
        self.n_sections = sos_arr.shape[0]
        self._z = np.zeros((n_channels, self.n_sections, 2))
        sc = np.ones(n_channels) if scale is None else np.array(scale, dtype=np.float64).reshape(-1)
        if sc.shape[0] != n_channels or not np.all(np.isfinite(sc)):
            raise ValueError(f"scale: expected {n_channels} finite values, got shape {sc.shape}")
        self._scale = sc
        self._primed = zi_steady is None
        self.zi_steady = None if zi_steady is None else np.array(zi_steady, dtype=np.float64).reshape(self.n_sections, 2)

    def reset(self):
        """Zero state; the next block primes it again when a steady state was given."""
        self._z[...] = 0.0
        self._primed = self.zi_steady is None

    @cython.boundscheck(False)
    @cython.wraparound(False)
    def process(self, cnp.ndarray block not None):
        """Filter ``scale * block`` (shape (n_channels, n); float32, float64 or int32): float64 out."""
        if block.ndim != 2 or block.shape[0] != self.n_channels:
            raise ValueError(f"block: expected shape ({self.n_channels}, n), got shape {np.shape(block)}")
        cdef Py_ssize_t n = block.shape[1]
        cdef int typenum = cnp.PyArray_TYPE(block)
        if not cnp.PyArray_IS_C_CONTIGUOUS(block):
            block = np.ascontiguousarray(block)
        out = np.empty((self.n_channels, n), dtype=np.float64)
        cdef float64_t[:, ::1] y = out
        if n == 0:
            return out
        if not self._primed:
            self._prime(block, typenum)
        if typenum == cnp.NPY_FLOAT64:
            _dispatch_float64_t(self._sos, self._z, self._scale, block, y)
        elif typenum == cnp.NPY_FLOAT32:
            _dispatch_float32_t(self._sos, self._z, self._scale, block, y)
        elif typenum == cnp.NPY_INT32:
            _dispatch_int32_t(self._sos, self._z, self._scale, block, y)
        else:
            raise TypeError(f"block: dtype must be float32, float64 or int32, got {block.dtype}")
        return out

    cdef _prime(self, cnp.ndarray block, int typenum):
        """State of a filter that has seen the first sample forever (no start-up transient)."""
        cdef float64_t[:, ::1] zs = self.zi_steady
        cdef Py_ssize_t c, s
        cdef float64_t x0
        first = np.asarray(block[:, 0], dtype=np.float64)
        for c in range(self.n_channels):
            x0 = first[c] * self._scale[c]
            if not isfinite(x0):
                x0 = 0.0
            for s in range(self.n_sections):
                self._z[c, s, 0] = zs[s, 0] * x0
                self._z[c, s, 1] = zs[s, 1] * x0
        self._primed = True


cdef void _dispatch_float64_t(float64_t[:, ::1] sos, float64_t[:, :, ::1] z, float64_t[::1] scale, const float64_t[:, ::1] x, float64_t[:, ::1] y):
    with nogil:  # long blocks: let the event loop run meanwhile
        _run[float64_t](sos, z, scale, x, y)


cdef void _dispatch_float32_t(float64_t[:, ::1] sos, float64_t[:, :, ::1] z, float64_t[::1] scale, const float32_t[:, ::1] x, float64_t[:, ::1] y):
    with nogil:
        _run[float32_t](sos, z, scale, x, y)


cdef void _dispatch_int32_t(float64_t[:, ::1] sos, float64_t[:, :, ::1] z, float64_t[::1] scale, const int32_t[:, ::1] x, float64_t[:, ::1] y):
    with nogil:
        _run[int32_t](sos, z, scale, x, y)


ctypedef fused sample_t:
    float32_t
    float64_t
    int32_t


@cython.boundscheck(False)
@cython.wraparound(False)
@cython.cdivision(True)
cdef void _run(const float64_t[:, ::1] sos, float64_t[:, :, ::1] z, const float64_t[::1] scale,
               const sample_t[:, ::1] x, float64_t[:, ::1] y) noexcept nogil:
    # Four channels at a time: the recurrence of one channel is a chain of dependent
    # multiply-adds, so independent channels side by side keep the FPU busy.
    cdef Py_ssize_t c, i, s, k, c0
    cdef Py_ssize_t n_ch = x.shape[0], n = x.shape[1], n_sec = sos.shape[0]
    cdef float64_t b0, b1, b2, a1, a2, v0, v1, v2, v3, w0, w1, w2, w3
    cdef float64_t p0, p1, p2, p3, q0, q1, q2, q3  # z[.., 0] and z[.., 1] of the four channels
    for c in range(n_ch):
        for i in range(n):
            y[c, i] = <float64_t> x[c, i] * scale[c]
    c0 = 0
    while c0 + 4 <= n_ch:
        for s in range(n_sec):
            b0 = sos[s, 0]; b1 = sos[s, 1]; b2 = sos[s, 2]; a1 = sos[s, 4]; a2 = sos[s, 5]
            p0 = z[c0, s, 0]; p1 = z[c0 + 1, s, 0]; p2 = z[c0 + 2, s, 0]; p3 = z[c0 + 3, s, 0]
            q0 = z[c0, s, 1]; q1 = z[c0 + 1, s, 1]; q2 = z[c0 + 2, s, 1]; q3 = z[c0 + 3, s, 1]
            for i in range(n):
                v0 = y[c0, i]; v1 = y[c0 + 1, i]; v2 = y[c0 + 2, i]; v3 = y[c0 + 3, i]
                w0 = b0 * v0 + p0; w1 = b0 * v1 + p1; w2 = b0 * v2 + p2; w3 = b0 * v3 + p3
                p0 = b1 * v0 - a1 * w0 + q0; p1 = b1 * v1 - a1 * w1 + q1
                p2 = b1 * v2 - a1 * w2 + q2; p3 = b1 * v3 - a1 * w3 + q3
                q0 = b2 * v0 - a2 * w0; q1 = b2 * v1 - a2 * w1
                q2 = b2 * v2 - a2 * w2; q3 = b2 * v3 - a2 * w3
                y[c0, i] = w0; y[c0 + 1, i] = w1; y[c0 + 2, i] = w2; y[c0 + 3, i] = w3
            z[c0, s, 0] = p0; z[c0 + 1, s, 0] = p1; z[c0 + 2, s, 0] = p2; z[c0 + 3, s, 0] = p3
            z[c0, s, 1] = q0; z[c0 + 1, s, 1] = q1; z[c0 + 2, s, 1] = q2; z[c0 + 3, s, 1] = q3
        c0 += 4
    for c in range(c0, n_ch):  # the remaining channels one by one (same arithmetic)
        for s in range(n_sec):
            b0 = sos[s, 0]; b1 = sos[s, 1]; b2 = sos[s, 2]; a1 = sos[s, 4]; a2 = sos[s, 5]
            p0 = z[c, s, 0]; q0 = z[c, s, 1]
            for i in range(n):
                v0 = y[c, i]
                w0 = b0 * v0 + p0
                p0 = b1 * v0 - a1 * w0 + q0
                q0 = b2 * v0 - a2 * w0
                y[c, i] = w0
            z[c, s, 0] = p0; z[c, s, 1] = q0
