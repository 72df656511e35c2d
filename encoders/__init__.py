"""neuro.encoders: data to spikes and events (installed from the repository's encoders/).

Pure numpy functions, with Numba for per-event loops: rate (Bernoulli, Poisson, continuous
Poisson spike times), latency, delta / level crossing, sigma-delta, Gaussian population coding,
a DVS pixel emulator for frame sequences and a cochlea front end for audio. Thin torch
transforms live in :mod:`neuro.encoders.torch_transforms` (imported on demand, so this package
does not import torch).
"""

from __future__ import annotations

from neuro.encoders.cochlea import encode_cochlea, erb_space
from neuro.encoders.delta import delta_events, encode_delta, encode_sigma_delta
from neuro.encoders.dvs import DVSParams, emulate_dvs
from neuro.encoders.latency import encode_latency, latency_times
from neuro.encoders.population import encode_population, gaussian_receptive_fields, receptive_field_centres
from neuro.encoders.rate import encode_rate, poisson_spike_times

__all__ = [
    "DVSParams",
    "delta_events",
    "emulate_dvs",
    "encode_cochlea",
    "encode_delta",
    "encode_latency",
    "encode_population",
    "encode_rate",
    "encode_sigma_delta",
    "erb_space",
    "gaussian_receptive_fields",
    "latency_times",
    "poisson_spike_times",
    "receptive_field_centres",
]
