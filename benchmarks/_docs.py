"""Shared by the benchmark scripts: write a result section into docs/benchmarks.md."""

from __future__ import annotations

from pathlib import Path


def update_section(path: Path, section: str, title: str) -> None:
    """Replace the section headed ``title`` (a ``## ...`` line) in ``path``, or append it."""
    text = path.read_text() if path.exists() else "# Benchmarks\n"
    lines = text.splitlines(keepends=True)
    start = next((i for i, line in enumerate(lines) if line.rstrip() == title), None)
    if start is None:
        path.write_text(text.rstrip("\n") + "\n\n" + section.rstrip("\n") + "\n")
        return
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("## ")), len(lines))
    rest = "".join(lines[end:])
    path.write_text("".join(lines[:start]) + section.rstrip("\n") + "\n" + ("\n" + rest if rest else ""))
