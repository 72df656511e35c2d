"""make test installs every interop tool: pinned in the test extra where the tool's declared
requirements allow it, with --no-deps in the Makefile where they do not; never torchvision."""

from __future__ import annotations

import configparser
import re

from tests.conftest import ROOT


def _test_extra() -> dict[str, str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    lines = [ln.strip() for ln in cfg["options.extras_require"]["test"].splitlines()]
    reqs = [ln for ln in lines if ln and not ln.startswith("#")]
    return {re.split(r"[=<>\[]", r)[0]: r for r in reqs}


def _no_deps_line() -> list[str]:
    text = (ROOT / "Makefile").read_text()
    (value,) = re.findall(r"^INTEROP_NO_DEPS := (.+)$", text, flags=re.M)
    assert "$(PIP) --no-deps $(INTEROP_NO_DEPS)" in text
    return value.split()


def test_test_extra_pins_the_tools_it_can_carry():
    extra = _test_extra()
    assert extra["snntorch"] == "snntorch==1.0.0"  # the versions whose quirks tests/interop asserts
    assert extra["nirtorch"] == "nirtorch==2.6"
    assert extra["rockpool"] == "rockpool==3.1.0"  # no [nir] extra: that one pins nir<=1.0.4
    assert {"pbr", "loguru"} <= set(extra)  # what sinabs and spikingjelly import


def test_makefile_installs_the_others_pinned_without_dependencies():
    assert _no_deps_line() == ["norse==1.1.0", "sinabs==3.1.3", "spikingjelly==2.0.0"]


def test_nothing_pulls_torchvision():
    extra = _test_extra()
    assert "torchvision" not in extra
    assert not {"norse", "sinabs", "spikingjelly"} & set(extra)
