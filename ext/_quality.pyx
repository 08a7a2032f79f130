"""Per-channel data-quality kernel for ingest blocks (compiled core).

Private: call it through :func:`quakewatch.ext.quality.block_quality`, which
validates and converts the inputs once.  The per-channel statistics are
``_channel_stats.channel_stats``; definitions are in ``quakewatch.ext.quality``.

Outputs, one column per channel:

``fout`` float64, shape (6, n_channels): rows ``F_*`` below.
``iout`` int64, shape (5, n_channels): rows ``I_*`` below.
"""

cimport numpy as cnp

from _channel_stats cimport ChannelOut, channel_stats
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
    cdef Py_ssize_t c
    cdef ChannelOut out

    for c in range(data.shape[0]):
        channel_stats(
            data[c], last_in[c], last2_in[c], run_in[c],
            clip_levels[c] if per_channel_clip else clip_scalar, spike_factor, &out,
        )
        fout[_F_MINIMUM, c] = out.minimum
        fout[_F_MAXIMUM, c] = out.maximum
        fout[_F_MEAN, c] = out.mean
        fout[_F_RMS, c] = out.rms
        fout[_F_LAST, c] = out.last
        fout[_F_LAST2, c] = out.last2
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


cdef void _run(
    const sample_t[:, ::1] data,
    float64_t clip_level,
    const float64_t[::1] clip_levels,
    bint per_channel,
    const float64_t[::1] last,
    const float64_t[::1] last2,
    const int64_t[::1] run,
    float64_t spike_factor,
    float64_t[:, ::1] fo,
    int64_t[:, ::1] io,
):
    with nogil:
        _block_quality(data, clip_level, clip_levels, per_channel, last, last2, run, spike_factor, fo, io)


def quality(
    cnp.ndarray data not None,
    float64_t clip_level,
    const float64_t[::1] clip_levels,
    const float64_t[::1] last,
    const float64_t[::1] last2,
    const int64_t[::1] run,
    float64_t spike_factor,
):
    """Kernel for a C-contiguous 2-D float32, float64 or int32 block (native byte
    order); returns ``(fout, iout)``, see module docstring.  The front-end
    validates; lengths are checked again here because the nogil loop trusts them.
    One compile-time specialisation per dtype, chosen by the array's type number.

    ``clip_levels`` (per channel) replaces the scalar ``clip_level`` unless None.
    """
    if data.ndim != 2:
        raise ValueError(f"data must have 2 dimensions, got {data.ndim}")
    cdef bint per_channel = clip_levels is not None
    _check_lengths(data.shape[0], clip_levels, per_channel, last, last2, run)
    fout, iout = _outputs(data.shape[0])
    cdef float64_t[:, ::1] fo = fout
    cdef int64_t[:, ::1] io = iout
    cdef int typenum = cnp.PyArray_TYPE(data)
    if typenum == cnp.NPY_FLOAT32:
        _run[float32_t](data, clip_level, clip_levels, per_channel, last, last2, run, spike_factor, fo, io)
    elif typenum == cnp.NPY_FLOAT64:
        _run[float64_t](data, clip_level, clip_levels, per_channel, last, last2, run, spike_factor, fo, io)
    elif typenum == cnp.NPY_INT32:
        _run[int32_t](data, clip_level, clip_levels, per_channel, last, last2, run, spike_factor, fo, io)
    else:
        raise TypeError(f"data must have dtype float32, float64 or int32, got {data.dtype}")
    return fout, iout
