"""Skips with a reason for tools that are not installed.

The ``test`` extra installs snnTorch 1.0.0 (and nirtorch), so its tests run in CI; Norse 1.1.0
requires torchvision and stays in the ``interop`` extra only; SpikingJelly 2.0.0 is installed
by hand with ``--no-deps``.
"""

from __future__ import annotations

from types import ModuleType

import pytest

WHY_MISSING = {
    "snntorch": "snntorch is not installed: pip install -c constraints.txt '.[test]'",
    "norse": "norse is not installed: it requires torchvision, so it is only in the interop extra "
    "(pip install -c constraints.txt '.[interop]'), not in the test extra CI installs",
    "spikingjelly": "spikingjelly is not installed: pip install --no-deps -c constraints.txt spikingjelly==2.0.0",
}


def require(tool: str) -> ModuleType:
    """Import ``tool`` or skip the test, saying why it is absent and how to install it."""
    return pytest.importorskip(tool, reason=WHY_MISSING[tool])
