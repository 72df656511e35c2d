"""engine.run's input handling: the dense-frame path (finiteness checked on the converted
entries) gives the events and errors of the full check, and graphs with several Input nodes
are fed, checked and summed as documented."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import GraphError, SimulationInputError
from neuro.engine import Events, run
from neuro.engine.inputs import to_events

SHAPE = (2, 3, 4)
BACKENDS = ("numba", "numpy")


def frames(rng: np.random.Generator, dtype: str, steps: int = 5, batch: int = 2) -> np.ndarray:
    x = rng.poisson(0.4, (steps, batch, *SHAPE)).astype(dtype)
    if np.dtype(dtype).kind == "f":
        x[x > 0] *= rng.uniform(-2, 2, int((x > 0).sum())).astype(dtype)
    return x


def reference(x: np.ndarray) -> Events:
    """The events of ``x`` by the numpy conversion, after checking every entry."""
    assert np.isfinite(x).all()
    return Events.from_dense(x)


def assert_same_events(a: Events, b: Events) -> None:
    assert (a.n_steps, a.batch, a.shape) == (b.n_steps, b.batch, b.shape)
    np.testing.assert_array_equal(a.ptr, b.ptr)
    np.testing.assert_array_equal(a.idx, b.idx)
    assert a.ptr.dtype == np.int64
    assert a.idx.dtype == np.int32
    assert (a.val is None) == (b.val is None)
    if b.val is not None:
        assert a.val.dtype == b.val.dtype
        np.testing.assert_array_equal(a.val, b.val)


@pytest.mark.parametrize(
    ("dtype", "backend"),
    [(d, be) for d in ("float32", "float64", "int16", "uint8", "bool") for be in BACKENDS]
    + [(">f4", "numpy"), ("float16", "numpy")],  # the numba kernels take native float32/float64 only
)
def test_dense_frames_give_the_events_of_the_full_check(dtype, backend, rng):
    x = frames(rng, dtype)
    got = to_events(x, SHAPE, 1e-3, None, backend)
    assert_same_events(got, reference(x))
    # n_steps given: the frames are checked whole and cut, as before
    assert_same_events(to_events(x, SHAPE, 1e-3, 3, backend), reference(x[:3]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_binary_and_empty_frames(backend, rng):
    spikes = (rng.random((4, 3, *SHAPE)) < 0.2).astype(np.float32)
    got = to_events(spikes, SHAPE, 1e-3, None, backend)
    assert got.binary
    assert_same_events(got, reference(spikes))
    empty = to_events(np.zeros((4, 3, *SHAPE)), SHAPE, 1e-3, None, backend)
    assert len(empty) == 0
    assert empty.binary
    assert_same_events(empty, reference(np.zeros((4, 3, *SHAPE))))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("dtype", ["float32", "float64", ">f4", "float16"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_frames_raise_the_same_error(bad, dtype, backend, rng):
    graph = ir.Graph.sequential(ir.Input(shape=SHAPE), ir.Output(), metadata={"dt": 1e-3})
    x = frames(rng, dtype)
    x[4, 1, 1, 2, 3] = bad  # alone in the array, or among binary values
    with pytest.raises(SimulationInputError, match="NaN or infinite") as err:
        run(graph, x, backend=backend)
    assert err.value.field == "inputs"
    ones = np.ones((2, 1, *SHAPE), dtype)
    ones[0, 0, 0, 0, 0] = bad
    with pytest.raises(SimulationInputError, match="NaN or infinite"):
        to_events(ones, SHAPE, 1e-3, None, backend)
    # a bad entry after the steps kept is still an error (the frames are checked whole)
    with pytest.raises(SimulationInputError, match="NaN or infinite"):
        to_events(x, SHAPE, 1e-3, 2, backend)


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_array_subclass_is_read_as_its_data(backend, rng):
    x = frames(rng, "float32")
    masked = np.ma.masked_array(x, mask=x > 0.5)
    assert_same_events(to_events(masked, SHAPE, 1e-3, None, backend), reference(x))


def test_checks_before_the_conversion_keep_their_order():
    with pytest.raises(SimulationInputError, match="dtype complex128"):
        to_events(np.full((2, 1, *SHAPE), np.nan, complex), SHAPE, 1e-3, None, "numba")
    with pytest.raises(SimulationInputError, match="dtype <U1"):
        to_events(np.full((2, 1, *SHAPE), "a"), SHAPE, 1e-3, None, "numba")
    with pytest.raises(SimulationInputError, match=r"shape \(T, B, \*\(2, 3, 4\)\), got \(2, 1, 2, 3, 5\)"):
        to_events(np.full((2, 1, 2, 3, 5), np.nan, np.float32), SHAPE, 1e-3, None, "numba")
    # nested lists are dense frames too
    got = to_events(np.zeros((2, 1, *SHAPE)).tolist(), SHAPE, 1e-3, None, "numba")
    assert len(got) == 0
    assert (got.n_steps, got.batch) == (2, 1)


def test_the_dense_path_checks_only_the_non_zero_entries(monkeypatch, rng):
    """Path sentinel: float32 frames taken whole are checked on their converted entries."""
    checked: list[int] = []
    isfinite = np.isfinite

    def spy(a, *args, **kw):
        checked.append(np.size(a))
        return isfinite(a, *args, **kw)

    x = frames(rng, "float32")
    monkeypatch.setattr(np, "isfinite", spy)
    ev = to_events(x, SHAPE, 1e-3, None, "numba")
    assert checked == [int(np.count_nonzero(x))]
    assert checked == [len(ev)]
    checked.clear()
    to_events(x, SHAPE, 1e-3, 5, "numba")
    assert checked == [x.size]


def test_events_stay_frozen_and_replaceable(rng):
    ev = to_events(frames(rng, "float32"), SHAPE, 1e-3, None, "numba")
    with pytest.raises(dataclasses.FrozenInstanceError):
        ev.batch = 3  # type: ignore[misc]
    flat = dataclasses.replace(ev, shape=(24,))
    assert flat.shape == (24,)
    assert flat.ptr is ev.ptr
    assert flat.idx is ev.idx
    assert flat.val is ev.val
    again = Events(ptr=ev.ptr, idx=ev.idx, val=ev.val, n_steps=ev.n_steps, batch=ev.batch, shape=ev.shape)
    assert_same_events(again, ev)


def two_inputs(rng: np.random.Generator) -> ir.Graph:
    nodes = {
        "a": ir.Input(shape=(3,)),
        "b": ir.Input(shape=(4,)),
        "la": ir.Linear(weight=rng.normal(0, 1, (5, 3))),
        "lb": ir.Linear(weight=rng.normal(0, 1, (5, 4))),
        "lif": ir.LIF(tau=0.01, v_threshold=0.5),
        "out": ir.Output(),
    }
    edges = [("a", "la"), ("b", "lb"), ("la", "lif"), ("lb", "lif"), ("lif", "out")]
    return ir.Graph(nodes, edges, metadata={"dt": 1e-3})


def test_several_inputs_are_summed_at_the_node_they_meet(rng):
    graph = two_inputs(rng)
    xa = (rng.random((6, 2, 3)) < 0.5).astype(np.float64)
    xb = rng.poisson(0.5, (6, 2, 4)).astype(np.float64)
    results = [run(graph, {"a": xa, "b": xb}, backend=be, dtype=np.float64) for be in BACKENDS]
    current = xa @ graph.nodes["la"].weight.T + xb @ graph.nodes["lb"].weight.T
    assert results[0].counts["lif"].in_events == np.count_nonzero(current)
    for r in results:
        assert r.nodes_run == results[1].nodes_run
        assert sorted(r.nodes_run) == ["la", "lb", "lif"]
        assert r.counts["la"].synops == int(xa.sum()) * 5
        assert r.counts["lb"].macs == np.count_nonzero(xb) * 5
        assert_same_events(r.spikes["lif"], results[1].spikes["lif"])
        np.testing.assert_array_equal(r.output(), results[1].output())
    assert results[0].output().any()


def test_several_inputs_errors(rng):
    graph = two_inputs(rng)
    xa, xb = np.zeros((6, 2, 3)), np.zeros((6, 2, 4))
    with pytest.raises(GraphError, match=r"Input nodes \['a', 'b'\]; pass inputs as a dict"):
        run(graph, xa)
    with pytest.raises(SimulationInputError, match="no input given for Input node 'b'"):
        run(graph, {"a": xa})
    with pytest.raises(GraphError, match=r"not Input nodes: \['la', 'zz'\]"):
        run(graph, {"a": xa, "b": xb, "zz": xb, "la": xa})
    with pytest.raises(SimulationInputError, match=r"disagree on \(steps, batch\): \[\(5, 2\), \(6, 2\)\]"):
        run(graph, {"a": xa, "b": xb[:5]})
    with pytest.raises(SimulationInputError, match="NaN"):  # checked before the extra names
        run(graph, {"a": np.full((6, 2, 3), np.nan), "b": xb, "zz": xb})
    single = ir.Graph.sequential(ir.Input(shape=(3,)), ir.Output(), metadata={"dt": 1e-3})
    with pytest.raises(GraphError, match="not Input nodes"):
        run(single, {"input_0": xa, "b": xb})
    np.testing.assert_array_equal(run(single, {"input_0": xa}).output(), xa)


@pytest.mark.parametrize("backend", BACKENDS)
def test_final_states_have_the_node_shape_and_belong_to_their_run(backend, rng):
    """The final state of every population is ``(B, *shape)`` per field (fused conv groups and
    plain populations alike), and writing into one run's state changes no later run."""
    nodes = [
        ir.Input(shape=(2, 6, 6)),
        ir.Conv2d(rng.normal(0.5, 0.5, (3, 2, 3, 3)), bias=np.zeros(3)),
        ir.LIF(tau=0.005, v_threshold=0.3),
        ir.SumPool2d((2, 2), (2, 2)),
        ir.Flatten(),
        ir.Affine(rng.normal(0, 1, (4, 12)), np.zeros(4)),
        ir.LI(tau=0.02),
        ir.Output(),
    ]
    graph = ir.Graph.sequential(*nodes, metadata={"dt": 1e-3})
    x = (rng.random((5, 3, 2, 6, 6)) < 0.4).astype(np.float32)
    first = run(graph, x, backend=backend)
    for name in ("lif_2", "li_6"):
        for value in first.state[name]:
            assert value.shape == (3, *graph.shapes[name])
    expected = {name: [np.array(v) for v in first.state[name]] for name in first.state}
    for value in (*first.state["lif_2"], *first.state["li_6"]):
        value[...] = 99.0
    second = run(graph, x, backend=backend)
    for name, values in expected.items():
        for got, want in zip(second.state[name], values, strict=True):
            np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(second.output(), first.output())
