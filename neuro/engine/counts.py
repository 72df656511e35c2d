"""Exact activity counts per node, the NeuroBench definitions (hardware-agnostic integers).

For a projection node (Linear, Affine, Conv, SparseLinear), over all steps and samples:

* ``in_events``: non-zero input entries that arrived;
* ``synops``: effective accumulates, sum over binary input events of the event's non-zero
  fan-out (NeuroBench "effective ACs");
* ``macs``: the same sum over non-binary input events (NeuroBench "effective MACs": first
  layers fed with counts or analogue values, graded spikes);
* ``synops_dense``: every connection at every step, zero inputs and zero weights included
  (NeuroBench "dense SynOps": what sparsity-unaware hardware does). Bias is not a synop.

For a neuron node:

* ``out_spikes``: the spikes it emitted (the sum of spike values for multi-spike neurons);
* ``updates_active``: neuron-steps with non-zero input or a spike;
* ``updates_idle``: the other neuron-steps (``T * B * N - updates_active``).

Pooling, flatten and scaling nodes count their ``in_events`` only. :meth:`Counts.per_sample`
divides by the batch size.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field

FIELDS = ("in_events", "synops", "macs", "synops_dense", "out_spikes", "updates_active", "updates_idle")


@dataclass(slots=True)
class NodeCounts:
    """The counts of one node (see the module docstring); integers summed over samples."""

    kind: str
    n_in: int = 0
    n_out: int = 0
    steps: int = 0
    samples: int = 0
    in_events: int = 0
    synops: int = 0
    macs: int = 0
    synops_dense: int = 0
    out_spikes: int = 0
    updates_active: int = 0
    updates_idle: int = 0
    binary_input: bool = True

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass
class Counts(Mapping[str, NodeCounts]):
    """Counts per node name, in the order the engine ran the nodes."""

    nodes: dict[str, NodeCounts] = field(default_factory=dict)

    def __getitem__(self, name: str) -> NodeCounts:
        return self.nodes[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)

    def total(self, name: str) -> int:
        """The sum of one count field over all nodes."""
        if name not in FIELDS:
            raise KeyError(f"unknown count {name!r}; counts are {list(FIELDS)}")
        return int(sum(getattr(c, name) for c in self.nodes.values()))

    def per_sample(self) -> dict[str, dict[str, float]]:
        """Every count field of every node divided by the number of samples."""
        return {n: {f: getattr(c, f) / max(c.samples, 1) for f in FIELDS} for n, c in self.nodes.items()}

    def to_dict(self) -> dict[str, dict[str, object]]:
        return {n: c.to_dict() for n, c in self.nodes.items()}

    def table(self) -> str:
        """A plain-text table of the counts per node."""
        head = ["node", "kind", *FIELDS]
        rows = [[n, c.kind, *(str(getattr(c, f)) for f in FIELDS)] for n, c in self.nodes.items()]
        widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
        lines = []
        for r in [head, *rows]:
            cells = (v.rjust(w) if i > 1 else v.ljust(w) for i, (v, w) in enumerate(zip(r, widths, strict=True)))
            lines.append("  ".join(cells))
        return "\n".join(lines)
