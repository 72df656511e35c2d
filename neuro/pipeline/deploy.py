"""What the export step says about deployment: which consumers of the NIR file reproduce the
trained network, and what Loihi 2 (through lava-dl netx) cannot express.

For each NIR consumer (snnTorch, Norse, SpikingJelly, Sinabs, Rockpool) :func:`neuro.interop.export_nir` is asked
what that tool's importer cannot reproduce (reset mode, node types it has no importer for,
scalings) without writing a file; :func:`neuro.export.netx.netx_lint` lists the Loihi 2
violations. The tools themselves are not needed: this reads their documented conventions.
"""

from __future__ import annotations

import logging
from typing import Any

from neuro.core.errors import NeuroError

log = logging.getLogger(__name__)

CONSUMERS = ("snntorch", "norse", "spikingjelly", "sinabs", "rockpool")


def deployment_report(graph: Any) -> dict[str, Any]:
    """``{"nir": {consumer: {"cannot": [...], "caveats": [...]}}, "netx": [...]}``, each entry a
    one-line string naming the node, the cause and what happens."""
    from neuro.export.netx import netx_lint
    from neuro.interop import export_nir

    nir: dict[str, dict[str, list[str]]] = {}
    for consumer in CONSUMERS:
        try:
            report = export_nir(graph, None, consumer=consumer)
        except NeuroError as exc:
            nir[consumer] = {"cannot": [f"export refused: {exc}"], "caveats": []}
            continue
        nir[consumer] = {
            "cannot": [f"{i.node} ({i.cause}): {i.message}" for i in report.cannot],
            "caveats": [f"{i.node} ({i.cause}): {i.message}" for i in report.caveats],
        }
    try:
        netx = [str(v) for v in netx_lint(graph, binary_input=False)]
    except NeuroError as exc:
        netx = [f"netx lint refused the graph: {exc}"]
    return {"nir": nir, "netx": netx}
