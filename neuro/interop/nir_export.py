"""Export NIR that a named consumer reads the way neuro simulates it.

``export_nir(graph, path, consumer)`` starts from neuro's own NIR (:func:`neuro.ir.to_nir`:
SI units, ``dt``, ``method`` and ``reset`` in the metadata) and, for a consumer, rewrites each
neuron's parameters so that the consumer's *default* import reproduces neuro's discrete update
at neuro's ``dt``. With ``a`` neuro's decay per step (``exp(-dt/tau)`` or ``1 - dt/tau``) and a
consumer that integrates with forward Euler at its own step ``dt_c``, a LIF becomes

    tau' = dt_c / (1 - a),  r' = s r,  v_threshold' = s v_threshold,  v_leak' = s v_leak,

where ``s`` rescales the membrane (the consumer's membrane is ``s`` times neuro's): snnTorch
needs ``r' = tau'/dt_c`` (so ``s = 1 / ((1 - a) r)``), Norse ignores ``r`` (so ``s = 1/r``).
Sinabs takes ``tau`` in steps (``-1/ln a``) and adds the input unscaled; Rockpool reads
``dt = tau_mem/(1 + r)`` and steps its CubaLIF with exponential decays and the same step's
current. Both always reset by subtraction and may emit several spikes a step.
What a consumer cannot express is listed in :attr:`ExportReport.cannot` with its cause
(``reset``, ``dt``, ``scaling``, ``node``, ``dynamics``): reset by subtraction into a
reset-to-zero importer, ``v_leak``/``v_reset`` it ignores, per-neuron thresholds it refuses,
node types it has no module for.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neuro import ir
from neuro.core.io import atomic_path
from neuro.interop.conventions import get_convention
from neuro.interop.errors import MissingTimeStepError, UnknownToolError

CONSUMERS = ("neuro", "snntorch", "norse", "spikingjelly", "sinabs", "rockpool")
"""Consumers whose default NIR import :func:`export_nir` can target."""

SUPPORTED: dict[str, frozenset[str]] = {
    "snntorch": frozenset({"Input", "Output", "Affine", "Linear", "Conv2d", "Flatten", "AvgPool2d", "IF", "LIF", "CubaLIF"}),
    "norse": frozenset({"Input", "Output", "Affine", "Linear", "Conv2d", "Flatten", "SumPool2d", "IF", "LIF", "CubaLIF"}),
    "spikingjelly": frozenset(
        {"Input", "Output", "Affine", "Linear", "Conv1d", "Conv2d", "Flatten", "AvgPool2d", "IF", "LIF", "CubaLIF"}
    ),
    # sinabs.nir.from_nir: no nir.Linear; its Conv1d branch calls numpy's .detach() (3.1.3).
    "sinabs": frozenset({"Input", "Output", "Affine", "Conv2d", "Flatten", "SumPool2d", "IF", "LIF"}),
    # rockpool.nn.modules.torch.nir.from_nir: its nir.LIF branch reads node.tau_mem (AttributeError).
    "rockpool": frozenset({"Input", "Output", "Affine", "Linear", "CubaLIF"}),
}
"""Node types each consumer's importer builds a module for (snnTorch 1.0.0, Norse 1.1.0,
SpikingJelly 2.0.0 ``activation_based.nir_exchange.import_from_nir``, Sinabs 3.1.3, Rockpool
3.1.0)."""

SUBTRACTING = ("sinabs", "rockpool")
"""Consumers whose imported neurons reset by subtraction and emit ``floor(v/threshold)`` spikes
per step, whatever ``v_reset`` says."""

UNIFORM = {"snntorch": ("v_threshold",), "spikingjelly": ("tau", "r", "v_threshold", "v_reset", "v_leak")}
"""Parameters a consumer's importer takes as one scalar per layer (SpikingJelly raises
``ValueError`` otherwise; snnTorch refuses per-neuron thresholds)."""

EULER_UNIT_GAIN = ("snntorch", "spikingjelly")
"""Consumers whose LIF import reads ``r = tau/dt_c`` as input gain 1 (snnTorch's ``Leaky``,
SpikingJelly's ``LIFNode(decay_input=False)``)."""


@dataclass(frozen=True)
class Issue:
    """Something the consumer will not reproduce.

    Attributes:
        node: the node concerned.
        cause: ``"reset"``, ``"dt"``, ``"scaling"``, ``"node"``, ``"dynamics"`` or ``"batch"``.
        message: what differs and why.
    """

    node: str
    cause: str
    message: str


@dataclass
class ExportReport:
    """What :func:`export_nir` wrote for ``consumer``.

    Attributes:
        consumer: the target tool (``"neuro"`` for neuro's own convention).
        dt: neuro's time step (s); ``consumer_dt`` the step the consumer will use.
        method: neuro's discretisation method the parameters reproduce.
        adapted: per node, what was rewritten.
        voltage_scale: per neuron node, ``s`` with consumer membrane = ``s`` * neuro membrane.
        cannot: what the consumer cannot reproduce (empty: faithful by construction).
        caveats: differences that do not change the spikes of the checked runs.
        nir_graph: the ``nir.NIRGraph`` written.
    """

    consumer: str
    dt: float
    consumer_dt: float
    method: str
    adapted: dict[str, str] = field(default_factory=dict)
    voltage_scale: dict[str, np.ndarray] = field(default_factory=dict)
    cannot: list[Issue] = field(default_factory=list)
    caveats: list[Issue] = field(default_factory=list)
    nir_graph: Any = None

    @property
    def expressible(self) -> bool:
        """True when the consumer can reproduce neuro's behaviour."""
        return not self.cannot


def _decay(tau: np.ndarray, dt: float, method: str) -> np.ndarray:
    return np.exp(-dt / tau) if method == "exact" else 1.0 - dt / tau


def _uniform(report: ExportReport, name: str, what: str, value: np.ndarray) -> None:
    if np.unique(np.round(np.asarray(value, float), 12)).size > 1:
        report.cannot.append(
            Issue(name, "scaling", f"{report.consumer} needs one {what} per layer; {name} has {np.unique(value).size}")
        )


def _same_step_current(name: str, consumer: str, how: str = "") -> Issue:
    """The CubaLIF timing no consumer shares: each feeds the same step's synaptic current
    (``how``: the consumer's update, for the message)."""
    return Issue(
        name,
        "dynamics",
        f"{consumer} feeds the same step's synaptic current{how} to the membrane; neuro's step uses the "
        "previous one, so its spikes come exactly one step early (Euler; approximately for exact)",
    )


def _neuron(report: ExportReport, name: str, node: Any, ir_node: Any, dt: float, method: str) -> None:
    c, dt_c = report.consumer, report.consumer_dt
    kind = type(node).__name__
    reset = getattr(ir_node, "reset", None)
    if c in SUBTRACTING:
        return _subtracting(report, name, node, ir_node, dt, method)
    if reset is not None and reset.name == "subtract":
        report.cannot.append(
            Issue(name, "reset", f"{name} resets by subtraction; {c}'s NIR import resets to a value (to zero)")
        )
    if np.any(np.asarray(getattr(node, "v_reset", 0.0)) != 0.0):
        report.cannot.append(Issue(name, "reset", f"{name} has v_reset != 0; {c}'s import resets to zero"))
    if kind == "LIF":
        a = _decay(np.asarray(node.tau, float), dt, method)
        r = np.asarray(node.r, float)
        s = 1.0 / ((1.0 - a) * r) if c in EULER_UNIT_GAIN else 1.0 / r
        node.tau = dt_c / (1.0 - a)
        node.r = node.tau / dt_c if c in EULER_UNIT_GAIN else np.ones_like(r)
        node.v_threshold = np.asarray(node.v_threshold, float) * s
        node.v_leak = np.asarray(node.v_leak, float) * s
        node.v_reset = np.asarray(node.v_reset, float) * s
        if c == "snntorch" and np.any(node.v_leak != 0):
            report.cannot.append(Issue(name, "scaling", f"{name} has v_leak != 0; snnTorch's import asserts v_leak = 0"))
        if c == "spikingjelly" and not np.allclose(node.v_leak, node.v_reset):
            report.cannot.append(
                Issue(name, "scaling", f"{name} has v_leak != v_reset; SpikingJelly's LIF leaks towards v_reset")
            )
        if c == "norse" and np.any(r != 1.0):
            report.adapted[name] = "r folded into the membrane scale (Norse's LIF import ignores r)"
        report.adapted.setdefault(name, f"tau = {dt_c:g}/(1 - a) for Euler at {dt_c:g} s; membrane scaled by s")
    elif kind == "IF":
        r = np.asarray(node.r, float)
        s = 1.0 / (dt * r)
        node.v_threshold = np.asarray(node.v_threshold, float) * s
        node.v_reset = np.asarray(node.v_reset, float) * s
        node.r = np.full_like(r, 1.0 / dt_c) if c == "spikingjelly" else np.ones_like(r)
        if c == "spikingjelly":
            report.adapted[name] = "membrane scaled by 1/(dt r); r = 1/dt_c as SpikingJelly's IF import demands"
        elif c == "snntorch":
            nir = _nir()
            tau = np.full(r.shape, 1e5)
            node = nir.LIF(tau=tau, r=tau / dt_c, v_leak=np.zeros_like(r), v_threshold=node.v_threshold, v_reset=node.v_reset)
            report.adapted[name] = (
                "IF written as LIF with tau = 1e5 s (beta = 1 in float32): snnTorch 1.0.0 imports IF as beta = 0.9"
            )
        else:
            report.adapted[name] = "membrane scaled by 1/(dt r): Norse's IAF adds its input unscaled"
    elif kind == "CubaLIF" and c in EULER_UNIT_GAIN:
        # Both read alpha = 1 - dt_c/tau_syn, beta = 1 - dt_c/tau_mem and demand unit gains
        # (r = tau_mem/dt_c, w_in = tau_syn/dt_c): syn' = alpha syn + x, mem' = beta mem + syn'.
        # neuro (Euler): i' = a_s i + (1 - a_s) w_in x, v' = a_m v + (1 - a_m) r i (previous i),
        # so syn = i / ((1 - a_s) w_in) and the consumer's mem at t is s * neuro's v at t + 1.
        a_s = _decay(np.asarray(node.tau_syn, float), dt, method)
        a_m = _decay(np.asarray(node.tau_mem, float), dt, method)
        s = 1.0 / ((1.0 - a_s) * np.asarray(node.w_in, float) * (1.0 - a_m) * np.asarray(node.r, float))
        node.tau_syn = dt_c / (1.0 - a_s)
        node.tau_mem = dt_c / (1.0 - a_m)
        node.r = node.tau_mem / dt_c
        node.w_in = node.tau_syn / dt_c
        node.v_threshold = np.asarray(node.v_threshold, float) * s
        node.v_reset = np.asarray(node.v_reset, float) * s
        if np.any(np.asarray(node.v_leak) != 0):
            report.cannot.append(Issue(name, "scaling", f"{name} has v_leak != 0; {c}'s CubaLIF import needs v_leak = 0"))
        node.v_leak = np.zeros_like(node.v_threshold)
        report.adapted[name] = (
            f"alpha, beta for Euler at {dt_c:g} s; r = tau_mem/dt_c, w_in = tau_syn/dt_c; membrane scaled by s"
        )
        report.cannot.append(_same_step_current(name, c))
    elif kind == "CubaLIF":
        # Norse (LIBoxCell then LIFBoxCell, Euler at dt_c): the same decays per step when
        # tau' = tau dt_c/dt; its synapse output of this step drives the membrane.
        node.tau_syn = np.asarray(node.tau_syn, float) * dt_c / dt
        node.tau_mem = np.asarray(node.tau_mem, float) * dt_c / dt
        s = np.ones_like(np.asarray(node.r, float))
        if np.any(np.asarray(node.v_leak) != 0):
            report.cannot.append(
                Issue(name, "scaling", f"{name} has v_leak != 0; {c}'s CubaLIF synapse also leaks towards v_leak")
            )
        report.cannot.append(_same_step_current(name, c))
    else:
        return
    for key in UNIFORM.get(c, ()):
        if hasattr(node, key):
            _uniform(report, name, key, getattr(node, key))
    report.voltage_scale[name] = np.asarray(s, float)
    return node


def _subtracting(report: ExportReport, name: str, node: Any, ir_node: Any, dt: float, method: str) -> Any:
    """Sinabs and Rockpool: reset by subtraction, several spikes per step, their own gains."""
    c, kind = report.consumer, type(node).__name__
    if kind not in ("LIF", "IF", "CubaLIF"):
        return None
    if getattr(getattr(ir_node, "reset", None), "name", "value") != "subtract":
        report.cannot.append(Issue(name, "reset", f"{name} resets to a value; {c}'s import always resets by subtraction"))
    report.caveats.append(
        Issue(
            name,
            "spike",
            f"{c} emits floor(v/threshold) spikes per step; neuro's {kind} at most one: they differ "
            "once the membrane reaches twice the threshold",
        )
    )
    if kind == "LIF":  # sinabs: v' = exp(-1/tau_steps) v + x
        a = _decay(np.asarray(node.tau, float), dt, method)
        s = 1.0 / ((1.0 - a) * np.asarray(node.r, float))
        node.tau = -1.0 / np.log(a)
        node.r = np.ones_like(s)
        if np.any(np.asarray(node.v_leak) != 0):
            report.cannot.append(Issue(name, "scaling", f"{name} has v_leak != 0; sinabs' LIF import raises on it"))
        node.v_leak = np.zeros_like(s)
        if np.ndim(s) > 1:
            report.cannot.append(
                Issue(
                    name,
                    "node",
                    f"sinabs 3.1.3's LIF import evaluates any(v_leak) on the array: it raises for the {np.ndim(s)}-D {name}",
                )
            )
        report.adapted[name] = "tau in steps -1/ln(a); membrane scaled by 1/((1 - a) r) for sinabs' input gain 1"
    elif kind == "IF":  # sinabs: v' = v + x, membrane clamped at -v_threshold
        s = 1.0 / (dt * np.asarray(node.r, float))
        node.r = np.ones_like(s)
        report.adapted[name] = "membrane scaled by 1/(dt r) for sinabs' v' = v + x"
        report.caveats.append(
            Issue(name, "clamp", f"sinabs' IF import clamps the membrane at -v_threshold; neuro's {name} is not clamped")
        )
    elif kind == "CubaLIF":  # rockpool: i' = b (i + x), v' = a v + i' + bias
        a_s = _decay(np.asarray(node.tau_syn, float), dt, method)
        a_m = _decay(np.asarray(node.tau_mem, float), dt, method)
        gain_syn = (1.0 - a_s) * np.asarray(node.w_in, float)
        gain_mem = (1.0 - a_m) * np.asarray(node.r, float)
        s = a_s / (gain_syn * gain_mem)
        node.tau_syn, node.tau_mem = -dt / np.log(a_s), -dt / np.log(a_m)
        node.r = node.tau_mem / dt - 1.0  # its importer reads dt = tau_mem / (1 + r)
        node.w_in = np.ones_like(s)
        if np.any(np.asarray(node.v_leak) != 0):
            report.cannot.append(
                Issue(
                    name,
                    "scaling",
                    f"{name} has v_leak != 0: written as rockpool's bias, but rockpool starts the "
                    "membrane at 0 and neuro at v_leak",
                )
            )
        node.v_leak = (1.0 - a_m) * np.asarray(node.v_leak, float) * s  # read as the bias per step
        report.adapted[name] = (
            "tau = -dt/ln(decay); r = tau_mem/dt - 1 (rockpool reads dt = tau_mem/(1 + r)); v_leak written "
            "as rockpool's bias per step; membrane scaled by decay_syn/(gain_syn gain_mem)"
        )
        report.cannot.append(_same_step_current(name, "rockpool", " (i' = b (i + x))"))
    node.v_threshold = np.asarray(node.v_threshold, float) * s
    node.v_reset = np.zeros_like(s)
    report.voltage_scale[name] = np.asarray(s, float)
    return node


def _nir() -> Any:
    import nir

    return nir


def export_nir(
    graph: ir.Graph, path: str | os.PathLike[str] | None = None, consumer: str | None = None, method: str | None = None
) -> ExportReport:
    """Write ``graph`` as NIR for ``consumer`` (see the module docstring).

    Args:
        graph: the network; its ``dt`` metadata is required.
        path: where to write the ``.nir`` file; None writes nothing (use ``report.nir_graph``).
        consumer: None or ``"neuro"`` (neuro's convention), or a tool in :data:`CONSUMERS`.
        method: neuro's discretisation to reproduce (default: the graph's ``method``
            metadata, else ``"exact"``, the engine's default).

    Raises:
        UnknownToolError: a consumer export_nir cannot target.
        MissingTimeStepError: the graph has no ``dt`` metadata.
        UnsupportedNodeError: nodes NIR cannot express at all.
    """
    consumer = consumer or "neuro"
    if consumer not in CONSUMERS:
        get_convention(consumer)
        raise UnknownToolError(f"export_nir can target {list(CONSUMERS)}, not {consumer!r}")
    if graph.dt is None:
        raise MissingTimeStepError("the graph has no 'dt' metadata; add it with graph.with_metadata(dt=...)")
    dt = float(graph.dt)
    method = method or str(graph.metadata.get("method", "exact"))
    nir_graph = ir.to_nir(graph)
    for node in nir_graph.nodes.values():
        for key, value in vars(node).items():
            if isinstance(value, np.ndarray) and not value.flags.writeable:
                setattr(node, key, value.copy())  # torch warns on read-only arrays
    conv = get_convention(consumer)
    # Sinabs counts time in steps (its tau is in steps); Rockpool reads dt from tau_mem/(1 + r).
    consumer_dt = conv.dt if conv.dt is not None else (1.0 if consumer == "sinabs" else dt)
    report = ExportReport(consumer, dt, consumer_dt, method)
    if consumer != "neuro":
        for name, node in list(nir_graph.nodes.items()):
            kind = type(node).__name__
            if kind not in SUPPORTED[consumer]:
                report.cannot.append(Issue(name, "node", f"{consumer} {conv.version} has no importer for {kind}"))
                continue
            if kind == "Flatten":
                report.caveats.append(
                    Issue(name, "batch", f"{consumer} imports Flatten without the batch offset: run one sample at a time")
                )
            if kind in ("Conv2d", "Affine") and getattr(node, "bias", None) is None:
                node.bias = np.zeros(node.weight.shape[0])
            new = _neuron(report, name, node, graph.nodes[name], dt, method)
            if new is not None:
                nir_graph.nodes[name] = new
        meta = {"dt": report.consumer_dt, "method": conv.method, "neuro_dt": dt, "neuro_method": method}
    else:
        meta = {"dt": dt, "method": method}
    nir_graph.metadata = {**dict(nir_graph.metadata or {}), **meta, "producer": "neuro", "consumer": consumer}
    report.nir_graph = nir_graph
    if path is not None:
        with atomic_path(path) as tmp:
            _nir().write(str(tmp), nir_graph)
    return report
