"""Smoke test of benchmarks/bench_training.py: the neuro part of the harness on random data, no peers."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import pytest
import torch

from tests.conftest import ROOT


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_training", ROOT / "benchmarks" / "bench_training.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_training", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


def test_neuro_trains_two_batches_and_agrees_with_its_reference(bench) -> None:
    x, y = bench.random_frames(8, n_time_bins=4, seed=1, density=0.3)
    reference = bench.reference_layers(seed=0)
    builders = {"neuro": bench.build_neuro}
    report = bench.run_agreement(builders, reference, *bench.make_batches(x, y, 4, seed=0, max_batches=1)[0], lr=1e-3)
    neuro, spiking_ref = report.rows[0], report.references["spiking"]
    assert torch.equal(neuro.counts, spiking_ref.counts)
    assert neuro.loss1 == pytest.approx(spiking_ref.loss1, rel=1e-5)
    assert neuro.counts.sum() > 0, "the check batch must make the output layer spike"

    timings = bench.run_timing(
        builders, reference, x, y, epochs=1, batch_size=4, max_batches=2, lr=1e-3, seed=0, log=lambda _: None
    )
    assert [t.name for t in timings] == ["neuro"]
    assert len(timings[0].epoch_s) == 1
    assert timings[0].epoch_s[0] > 0
    assert "neuro" in bench.format_table(timings, n_batches=2, batch_size=4)


def test_missing_peers_are_skipped_with_a_message(bench, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("snntorch", "norse", "norse.torch", "spikingjelly", "spikingjelly.activation_based.neuron"):
        monkeypatch.setitem(sys.modules, name, None)  # makes the import raise ImportError
    builders, skipped = bench.available_builders()
    assert not {"snnTorch", "Norse", "SpikingJelly"} & set(builders)
    assert [m.split(" ")[0] for m in skipped] == ["snnTorch", "Norse", "SpikingJelly"]


def test_batches_are_time_major_and_seeded(bench) -> None:
    x, y = bench.random_frames(10, n_time_bins=3, seed=2)
    a = bench.make_batches(x, y, 4, seed=5)
    b = bench.make_batches(x, y, 4, seed=5)
    assert [xb.shape for xb, _ in a] == [(3, 4, 2, 34, 34), (3, 4, 2, 34, 34), (3, 2, 2, 34, 34)]
    assert all(torch.equal(p[1], q[1]) for p, q in zip(a, b, strict=True))


def test_norse_surrogate_constant_is_the_nearest_to_arctan(bench) -> None:
    method, alpha, _ = bench.closest_norse_surrogate()
    assert (method, alpha) == (bench.NORSE_METHOD, bench.NORSE_ALPHA)


def test_section_is_replaced_in_place(bench, tmp_path) -> None:
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\n## A\n\na\n\n{bench.SECTION}\n\nold\n\n## B\n\nb\n")
    bench.update_section(doc, f"{bench.SECTION}\n\nnew\n", bench.SECTION)
    assert doc.read_text() == f"# Benchmarks\n\n## A\n\na\n\n{bench.SECTION}\n\nnew\n\n## B\n\nb\n"
