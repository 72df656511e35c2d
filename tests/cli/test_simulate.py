"""``neuro simulate`` on small graphs: every output file's content, every input kind, bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from neuro import engine, ir
from neuro.cli.main import app
from neuro.cli.simulate import load_spikes
from neuro.core.events import make_events

SHAPE = (2, 3, 3)


@pytest.fixture
def graph(rng) -> ir.Graph:
    weight = rng.uniform(0.3, 1.2, (4, 18))  # every weight non-zero: synops = 4 per input event
    return ir.Graph.sequential(
        ir.Input(SHAPE), ir.Flatten(), ir.Linear(weight), ir.LIF(tau=0.01, r=10.0, v_threshold=1.0), metadata={"dt": 1e-3}
    )


@pytest.fixture
def graph_file(graph, tmp_path):
    path = tmp_path / "net.json"
    ir.write_json(graph, path)
    return path


def invoke(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, ["simulate", *args])
    assert result.exit_code == code, result.output + repr(result.exception)
    return result.output


def fails(*args: str) -> str:
    """The one line a bad invocation prints (exit status 2, no traceback)."""
    out = invoke(*args, code=2)
    lines = out.strip().splitlines()
    assert len(lines) == 1, out
    assert lines[0].startswith("error: "), out
    return lines[0]


def check_png(path) -> None:
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.ndim == 3
    assert image.shape[0] > 100
    assert len(np.unique(image.reshape(-1, image.shape[-1]), axis=0)) > 2, "the raster is blank"


def test_dense_frames_write_spikes_counts_and_raster(graph, graph_file, tmp_path, rng):
    x = (rng.random((12, 2, *SHAPE)) < 0.4).astype(np.float32)
    np.save(tmp_path / "frames.npy", x)
    out = tmp_path / "out"
    printed = invoke(str(graph_file), "--input", str(tmp_path / "frames.npy"), "--out", str(out))

    reference = engine.run(graph, x, backend="numpy")  # the other backend: an independent check of the files
    spikes, outputs = load_spikes(out / "spikes.npz")
    assert list(spikes) == ["lif_3"]
    assert spikes["lif_3"].to_dense().shape == (12, 2, 4)
    np.testing.assert_array_equal(spikes["lif_3"].to_dense(), reference.spikes["lif_3"].to_dense())
    assert spikes["lif_3"].to_dense().sum() > 0, "the test input must make the layer spike"
    np.testing.assert_array_equal(outputs["output_4"], reference.output())

    counts = json.loads((out / "counts.json").read_text())
    assert (counts["n_steps"], counts["batch"], counts["backend"], counts["dtype"]) == (12, 2, "numba", "float32")
    n_events = int(x.sum())
    assert counts["nodes"]["linear_2"]["in_events"] == n_events
    assert counts["nodes"]["linear_2"]["synops"] == 4 * n_events
    assert counts["nodes"]["linear_2"]["synops_dense"] == 18 * 4 * 12 * 2
    assert counts["nodes"]["lif_3"]["out_spikes"] == int(spikes["lif_3"].to_dense().sum())
    assert counts["totals"]["synops"] == 4 * n_events
    assert counts["per_sample"]["linear_2"]["synops"] == pytest.approx(4 * n_events / 2)
    check_png(out / "raster.png")
    assert "linear_2" in printed
    assert "synops" in printed
    assert f"{4 * n_events} synops" in printed


def test_nir_file_gives_the_same_spikes_as_json(graph, graph_file, tmp_path, rng):
    ir.write_nir(graph, tmp_path / "net.nir")
    x = (rng.random((6, 1, *SHAPE)) < 0.5).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    invoke(str(graph_file), "--input", str(tmp_path / "x.npy"), "--out", str(tmp_path / "a"), "--dtype", "float64")
    invoke(str(tmp_path / "net.nir"), "--input", str(tmp_path / "x.npy"), "--out", str(tmp_path / "b"), "--dtype", "float64")
    a, _ = load_spikes(tmp_path / "a" / "spikes.npz")
    b, _ = load_spikes(tmp_path / "b" / "spikes.npz")
    np.testing.assert_array_equal(a["lif_3"].to_dense(), b["lif_3"].to_dense())
    assert json.loads((tmp_path / "b" / "counts.json").read_text())["dtype"] == "float64"


def sensor_events(n: int, rng, t_max_us: int = 8000) -> np.ndarray:
    t = np.sort(rng.integers(0, t_max_us, n))
    return make_events(x=rng.integers(0, 3, n), y=rng.integers(0, 3, n), t=t, p=rng.integers(0, 2, n))


def test_sensor_events_one_sample_and_a_batch(graph_file, tmp_path, rng):
    np.save(tmp_path / "one.npy", sensor_events(60, rng))
    invoke(str(graph_file), "--input", str(tmp_path / "one.npy"), "--steps", "5", "--out", str(tmp_path / "one"))
    _spikes, outputs = load_spikes(tmp_path / "one" / "spikes.npz")
    assert outputs["output_4"].shape == (5, 1, 4)  # --steps cuts the 8 ms of events to 5 steps
    counts = json.loads((tmp_path / "one" / "counts.json").read_text())
    assert counts["nodes"]["flatten_1"]["in_events"] <= 60

    samples = [sensor_events(40, rng), sensor_events(70, rng, 3000)]
    np.savez(tmp_path / "two.npz", *samples)
    invoke(str(graph_file), "--input", str(tmp_path / "two.npz"), "--out", str(tmp_path / "two"))
    counts = json.loads((tmp_path / "two" / "counts.json").read_text())
    assert (counts["batch"], counts["n_steps"]) == (2, 8)
    # events of one pixel in one 1 ms bin add up, so in_events counts distinct (step, pixel) pairs
    distinct = sum(len({(int(e["t"]) // 1000, int(e["p"]), int(e["y"]), int(e["x"])) for e in s}) for s in samples)
    assert counts["nodes"]["flatten_1"]["in_events"] == distinct


def test_poisson_input_is_seeded(graph, graph_file, tmp_path):
    args = ["--poisson", "300", "--steps", "40", "--batch", "3", "--seed", "7"]
    invoke(str(graph_file), *args, "--out", str(tmp_path / "a"))
    invoke(str(graph_file), *args, "--out", str(tmp_path / "b"), "--backend", "numpy")
    a, _ = load_spikes(tmp_path / "a" / "spikes.npz")
    b, _ = load_spikes(tmp_path / "b" / "spikes.npz")
    expected = engine.run(graph, engine.PoissonInput(300, 40, 3, 7), backend="numpy").spikes["lif_3"].to_dense()
    np.testing.assert_array_equal(a["lif_3"].to_dense(), expected)
    np.testing.assert_array_equal(b["lif_3"].to_dense(), expected)
    assert json.loads((tmp_path / "b" / "counts.json").read_text())["backend"] == "numpy"


def test_dataset_sample(tmp_path, rng):
    graph = ir.Graph.sequential(
        ir.Input((2, 34, 34)), ir.Flatten(), ir.Linear(rng.uniform(0, 0.2, (5, 2 * 34 * 34))),
        ir.LIF(tau=0.01, r=10.0), metadata={"dt": 1e-3},
    )  # fmt: skip
    ir.write_json(graph, tmp_path / "net.json")
    opts = ["--dataset", "n-digits", "--index", "2", "--split", "all", "-o", "limit=20", "--root", str(tmp_path)]
    invoke(str(tmp_path / "net.json"), *opts, "--out", str(tmp_path / "out"))
    from neuro.datasets import load

    events, _ = load("n-digits", "all", root=tmp_path, limit=20)[2]
    counts = json.loads((tmp_path / "out" / "counts.json").read_text())
    assert counts["batch"] == 1
    assert counts["n_steps"] == int(events["t"].max()) // 1000 + 1
    distinct = len({(int(e["t"]) // 1000, int(e["p"]), int(e["y"]), int(e["x"])) for e in events})
    assert counts["nodes"]["linear_2"]["in_events"] == distinct
    # a graph whose input does not match the sensor is refused, naming both sizes
    ir.write_json(ir.Graph.sequential(ir.Input(SHAPE), ir.Flatten(), ir.Linear(np.ones((2, 18)))), tmp_path / "small.json")
    line = fails(str(tmp_path / "small.json"), *opts, "--out", str(tmp_path / "never"))
    assert "sensor size (34, 34, 2)" in line
    assert "(2, 3, 3)" in line


@pytest.mark.parametrize(
    ("make", "extra", "expected"),
    [
        (lambda rng: rng.random((4, 1, 2, 3, 4)).astype(np.float32), [], "dense input must have shape"),
        (lambda rng: make_events(x=[0, 5], y=[0, 0], t=[0, 10], p=[0, 1]), [], "x=5 outside [0, 3)"),
        (lambda rng: make_events(x=[0], y=[0], t=[0], p=[0]), ["--dt", "1.5e-7"], "not a whole number of microseconds"),
        (lambda rng: np.zeros((3, 1, *SHAPE)), ["--backend", "fortran"], "unknown engine backend 'fortran'"),
        (lambda rng: np.zeros((3, 1, *SHAPE)), ["--dtype", "float16"], "--dtype must be float32 or float64"),
        (lambda rng: np.full((3, 1, *SHAPE), np.nan), [], "NaN"),
    ],
)
def test_bad_input_is_one_line_naming_the_problem(graph_file, tmp_path, rng, make, extra, expected):
    np.save(tmp_path / "x.npy", make(rng))
    line = fails(str(graph_file), "--input", str(tmp_path / "x.npy"), *extra, "--out", str(tmp_path / "never"))
    assert expected in line
    assert not (tmp_path / "never" / "spikes.npz").exists()


def test_bad_invocations(graph_file, tmp_path):
    assert "exactly one of" in fails(str(graph_file))
    assert "exactly one of" in fails(str(graph_file), "--poisson", "10", "--dataset", "n-digits")
    assert "--poisson needs --steps" in fails(str(graph_file), "--poisson", "10")
    assert "rate * dt must lie in [0, 1]" in fails(str(graph_file), "--poisson", "5000", "--steps", "3")
    assert "no graph file" in fails(str(tmp_path / "missing.nir"), "--poisson", "10", "--steps", "3")
    (tmp_path / "net.txt").write_text("{}")
    assert "must end in .nir or .json" in fails(str(tmp_path / "net.txt"), "--poisson", "10", "--steps", "3")
    (tmp_path / "broken.json").write_text("{not json")
    assert "broken.json" in fails(str(tmp_path / "broken.json"), "--poisson", "10", "--steps", "3")
    assert "no input file" in fails(str(graph_file), "--input", str(tmp_path / "none.npy"))
    np.savez(tmp_path / "mixed.npz", a=np.zeros(3), b=np.ones(2))
    assert "'frames' or 'events'" in fails(str(graph_file), "--input", str(tmp_path / "mixed.npz"))
