"""Torch transforms: same numbers as the numpy encoders, per-worker streams, reproducible seeds."""

from __future__ import annotations

import numpy as np
import torch

from neuro.encoders.delta import encode_delta
from neuro.encoders.latency import encode_latency
from neuro.encoders.population import encode_population
from neuro.encoders.rate import encode_rate
from neuro.encoders.torch_transforms import DeltaEncode, LatencyEncode, PopulationEncode, RateEncode


def test_rate_transform_matches_numpy_with_the_same_stream():
    x = torch.rand(3, 4, generator=torch.Generator().manual_seed(0))
    z = RateEncode(20, seed=5)(x)
    ref = encode_rate(x.double().numpy(), 20, rng=np.random.default_rng([5, 0]))
    assert z.dtype == torch.float32
    np.testing.assert_array_equal(z.numpy(), ref)


def test_rate_transform_advances_its_stream_and_reseeds_reproducibly():
    x = torch.full((50,), 0.5)
    enc = RateEncode(10, seed=1)
    first, second = enc(x), enc(x)
    assert not torch.equal(first, second)
    assert torch.equal(RateEncode(10, seed=1)(x), first)


def test_workers_get_different_streams():
    enc = RateEncode(8, seed=3)
    loader = torch.utils.data.DataLoader(
        [0, 1], batch_size=1, num_workers=2, collate_fn=lambda b: enc(torch.full((64,), 0.5)), multiprocessing_context="fork"
    )
    a, b = list(loader)
    assert not torch.equal(a, b)


def test_deterministic_transforms_equal_the_numpy_encoders():
    x = torch.linspace(0, 1, 7)
    np.testing.assert_array_equal(
        LatencyEncode(6, code="linear", normalize=True)(x).numpy(),
        encode_latency(x.double().numpy(), 6, code="linear", normalize=True),
    )
    seq = torch.sin(torch.linspace(0, 6, 40))[:, None].repeat(1, 3)
    np.testing.assert_array_equal(DeltaEncode(0.2)(seq).numpy(), encode_delta(seq.double().numpy(), 0.2))
    np.testing.assert_array_equal(PopulationEncode(5, 10)(x).numpy(), encode_population(x.double().numpy(), 5, 10))
