"""The network graph: named nodes, directed edges and metadata, validated on construction.

Several edges into one node are summed (NIR's semantics). A cycle is allowed only through a
stateful node (a neuron or a Delay), which makes it causal: a recurrent population is a
projection edge from a population back to itself, e.g. ``lif -> w_rec -> lif``.

Metadata holds at least ``dt`` (seconds) when the graph was built for a discrete simulation;
values must be JSON-compatible (numbers, strings, booleans, lists, dicts).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from neuro.core.errors import GraphError, NodeError, ShapeError
from neuro.ir.nodes import NODE_TYPES, Input, Node, Output, Shape, is_stateful


def _strongly_connected(names: list[str], succ: Mapping[str, list[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in names:
        if root in index:
            continue
        work = [(root, iter(succ[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is None:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on_stack.discard(w)
                        comp.append(w)
                        if w == node:
                            break
                    out.append(comp)
            elif nxt not in index:
                index[nxt] = low[nxt] = counter
                counter += 1
                stack.append(nxt)
                on_stack.add(nxt)
                work.append((nxt, iter(succ[nxt])))
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
    return out


@dataclass(frozen=True, eq=False)
class Graph:
    """A validated network.

    Args:
        nodes: name -> node (names are non-empty strings without ``"/"``).
        edges: ``(source, target)`` pairs.
        metadata: JSON-compatible values; ``dt`` in seconds by convention.

    Attributes:
        shapes: name -> output shape of each node (inferred; no batch dimension).

    Raises:
        NodeError: a node is not an IR node or a name is invalid.
        GraphError: an edge names an unknown node, a duplicate edge, an edge into an Input or
            out of an Output, a cycle without a stateful node, or a shape that cannot be
            inferred.
        ShapeError: the shapes along an edge disagree.

    Example:
        >>> import numpy as np
        >>> from neuro import ir
        >>> g = ir.Graph.sequential(ir.Input((3,)), ir.Linear(np.ones((2, 3))), ir.LIF(tau=0.01))
        >>> g.shapes["lif_2"]
        (2,)
    """

    nodes: Mapping[str, Node]
    edges: tuple[tuple[str, str], ...]
    metadata: Mapping[str, Any] = field(default_factory=dict)
    shapes: Mapping[str, Shape] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "nodes", MappingProxyType(dict(self.nodes)))
        object.__setattr__(self, "edges", tuple((str(a), str(b)) for a, b in self.edges))
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))
        for name, node in self.nodes.items():
            if not isinstance(name, str) or not name or "/" in name:
                raise NodeError(f"node names must be non-empty strings without '/', got {name!r}")
            if NODE_TYPES.get(getattr(node, "node_type", None)) is not type(node):
                raise NodeError(f"node {name!r} is not an IR node: {node!r}", node=name)
        seen = set()
        for src, dst in self.edges:
            for end in (src, dst):
                if end not in self.nodes:
                    raise GraphError(f"edge ({src!r}, {dst!r}) names unknown node {end!r}")
            if (src, dst) in seen:
                raise GraphError(f"duplicate edge ({src!r}, {dst!r})")
            seen.add((src, dst))
            if isinstance(self.nodes[dst], Input):
                raise GraphError(f"edge ({src!r}, {dst!r}) enters Input node {dst!r}")
            if isinstance(self.nodes[src], Output):
                raise GraphError(f"edge ({src!r}, {dst!r}) leaves Output node {src!r}")
        self._check_cycles()
        object.__setattr__(self, "shapes", MappingProxyType(self._infer_shapes()))

    # structure -------------------------------------------------------------------------
    def predecessors(self, name: str) -> list[str]:
        """Sources of the edges into ``name``, in edge order."""
        return [a for a, b in self.edges if b == name]

    def successors(self, name: str) -> list[str]:
        """Targets of the edges out of ``name``, in edge order."""
        return [b for a, b in self.edges if a == name]

    @property
    def inputs(self) -> list[str]:
        """Names of the Input nodes."""
        return [k for k, v in self.nodes.items() if isinstance(v, Input)]

    @property
    def outputs(self) -> list[str]:
        """Names of the Output nodes."""
        return [k for k, v in self.nodes.items() if isinstance(v, Output)]

    @property
    def dt(self) -> float | None:
        """The time step (s) recorded in the metadata, or None."""
        dt = self.metadata.get("dt")
        return None if dt is None else float(dt)

    def input_shape(self, name: str) -> Shape | None:
        """The shape a node receives (that of its predecessors), or None for sources."""
        preds = self.predecessors(name)
        return self.shapes[preds[0]] if preds else None

    def step_order(self) -> tuple[list[str], set[tuple[str, str]]]:
        """How a simulator steps this graph: a node order and the cycle-closing edges.

        A depth-first search from the inputs gives a topological order of the graph without
        its back edges. Within a time step, nodes run in this order and read their
        predecessors' values of the same step, except along a back edge, which carries the
        value of the previous step (zero at the first step). The torch modules and the engine
        both step graphs this way.
        """
        graph = self
        succ: dict[str, list[str]] = {n: [] for n in graph.nodes}
        for a, b in graph.edges:
            succ[a].append(b)
        state: dict[str, int] = {}
        back: set[tuple[str, str]] = set()
        post: list[str] = []
        roots = graph.inputs + [n for n in graph.nodes if n not in graph.inputs]
        for root in roots:
            if root in state:
                continue
            stack = [(root, iter(succ[root]))]
            state[root] = 1
            while stack:
                node, it = stack[-1]
                nxt = next(it, None)
                if nxt is None:
                    stack.pop()
                    state[node] = 2
                    post.append(node)
                elif state.get(nxt) == 1:
                    back.add((node, nxt))
                elif nxt not in state:
                    state[nxt] = 1
                    stack.append((nxt, iter(succ[nxt])))
        return post[::-1], back

    def recurrent_components(self) -> list[list[str]]:
        """The strongly connected components that contain a cycle (recurrent populations)."""
        succ: dict[str, list[str]] = {k: [] for k in self.nodes}
        for a, b in self.edges:
            succ[a].append(b)
        return [c for c in _strongly_connected(list(self.nodes), succ) if len(c) > 1 or c[0] in succ[c[0]]]

    def _check_cycles(self) -> None:
        for comp in self.recurrent_components():
            if not any(is_stateful(self.nodes[n]) for n in comp):
                raise GraphError(
                    f"cycle through {sorted(comp)} has no neuron or Delay node: it would be an "
                    "algebraic loop within one time step"
                )

    def _infer_shapes(self) -> dict[str, Shape]:
        shapes: dict[str, Shape] = {}
        received: dict[str, Shape] = {}  # the input shape of each node with predecessors
        pending = list(self.nodes)
        progress = True
        while pending and progress:
            progress = False
            for name in list(pending):
                node = self.nodes[name]
                preds = self.predecessors(name)
                known = [p for p in preds if p in shapes]
                if isinstance(node, Input):
                    shapes[name] = node.output_shape(())
                elif known and (len(known) == len(preds) or is_stateful(node)):
                    first = shapes[known[0]]
                    for p in known[1:]:
                        if shapes[p] != first:
                            raise ShapeError(
                                f"node {name!r} sums inputs of different shapes: {known[0]!r} "
                                f"gives {first}, {p!r} gives {shapes[p]}"
                            )
                    received[name] = first
                    try:
                        shapes[name] = node.output_shape(first)
                    except ShapeError as exc:
                        raise ShapeError(f"edge ({known[0]!r}, {name!r}): {exc}") from None
                elif not preds and is_stateful(node) and getattr(node, "shape", ()):
                    shapes[name] = tuple(node.shape)
                else:
                    continue
                pending.remove(name)
                progress = True
        if pending:
            raise GraphError(
                f"cannot infer the shapes of {sorted(pending)}: they are not reachable from an "
                "Input node with known shape"
            )
        # Stateful nodes in cycles were inferred from part of their inputs: check every edge.
        for src, dst in self.edges:
            expected = received.get(dst, shapes[dst])
            if is_stateful(self.nodes[dst]) and shapes[src] != expected:
                raise ShapeError(
                    f"edge ({src!r}, {dst!r}) carries shape {shapes[src]} into a node that receives "
                    f"shape {expected}"
                )
        return shapes

    # construction ----------------------------------------------------------------------
    @classmethod
    def sequential(cls, *nodes: Node, metadata: Mapping[str, Any] | None = None) -> Graph:
        """Chain ``nodes`` in order, naming each ``<type>_<position>`` (lower case).

        An Output node is appended when the chain does not end with one.
        """
        items = list(nodes)
        if not items or not isinstance(items[-1], Output):
            items.append(Output())
        names = [f"{type(n).node_type.lower()}_{i}" for i, n in enumerate(items)]
        return cls(dict(zip(names, items, strict=True)), list(itertools.pairwise(names)), metadata or {})

    def with_metadata(self, **updates: Any) -> Graph:
        """A copy with metadata entries added or replaced."""
        return Graph(self.nodes, self.edges, {**self.metadata, **updates})

    def to_dict(self) -> dict[str, Any]:
        """Plain-data form (see :mod:`neuro.ir.serialize`)."""
        from neuro.ir.serialize import graph_to_dict

        return graph_to_dict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Graph:
        """Inverse of :meth:`to_dict`."""
        from neuro.ir.serialize import graph_from_dict

        return graph_from_dict(data)

    def equals(self, other: Graph) -> bool:
        """Exact equality of nodes (arrays compared bitwise), edges and metadata."""
        from neuro.ir.serialize import dicts_equal

        return dicts_equal(self.to_dict(), other.to_dict())

    def __repr__(self) -> str:
        body = ", ".join(f"{k}: {type(v).node_type}{list(self.shapes[k])}" for k, v in self.nodes.items())
        return f"Graph({body}; {len(self.edges)} edges)"
