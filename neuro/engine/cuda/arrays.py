"""What the ``cuda`` backend runs on: device, array module, transfers and kernel launches.

Two execution targets, decided when the process starts:

* a CUDA device: arrays are CuPy arrays, kernels are Numba-CUDA kernels that take them
  directly (``__cuda_array_interface__``, no copy);
* the Numba CUDA simulator (``NUMBA_ENABLE_CUDASIM=1`` in the environment before Numba is
  imported): arrays are numpy arrays and the same kernels run thread by thread in Python on the
  CPU. It is slow and exists to test the kernels without a GPU.

Numba reads ``NUMBA_ENABLE_CUDASIM`` once, at import, so a process cannot switch between them.
CuPy and ``numba.cuda`` are imported only when a kernel is first needed.
"""

from __future__ import annotations

import functools
import importlib.util
from collections import Counter
from typing import Any

import numpy as np

from neuro.core.errors import BackendUnavailableError

THREADS_PER_BLOCK = 128

launches: Counter[str] = Counter()
"""Kernel launches by kernel name in this process: the path sentinel that tests read to prove
that the cuda kernels (and not another backend) computed a result."""


def simulated() -> bool:
    """True when Numba runs CUDA kernels in its CPU simulator (``NUMBA_ENABLE_CUDASIM=1``)."""
    import numba

    return bool(numba.config.ENABLE_CUDASIM)


def probe() -> tuple[bool, str]:
    """``(usable, detail)``: a CUDA device with CuPy and Numba-CUDA, or the simulator."""
    if simulated():
        return True, "Numba CUDA simulator (NUMBA_ENABLE_CUDASIM=1): kernels run in Python on the CPU, for tests"
    if importlib.util.find_spec("cupy") is None:
        return False, (
            "missing cupy and a CUDA device (pip install 'neuro[gpu]'); or set NUMBA_ENABLE_CUDASIM=1 "
            "to run the kernels in the Numba CUDA simulator"
        )
    try:
        import cupy

        count = int(cupy.cuda.runtime.getDeviceCount())
    except Exception as exc:
        return False, f"no usable CUDA device ({type(exc).__name__}: {exc})"
    if count == 0:
        return False, f"no CUDA device (cupy {cupy.__version__} sees none)"
    try:
        from numba import cuda

        ok = bool(cuda.is_available())
    except Exception as exc:
        return False, f"numba cannot use the CUDA device ({type(exc).__name__}: {exc}); pip install 'neuro[gpu]'"
    if not ok:
        return False, "numba finds no CUDA driver or device (pip install 'neuro[gpu]' installs numba-cuda)"
    return True, f"{count} CUDA device(s), cupy {cupy.__version__}"


def require() -> None:
    """Raise :class:`BackendUnavailableError` (saying what is missing) unless usable."""
    ok, detail = probe()
    if not ok:
        raise BackendUnavailableError(f"the 'cuda' engine backend cannot run here: {detail}")


@functools.cache
def cuda() -> Any:
    """The ``numba.cuda`` module (imported on first use)."""
    require()
    from numba import cuda as module

    return module


def xp() -> Any:
    """The array module of device arrays: CuPy on a device, numpy under the simulator."""
    if simulated():
        return np
    import cupy

    return cupy


def to_device(a: Any, dtype: Any = None) -> Any:
    """A contiguous device copy of ``a`` (under the simulator: a writable numpy copy, which the
    simulator copies in and out around each launch)."""
    return xp().array(a, dtype=dtype, order="C", copy=True)


def zeros(shape: Any, dtype: Any) -> Any:
    return xp().zeros(shape, dtype)


def to_host(a: Any) -> np.ndarray:
    """A numpy array of a device array."""
    if isinstance(a, np.ndarray):
        return a
    return a.get()


def launch(name: str, kernel: Any, n_threads: int, *args: Any) -> None:
    """Launch ``kernel`` over ``n_threads`` threads (1-D grid; each kernel checks its bound)
    and count the launch in :data:`launches`. Launches are asynchronous on a device; a
    transfer to the host waits for them."""
    if n_threads <= 0:
        return
    # the simulator starts a Python thread for every thread of a block, idle ones included
    per_block = min(THREADS_PER_BLOCK, int(n_threads)) if simulated() else THREADS_PER_BLOCK
    blocks = (int(n_threads) + per_block - 1) // per_block
    kernel[blocks, per_block](*args)
    launches[name] += 1
