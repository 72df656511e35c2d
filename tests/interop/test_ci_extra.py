"""The test extra carries snnTorch (so its interop tests run in CI) and never Norse/torchvision."""

from __future__ import annotations

import configparser

from tests.conftest import ROOT
from tests.interop.tools import WHY_MISSING


def _test_extra() -> dict[str, str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [ln.strip() for ln in cfg["options.extras_require"]["test"].splitlines()]
    reqs = [ln for ln in lines if ln and not ln.startswith("#")]
    return {r.split("=")[0].split("<")[0].split(">")[0]: r for r in reqs}


def test_test_extra_pins_snntorch_and_nirtorch():
    extra = _test_extra()
    assert extra["snntorch"] == "snntorch==1.0.0"  # the version whose quirks tests/interop asserts
    assert extra["nirtorch"] == "nirtorch==2.6"


def test_test_extra_leaves_out_norse_and_torchvision():
    extra = _test_extra()
    assert "norse" not in extra
    assert "torchvision" not in extra
    assert "torchvision" in WHY_MISSING["norse"]
