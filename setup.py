"""Build script: maps the top-level rooms onto the ``quakewatch`` namespace and
compiles the Cython kernels in ``ext/``.

Set ``QUAKEWATCH_CYTHON_DEBUG=1`` at build time for a bounds-checked debug build
(``boundscheck=True, wraparound=True, initializedcheck=True``); the test suite runs
against such a build once in CI.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, find_packages, setup

HERE = Path(__file__).parent

# import name -> folder (ARCHITECTURE.md, "Rooms").  ``quakewatch`` itself lives in
# proto/quakewatch so that generated stubs importing ``quakewatch.v1.x_pb2`` resolve.
ROOTS = {
    "quakewatch": "proto/quakewatch",
    "quakewatch.server": "server",
    "quakewatch.ext": "ext",
    "quakewatch.clients": "clients",
    "quakewatch.plans": "plans",
}


def _packages() -> tuple[list[str], dict[str, str]]:
    packages: list[str] = []
    package_dir: dict[str, str] = {}
    for name, folder in ROOTS.items():
        packages.append(name)
        package_dir[name] = folder
        for sub in find_packages(folder):
            packages.append(f"{name}.{sub}")
    return packages, package_dir


def _extensions() -> list[Extension]:
    debug = os.environ.get("QUAKEWATCH_CYTHON_DEBUG", "") not in ("", "0")
    directives = {
        "language_level": "3",
        "boundscheck": debug,
        "wraparound": debug,
        "initializedcheck": debug,
        "cdivision": True,
        "nonecheck": False,
        "embedsignature": True,
    }
    # Extensions whose kernels run channels (or fixed chunks) in OpenMP threads.
    openmp = {"_trigger", "_csvscan", "_nearest"}
    ext = []
    for pyx in sorted((HERE / "ext").glob("_*.pyx")):
        omp = ["-fopenmp"] if pyx.stem in openmp else []
        ext.append(
            Extension(
                f"quakewatch.ext.{pyx.stem}",
                [str(pyx.relative_to(HERE))],
                include_dirs=[np.get_include(), "ext"],
                define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
                extra_compile_args=(["-O3"] if not debug else ["-O0", "-g"]) + omp,
                extra_link_args=omp,
            )
        )
    # Each mode keeps its own generated C, so switching modes never reuses the other's.
    build_dir = "build/cython-debug" if debug else "build/cython-release"
    # nthreads: the .pyx -> .c translation of several modules in parallel (install time)
    return cythonize(ext, compiler_directives=directives, include_path=["ext"], build_dir=build_dir, nthreads=os.cpu_count() or 1)


packages, package_dir = _packages()
# parallel: compile the extensions' C side by side (``pip install .`` on a 2-core machine
# spends most of its time in the C compiler).
setup(packages=packages, package_dir=package_dir, ext_modules=_extensions(), options={"build_ext": {"parallel": os.cpu_count() or 1}})
