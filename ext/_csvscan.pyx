"""Plain CSV data rows to columns (compiled core of :mod:`quakewatch.ext.csv_columns`).

Private: call it through :func:`quakewatch.ext.csv_columns.scan_csv`.  The scan
is a fast path for the plain CSV that exposure and ground-motion files are:
comma-separated, no quotes, the same number of fields on every row, numbers in
decimal notation.  Anything else is reported (``REASON_*``, row, column) and
the caller reads the file with a general parser instead.

* Rows end at ``\\n``; a ``\\r`` before it is dropped; rows holding only spaces,
  tabs or nothing are skipped (as pandas' ``skip_blank_lines``).
* Spaces and tabs around a field are not part of it.
* A number field is ``[+-]digits[.digits][(e|E)[+-]digits]`` (digits on at
  least one side of the point) or empty (NaN).  It is converted exactly
  rounded: by one multiplication or division by a power of ten when the
  significand has at most 19 digits (leading zeros included), is below 2^53
  and the power is within 10^22 (both operands exact, so the one rounding is
  the correctly rounded result: Clinger, "How to read floating point numbers
  accurately", PLDI 1990), otherwise by the C library's ``strtod`` (glibc's
  is exact; should a process switch LC_NUMERIC to a decimal comma, strtod
  stops at the point and the field is reported, never misread).
* A text field is returned as its byte range; :func:`intern` gives each
  distinct text a code in first-occurrence order (an open-addressing hash
  table over the byte ranges).

The data are cut into ``n_chunks`` pieces at row ends and the pieces scanned on
OpenMP threads; each piece's rows are counted first, so every row's place is
known before any is parsed and the output never depends on the cut.
"""

from cython.parallel cimport prange
from libc.stdlib cimport malloc, free, strtod
from libc.string cimport memchr, memcmp, memcpy
from libc.math cimport NAN

import numpy as np

cimport numpy as cnp

from _typedefs cimport float64_t, int64_t

cnp.import_array()

cdef enum:
    _OK = 0
    _QUOTE = 1
    _FIELDS = 2
    _NOT_A_NUMBER = 3

REASON_OK = _OK
REASON_QUOTE = _QUOTE
REASON_FIELDS = _FIELDS
REASON_NOT_A_NUMBER = _NOT_A_NUMBER

KIND_SKIP = 0
KIND_NUMBER = 1
KIND_TEXT = 2

cdef double[23] _POW10 = [1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
                          1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22]
cdef unsigned long long _TWO_53 = 1ULL << 53


cdef inline bint _blank(unsigned char c) noexcept nogil:
    return c == 32 or c == 9


cdef inline bint _blank_row(const unsigned char* p, const unsigned char* e) noexcept nogil:
    while p < e:
        if not (_blank(p[0]) or p[0] == 13):
            return False
        p += 1
    return True


cdef inline const unsigned char* _row_end(const unsigned char* p, const unsigned char* e) noexcept nogil:
    cdef const unsigned char* q = <const unsigned char*>memchr(p, 10, e - p)
    return e if q == NULL else q


cdef const unsigned char* _number(const unsigned char* p, const unsigned char* e,
                                  double* out) noexcept nogil:
    """Parse the field starting at ``p`` (the row ends at ``e``) as a decimal number
    with optional spaces around it; the end of the field (its comma, or ``e``) on
    success, NULL when the field is something else."""
    cdef bint neg = False, eneg = False, any_digit = False, dropped = False
    cdef unsigned long long mant = 0
    cdef int digits = 0, exp10 = 0, epart = 0, edigits = 0
    cdef const unsigned char* s
    cdef const unsigned char* t
    cdef char buf[128]
    cdef char* copy
    cdef char* endp
    cdef bint whole
    while p < e and _blank(p[0]):
        p += 1
    if p == e or p[0] == 44:  # an empty field
        out[0] = NAN
        return p
    s = p
    if p[0] == 43 or p[0] == 45:  # + -
        neg = p[0] == 45
        p += 1
    # up to 19 digits (leading zeros included) fit the significand; later ones are
    # counted in the exponent (integer part) or dropped (fraction), and a nonzero
    # dropped digit sends the token to strtod
    t = p
    while p < e and 48 <= p[0] <= 57:
        if digits < 19:
            mant = mant * 10 + (p[0] - 48)
            digits += 1
        else:
            exp10 += 1
            dropped = dropped or p[0] != 48
        p += 1
    any_digit = p != t
    if p < e and p[0] == 46:  # .
        p += 1
        t = p
        while p < e and 48 <= p[0] <= 57:
            if digits < 19:
                mant = mant * 10 + (p[0] - 48)
                digits += 1
                exp10 -= 1
            else:
                dropped = dropped or p[0] != 48
            p += 1
        any_digit = any_digit or p != t
    if not any_digit:
        return NULL
    if p < e and (p[0] == 101 or p[0] == 69):  # e E
        p += 1
        if p < e and (p[0] == 43 or p[0] == 45):
            eneg = p[0] == 45
            p += 1
        while p < e and 48 <= p[0] <= 57:
            if epart < 100000:
                epart = epart * 10 + (p[0] - 48)
            else:  # clamped: strtod reads the exponent in full
                dropped = True
            edigits += 1
            p += 1
        if edigits == 0:
            return NULL
        exp10 += -epart if eneg else epart
    t = p  # the token is s..t
    while p < e and _blank(p[0]):
        p += 1
    if p < e and p[0] != 44:
        return NULL
    if mant == 0 and not dropped:
        out[0] = -0.0 if neg else 0.0
    elif not dropped and mant < _TWO_53 and -22 <= exp10 <= 22:
        out[0] = <double>mant * _POW10[exp10] if exp10 >= 0 else <double>mant / _POW10[-exp10]
        if neg:
            out[0] = -out[0]
    else:  # strtod needs a terminated copy (on the heap for very long tokens)
        if t - s < 128:
            copy = &buf[0]
        else:
            copy = <char*>malloc(t - s + 1)
        if copy == NULL:
            return NULL
        memcpy(copy, s, t - s)
        copy[t - s] = 0
        out[0] = strtod(copy, &endp)
        whole = endp == copy + (t - s)
        if copy != &buf[0]:
            free(copy)
        if not whole:
            return NULL
    return p


cdef Py_ssize_t _count_rows(const unsigned char* p, const unsigned char* e) noexcept nogil:
    cdef Py_ssize_t n = 0
    cdef const unsigned char* q
    while p < e:
        q = _row_end(p, e)
        if not _blank_row(p, q):
            n += 1
        p = q + 1
    return n


cdef void _scan_chunk(const unsigned char* base, Py_ssize_t begin, Py_ssize_t end, Py_ssize_t row0,
                      const signed char* kinds, const Py_ssize_t* slot, Py_ssize_t n_columns,
                      Py_ssize_t n_rows, float64_t* numbers, int64_t* starts, int64_t* ends,
                      int64_t* status) noexcept nogil:
    """Parse rows of base[begin:end]; status = (reason, row, column) of the first failure."""
    cdef const unsigned char* p = base + begin
    cdef const unsigned char* e = base + end
    cdef const unsigned char* q
    cdef const unsigned char* f
    cdef const unsigned char* a
    cdef const unsigned char* b
    cdef const unsigned char* z
    cdef Py_ssize_t row = row0, col
    while p < e:
        q = _row_end(p, e)
        b = q
        if b > p and (b - 1)[0] == 13:
            b -= 1
        if _blank_row(p, b):
            p = q + 1
            continue
        if memchr(p, 34, b - p) != NULL:  # a quote: not plain CSV
            status[0], status[1], status[2] = _QUOTE, row, 0
            return
        f = p
        col = 0
        while True:
            if col >= n_columns:
                status[0], status[1], status[2] = _FIELDS, row, col
                return
            if kinds[col] == 1:
                f = _number(f, b, &numbers[slot[col] * n_rows + row])
                if f == NULL:
                    status[0], status[1], status[2] = _NOT_A_NUMBER, row, col
                    return
            else:
                a = f
                f = <const unsigned char*>memchr(f, 44, b - f)
                if f == NULL:
                    f = b
                if kinds[col] == 2:
                    z = f
                    while a < z and _blank(a[0]):
                        a += 1
                    while z > a and _blank((z - 1)[0]):
                        z -= 1
                    starts[slot[col] * n_rows + row] = a - base
                    ends[slot[col] * n_rows + row] = z - base
            col += 1
            if f == b:
                break
            f += 1  # past the comma
        if col != n_columns:
            status[0], status[1], status[2] = _FIELDS, row, col
            return
        row += 1
        p = q + 1


def scan(const unsigned char[::1] data, Py_ssize_t start, const signed char[::1] kinds, int n_chunks=2):
    """Scan ``data[start:]``.

    Returns ``(n_rows, numbers, starts, ends, status)``: ``numbers`` float64
    (n_number_columns, n_rows) in the order of the number columns,
    ``starts``/``ends`` int64 (n_text_columns, n_rows) byte ranges of the text
    fields, ``status`` int64 (reason, row, column) of the first failure in
    file order (``reason`` 0: none).
    """
    cdef Py_ssize_t n = data.shape[0], n_columns = kinds.shape[0], i, k
    cdef Py_ssize_t n_number = 0, n_text = 0
    if n_chunks < 1:
        raise ValueError("n_chunks must be >= 1")
    if not 0 <= start <= n:
        raise ValueError(f"start must be within [0, {n}]")
    cdef cnp.ndarray[Py_ssize_t, ndim=1] slots = np.zeros(n_columns, dtype=np.intp)
    for i in range(n_columns):
        if kinds[i] == 1:
            slots[i] = n_number
            n_number += 1
        elif kinds[i] == 2:
            slots[i] = n_text
            n_text += 1
        elif kinds[i] != 0:
            raise ValueError(f"kinds[{i}] must be 0 (skip), 1 (number) or 2 (text)")
    cdef const unsigned char* base = &data[0] if n > 0 else NULL
    # cut points: after the first row end at or past each even share
    cdef cnp.ndarray[Py_ssize_t, ndim=1] cut = np.empty(n_chunks + 1, dtype=np.intp)
    cut[0] = start
    cut[n_chunks] = n
    cdef const unsigned char* q
    for k in range(1, n_chunks):
        i = start + (n - start) * k // n_chunks
        i = max(i, cut[k - 1])
        if i >= n:
            cut[k] = n
            continue
        q = _row_end(base + i, base + n)
        cut[k] = min(q - base + 1, n)
    cdef cnp.ndarray[Py_ssize_t, ndim=1] rows = np.zeros(n_chunks + 1, dtype=np.intp)
    cdef Py_ssize_t[::1] rows_v = rows
    cdef Py_ssize_t[::1] cut_v = cut
    if n > 0:
        for k in prange(n_chunks, nogil=True, num_threads=n_chunks, schedule="static", chunksize=1):
            rows_v[k + 1] = _count_rows(base + cut_v[k], base + cut_v[k + 1])
    rows = np.cumsum(rows)
    rows_v = rows
    cdef Py_ssize_t n_rows = rows[n_chunks]
    # every field of every row is written (or the scan reports a failure): no fill
    numbers = np.empty((n_number, n_rows))
    starts = np.empty((n_text, n_rows), dtype=np.int64)
    ends = np.empty((n_text, n_rows), dtype=np.int64)
    status = np.zeros((n_chunks, 3), dtype=np.int64)
    cdef float64_t[:, ::1] num_v = numbers
    cdef int64_t[:, ::1] s_v = starts
    cdef int64_t[:, ::1] e_v = ends
    cdef int64_t[:, ::1] st_v = status
    cdef float64_t* num_p = &num_v[0, 0] if numbers.size else NULL
    cdef int64_t* s_p = &s_v[0, 0] if starts.size else NULL
    cdef int64_t* e_p = &e_v[0, 0] if ends.size else NULL
    cdef const signed char* kinds_p = &kinds[0] if n_columns else NULL
    cdef Py_ssize_t* slot_p = &slots[0] if n_columns else NULL
    if n_rows > 0:
        for k in prange(n_chunks, nogil=True, num_threads=n_chunks, schedule="static", chunksize=1):
            _scan_chunk(base, cut_v[k], cut_v[k + 1], rows_v[k], kinds_p, slot_p, n_columns, n_rows,
                        num_p, s_p, e_p, &st_v[k, 0])
    first = np.zeros(3, dtype=np.int64)
    for k in range(n_chunks):
        if status[k, 0] != _OK:
            first = status[k].copy()
            break
    return int(n_rows), numbers, starts, ends, first


cdef inline unsigned long long _hash(const unsigned char* p, Py_ssize_t n) noexcept nogil:
    """64-bit hash of n bytes, 8 at a time (multiply and xor-shift mixing, as in
    splitmix64's finaliser); only its spread matters, the table compares the bytes."""
    cdef unsigned long long h = 0x9E3779B97F4A7C15ULL ^ <unsigned long long>n, w
    while n >= 8:
        memcpy(&w, p, 8)
        h = (h ^ w) * 0xBF58476D1CE4E5B9ULL
        h ^= h >> 31
        p += 8
        n -= 8
    if n > 0:
        w = 0
        memcpy(&w, p, n)
        h = (h ^ w) * 0x94D049BB133111EBULL
    h ^= h >> 29
    h *= 0xBF58476D1CE4E5B9ULL
    h ^= h >> 32
    return h


def intern(const unsigned char[::1] data, const int64_t[::1] starts, const int64_t[::1] ends):
    """Codes of the byte ranges ``data[starts[i]:ends[i]]``, distinct texts numbered in
    first-occurrence order, and the row of each distinct text's first occurrence."""
    cdef Py_ssize_t n = starts.shape[0], i, size = 16, mask, j, length
    if ends.shape[0] != n:
        raise ValueError("starts and ends must have the same length")
    while size < 2 * n:
        size *= 2
    mask = size - 1
    codes = np.empty(n, dtype=np.int64)
    firsts = np.empty(n, dtype=np.int64)
    cdef int64_t[::1] codes_v = codes
    cdef int64_t[::1] firsts_v = firsts
    cdef int64_t* table = <int64_t*>malloc(size * sizeof(int64_t))
    if table == NULL:
        raise MemoryError()
    cdef Py_ssize_t n_distinct = 0, row
    cdef const unsigned char* base = &data[0] if data.shape[0] else NULL
    try:
        with nogil:
            for j in range(size):
                table[j] = -1
            for i in range(n):
                length = ends[i] - starts[i]
                j = <Py_ssize_t>(_hash(base + starts[i], length) & mask)
                while True:
                    if table[j] < 0:
                        table[j] = n_distinct
                        firsts_v[n_distinct] = i
                        codes_v[i] = n_distinct
                        n_distinct += 1
                        break
                    row = firsts_v[table[j]]
                    if (ends[row] - starts[row] == length
                            and memcmp(base + starts[row], base + starts[i], length) == 0):
                        codes_v[i] = table[j]
                        break
                    j = (j + 1) & mask
    finally:
        free(table)
    return codes, firsts[:n_distinct].copy()


def ascii_texts(const unsigned char[::1] data, const int64_t[::1] starts, const int64_t[::1] ends, int threads=2):
    """The byte ranges as a NumPy ``U<width>`` array, or None when any byte is >= 0x80
    (then the caller decodes them as UTF-8)."""
    cdef Py_ssize_t n = starts.shape[0], i, j, width = 1, length
    cdef const unsigned char* base = &data[0] if data.shape[0] else NULL
    cdef bint high = False
    if ends.shape[0] != n:
        raise ValueError("starts and ends must have the same length")
    with nogil:
        for i in range(n):
            length = ends[i] - starts[i]
            width = max(width, length)
            for j in range(length):
                high = high or base[starts[i] + j] >= 128
    if high:
        return None
    out = np.zeros(n, dtype=f"U{width}")
    cdef cnp.uint32_t[::1] out_v = out.view(np.uint32)
    for i in prange(n, nogil=True, num_threads=threads, schedule="static"):
        for j in range(ends[i] - starts[i]):
            out_v[i * width + j] = base[starts[i] + j]
    return out
