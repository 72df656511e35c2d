"""Typed errors of the chip registry and the chip YAML reader."""

from __future__ import annotations

from neuro.core.errors import NeuroError


class ChipSpecError(NeuroError, ValueError):
    """A chip description is invalid; ``field`` is the dotted path of the offending field
    (``energy.synop.unit``), ``path`` the file when read from one."""

    def __init__(self, message: str, field: str | None = None, path: str | None = None) -> None:
        where = f"{path}: " if path else ""
        at = f"{field}: " if field else ""
        super().__init__(f"{where}{at}{message}")
        self.field = field
        self.path = path


class UnknownChipError(NeuroError, ValueError):
    """No chip of that name is registered; the message lists the registered names."""
