"""SynSense Speck (DYNAP-CNN) layer rules, memory formulas and core matching.

Exactly what sinabs checks (``sinabs/backend/dynapcnn/{chips/dynapcnn.py, mapping.py,
dynapcnn_layer.py}``, commit 904eb89; reference §3.3). Each layer runs on one of nine cores with
different kernel and neuron memories; a layer fits a core when its kernel memory
``K_MT = c * 2^(ceil(log2(kx*ky)) + ceil(log2 f))``, neuron memory
``N_MT = f * 2^(ceil(log2 fy) + ceil(log2 fx))`` and bias memory ``f`` fit that core's
memories. Layers are assigned to cores by maximum bipartite matching (sinabs uses Edmonds-Karp
max-flow over the same relation; augmenting paths give the same maximum).

A Linear layer runs as a convolution whose kernel covers its whole input, as sinabs converts it:
after a Flatten of ``(C, H, W)`` the kernel is ``H x W`` over ``C`` channels, otherwise
``c = n_in`` with a 1x1 kernel.
"""

from __future__ import annotations

import math

from neuro.hardware._layers import Layer
from neuro.hardware.spec import Const, CoreLimits, Evidence
from neuro.hardware.violations import Kind, Violation

_SRC = "sinabs2024:chips/dynapcnn.py"
KI = 1024
KERNEL_MEM = tuple(Const(v * KI, "count", _SRC, Evidence.VENDOR) for v in (16, 16, 16, 32, 32, 64, 64, 16, 16))
NEURON_MEM = tuple(Const(v * KI, "count", _SRC, Evidence.VENDOR) for v in (64, 64, 64, 32, 32, 16, 16, 16, 16))
BIAS_MEM = Const(1 * KI, "count", _SRC, Evidence.VENDOR)
MAX_KERNEL = Const(16, "count", _SRC, Evidence.VENDOR)
MAX_CHANNELS = Const(1024, "count", _SRC, Evidence.VENDOR)
MAX_INPUT = Const(128, "count", _SRC, Evidence.VENDOR, note="input map side, pixels")
MAX_OUTPUT = Const(64, "count", _SRC, Evidence.VENDOR, note="output map side, pixels")
MAX_DESTINATIONS = Const(2, "count", _SRC, Evidence.VENDOR)
MAX_PADDING = Const(7, "count", _SRC, Evidence.VENDOR)
STRIDES = (1, 2, 4, 8)


def _clog2(x: int) -> int:
    return math.ceil(math.log2(x)) if x > 1 else 0


def kernel_memory(c: int, f: int, kernel: tuple[int, ...]) -> int:
    """K_MT = c * 2^(ceil(log2(kx*ky)) + ceil(log2 f)) entries."""
    return c * 2 ** (_clog2(math.prod(kernel)) + _clog2(f))


def neuron_memory(f: int, out_map: tuple[int, ...]) -> int:
    """N_MT = f * 2^(ceil(log2 fy) + ceil(log2 fx)) entries."""
    fy, fx = out_map
    return f * 2 ** (_clog2(fy) + _clog2(fx))


def _wall(layer: str, constraint: str, required: float, limit: Const | float, hint: str) -> Violation:
    value = limit.value if isinstance(limit, Const) else limit
    return Violation(layer, constraint, float(required), float(value), Kind.WALL, hint)


def layer_rules(layer: Layer) -> list[Violation]:
    """Per-layer Speck rules: kernel, stride, padding, channels, map sizes, destinations."""
    out = []
    n = layer.name
    k = max(layer.kernel)
    # a dense layer runs as a conv whose kernel covers its (flattened) input map
    if len(set(layer.kernel)) != 1:
        out.append(_wall(n, "speck.kernel_square", k, k, f"use a square kernel (got {layer.kernel})"))
    if k > MAX_KERNEL.value:
        out.append(_wall(n, "speck.kernel", k, MAX_KERNEL, "use a kernel of at most 16x16 (stack smaller kernels)"))
    bad = [s for s in layer.stride if s not in STRIDES]
    if bad:
        out.append(_wall(n, "speck.stride", max(bad), 8, "use a stride of 1, 2, 4 or 8"))
    if max(layer.padding) > MAX_PADDING.value:
        out.append(_wall(n, "speck.padding", max(layer.padding), MAX_PADDING, "use padding of at most 7"))
    if max(layer.in_map) > MAX_INPUT.value:
        out.append(
            _wall(
                n,
                "speck.input_size",
                max(layer.in_map),
                MAX_INPUT,
                "downsample the input to at most 128x128 (crop or sum-pool)",
            )
        )
    if max(layer.out_map) > MAX_OUTPUT.value:
        out.append(
            _wall(
                n,
                "speck.output_size",
                max(layer.out_map),
                MAX_OUTPUT,
                "raise the stride or pool so the output map is at most 64x64",
            )
        )
    if layer.kind == "conv" and layer.groups != 1:
        out.append(
            Violation(n, "speck.groups", layer.groups, 1, Kind.UNSUPPORTED, "use groups=1 (grouped convolution is not mapped)")
        )
    for what, c in (("in", layer.c_in), ("out", layer.c_out)):
        if c > MAX_CHANNELS.value:
            out.append(_wall(n, f"speck.channels_{what}", c, MAX_CHANNELS, f"reduce {what}put channels to at most 1024"))
    if len(layer.destinations) > MAX_DESTINATIONS.value:
        out.append(
            _wall(
                n,
                "speck.destinations",
                len(layer.destinations),
                MAX_DESTINATIONS,
                "send each layer to at most 2 layers (merge branches)",
            )
        )
    return out


def core_memories(cores: tuple[CoreLimits, ...]) -> tuple[list[float], list[float]]:
    """Kernel and neuron memory entries per core: from the chip's cores when each gives
    ``synapse_mem_bits / synapse_word_bits`` and ``max_neurons``, else sinabs' table."""
    if cores and all(c.synapse_mem_bits and c.synapse_word_bits and c.max_neurons for c in cores):
        kernel = [c.synapse_mem_bits.value / c.synapse_word_bits.value for c in cores]  # type: ignore[union-attr]
        return kernel, [c.max_neurons.value for c in cores]  # type: ignore[union-attr]
    return [k.value for k in KERNEL_MEM], [n.value for n in NEURON_MEM]


def match_cores(layers: list[Layer], cores: tuple[CoreLimits, ...] = ()) -> tuple[dict[str, int], list[Violation]]:
    """Assign each layer to one core (maximum bipartite matching over the memory relation)."""
    kernel_mem, neuron_mem = core_memories(cores)

    def _fits(k_mt: int, n_mt: int, bias: int, core: int) -> bool:
        return k_mt <= kernel_mem[core] and n_mt <= neuron_mem[core] and bias <= BIAS_MEM.value

    memories = {
        layer.name: (
            kernel_memory(layer.c_in // layer.groups, layer.c_out, layer.kernel),
            neuron_memory(layer.c_out, layer.out_map),
            layer.c_out,
        )
        for layer in layers
    }
    candidates = {name: [c for c in range(len(kernel_mem)) if _fits(*mem, c)] for name, mem in memories.items()}
    violations = []
    for name, cores in candidates.items():
        if not cores:
            k_mt, n_mt, _ = memories[name]
            best = max(range(len(kernel_mem)), key=lambda c: min(kernel_mem[c] / k_mt, neuron_mem[c] / n_mt))
            violations.append(
                _wall(
                    name,
                    "speck.memory",
                    max(k_mt / kernel_mem[best], n_mt / neuron_mem[best]),
                    1.0,
                    f"no core fits: kernel memory {k_mt} and neuron memory {n_mt} entries; the roomiest core "
                    f"({best}) has {kernel_mem[best]:.0f} and {neuron_mem[best]:.0f}: reduce "
                    "channels or the output map (stride, pooling)",
                )
            )
    owner: dict[int, str] = {}

    def augment(name: str, seen: set[int]) -> bool:
        for c in candidates[name]:
            if c in seen:
                continue
            seen.add(c)
            if c not in owner or augment(owner[c], seen):
                owner[c] = name
                return True
        return False

    for name in candidates:
        if candidates[name]:
            augment(name, set())
    assignment = {name: c for c, name in owner.items()}
    unplaced = [n for n in candidates if candidates[n] and n not in assignment]
    for name in unplaced:
        violations.append(
            _wall(
                name,
                "speck.cores",
                len(layers),
                len(kernel_mem),
                "every core that could hold this layer is taken by another: shrink layers so they fit the "
                "smaller cores, or merge layers",
            )
        )
    return assignment, violations
