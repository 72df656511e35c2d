"""The per-step Numba-CUDA kernels of recurrent blocks (:mod:`neuro.engine.cuda.blocks`).

Every kernel works on all samples of the batch at once: buffers are ``(B, n)`` (ring buffers
``(B, slots, n)``, emitted outputs ``(T, B, n)``). Synaptic delivery comes in two forms (the
block runner's ``accumulate`` argument picks one, see there):

* event-driven (:func:`scatter_direct`, :func:`scatter_ring`): thread ``b * n_in + j`` owns
  input ``j`` of sample ``b``, returns at once when it is zero, and otherwise walks its CSR row
  and adds ``a * w`` into the targets with ``cuda.atomic.add``;
* gather (:func:`project_direct`, :func:`project_ring`): thread ``b * n_out + o`` owns target
  ``o`` and reads every incoming synapse of it, in the CPU block loop's order (active inputs
  ascending, then synapses in CSR order), so no atomics.

The other kernels give thread ``b * n + o`` element ``o`` of sample ``b`` (no two threads of a
launch write one element). ``numba.cuda`` is a module global here, as the simulator needs.
"""

from numba import cuda

from neuro.engine import plasticity
from neuro.engine.cuda._device import frame_of
from neuro.engine.cuda.populations import device_function


@cuda.jit
def add_external(ptr, idx, val, weighted, k0, n_events, frame0, inp):
    """Add the external events ``k0 .. k0 + n_events`` (of frames ``frame0 ..``, one per row of
    ``inp``) to ``inp``."""
    e = cuda.grid(1)
    if e >= n_events:
        return
    k = k0 + e
    inp[frame_of(ptr, k) - frame0, idx[k]] += val[k] if weighted else val[0]


@cuda.jit
def push(y, inp):
    """Deliver a node's step output ``y`` into a successor's input buffer (non-zero entries)."""
    thread = cuda.grid(1)
    batch, n = y.shape
    if thread >= batch * n:
        return
    b = thread // n
    o = thread - b * n
    v = y[b, o]
    if v != 0:
        inp[b, o] += v


@cuda.jit
def project_direct(x, col_ptr, col_syn, col_pre, weights, bias, has_bias, inp):
    """A projection that writes straight into a neuron successor's input ``inp``."""
    thread = cuda.grid(1)
    batch, n_out = inp.shape
    if thread >= batch * n_out:
        return
    b = thread // n_out
    o = thread - b * n_out
    acc = inp[b, o]
    for e in range(col_ptr[o], col_ptr[o + 1]):
        a = x[b, col_pre[e]]
        if a != 0:
            acc += a * weights[col_syn[e]]
    if has_bias:
        acc += bias[o]
    inp[b, o] = acc


@cuda.jit
def project_ring(x, col_ptr, col_syn, col_pre, weights, delays, t, ring):
    """A projection into its ring buffer: synapse ``s`` delivers at step ``t + delays[s]``."""
    thread = cuda.grid(1)
    batch, slots, n_out = ring.shape
    if thread >= batch * n_out:
        return
    b = thread // n_out
    o = thread - b * n_out
    for e in range(col_ptr[o], col_ptr[o + 1]):
        a = x[b, col_pre[e]]
        if a != 0:
            s = col_syn[e]
            ring[b, (t + delays[s]) % slots, o] += a * weights[s]


@cuda.jit
def scatter_direct(x, indptr, indices, weights, inp):
    """Event-driven :func:`project_direct`: an active input adds ``a * w`` over its CSR row into
    the neuron successor's input ``inp`` (atomic adds; the bias is :func:`add_bias`)."""
    thread = cuda.grid(1)
    batch, n_in = x.shape
    if thread >= batch * n_in:
        return
    b = thread // n_in
    j = thread - b * n_in
    a = x[b, j]
    if a == 0:
        return
    for s in range(indptr[j], indptr[j + 1]):
        cuda.atomic.add(inp, (b, indices[s]), a * weights[s])


@cuda.jit
def scatter_ring(x, indptr, indices, weights, delays, t, ring):
    """Event-driven :func:`project_ring`: synapse ``s`` of an active input adds into slot
    ``(t + delays[s]) % slots`` (atomic adds)."""
    thread = cuda.grid(1)
    batch, n_in = x.shape
    if thread >= batch * n_in:
        return
    b = thread // n_in
    j = thread - b * n_in
    a = x[b, j]
    if a == 0:
        return
    slots = ring.shape[1]
    for s in range(indptr[j], indptr[j + 1]):
        cuda.atomic.add(ring, (b, (t + delays[s]) % slots, indices[s]), a * weights[s])


@cuda.jit
def add_bias(bias, inp):
    """A direct projection's bias into its successor's input, after the synapses (CPU order)."""
    thread = cuda.grid(1)
    batch, n = inp.shape
    if thread >= batch * n:
        return
    b = thread // n
    o = thread - b * n
    inp[b, o] += bias[o]


@cuda.jit
def ring_out(ring, t, bias, has_bias, y, out, emit):
    """Take the slot of step ``t`` (plus the bias) as the step output ``y``; clear the slot."""
    thread = cuda.grid(1)
    batch, slots, n_out = ring.shape
    if thread >= batch * n_out:
        return
    b = thread // n_out
    o = thread - b * n_out
    slot = t % slots
    v = ring[b, slot, o]
    if has_bias:
        v += bias[o]
    ring[b, slot, o] = 0
    y[b, o] = v
    if emit:
        out[t, b, o] = v


@cuda.jit
def count_inputs(x, fanout, n_in, effective, non_binary):
    """A projection's counts of its step input (then cleared): non-zero inputs, the synapses
    they reach, whether a value is not 1."""
    thread = cuda.grid(1)
    batch, n = x.shape
    if thread >= batch * n:
        return
    b = thread // n
    j = thread - b * n
    a = x[b, j]
    if a != 0:
        n_in[b, j] += 1
        effective[b, j] += fanout[j]
        if a != 1:
            non_binary[0] = 1
    x[b, j] = 0


@cuda.jit
def scale(x, w, n_in, y, out, emit, t):
    thread = cuda.grid(1)
    batch, n = x.shape
    if thread >= batch * n:
        return
    b = thread // n
    j = thread - b * n
    a = x[b, j]
    v = a * 0
    if a != 0:
        n_in[b, j] += 1
        v = w[j] * a
    x[b, j] = 0
    y[b, j] = v
    if emit:
        out[t, b, j] = v


@cuda.jit
def delay(x, delays, n_in, ring, y, out, emit, t):
    thread = cuda.grid(1)
    batch, slots, n = ring.shape
    if thread >= batch * n:
        return
    b = thread // n
    j = thread - b * n
    a = x[b, j]
    if a != 0:
        n_in[b, j] += 1
        ring[b, (t + delays[j]) % slots, j] += a
    x[b, j] = 0
    slot = t % slots
    v = ring[b, slot, j]
    ring[b, slot, j] = 0
    y[b, j] = v
    if emit:
        out[t, b, j] = v


# --- STDP (one sample at a time: the weights carry over from sample to sample) ----------------

_depress = device_function(plasticity.depress)
_potentiate = device_function(plasticity.potentiate)
_normalize_incoming = device_function(plasticity.normalize_incoming)


@cuda.jit
def decay(trace, stdp, which):
    """A trace times its decay factor ``stdp[which]`` (0: presynaptic, 1: postsynaptic)."""
    j = cuda.grid(1)
    if j < trace.shape[0]:
        trace[j] *= stdp[which]


@cuda.jit
def plastic_inputs(x, indptr, indices, weights, n_in, effective, non_binary, x_pre, x_post, stdp):
    """A plastic projection's step inputs, after delivery with the old weights: count them
    (the effective synapses are its non-zero weights before the change), depress every synapse
    of an active input by the postsynaptic trace, grow the presynaptic trace; clear."""
    j = cuda.grid(1)
    if j >= x.shape[1]:
        return
    a = x[0, j]
    if a != 0:
        n_in[0, j] += 1
        if a != 1:
            non_binary[0] = 1
        n_post = x_post.shape[0]
        for s in range(indptr[j], indptr[j + 1]):
            if weights[s] != 0:
                effective[0, j] += 1
        for s in range(indptr[j], indptr[j + 1]):
            weights[s] = _depress(weights[s], x_post[indices[s] % n_post], stdp)
        x_pre[j] += a
    x[0, j] = 0


@cuda.jit
def potentiate_post(z, col_ptr, col_syn, col_pre, weights, x_pre, x_post, stdp):
    """After the postsynaptic population's step: potentiate the synapses onto each spiking
    neuron by the presynaptic trace, grow the postsynaptic trace."""
    i = cuda.grid(1)
    if i >= z.shape[1]:
        return
    zi = z[0, i]
    if zi != 0:
        for u in range(col_ptr[i], col_ptr[i + 1]):
            s = col_syn[u]
            weights[s] = _potentiate(weights[s], x_pre[col_pre[u]], stdp)
        x_post[i] += zi


@cuda.jit
def normalize(weights, col_ptr, col_syn, stdp):
    """The rule's normalisation at the end of a sample, run by one thread as on the CPU."""
    if cuda.grid(1) == 0:
        _normalize_incoming(weights, col_ptr, col_syn, stdp)
