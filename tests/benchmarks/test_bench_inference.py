"""Smoke test of benchmarks/bench_inference.py on a small random conv graph, no trained network."""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType

import numpy as np
import pytest

from neuro import ir
from neuro.torch import build
from tests.conftest import ROOT


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_inference", ROOT / "benchmarks" / "bench_inference.py")
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "bench_inference", module)  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def graph(rng) -> ir.Graph:
    return ir.Graph.sequential(
        ir.Input((2, 8, 8)), ir.Conv2d(rng.normal(0, 0.8, (3, 2, 3, 3)), bias=np.zeros(3)),
        ir.LIF(tau=5e-3, r=5.0), ir.SumPool2d((2, 2), (2, 2)), ir.Flatten(),
        ir.Affine(rng.normal(0, 0.5, (4, 27)), np.zeros(4)), ir.LI(tau=0.02, r=20.0), metadata={"dt": 1e-3},
    )  # fmt: skip


def test_throughput_sweep_and_profile_run_on_a_small_graph(bench, graph, rng, tmp_path):
    frames = rng.poisson(0.3, (6, 5, 2, 8, 8)).astype(np.float32)  # (N, T, P, H, W)
    net = build(graph).eval()
    timing = bench.throughput(graph, net, frames, batch=4, threads=1, repeats=2)
    assert (timing.samples, timing.batch, len(timing.engine), len(timing.torch)) == (6, 4, 2, 2)
    assert timing.per_second("engine") > 0
    assert timing.ratio > 0

    rows = bench.sparsity_sweep(graph, net, frames, repeats=1, seed=0)
    densities = [r["density"] for r in rows]
    assert densities[:5] == sorted(densities[:5])  # thinning 0.01 .. 1 gives rising density
    assert rows[4]["density"] == pytest.approx(np.count_nonzero(frames) / frames.size)

    from neuro.engine import kernels

    original = kernels.conv_events
    profile = bench.profile(graph, frames, batch=2, repeats=2)
    assert kernels.conv_events is original, "the probe must restore the engine's kernels"
    by_node = {r["node"]: r for r in profile}
    fused = "conv2d_1 + lif_2 + sumpool2d_3"  # one compiled loop, one row
    rest = {n for n in graph.nodes if not n.startswith(("input", "output", "conv2d_1", "lif_2", "sumpool2d_3"))}
    assert set(by_node) == rest | {fused, "engine.run outside the nodes"}
    assert by_node[fused]["type"] == "Conv2d → LIF → SumPool2d (fused)"
    assert by_node[fused]["kernel_ms"] > 0
    assert by_node["li_6"]["kernel_ms"] > 0
    for r in profile:
        assert r["step_ms"] == pytest.approx(r["kernel_ms"] + r["other_ms"])

    section = bench.format_section("cmd", "a random graph", [timing], {"first_call_s": 2.0, "second_call_s": 0.01,
                                   "compile_s": 1.99}, rows, {2: profile}, 6, 2)  # fmt: skip
    assert section.startswith(bench.SECTION)
    assert "| 4 | 1 |" in section
    assert f"| {fused} | Conv2d → LIF → SumPool2d (fused) |" in section


def test_thinning_keeps_a_fraction_and_never_invents_events(bench, rng):
    frames = rng.poisson(2.0, (50, 4, 2, 6, 6)).astype(np.float32)
    kept = bench.thinned(frames, 0.25, seed=3)
    assert (kept <= frames).all()
    assert kept.sum() / frames.sum() == pytest.approx(0.25, abs=0.02)
    np.testing.assert_array_equal(kept, bench.thinned(frames, 0.25, seed=3))


def test_crossover_interpolates_in_log_density(bench):
    rows = [{"density": 0.01, "ratio": 2.0}, {"density": 0.1, "ratio": 0.5}, {"density": 1.0, "ratio": 0.1}]
    # ratio falls from 2 to 0.5 between 0.01 and 0.1: it is 1 two thirds of the way in log density
    assert bench.crossover(rows) == pytest.approx(10 ** (-2 + 2 / 3))
    assert bench.crossover([{"density": 0.01, "ratio": 0.5}, {"density": 0.1, "ratio": 0.2}]) is None


def test_section_is_replaced_in_place(bench, tmp_path):
    doc = tmp_path / "benchmarks.md"
    doc.write_text(f"# Benchmarks\n\n## A\n\na\n\n{bench.SECTION}\n\nold\n\n## B\n\nb\n")
    bench.update_section(doc, f"{bench.SECTION}\n\nnew\n", bench.SECTION)
    assert doc.read_text() == f"# Benchmarks\n\n## A\n\na\n\n{bench.SECTION}\n\nnew\n\n## B\n\nb\n"
