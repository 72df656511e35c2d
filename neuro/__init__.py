"""neuro: spiking and neuromorphic simulation.

Importing ``neuro`` is cheap: it loads no torch, numba or h5py. Subpackages are imported
explicitly (``neuro.core``, ``neuro.ir``, ``neuro.torch``, ...).
"""

from neuro._version import __version__
from neuro.core.errors import NeuroError

__all__ = ["NeuroError", "__version__"]
