"""The export section of the run report: where the exported network runs unchanged."""

from __future__ import annotations

import html
from typing import Any


def _items(lines: list[str]) -> str:
    return "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in lines) + "</ul>"


def export_section(results: dict[str, Any]) -> list[str]:
    """HTML parts: per NIR consumer, what its importer cannot reproduce; the Loihi 2 lint."""
    deployment = results.get("deployment")
    if not deployment:
        return []
    parts = ["<h2>Deployment</h2>"]
    for consumer, found in deployment["nir"].items():
        if found["cannot"]:
            parts.append(f"<p>NIR into <b>{html.escape(consumer)}</b>: not reproduced as trained</p>")
            parts.append(_items(found["cannot"]))
        else:
            parts.append(f"<p>NIR into <b>{html.escape(consumer)}</b>: reproduced (see docs/interop.md)</p>")
    parts.append("<p>Loihi 2 through lava-dl netx:</p>")
    parts.append(_items(deployment["netx"] or ["no violations"]))
    return parts
