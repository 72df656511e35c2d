from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from neuro import ir
from neuro.core.errors import GraphError, NodeError, SerializationError, ShapeError, UnsupportedNodeError
from neuro.core.reset import ResetSubtract
from neuro.ir.serialize import dicts_equal


def one_of_every_node(rng):
    """A dict name -> (node, input shape) covering every IR node type."""
    w = lambda *s: rng.normal(size=s)  # noqa: E731
    n = 5
    return {
        "Input": (ir.Input((n,)), None),
        "Output": (ir.Output((n,)), (n,)),
        "Affine": (ir.Affine(w(3, n), w(3)), (n,)),
        "Linear": (ir.Linear(w(3, n)), (n,)),
        "Conv1d": (ir.Conv1d(w(4, 2, 3), stride=2, padding=1), (2, 9)),
        "Conv2d": (ir.Conv2d(w(4, 1, 3, 3), padding=1, dilation=1, groups=2), (2, 6, 6)),
        "Flatten": (ir.Flatten(start_dim=1), (2, 3, 4)),
        "SumPool2d": (ir.SumPool2d(2, stride=2), (2, 6, 6)),
        "AvgPool2d": (ir.AvgPool2d((2, 3), stride=(2, 1), padding=(0, 1)), (2, 6, 6)),
        "Scale": (ir.Scale(w(n)), (n,)),
        "Delay": (ir.Delay(np.abs(w(n)) * 1e-3), (n,)),
        "Threshold": (ir.Threshold(w(n)), (n,)),
        "SparseLinear": (ir.SparseLinear((3, n), [0, 1, 1, 3, 3, 4], [2, 0, 1, 2], w(4), delays=[0, 1e-3, 2e-3, 0]), (n,)),
        "I": (ir.I(r=np.full(n, 2.0)), (n,)),
        "IF": (ir.IF(r=1.0, v_threshold=np.linspace(1, 2, n), reset=ResetSubtract()), (n,)),
        "LI": (ir.LI(tau=np.linspace(1e-3, 5e-3, n), v_leak=0.1), (n,)),
        "LIF": (ir.LIF(tau=2e-2, r=w(n) ** 2 + 1, v_leak=-0.1, v_threshold=1.0, v_reset=-0.5), (n,)),
        "CubaLI": (ir.CubaLI(tau_syn=5e-3, tau_mem=np.full(n, 1e-2), w_in=2.0), (n,)),
        "CubaLIF": (ir.CubaLIF(tau_syn=5e-3, tau_mem=1e-2, v_threshold=np.full(n, 0.8), reset=ResetSubtract()), (n,)),
        "ALIF": (ir.ALIF(tau=1e-2, tau_adapt=np.full(n, 0.2), beta_adapt=0.3), (n,)),
        "Izhikevich": (ir.Izhikevich(d=np.full(n, 80e-12)), (n,)),
        "MultiSpikeLIF": (ir.MultiSpikeLIF(tau=np.full(n, 1e-2), max_spikes=6), (n,)),
        "CubaEILIF": (ir.CubaEILIF(tau_syn_inh=np.full(n, 8e-3), t_refrac=2e-3), (2 * n,)),
    }


def graph_around(node, in_shape):
    if isinstance(node, ir.Input):
        return ir.Graph.sequential(node)
    return ir.Graph.sequential(ir.Input(in_shape), node, metadata={"dt": 1e-3})


def test_every_node_type_is_covered(rng):
    assert set(one_of_every_node(rng)) == set(ir.NODE_TYPES)


@pytest.mark.parametrize("kind", sorted(ir.NODE_TYPES))
def test_dict_and_json_round_trip_every_node_type(kind, rng, tmp_path):
    node, in_shape = one_of_every_node(rng)[kind]
    g = graph_around(node, in_shape)
    assert g.equals(ir.Graph.from_dict(g.to_dict()))
    assert g.equals(ir.from_json(ir.to_json(g)))
    ir.write_json(g, tmp_path / "g.json")
    assert g.equals(ir.read_json(tmp_path / "g.json"))


def equivalent(a: ir.Graph, b: ir.Graph) -> bool:
    """Same graph up to NIR's normal form (parameters broadcast to full arrays, shapes filled)."""
    if set(a.nodes) != set(b.nodes) or set(a.edges) != set(b.edges) or a.dt != b.dt:
        return False
    da, db = a.to_dict()["nodes"], b.to_dict()["nodes"]
    for name in da:
        for field, value in da[name].items():
            other = db[name][field]
            if field in ("input_shape", "shape") and value is None:
                continue
            if isinstance(value, np.ndarray):
                if not np.array_equal(np.broadcast_to(value, np.shape(other)), other):
                    return False
            elif not dicts_equal(value, other):
                return False
    return a.shapes == b.shapes


@pytest.mark.parametrize("kind", sorted(ir.NIR_TYPES))
def test_nir_round_trip_every_nir_node_type(kind, rng, tmp_path):
    node, in_shape = one_of_every_node(rng)[kind]
    g = graph_around(node, in_shape)
    if g.dt is None:
        g = g.with_metadata(dt=1e-3)
    ir.write_nir(g, tmp_path / "g.nir")
    back = ir.read_nir(tmp_path / "g.nir")
    assert equivalent(g, back)
    ir.write_nir(back, tmp_path / "again.nir")
    assert back.equals(ir.read_nir(tmp_path / "again.nir"))  # the normal form is a fixed point


def test_nir_export_lists_every_non_nir_node(rng, tmp_path):
    nodes = one_of_every_node(rng)
    g = ir.Graph.sequential(ir.Input((5,)), nodes["ALIF"][0], nodes["Linear"][0], ir.MultiSpikeLIF(tau=1e-2))
    with pytest.raises(UnsupportedNodeError) as info:
        ir.write_nir(g, tmp_path / "g.nir")
    assert info.value.nodes == ["alif_1", "multispikelif_3"]
    assert not (tmp_path / "g.nir").exists()


def test_nir_records_dt_and_reset_and_the_nir_package_reads_the_file(tmp_path):
    import nir

    g = ir.Graph.sequential(
        ir.Input((3,)), ir.Linear(np.eye(3)), ir.LIF(tau=1e-2, reset=ResetSubtract()), metadata={"dt": 1e-4}
    )
    ir.write_nir(g, tmp_path / "g.nir")
    raw = nir.read(str(tmp_path / "g.nir"))
    assert float(raw.metadata["dt"]) == 1e-4
    assert raw.metadata["reset"] == "subtract"
    assert raw.nodes["lif_2"].tau.shape == (3,)  # never 0-d
    back = ir.read_nir(tmp_path / "g.nir")
    assert isinstance(back.nodes["lif_2"].reset, ResetSubtract)
    assert back.dt == 1e-4


def test_foreign_nir_without_dt_warns_and_uses_the_documented_default(tmp_path):
    import nir

    foreign = nir.NIRGraph.from_list(
        nir.Linear(weight=np.ones((2, 3))),
        nir.LIF(tau=np.full(2, 1e-3), r=np.full(2, 10.0), v_leak=np.zeros(2), v_threshold=np.ones(2)),
    )
    nir.write(str(tmp_path / "f.nir"), foreign)
    with pytest.warns(ir.NIRMetadataWarning, match="dt"):
        g = ir.read_nir(tmp_path / "f.nir")
    assert g.dt == ir.DEFAULT_DT
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ir.read_nir(tmp_path / "f.nir", dt=1e-4).dt == 1e-4


def test_nested_nir_subgraphs_are_flattened(tmp_path):
    import nir

    inner = nir.NIRGraph(
        nodes={
            "input": nir.Input(np.array([2])),
            "lif": nir.LIF(tau=np.full(2, 1e-2), r=np.ones(2), v_leak=np.zeros(2), v_threshold=np.ones(2)),
            "w_rec": nir.Linear(weight=np.eye(2)),
            "output": nir.Output(np.array([2])),
        },
        edges=[("input", "lif"), ("lif", "w_rec"), ("w_rec", "lif"), ("lif", "output")],
    )
    outer = nir.NIRGraph(
        nodes={
            "in": nir.Input(np.array([3])),
            "fc": nir.Linear(weight=np.ones((2, 3))),
            "rnn": inner,
            "out": nir.Output(np.array([2])),
        },
        edges=[("in", "fc"), ("fc", "rnn"), ("rnn", "out")],
        metadata={"dt": 1e-3},
        type_check=False,
    )
    g = ir.from_nir(outer)
    assert set(g.nodes) == {"in", "fc", "rnn.lif", "rnn.w_rec", "out"}
    assert set(g.edges) == {
        ("in", "fc"),
        ("fc", "rnn.lif"),
        ("rnn.lif", "rnn.w_rec"),
        ("rnn.w_rec", "rnn.lif"),
        ("rnn.lif", "out"),
    }


def test_corrupt_and_missing_nir_files(tmp_path):
    (tmp_path / "junk.nir").write_bytes(b"this is not hdf5")
    with pytest.raises(SerializationError, match=r"junk\.nir"):
        ir.read_nir(tmp_path / "junk.nir")
    with pytest.raises(FileNotFoundError):
        ir.read_nir(tmp_path / "absent.nir")


# ---- graph validation ----------------------------------------------------------------------


def test_recurrent_population_through_a_neuron_is_valid():
    g = ir.Graph(
        {
            "in": ir.Input((4,)),
            "w": ir.Linear(np.ones((8, 4))),
            "pop": ir.LIF(tau=1e-2),
            "rec": ir.SparseLinear((8, 8), np.arange(9), np.arange(8)[::-1].copy(), np.ones(8)),
            "out": ir.Output(),
        },
        [("in", "w"), ("w", "pop"), ("pop", "rec"), ("rec", "pop"), ("pop", "out")],
    )
    assert g.shapes["pop"] == (8,)
    assert g.shapes["out"] == (8,)


@pytest.mark.parametrize(
    ("build", "error", "match"),
    [
        (lambda: ir.Graph({"a": ir.Input((2,))}, [("a", "b")]), GraphError, "unknown node 'b'"),
        (lambda: ir.Graph({"a": ir.Input((2,)), "b": ir.Output()}, [("a", "b"), ("a", "b")]), GraphError, "duplicate"),
        (lambda: ir.Graph({"a": ir.Input((2,)), "b": ir.Input((2,))}, [("a", "b")]), GraphError, "enters Input"),
        (
            lambda: ir.Graph(
                {"in": ir.Input((2,)), "a": ir.Linear(np.eye(2)), "b": ir.Scale(2.0)}, [("in", "a"), ("a", "b"), ("b", "a")]
            ),
            GraphError,
            "no neuron or Delay",
        ),
        (lambda: ir.Graph.sequential(ir.Input((3,)), ir.Linear(np.ones((2, 4)))), ShapeError, "expects input"),
        (lambda: ir.Graph.sequential(ir.Input((3,)), ir.LIF(tau=np.ones(4))), ShapeError, "shape"),
        (
            lambda: ir.Graph({"i1": ir.Input((2,)), "i2": ir.Input((3,)), "s": ir.Scale(1.0)}, [("i1", "s"), ("i2", "s")]),
            ShapeError,
            "different shapes",
        ),
        (lambda: ir.Graph({"x": ir.Linear(np.eye(2))}, []), GraphError, "cannot infer"),
        (lambda: ir.Graph({"x": "not a node"}, []), NodeError, "not an IR node"),
        (lambda: ir.Graph({"a/b": ir.Input((1,))}, []), NodeError, "names"),
        (lambda: ir.Conv2d(np.ones((4, 2, 3, 3)), groups=3), NodeError, "groups"),
        (lambda: ir.Conv2d(np.ones((4, 2, 3, 3)), padding="same", stride=2), NodeError, "same"),
        (lambda: ir.Affine(np.ones((2, 3)), bias=np.ones(3)), NodeError, "bias"),
        (lambda: ir.Linear(np.array([[1.0, np.inf]])), NodeError, "non-finite"),
        (lambda: ir.SparseLinear((2, 2), [0, 2, 3], [1, 0, 1], [1.0, 1.0, 1.0]), NodeError, "increase"),
        (lambda: ir.SparseLinear((2, 2), [0, 1, 2], [0, 5], [1.0, 1.0]), NodeError, "outside"),
        (lambda: ir.Delay([-1e-3]), NodeError, "delay"),
        (lambda: ir.Input((0, 3)), NodeError, "positive"),
        (lambda: ir.Graph.sequential(ir.Input((2, 3)), ir.Flatten(start_dim=2)), ShapeError, "Flatten"),
    ],
)
def test_invalid_graphs_and_nodes_raise_typed_errors(build, error, match):
    with pytest.raises(error, match=match):
        build()


@pytest.mark.parametrize(
    ("data", "match"),
    [
        ({"format": "other"}, "format"),
        ({"format": "neuro.ir", "version": 99, "nodes": {}, "edges": []}, "version"),
        ({"format": "neuro.ir", "version": 1, "edges": []}, "nodes"),
        ({"format": "neuro.ir", "version": 1, "nodes": {"a": {"type": "Banana"}}, "edges": []}, "Banana"),
        ({"format": "neuro.ir", "version": 1, "nodes": {"a": {"type": "LIF", "tau": 1e-3, "beta": 0.9}}, "edges": []}, "beta"),
        ({"format": "neuro.ir", "version": 1, "nodes": {"a": {"type": "LIF", "tau": -1.0}}, "edges": []}, "'a'.*'tau'"),
        ({"format": "neuro.ir", "version": 1, "nodes": {"a": {"shape": [1]}}, "edges": []}, "type"),
        ({"format": "neuro.ir", "version": 1, "nodes": {}, "edges": [["a"]]}, "edge 0"),
    ],
)
def test_bad_dicts_raise_serialization_errors(data, match):
    with pytest.raises(SerializationError, match=match):
        ir.Graph.from_dict(data)


def test_bad_json_names_the_position():
    with pytest.raises(SerializationError, match="line 1"):
        ir.from_json("{not json")


def test_json_keeps_float64_bits(rng):
    w = rng.normal(size=(3, 3))
    g = ir.Graph.sequential(ir.Input((3,)), ir.Linear(w))
    back = ir.from_json(ir.to_json(g))
    assert back.nodes["linear_1"].weight.tobytes() == w.tobytes()
    assert json.loads(ir.to_json(g))["nodes"]["linear_1"]["weight"]["dtype"] == "<f8"


# ---- random graphs round-trip ----------------------------------------------------------------


@st.composite
def random_graphs(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**31)))
    size = draw(st.integers(1, 6))
    nodes = [ir.Input((size,))]
    for _ in range(draw(st.integers(1, 5))):
        kind = draw(st.sampled_from(["Affine", "Linear", "LIF", "CubaLIF", "IF", "LI", "Scale", "Threshold", "Delay"]))
        if kind in ("Affine", "Linear"):
            out = draw(st.integers(1, 6))
            nodes.append(
                ir.Affine(rng.normal(size=(out, size)), rng.normal(size=out))
                if kind == "Affine"
                else ir.Linear(rng.normal(size=(out, size)))
            )
            size = out
        elif kind == "LIF":
            nodes.append(
                ir.LIF(
                    tau=rng.uniform(1e-3, 1e-1, size),
                    v_threshold=rng.uniform(0.5, 2, size),
                    reset=draw(st.sampled_from([ResetSubtract(), ir.LIF(tau=1.0).reset])),
                )
            )
        elif kind == "CubaLIF":
            nodes.append(ir.CubaLIF(tau_syn=rng.uniform(1e-3, 1e-2, size), tau_mem=rng.uniform(1e-3, 1e-1, size)))
        elif kind == "IF":
            nodes.append(ir.IF(r=rng.uniform(0.1, 2, size)))
        elif kind == "LI":
            nodes.append(ir.LI(tau=rng.uniform(1e-3, 1e-1, size)))
        elif kind == "Scale":
            nodes.append(ir.Scale(rng.normal(size=size)))
        elif kind == "Threshold":
            nodes.append(ir.Threshold(rng.normal(size=size)))
        else:
            nodes.append(ir.Delay(rng.uniform(0, 1e-2, size)))
    return ir.Graph.sequential(*nodes, metadata={"dt": float(draw(st.sampled_from([1e-4, 1e-3, 5e-4])))})


@settings(max_examples=40, deadline=None)
@given(g=random_graphs())
def test_random_graphs_round_trip_through_dict_json_and_nir(g, tmp_path_factory):
    assert g.equals(ir.Graph.from_dict(g.to_dict()))
    assert g.equals(ir.from_json(ir.to_json(g)))
    path = tmp_path_factory.mktemp("nir") / "g.nir"
    ir.write_nir(g, path)
    assert equivalent(g, ir.read_nir(path))
