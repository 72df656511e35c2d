"""numpy-only numerics: neuron models written once, reset and surrogate strategies, events.

Nothing here imports torch, the engine or the hardware layer; Numba appears only inside
:mod:`neuro.core.jit`, imported lazily.
"""
