"""The Numba-CUDA kernels of the sort-then-segment-reduce accumulation
(:class:`neuro.engine.cuda.kernels.SortReduce`; see there for the method).

A ``*_pairs`` kernel writes one ``(key, value)`` pair per contribution of an event to an output
element: ``key`` the flat index of the element in the output array, ``value`` the product
``a * w``; pairs of contributions that do not exist (a tap outside the output, a delay past the
last frame, an input value of 0 where the gather kernel skips it) keep the key the host filled
in, ``out.size``, which sorts after every real key. Pairs are laid out event by event, and
within an event in the order its targets are visited, so a stable sort by key leaves the
contributions to each element in the order the gather kernels add them.
:func:`segment_sum` then adds each run of equal keys with one thread, in that order.
``numba.cuda`` is a module global here, as the simulator needs.
"""

from numba import cuda

from neuro.engine.cuda._device import frame_of


@cuda.jit
def dense_pairs(ptr, idx, val, weighted, wt, keys, vals):
    """Slot ``k * n_out + o``: event ``k`` into output ``o`` of its frame (every slot real)."""
    t = cuda.grid(1)
    n_out = wt.shape[1]
    if t >= idx.shape[0] * n_out:
        return
    k = t // n_out
    o = t - k * n_out
    a = val[k] if weighted else val[0]
    keys[t] = frame_of(ptr, k) * n_out + o
    vals[t] = a * wt[idx[k], o]


@cuda.jit
def conv_pairs(ptr, idx, val, weighted, wk, cin_g, height, width, geometry, ho, wo, keys, vals):
    """Slots ``((k * cout_g + o) * kh + ky) * kw + kx``; keys index ``(F, Ho, Wo, C_out)``."""
    t = cuda.grid(1)
    cout_g = wk.shape[3]
    if t >= idx.shape[0] * cout_g:
        return
    k = t // cout_g
    a = val[k] if weighted else val[0]
    if a == 0:
        return
    sy, sx, py, px, dy, dx = geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]
    kh, kw = wk.shape[1], wk.shape[2]
    o = t - k * cout_g
    f = frame_of(ptr, k)
    j = idx[k]
    c = j // (height * width)
    r = j - c * height * width
    y = r // width
    x = r - y * width
    c_out = (wk.shape[0] // cin_g) * cout_g
    co = (c // cin_g) * cout_g + o
    for ky in range(kh):
        ny = y + py - ky * dy
        if ny < 0 or ny % sy != 0 or ny // sy >= ho:
            continue
        for kx in range(kw):
            nx = x + px - kx * dx
            if nx < 0 or nx % sx != 0 or nx // sx >= wo:
                continue
            slot = (t * kh + ky) * kw + kx
            keys[slot] = ((f * ho + ny // sy) * wo + nx // sx) * c_out + co
            vals[slot] = a * wk[c, ky, kx, o]


@cuda.jit
def pool_pairs(ptr, idx, val, weighted, n_c, height, width, geometry, ho, wo, keys, vals):
    """Slots ``k * kh * kw + m`` for the ``m``-th window of event ``k``; keys index
    ``(F, C, Ho, Wo)``."""
    k = cuda.grid(1)
    if k >= idx.shape[0]:
        return
    a = val[k] if weighted else val[0]
    if a == 0:
        return
    kh, kw, sy, sx, py, px = geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]
    f = frame_of(ptr, k)
    j = idx[k]
    c = j // (height * width)
    r = j - c * height * width
    y = r // width + py
    x = r - (r // width) * width + px
    oy0 = (y - kh + sy) // sy
    oy0 = oy0 if oy0 > 0 else 0
    oy1 = y // sy
    oy1 = oy1 if oy1 < ho - 1 else ho - 1
    ox0 = (x - kw + sx) // sx
    ox0 = ox0 if ox0 > 0 else 0
    ox1 = x // sx
    ox1 = ox1 if ox1 < wo - 1 else wo - 1
    slot = k * kh * kw
    for oy in range(oy0, oy1 + 1):
        for ox in range(ox0, ox1 + 1):
            keys[slot] = ((f * n_c + c) * ho + oy) * wo + ox
            vals[slot] = a
            slot += 1


@cuda.jit
def sparse_pairs(ptr, idx, val, weighted, offsets, indptr, indices, weights, delay_steps, batch, n_frames, n_out, keys, vals):
    """Slots ``offsets[k] + (s - indptr[idx[k]])``: event ``k`` through synapse ``s`` of its row,
    delivered ``delay_steps[s]`` steps later; keys index ``(F, n_out)``."""
    k = cuda.grid(1)
    if k >= idx.shape[0]:
        return
    a = val[k] if weighted else val[0]
    if a == 0:
        return
    f = frame_of(ptr, k)
    j = idx[k]
    slot = offsets[k]
    for s in range(indptr[j], indptr[j + 1]):
        g = f + delay_steps[s] * batch
        if g < n_frames:
            keys[slot] = g * n_out + indices[s]
            vals[slot] = a * weights[s]
        slot += 1


@cuda.jit
def segment_sum(starts, keys, vals, out):
    """One thread per run ``starts[r] .. starts[r + 1]`` of equal sorted keys: add its values in
    order to the flat output element ``out[key]`` (the run of the filler key is skipped)."""
    r = cuda.grid(1)
    n_runs = starts.shape[0]
    if r >= n_runs:
        return
    lo = starts[r]
    hi = starts[r + 1] if r + 1 < n_runs else keys.shape[0]
    key = keys[lo]
    if key >= out.shape[0]:
        return
    acc = out[key]
    for i in range(lo, hi):
        acc += vals[i]
    out[key] = acc
