"""Metrics: decoding, accuracy, spike counts, per-layer firing rates through a SpikeMonitor."""

from __future__ import annotations

import sys
import types

import numpy as np
import pytest
import torch

from neuro.core.errors import MissingToolError, ParameterError
from neuro.train.metrics import LayerActivity, accuracy, correct, decode, firing_rates, spikes_per_sample


def test_decodings_differ_where_they_should():
    out = torch.zeros(4, 1, 2)
    out[:, 0, 0] = torch.tensor([0.5, 0.5, 0.5, 0.5])  # more in total
    out[:, 0, 1] = torch.tensor([0.0, 0.0, 0.0, 0.9])  # higher peak
    assert decode(out, "rate").tolist() == [0]
    assert decode(out, "mean_membrane").tolist() == [0]
    assert decode(out, "max_membrane").tolist() == [1]


def test_accuracy_and_spikes_against_numpy(rng):
    spikes = (rng.random((6, 10, 4)) < 0.3).astype(np.float32)
    target = rng.integers(0, 4, 10)
    out, y = torch.from_numpy(spikes), torch.from_numpy(target)
    expected_pred = spikes.sum(0).argmax(1)
    assert correct(out, y) == int((expected_pred == target).sum())
    assert accuracy(out, y) == pytest.approx(float((expected_pred == target).mean()))
    assert spikes_per_sample(out) == pytest.approx(float(spikes.sum()) / 10)


def test_metric_errors():
    with pytest.raises(ParameterError) as info:
        decode(torch.zeros(3, 4))
    assert info.value.field == "out_seq"
    with pytest.raises(ParameterError) as info:
        decode(torch.zeros(3, 4, 2), "vote")  # type: ignore[arg-type]
    assert info.value.field == "decode"
    with pytest.raises(ParameterError):
        correct(torch.zeros(3, 4, 2), torch.zeros(3, dtype=torch.int64))


def test_layer_activity_rates():
    act = LayerActivity()
    act.add({"a": 6.0, "b": 0.0}, {"a": 3, "b": 2}, sample_steps=4)
    act.add({"a": 6.0, "b": 4.0}, {"a": 3, "b": 2}, sample_steps=4)
    assert act.rates() == {"a": 12.0 / 24.0, "b": 4.0 / 16.0}


class FakeMonitor:
    """Counts the output of every Linear layer, like the lead's SpikeMonitor will for spiking layers."""

    def __init__(self, model: torch.nn.Module) -> None:
        self.model, self.handles = model, []
        self.total: dict[str, float] = {}
        self.size: dict[str, int] = {}

    def __enter__(self) -> FakeMonitor:
        for name, mod in self.model.named_modules():
            if isinstance(mod, torch.nn.Linear):
                self.handles.append(mod.register_forward_hook(self._hook(name)))
        return self

    def _hook(self, name):
        def hook(mod, args, out):
            self.total[name] = self.total.get(name, 0.0) + float((out > 0).sum())
            self.size[name] = out.shape[-1]

        return hook

    def __exit__(self, *exc: object) -> None:
        for h in self.handles:
            h.remove()

    def counts(self) -> dict[str, float]:
        return dict(self.total)

    def neurons(self) -> dict[str, int]:
        return dict(self.size)


@pytest.fixture
def fake_monitor(monkeypatch):
    module = types.ModuleType("neuro.torch.monitor")
    module.SpikeMonitor = FakeMonitor  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "neuro.torch.monitor", module)


def test_firing_rates_with_a_monitor(fake_monitor):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Linear(5, 2))
    x = torch.randn(4, 2, 3)
    out, counts, neurons, steps = firing_rates(model, x)
    assert torch.equal(out, model(x))
    assert neurons == {"0": 5, "1": 2}
    assert counts["0"] == float((model[0](x) > 0).sum())
    assert steps == {"0": 8, "1": 8}  # T * B: the fake monitor has no steps()


def test_firing_rates_with_the_real_monitor():
    from neuro.core.neurons import lif
    from neuro.torch.layers import Sequential
    from neuro.torch.neurons import Neurons

    net = Sequential(torch.nn.Linear(3, 2), Neurons(lif.Params(tau=0.01, r=10.0), dt=1e-3))
    x = torch.full((10, 4, 3), 5.0)
    out, counts, neurons, steps = firing_rates(net, x)
    assert neurons == {"layers.1": 2}
    assert steps == {"layers.1": 40}
    assert counts["layers.1"] == float(out.detach().sum())


def test_firing_rates_without_monitor_is_a_typed_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "neuro.torch.monitor", None)  # import raises ImportError
    with pytest.raises(MissingToolError, match="SpikeMonitor"):
        firing_rates(torch.nn.Linear(2, 2), torch.zeros(1, 1, 2))
