"""Deployment exporters: NIR, IR JSON, lava-dl netx (Loihi 2), FPGA memory images, QONNX.

:data:`EXPORTERS` maps a format name to its writer ``(graph, path, **options)`` and
:data:`READERS` a format name to the reader that gives an :class:`neuro.ir.Graph` back (QONNX
has none: it holds an ANN approximation, not the spiking network). ``neuro export --format``
uses :func:`export_graph` and :func:`read_graph`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from neuro import ir
from neuro.core.errors import ParameterError
from neuro.export.errors import ExportError, ExportFeatureError, ExportPrecisionError
from neuro.export.fpga import quantize_fpga, read_fpga, write_fpga
from neuro.export.netx import netx_lint, read_netx, write_netx
from neuro.export.qonnx import write_qonnx

EXPORTERS: dict[str, Callable[..., Any]] = {
    "nir": ir.write_nir,
    "json": ir.write_json,
    "netx": write_netx,
    "fpga": write_fpga,
    "qonnx": write_qonnx,
}
"""Format name -> writer ``(graph, path, **options)``."""

READERS: dict[str, Callable[..., ir.Graph]] = {
    "nir": ir.read_nir,
    "json": ir.read_json,
    "netx": read_netx,
    "fpga": read_fpga,
}
"""Format name -> reader ``(path) -> Graph``."""

SUFFIXES: dict[str, str] = {"nir": ".nir", "json": ".ir.json", "netx": ".net", "fpga": "_fpga", "qonnx": ".onnx"}
"""The default file suffix of each format (``fpga`` writes a folder)."""


def _check(fmt: str, table: dict[str, Any]) -> None:
    if fmt not in table:
        raise ParameterError(f"unknown export format {fmt!r}; expected one of {sorted(table)}", "format")


def export_graph(graph: ir.Graph, fmt: str, path: str | Path, **options: Any) -> Path:
    """Write ``graph`` in format ``fmt`` to ``path`` (a folder for ``fpga``) and return the path.

    Raises:
        ParameterError: an unknown format; the writers' own typed errors otherwise.
    """
    _check(fmt, EXPORTERS)
    EXPORTERS[fmt](graph, path, **options)
    return Path(path)


def format_of(path: str | Path) -> str:
    """The format a path holds, from its suffix (a folder: ``fpga``)."""
    p = Path(path)
    if p.is_dir():
        return "fpga"
    name = p.name.lower()
    for fmt, suffix in (("json", ".json"), ("nir", ".nir"), ("netx", ".net"), ("netx", ".h5"), ("netx", ".hdf5")):
        if name.endswith(suffix):
            return fmt
    raise ParameterError(f"cannot tell the format of {str(p)!r} from its suffix (.json, .nir, .net, .h5)", "format")


def read_graph(path: str | Path, fmt: str | None = None) -> ir.Graph:
    """Read a graph in format ``fmt`` (default: from the suffix)."""
    fmt = fmt or format_of(path)
    _check(fmt, READERS)
    return READERS[fmt](path)


__all__ = [
    "EXPORTERS", "READERS", "SUFFIXES", "ExportError", "ExportFeatureError", "ExportPrecisionError", "export_graph",
    "format_of", "netx_lint", "quantize_fpga", "read_fpga", "read_graph", "read_netx", "write_fpga", "write_netx",
    "write_qonnx",
]  # fmt: skip
