"""Skips with a reason for tools that are not installed.

``make test`` installs them all: snnTorch 1.0.0, nirtorch 2.6 and Rockpool 3.1.0 through the
``test`` extra, Norse 1.1.0, Sinabs 3.1.3 and SpikingJelly 2.0.0 with ``--no-deps`` (their
declared requirements conflict with the NIR stack or pull torchvision; see docs/interop.md).
"""

from __future__ import annotations

from types import ModuleType

import pytest

_NO_DEPS = "install it as make test does: pip install --no-deps -c constraints.txt {}"
WHY_MISSING = {
    "snntorch": "snntorch is not installed: pip install -c constraints.txt '.[test]'",
    "rockpool": "rockpool is not installed: pip install -c constraints.txt '.[test]'",
    "norse": "norse is not installed (it declares torchvision); " + _NO_DEPS.format("norse==1.1.0"),
    "sinabs": "sinabs is not installed (it pins nir<=1.0.4 and requires samna); " + _NO_DEPS.format("sinabs==3.1.3"),
    "spikingjelly": "spikingjelly is not installed (it declares torchvision); " + _NO_DEPS.format("spikingjelly==2.0.0"),
}


def require(tool: str) -> ModuleType:
    """Import ``tool`` or skip the test, saying why it is absent and how to install it."""
    return pytest.importorskip(tool, reason=WHY_MISSING[tool])
