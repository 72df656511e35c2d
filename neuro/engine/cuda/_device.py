"""The Numba-CUDA kernels of :mod:`neuro.engine.cuda.kernels` (see there for what they do).

Imported only once the backend is usable (``numba.cuda`` must be a module global here: the
simulator swaps it for its own when a kernel runs).
"""

from numba import cuda


@cuda.jit(device=True)
def frame_of(ptr, k):
    """The frame ``f`` with ``ptr[f] <= k < ptr[f + 1]`` (binary search)."""
    lo = 0
    hi = ptr.shape[0] - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ptr[mid] <= k:
            lo = mid
        else:
            hi = mid
    return lo


@cuda.jit
def densify(ptr, idx, val, weighted, xd):
    k = cuda.grid(1)
    if k < idx.shape[0]:
        xd[frame_of(ptr, k), idx[k]] = val[k] if weighted else val[0]


@cuda.jit
def dense_gather(ptr, idx, val, weighted, wt, out):
    t = cuda.grid(1)
    n_out = out.shape[1]
    if t >= out.shape[0] * n_out:
        return
    f = t // n_out
    o = t - f * n_out
    acc = out[f, o]
    for k in range(ptr[f], ptr[f + 1]):
        a = val[k] if weighted else val[0]
        acc += a * wt[idx[k], o]
    out[f, o] = acc


@cuda.jit
def dense_scatter(ptr, idx, val, weighted, wt, out):
    t = cuda.grid(1)
    n_out = out.shape[1]
    if t >= idx.shape[0] * n_out:
        return
    k = t // n_out
    o = t - k * n_out
    a = val[k] if weighted else val[0]
    cuda.atomic.add(out, (frame_of(ptr, k), o), a * wt[idx[k], o])


@cuda.jit
def conv_gather(xd, wk, cin_g, height, width, geometry, out):
    """``out`` is ``(F, Ho, Wo, C_out)``; taps in (channel, ky, kx) order = event order."""
    t = cuda.grid(1)
    n_frames, ho, wo, c_out = out.shape
    if t >= n_frames * ho * wo * c_out:
        return
    sy, sx, py, px, dy, dx = geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]
    kh, kw, cout_g = wk.shape[1], wk.shape[2], wk.shape[3]
    co = t % c_out
    r = t // c_out
    ox = r % wo
    r = r // wo
    oy = r % ho
    f = r // ho
    g = co // cout_g
    o = co - g * cout_g
    acc = out[f, oy, ox, co]
    for ci in range(cin_g):
        c = g * cin_g + ci
        for ky in range(kh):
            y = oy * sy - py + ky * dy
            if y < 0 or y >= height:
                continue
            for kx in range(kw):
                x = ox * sx - px + kx * dx
                if x < 0 or x >= width:
                    continue
                a = xd[f, (c * height + y) * width + x]
                if a != 0:
                    acc += a * wk[c, ky, kx, o]
    out[f, oy, ox, co] = acc


@cuda.jit
def conv_scatter(ptr, idx, val, weighted, wk, cin_g, height, width, geometry, out):
    t = cuda.grid(1)
    cout_g = wk.shape[3]
    if t >= idx.shape[0] * cout_g:
        return
    sy, sx, py, px, dy, dx = geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]
    kh, kw = wk.shape[1], wk.shape[2]
    ho, wo = out.shape[1], out.shape[2]
    k = t // cout_g
    o = t - k * cout_g
    f = frame_of(ptr, k)
    j = idx[k]
    c = j // (height * width)
    r = j - c * height * width
    y = r // width
    x = r - y * width
    a = val[k] if weighted else val[0]
    co = (c // cin_g) * cout_g + o
    for ky in range(kh):
        ny = y + py - ky * dy
        if ny < 0 or ny % sy != 0 or ny // sy >= ho:
            continue
        for kx in range(kw):
            nx = x + px - kx * dx
            if nx < 0 or nx % sx != 0 or nx // sx >= wo:
                continue
            cuda.atomic.add(out, (f, ny // sy, nx // sx, co), a * wk[c, ky, kx, o])


@cuda.jit
def pool_gather(xd, height, width, geometry, out):
    """``out`` is ``(F, C, Ho, Wo)``; window in (ky, kx) order = event order."""
    t = cuda.grid(1)
    n_frames, n_c, ho, wo = out.shape
    if t >= n_frames * n_c * ho * wo:
        return
    kh, kw, sy, sx, py, px = geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]
    ox = t % wo
    r = t // wo
    oy = r % ho
    r = r // ho
    c = r % n_c
    f = r // n_c
    acc = out[f, c, oy, ox]
    for ky in range(kh):
        y = oy * sy - py + ky
        if y < 0 or y >= height:
            continue
        for kx in range(kw):
            x = ox * sx - px + kx
            if x < 0 or x >= width:
                continue
            a = xd[f, (c * height + y) * width + x]
            if a != 0:
                acc += a
    out[f, c, oy, ox] = acc


@cuda.jit
def pool_scatter(ptr, idx, val, weighted, height, width, geometry, out):
    k = cuda.grid(1)
    if k >= idx.shape[0]:
        return
    kh, kw, sy, sx, py, px = geometry[0], geometry[1], geometry[2], geometry[3], geometry[4], geometry[5]
    ho, wo = out.shape[2], out.shape[3]
    f = frame_of(ptr, k)
    j = idx[k]
    c = j // (height * width)
    r = j - c * height * width
    y = r // width + py
    x = r - (r // width) * width + px
    a = val[k] if weighted else val[0]
    # the windows oy * sy <= y < oy * sy + kh (no builtin min/max: numba's CUDA target in
    # numba 0.68 does not type them on two integers)
    oy0 = (y - kh + sy) // sy
    oy0 = oy0 if oy0 > 0 else 0
    oy1 = y // sy
    oy1 = oy1 if oy1 < ho - 1 else ho - 1
    ox0 = (x - kw + sx) // sx
    ox0 = ox0 if ox0 > 0 else 0
    ox1 = x // sx
    ox1 = ox1 if ox1 < wo - 1 else wo - 1
    for oy in range(oy0, oy1 + 1):
        for ox in range(ox0, ox1 + 1):
            cuda.atomic.add(out, (f, c, oy, ox), a)


@cuda.jit
def sparse_gather(xd, col_ptr, col_syn, col_pre, weights, delay_steps, batch, out):
    """Synapses onto each target sorted by (delay descending, source, synapse): the source
    frames ``g - d * batch`` ascend, as the CPU kernel visits them."""
    t = cuda.grid(1)
    n_out = out.shape[1]
    if t >= out.shape[0] * n_out:
        return
    g = t // n_out
    o = t - g * n_out
    acc = out[g, o]
    for e in range(col_ptr[o], col_ptr[o + 1]):
        s = col_syn[e]
        f = g - delay_steps[s] * batch
        if f < 0:
            continue
        a = xd[f, col_pre[e]]
        if a != 0:
            acc += a * weights[s]
    out[g, o] = acc


@cuda.jit
def sparse_scatter(ptr, idx, val, weighted, indptr, indices, weights, delay_steps, batch, out):
    k = cuda.grid(1)
    if k >= idx.shape[0]:
        return
    n_frames = out.shape[0]
    f = frame_of(ptr, k)
    j = idx[k]
    a = val[k] if weighted else val[0]
    for s in range(indptr[j], indptr[j + 1]):
        g = f + delay_steps[s] * batch
        if g < n_frames:
            cuda.atomic.add(out, (g, indices[s]), a * weights[s])
