"""The numpy reference of :func:`neuro.engine.recurrent.run_block`: a Python loop over samples
and steps, numpy within a step. It follows the compiled loop operation by operation (the same
additions into each buffer element in the same order), so both give bitwise the same results
in float64."""

from __future__ import annotations

from typing import Any

import numpy as np

from neuro.core.ops import NUMPY_OPS
from neuro.engine.recurrent import BlockNode


def run_numpy(block: list[BlockNode], n_steps: int, batch: int, dtype: np.dtype) -> dict[str, Any]:
    nk = len(block)
    events: list[list[tuple[np.ndarray, np.ndarray, np.ndarray]]] = [[] for _ in block]
    counters = np.zeros((nk, 4), np.int64)
    spikes = np.zeros(nk)
    traces = {(k, f): np.zeros((n_steps, batch, b.n_out), dtype) for k, b in enumerate(block) for f in b.record}
    coeffs = [b.model.coeffs(*b.coeffs) if b.kind == "neuron" else None for b in block]
    plastic_into = {k: [p for p, q in enumerate(block) if q.rule is not None and q.post == k] for k in range(nk)}
    for b_ in range(batch):
        inp = [np.zeros(b.n_in, dtype) for b in block]
        ring = [np.zeros((b.slots, b.n_out), dtype) for b in block]
        x_pre = [np.zeros(b.n_in, dtype) if b.rule is not None else None for b in block]
        x_post = [np.zeros(block[b.post].n_out, dtype) if b.rule is not None else None for b in block]
        for t in range(n_steps):
            f = t * batch + b_
            for k, b in enumerate(block):
                if b.rule is not None:
                    x_pre[k] *= b.stdp[0]
                    x_post[k] *= b.stdp[1]
                if b.ext is not None:
                    lo, hi = b.ext.ptr[f], b.ext.ptr[f + 1]
                    val = np.ones(hi - lo, dtype) if b.ext.val is None else b.ext.val[lo:hi].astype(dtype)
                    np.add.at(inp[k], b.ext.idx[lo:hi], val)

            def push(k: int, idx: np.ndarray, val: np.ndarray, f: int = f, inp: list[np.ndarray] = inp) -> None:
                if block[k].emit:
                    events[k].append((np.full(len(idx), f, np.int64), idx, val.copy()))
                for s in block[k].succ:
                    inp[s][idx] += val

            for k, b in enumerate(block):
                x = inp[k]
                if b.kind == "neuron":
                    n = b.n_out
                    xs = x if b.channels == 1 else tuple(x[c * n : (c + 1) * n] for c in range(b.channels))
                    state = b.model.state(*(s[b_] for s in b.state))
                    z, state = b.model.update(xs, state, coeffs[k], NUMPY_OPS)
                    z = np.asarray(z, dtype) + np.zeros(n, dtype)
                    for s, v in zip(b.state, state, strict=True):
                        s[b_] = v
                    for fld in b.record:
                        traces[(k, fld)][t, b_] = getattr(state, fld)
                    nz_in = x != 0
                    counters[k, 0] += int(np.count_nonzero(nz_in))
                    counters[k, 3] += int(np.count_nonzero((z != 0) | nz_in.reshape(b.channels, n).any(axis=0)))
                    x[:] = 0
                    idx = np.flatnonzero(z).astype(np.int64)
                    spikes[k] += float(z[idx].astype(np.float64).sum())
                    for p in plastic_into[k]:
                        q = block[p]
                        for i in idx:
                            syn = q.col_syn[q.col_ptr[i] : q.col_ptr[i + 1]]
                            q.weights[syn] = _potentiate(
                                q.weights[syn], x_pre[p][q.col_pre[q.col_ptr[i] : q.col_ptr[i + 1]]], q.stdp
                            )
                        x_post[p][idx] += z[idx]
                    push(k, idx, z[idx])
                elif b.kind == "projection":
                    rows = np.flatnonzero(x)
                    a = x[rows]
                    x[:] = 0
                    counters[k, 0] += len(rows)
                    counters[k, 2] |= int(np.any(a != 1))
                    lens = (b.indptr[rows + 1] - b.indptr[rows]).astype(np.int64)
                    syn = (
                        np.concatenate([np.arange(b.indptr[j], b.indptr[j + 1]) for j in rows])
                        if len(rows)
                        else np.zeros(0, np.int64)
                    )
                    vals = np.repeat(a, lens) * b.weights[syn]
                    targets = b.indices[syn]
                    if b.rule is not None:
                        counters[k, 1] += int(np.count_nonzero(b.weights[syn]))
                        post = targets.astype(np.int64) % block[b.post].n_out
                        b.weights[syn] = _depress(b.weights[syn], x_post[k][post], b.stdp)
                        x_pre[k][rows] += a
                    else:
                        counters[k, 1] += int(b.fanout[rows].sum())
                    if b.direct:
                        for s in b.succ:
                            np.add.at(inp[s], targets, vals)
                            if b.bias is not None:
                                inp[s] += b.bias
                    else:
                        np.add.at(ring[k], ((t + b.delay_steps[syn]) % b.slots, targets), vals)
                        out = ring[k][t % b.slots]
                        if b.bias is not None:
                            out += b.bias
                        nz = np.flatnonzero(out)
                        push(k, nz, out[nz])
                        out[:] = 0
                elif b.kind == "scale":
                    nz = np.flatnonzero(x)
                    counters[k, 0] += len(nz)
                    val = b.weights[nz] * x[nz]
                    x[:] = 0
                    keep = val != 0
                    push(k, nz[keep], val[keep])
                else:  # delay
                    nz = np.flatnonzero(x)
                    counters[k, 0] += len(nz)
                    ring[k][(t + b.delay_steps[nz]) % b.slots, nz] += x[nz]
                    x[:] = 0
                    out = ring[k][t % b.slots]
                    nzo = np.flatnonzero(out)
                    push(k, nzo, out[nzo])
                    out[:] = 0
        for b in block:
            if b.rule is not None and b.stdp[7] > 0:
                _normalize(b.weights, b.col_ptr, b.col_syn, b.stdp)
    out_events = []
    for k in range(nk):
        parts = events[k]
        if parts:
            frame, idx, val = (np.concatenate(p) for p in zip(*parts, strict=True))
        else:
            frame, idx, val = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, dtype)
        out_events.append((frame, idx, val.astype(dtype)))
    return {"events": out_events, "counters": counters, "spikes": spikes, "traces": traces}


def _bound(w: np.ndarray, c: np.ndarray) -> np.ndarray:
    return np.minimum(np.maximum(w, c[4]), c[5])


def _depress(w: np.ndarray, x_post: np.ndarray, c: np.ndarray) -> np.ndarray:
    if c[6] != 0:
        return _bound(w - c[3] * x_post * (w - c[4]), c)
    return _bound(w - c[3] * x_post, c)


def _potentiate(w: np.ndarray, x_pre: np.ndarray, c: np.ndarray) -> np.ndarray:
    if c[6] != 0:
        return _bound(w + c[2] * x_pre * (c[5] - w), c)
    return _bound(w + c[2] * x_pre, c)


def _normalize(w: np.ndarray, col_ptr: np.ndarray, col_syn: np.ndarray, c: np.ndarray) -> None:
    for i in range(len(col_ptr) - 1):
        syn = col_syn[col_ptr[i] : col_ptr[i + 1]]
        if len(syn) == 0:
            continue
        total = np.cumsum(w[syn].astype(np.float64))[-1]  # sequential, as the compiled loop adds
        if total != 0:
            w[syn] = w[syn] * (c[7] / total)
