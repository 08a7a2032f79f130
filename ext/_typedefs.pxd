# Shared C types for every QuakeWatch kernel (``cimport`` this, never redefine).
#
# Fixed-width names so that the NumPy dtype of an array and the C type of the
# memoryview that receives it read the same: float64 <-> float64_t, and so on.
# Kernels accumulate in float64_t whatever the sample type; counts and indices
# are int64_t (NumPy's default integer on every supported platform).

ctypedef float float32_t
ctypedef double float64_t
ctypedef int int32_t
ctypedef long long int64_t

# Sample types an ingest block may arrive in: float32 / float64 physical units,
# int32 raw digitizer counts (miniSEED STEIM/INT32).
ctypedef fused sample_t:
    float32_t
    float64_t
    int32_t
