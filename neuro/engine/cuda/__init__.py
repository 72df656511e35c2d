"""The ``cuda`` engine backend: CuPy arrays and Numba-CUDA kernels.

* :mod:`neuro.engine.cuda.arrays`: what the backend runs on (a CUDA device through CuPy, or
  the Numba CUDA simulator when ``NUMBA_ENABLE_CUDASIM=1``), transfers and kernel launches;
* :mod:`neuro.engine.cuda.kernels`: the event kernels of the projections (dense, conv, pool,
  sparse with per-synapse delays), each with three accumulation strategies;
* :mod:`neuro.engine.cuda.populations`: a neuron model's ``update`` compiled as a Numba-CUDA
  device function, one thread per (sample, neuron) looping over all time steps;
* :mod:`neuro.engine.cuda.blocks`: recurrent blocks and STDP, per-step kernels launched without
  host synchronisation.

Nothing here imports CuPy or ``numba.cuda`` at import time; ``import neuro`` works without them.
See ``docs/engine.md`` (section "The cuda backend").
"""
