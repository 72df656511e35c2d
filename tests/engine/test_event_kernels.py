"""The numba feed-forward kernels against plain numpy: vector axpy, convolution and pooling
over many geometries, dense-to-events conversion, exactly."""

from __future__ import annotations

import itertools

import numba
import numpy as np
import pytest

from neuro import ir
from neuro.core.errors import ShapeError
from neuro.engine.kernels import add_rows, nonzero_list
from neuro.engine.ops import make_op
from neuro.engine.signals import Events


@numba.njit
def _add_rows(scratch, s0, rowlen, wflat, w0, kwc, n, rows, a):
    add_rows(scratch, s0, rowlen, wflat, w0, kwc, n, rows, a)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axpy_is_bitwise_the_scalar_loop(dtype):
    """kernels.add_rows (axpy8/axpy4 vectors, then scalars) against the scalar loop, row by row
    (rows going up the scratch, down the weights, as one event's kernel rows do)."""
    rng = np.random.default_rng(0)
    for n in range(0, 30):
        for rows in (1, 3):
            y = rng.normal(size=140).astype(dtype)
            x = rng.normal(size=140).astype(dtype)
            a = dtype(rng.normal())
            expected = y.copy()
            for r in range(rows):
                for k in range(n):
                    expected[83 - 40 * r + k] = expected[83 - 40 * r + k] + a * x[5 + 35 * r + k]
            _add_rows(y, 83, 40, x, 5, 35, n, rows, a)
            np.testing.assert_array_equal(y, expected)


def _op(node, in_shape, dtype):
    try:
        g = ir.Graph.sequential(ir.Input(shape=in_shape), node, metadata={"dt": 1e-3})
    except ShapeError:
        return None
    name = list(g.nodes)[1]
    return make_op(name, node, in_shape, tuple(g.shapes[name]), 1e-3, dtype, "exact")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_conv_kernel_matches_numpy_over_geometries(dtype):
    rng = np.random.default_rng(1)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    checked = 0
    for k, s, p, d, g, c_in, size, binary in itertools.product(
        (1, 2, 5), (1, 2), (0, 2), (1, 2), (1, 2), (1, 3), (6, 9), (True, False)
    ):  # fmt: skip
        node = ir.Conv2d(weight=rng.normal(size=(2 * g, c_in, k, k)), bias=rng.normal(size=2 * g), stride=s,
                         padding=p, dilation=d, groups=g)  # fmt: skip
        op = _op(node, (c_in * g, size, size), dtype)
        if op is None:
            continue
        x = (rng.random((3, 2, c_in * g, size, size)) < 0.3).astype(dtype)
        if not binary:
            x *= rng.integers(1, 4, x.shape)
        ev = Events.from_dense(x)
        compiled, synops = op.project(ev, "numba")
        reference, _ = op.project(ev, "numpy")
        assert compiled.dtype == reference.dtype
        assert compiled.shape == reference.shape
        np.testing.assert_allclose(compiled, reference, rtol=tol, atol=tol)
        assert op.counts(ev, 3, 2, synops).to_dict() == op.counts(ev, 3, 2).to_dict()
        checked += 1
    assert checked > 100


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pool_kernel_events_are_the_numpy_sums(dtype):
    rng = np.random.default_rng(2)
    for k, s, p, avg, kind, density in itertools.product(
        (1, 2, 3), (1, 2, 3), (0, 1), (False, True), ("spikes", "counts", "signed"), (0.02, 0.5)
    ):  # fmt: skip
        if 2 * p > k:
            continue
        op = _op((ir.AvgPool2d if avg else ir.SumPool2d)(kernel_size=(k, k), stride=(s, s), padding=(p, p)), (3, 7, 7), dtype)
        x = (rng.random((3, 2, 3, 7, 7)) < density).astype(dtype)
        if kind == "counts":
            x *= rng.integers(1, 4, x.shape)
        elif kind == "signed":
            x *= rng.choice([-1.0, 1.0, 0.5], x.shape)
        ev = Events.from_dense(x)
        out = op.step(ev, "numba", 3, 2).out
        expected = Events.from_dense(op.run(ev, "numpy"))
        np.testing.assert_array_equal(op.run(ev, "numba"), op.run(ev, "numpy"))
        assert isinstance(out, Events)
        assert out.shape == expected.shape
        np.testing.assert_array_equal(out.ptr, expected.ptr)
        np.testing.assert_array_equal(out.idx, expected.idx)
        assert (out.val is None) == (expected.val is None)
        if out.val is not None:
            assert out.val.dtype == expected.val.dtype
            np.testing.assert_array_equal(out.val, expected.val)


@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.uint8, np.int64, bool])
def test_compiled_from_dense_gives_the_same_events(dtype):
    rng = np.random.default_rng(3)
    for shape, p in itertools.product([(3, 2, 5), (4, 1, 2, 3, 3), (1, 1, 7)], (0.0, 0.1, 1.0)):
        x = ((rng.random(shape) < p) * rng.choice([1, 1, 2, -1], shape)).astype(dtype)
        a, b = Events.from_dense(x), Events.from_dense(x, compiled=True)
        np.testing.assert_array_equal(a.ptr, b.ptr)
        assert a.idx.dtype == b.idx.dtype
        np.testing.assert_array_equal(a.idx, b.idx)
        assert (a.val is None) == (b.val is None)
        assert a.shape == b.shape
        if a.val is not None:
            assert a.val.dtype == b.val.dtype
            np.testing.assert_array_equal(a.val, b.val)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_compiled_to_dense_is_the_numpy_one(dtype):
    rng = np.random.default_rng(4)
    for values in (np.float32, np.float64, np.int64):
        x = ((rng.random((4, 3, 2, 5)) < 0.3) * rng.choice([1.0, 2.0, 1.1], (4, 3, 2, 5))).astype(values)
        ev = Events.from_dense(x)
        compiled = ev.to_dense(dtype, compiled=True)
        assert compiled.dtype == dtype
        np.testing.assert_array_equal(compiled, ev.to_dense(dtype))


@numba.njit
def _list_nonzero(x, n, out):
    return nonzero_list(x, 0, n, out, 0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [0, 5, 16, 37, 256, 1001])
def test_nonzero_list_is_flatnonzero(dtype, n):
    """Every density, NaN counted as non-zero, lengths that are not a multiple of 16, entries past
    ``n`` ignored; the slack of ``out`` beyond the count is the only scratch written."""
    rng = np.random.default_rng(n)
    for density in (0.0, 0.03, 0.5, 1.0):
        x = np.where(rng.random(n + 7) < density, rng.standard_normal(n + 7), 0).astype(dtype)
        if n > 3:
            x[3] = np.nan
        x[n:] = 1  # beyond n: must not be listed
        out = np.full(n + 8 + 4, -7, np.int32)
        s = _list_nonzero(x, n, out)
        expected = np.flatnonzero(x[:n] != 0)
        assert s == len(expected)
        np.testing.assert_array_equal(out[:s], expected)
        assert np.all(out[n + 8 :] == -7)
        # appended after s entries, from start to stop
        for start, stop in ((0, n), (min(3, n), n), (n // 3, n - n // 4)):
            out = np.full(n + 16, -7, np.int32)
            s = _list_range(x, start, stop, out, 5)
            expected = start + np.flatnonzero(x[start:stop] != 0)
            assert s == 5 + len(expected)
            np.testing.assert_array_equal(out[5:s], expected)
            assert np.all(out[:5] == -7)


@numba.njit
def _list_range(x, start, stop, out, s):
    return nonzero_list(x, start, stop, out, s)
