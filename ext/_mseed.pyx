"""miniSEED 2.4 record packing for float32 samples (compiled core).

Private: call it through :func:`quakewatch.ext.mseed.pack_float32`, which
documents the record layout.  Written from the SEED 2.4 manual (chapter 8,
fixed section of data header; blockettes 1000 and 1001); its output is checked
byte for byte against libmseed (pymseed) in the tests.
"""

cimport numpy as cnp
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int8_t, int16_t, uint8_t, uint16_t, uint32_t, uint64_t
from libc.string cimport memcpy, memset

from _typedefs cimport float32_t, float64_t, int64_t

cnp.import_array()

cdef extern from *:
    """
    #if defined(__GNUC__) || defined(__clang__)
    #define qw_bswap32(x) __builtin_bswap32(x)
    #else
    static inline uint32_t qw_bswap32(uint32_t x) {
        return (x >> 24) | ((x >> 8) & 0xFF00u) | ((x << 8) & 0xFF0000u) | (x << 24);
    }
    #endif
    """
    uint32_t _bswap32 "qw_bswap32"(uint32_t x) nogil

cdef enum:
    B1000_AT = 48
    B1001_AT = 56
    MIN_RECORD = 256
    MAX_RECORD = 1 << 16
    ENCODING_FLOAT32 = 4
    BIG_ENDIAN = 1

IDENT_BYTES = 12  # station (5), location (2), channel (3), network (2), space padded

cdef int _CUMDAYS[12]
_CUMDAYS[:] = [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334]


cdef struct Record:
    Py_ssize_t first          # offset of the first sample in the packed range
    Py_ssize_t n              # samples in the record
    int length                # record length, bytes (power of two)
    int data_at               # header length = offset of the data
    uint16_t year, doy, fract
    uint8_t hour, minute, second
    int8_t usec               # blockette 1001 microsecond offset, -50..49
    bint b1001                # blockette 1001 follows blockette 1000


cdef inline int64_t _floordiv(int64_t a, int64_t b) noexcept nogil:
    cdef int64_t q = a // b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef void _btime(int64_t t_ns, Record* rec) noexcept nogil:
    """BTIME (0.1 ms) and blockette 1001 offset (us) of a time in ns since 1970:
    nearest microsecond, then nearest 0.1 ms, ties upwards."""
    cdef int64_t us = _floordiv(t_ns + 500, 1000)
    cdef int64_t t100 = _floordiv(us + 50, 100)
    cdef int64_t secs = _floordiv(t100, 10000)
    cdef int64_t days = _floordiv(secs, 86400)
    cdef int64_t sod = secs - days * 86400
    cdef int64_t z, era, doe, yoe, y, doy_mar, mp, m, d
    cdef bint leap
    rec.usec = <int8_t>(us - t100 * 100)
    rec.fract = <uint16_t>(t100 - secs * 10000)
    rec.hour = <uint8_t>(sod // 3600)
    rec.minute = <uint8_t>((sod % 3600) // 60)
    rec.second = <uint8_t>(sod % 60)
    # civil date from days since 1970-01-01, proleptic Gregorian (H. Hinnant,
    # "chrono-Compatible Low-Level Date Algorithms", civil_from_days)
    z = days + 719468
    era = _floordiv(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy_mar = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy_mar + 2) // 153
    d = doy_mar - (153 * mp + 2) // 5 + 1
    m = mp + 3 if mp < 10 else mp - 9
    if m <= 2:
        y += 1
    leap = (y % 4 == 0 and y % 100 != 0) or y % 400 == 0
    rec.year = <uint16_t>y
    rec.doy = <uint16_t>(_CUMDAYS[m - 1] + d + (1 if leap and m > 2 else 0))


cdef inline void _put16(char* p, uint16_t v) noexcept nogil:
    p[0] = <char>(v >> 8)
    p[1] = <char>(v & 0xFF)


cdef inline int _exponent(int length) noexcept nogil:
    cdef int e = 0
    while (1 << e) < length:
        e += 1
    return e


cdef void _header(char* p, const char* ident, Record* rec, int16_t factor) noexcept nogil:
    memset(p, 0, rec.data_at)
    memcpy(p, b"000000D ", 8)
    memcpy(p + 8, ident, 12)
    _put16(p + 20, rec.year)
    _put16(p + 22, rec.doy)
    p[24] = <char>rec.hour
    p[25] = <char>rec.minute
    p[26] = <char>rec.second
    _put16(p + 28, rec.fract)
    _put16(p + 30, <uint16_t>rec.n)
    _put16(p + 32, <uint16_t>factor)
    _put16(p + 34, 1)                                        # multiplier
    p[39] = <char>(2 if rec.b1001 else 1)                   # blockettes that follow
    _put16(p + 44, <uint16_t>rec.data_at)
    _put16(p + 46, B1000_AT)
    _put16(p + B1000_AT, 1000)
    _put16(p + B1000_AT + 2, B1001_AT if rec.b1001 else 0)
    p[B1000_AT + 4] = ENCODING_FLOAT32
    p[B1000_AT + 5] = BIG_ENDIAN
    p[B1000_AT + 6] = <char>_exponent(rec.length)
    if rec.b1001:
        _put16(p + B1001_AT, 1001)
        p[B1001_AT + 5] = <char>rec.usec


cdef Py_ssize_t _n_records(Py_ssize_t count, int max_length) noexcept nogil:
    # upper bound: every record but the last is full at the largest header
    cdef Py_ssize_t per = (max_length - 64) // 4
    return (count + per - 1) // per if count > 0 else 0


cdef Py_ssize_t _plan(int64_t start_ns, float64_t rate_hz, Py_ssize_t count, int max_length, Record* recs) noexcept nogil:
    """Fill ``recs``; returns the number of records.  Each record is the smallest
    power of two (>= 256 bytes) that holds the rest of the samples at the largest
    header (64 bytes), at most ``max_length``; it holds as many samples as fit
    behind its actual header (56 bytes without blockette 1001)."""
    cdef Py_ssize_t first = 0, k = 0, remaining, fit
    cdef int length
    cdef Record* rec
    # When the sample period is not a whole number of 0.1 ms, every record carries
    # blockette 1001 (libmseed's rule): record starts need microseconds in general.
    cdef bint sub_100us = (1e4 / rate_hz) != <float64_t>(<int64_t>(1e4 / rate_hz))
    while first < count:
        rec = &recs[k]
        remaining = count - first
        length = MIN_RECORD
        while length < 64 + 4 * remaining and length < max_length:
            length *= 2
        # record start as libmseed computes it: start + offset / rate, rounded to ns
        _btime(start_ns + <int64_t>((<float64_t>first / rate_hz) * 1e9 + 0.5), rec)
        rec.b1001 = rec.usec != 0 or sub_100us
        rec.data_at = 64 if rec.b1001 else 56
        fit = (length - rec.data_at) // 4
        rec.first = first
        rec.n = fit if fit < remaining else remaining
        rec.length = length
        first += rec.n
        k += 1
    return k


def plan_records(int64_t start_ns, float64_t rate_hz, Py_ssize_t count, int max_record_length):
    """Record layout of ``count`` samples: a list of (first, n, length) tuples."""
    if not rate_hz > 0.0:
        raise ValueError(f"rate_hz must be > 0, got {rate_hz}")
    if not (MIN_RECORD <= max_record_length <= MAX_RECORD and (max_record_length & (max_record_length - 1)) == 0):
        raise ValueError(f"max_record_length: {max_record_length} is not a power of two in 256..65536")
    cdef Py_ssize_t n_rec = _n_records(count, max_record_length)
    cdef Record* recs = <Record*>PyMem_Malloc(max(1, n_rec) * sizeof(Record))
    if recs == NULL:
        raise MemoryError()
    try:
        n_rec = _plan(start_ns, rate_hz, count, max_record_length, recs)
        return [(recs[i].first, recs[i].n, recs[i].length) for i in range(n_rec)]
    finally:
        PyMem_Free(recs)


cdef class _Job:
    """One series of rows to pack: its block pointers, record plan and outputs (C
    arrays owned here, freed with the object)."""

    cdef const float32_t** ptr
    cdef Py_ssize_t* cols
    cdef Py_ssize_t n_blocks, n_rows, skip, n_rec
    cdef Record* recs
    cdef char** outp
    cdef const char** idp
    cdef int16_t factor
    cdef list out
    cdef list keep  # the arrays and idents the pointers point into

    def __cinit__(self):
        self.ptr = NULL
        self.cols = NULL
        self.recs = NULL
        self.outp = NULL
        self.idp = NULL

    def __dealloc__(self):
        PyMem_Free(self.ptr)
        PyMem_Free(self.cols)
        PyMem_Free(self.recs)
        PyMem_Free(self.outp)
        PyMem_Free(self.idp)


cdef _Job _prepare(list blocks, Py_ssize_t skip, Py_ssize_t count, int64_t start_ns, float64_t rate_hz, list idents, int max_record_length):
    cdef _Job job = _Job()
    cdef Py_ssize_t n_rows = len(idents), n_blocks = len(blocks), b, r, total_cols = 0
    cdef cnp.ndarray arr
    if not (1.0 <= rate_hz <= 32767.0 and rate_hz == <float64_t><int16_t>rate_hz):
        raise ValueError(f"rate_hz: {rate_hz!r} is not a whole number of Hz in 1..32767")
    if not (MIN_RECORD <= max_record_length <= MAX_RECORD and (max_record_length & (max_record_length - 1)) == 0):
        raise ValueError(f"max_record_length: {max_record_length} is not a power of two in 256..65536")
    for ident in idents:
        if not isinstance(ident, bytes) or len(<bytes>ident) != IDENT_BYTES:
            raise ValueError(f"idents: each must be {IDENT_BYTES} bytes, got {ident!r}")
    job.factor = <int16_t>rate_hz
    job.n_rows, job.n_blocks, job.skip = n_rows, n_blocks, skip
    job.keep = [blocks, idents]
    job.ptr = <const float32_t**>PyMem_Malloc(max(1, n_blocks) * sizeof(void*))
    job.cols = <Py_ssize_t*>PyMem_Malloc(max(1, n_blocks) * sizeof(Py_ssize_t))
    if job.ptr == NULL or job.cols == NULL:
        raise MemoryError()
    for b in range(n_blocks):
        arr = blocks[b]
        if (cnp.PyArray_TYPE(arr) != cnp.NPY_FLOAT32 or arr.ndim != 2
                or not cnp.PyArray_IS_C_CONTIGUOUS(arr) or arr.shape[0] != n_rows
                or not cnp.PyArray_ISNOTSWAPPED(arr)):
            raise ValueError(f"blocks[{b}]: must be a C-contiguous native float32 array with {n_rows} rows")
        job.ptr[b] = <const float32_t*>cnp.PyArray_DATA(arr)
        job.cols[b] = arr.shape[1]
        total_cols += job.cols[b]
    if skip < 0 or count < 0 or skip + count > total_cols:
        raise ValueError(f"skip={skip}, count={count}: outside the blocks' {total_cols} samples")
    job.recs = <Record*>PyMem_Malloc(max(1, _n_records(count, max_record_length)) * sizeof(Record))
    if job.recs == NULL:
        raise MemoryError()
    job.n_rec = _plan(start_ns, rate_hz, count, max_record_length, job.recs)
    job.out = [_new_row(job.recs, job.n_rec) for r in range(n_rows)]
    job.outp = <char**>PyMem_Malloc(max(1, n_rows) * sizeof(char*))
    job.idp = <const char**>PyMem_Malloc(max(1, n_rows) * sizeof(char*))
    if job.outp == NULL or job.idp == NULL:
        raise MemoryError()
    for r in range(n_rows):
        job.outp[r] = PyBytes_AS_STRING(job.out[r])
        job.idp[r] = PyBytes_AS_STRING(idents[r])
    return job


cdef struct JobView:
    const float32_t** ptr
    Py_ssize_t* cols
    Py_ssize_t n_blocks, n_rows, skip, n_rec
    Record* recs
    char** outp
    const char** idp
    int16_t factor


def pack_float32_many(list jobs, int max_record_length):
    """Pack several series at once: ``jobs`` holds ``(blocks, skip, count, start_ns,
    rate_hz, idents)`` tuples (see :func:`pack_float32_rows`); returns, per job, one
    bytes object per row.  The GIL is released once for all of them: a commit
    thread must not queue for it behind a busy event loop once per series."""
    cdef list prepared = []
    for blocks, skip, count, start_ns, rate_hz, idents in jobs:
        prepared.append(_prepare(blocks, skip, count, start_ns, rate_hz, idents, max_record_length))
    cdef Py_ssize_t n_jobs = len(prepared), k, r
    cdef _Job job
    cdef JobView* views = <JobView*>PyMem_Malloc(max(1, n_jobs) * sizeof(JobView))
    if views == NULL:
        raise MemoryError()
    try:
        for k in range(n_jobs):
            job = prepared[k]
            views[k].ptr, views[k].cols, views[k].recs = job.ptr, job.cols, job.recs
            views[k].n_blocks, views[k].n_rows, views[k].skip, views[k].n_rec = job.n_blocks, job.n_rows, job.skip, job.n_rec
            views[k].outp, views[k].idp, views[k].factor = job.outp, job.idp, job.factor
        with nogil:
            for k in range(n_jobs):
                for r in range(views[k].n_rows):
                    _pack_row(views[k].ptr, views[k].cols, views[k].n_blocks, r, views[k].skip,
                              views[k].recs, views[k].n_rec, views[k].idp[r], views[k].factor, views[k].outp[r])
    finally:
        PyMem_Free(views)
    return [(<_Job>j).out for j in prepared]


def pack_float32_rows(
    list blocks,
    Py_ssize_t skip,
    Py_ssize_t count,
    int64_t start_ns,
    float64_t rate_hz,
    list idents,
    int max_record_length,
):
    """Records of each row of ``blocks`` (2-D float32, same rows, joined along
    time) from column ``skip``, ``count`` samples; one bytes object per row."""
    return pack_float32_many([(blocks, skip, count, start_ns, rate_hz, idents)], max_record_length)[0]


cdef bytes _new_row(Record* recs, Py_ssize_t n_rec):
    cdef Py_ssize_t total = 0, k
    for k in range(n_rec):
        total += recs[k].length
    return PyBytes_FromStringAndSize(NULL, total)


cdef void _pack_row(
    const float32_t** ptr, const Py_ssize_t* cols, Py_ssize_t n_blocks, Py_ssize_t row,
    Py_ssize_t skip, Record* recs, Py_ssize_t n_rec, const char* idp, int16_t factor, char* p,
) noexcept nogil:
    cdef Py_ssize_t k, j, b = 0, col = skip, left, chunk
    cdef const uint32_t* src
    cdef uint32_t* d
    while b < n_blocks and col >= cols[b]:               # the block holding sample ``skip``
        col -= cols[b]
        b += 1
    for k in range(n_rec):
        _header(p, idp, &recs[k], factor)
        d = <uint32_t*>(p + recs[k].data_at)
        left = recs[k].n
        while left > 0:
            if col >= cols[b]:
                col = 0
                b += 1
            chunk = cols[b] - col
            if chunk > left:
                chunk = left
            src = <const uint32_t*>(ptr[b] + row * cols[b] + col)
            for j in range(chunk):                        # big-endian words
                d[j] = _bswap32(src[j])
            d += chunk
            col += chunk
            left -= chunk
        memset(d, 0, recs[k].length - (<char*>d - p))
        p += recs[k].length


cdef extern from "<unistd.h>" nogil:
    ssize_t c_write "write"(int fd, const void* buf, size_t count)

cdef extern from "<errno.h>" nogil:
    int errno
    int EINTR


cdef uint64_t _checksum(const char* p, Py_ssize_t n) noexcept nogil:
    """FNV-1a over 64-bit words (tail zero-padded), seeded with the length: detects
    missing, zeroed or stale bytes after a crash (not a cryptographic hash)."""
    cdef uint64_t h = 0xcbf29ce484222325ULL ^ <uint64_t>n
    cdef uint64_t w
    cdef Py_ssize_t i = 0
    while i + 8 <= n:
        memcpy(&w, p + i, 8)
        h = (h ^ w) * 0x100000001b3ULL
        i += 8
    if i < n:
        w = 0
        memcpy(&w, p + i, n - i)
        h = (h ^ w) * 0x100000001b3ULL
    return h


def checksum(const unsigned char[::1] data):
    """The checksum :func:`write_all` reports, of any bytes-like object."""
    cdef uint64_t h
    cdef const char* p = NULL
    if data.shape[0]:
        p = <const char*>&data[0]
    with nogil:
        h = _checksum(p, data.shape[0])
    return h


def write_all(list fds, list payloads):
    """Append ``payloads[i]`` to file descriptor ``fds[i]``, whole, for every i,
    releasing the GIL once for all of them; returns the checksum of each payload.
    Raises OSError on the first failure (files before it were written, files
    after it were not)."""
    cdef Py_ssize_t n = len(fds), i
    if len(payloads) != n:
        raise ValueError(f"{n} file descriptors for {len(payloads)} payloads")
    cdef int* fd = <int*>PyMem_Malloc(max(1, n) * sizeof(int))
    cdef const char** buf = <const char**>PyMem_Malloc(max(1, n) * sizeof(char*))
    cdef Py_ssize_t* size = <Py_ssize_t*>PyMem_Malloc(max(1, n) * sizeof(Py_ssize_t))
    cdef uint64_t* sums = <uint64_t*>PyMem_Malloc(max(1, n) * sizeof(uint64_t))
    cdef Py_ssize_t failed = -1, done
    cdef ssize_t w
    cdef int err = 0
    try:
        if fd == NULL or buf == NULL or size == NULL or sums == NULL:
            raise MemoryError()
        for i in range(n):
            fd[i] = fds[i]
            buf[i] = PyBytes_AS_STRING(payloads[i])      # bytes only: TypeError otherwise
            size[i] = len(<bytes>payloads[i])
        with nogil:
            for i in range(n):
                sums[i] = _checksum(buf[i], size[i])
                done = 0
                while done < size[i]:
                    w = c_write(fd[i], buf[i] + done, size[i] - done)
                    if w < 0:
                        if errno == EINTR:
                            continue
                        err = errno
                        failed = i
                        break
                    done += w
                if failed >= 0:
                    break
        if failed >= 0:
            import os
            raise OSError(err, f"write to file descriptor {fd[failed]}: {os.strerror(err)}")
        return [sums[i] for i in range(n)]
    finally:
        PyMem_Free(fd)
        PyMem_Free(buf)
        PyMem_Free(size)
        PyMem_Free(sums)
