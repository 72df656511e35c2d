"""Installation layout: encoders/, hardware/, datasets/ live inside the neuro namespace."""

from __future__ import annotations

import configparser
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

MAPPED = {"neuro": "neuro", "neuro.encoders": "encoders", "neuro.hardware": "hardware", "neuro.datasets": "datasets"}


def declared_packages() -> set[str]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    return {p.strip() for p in cfg["options"]["packages"].split("\n") if p.strip()}


def test_setup_cfg_lists_every_package_directory():
    found = set()
    for package, folder in MAPPED.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            found.add(".".join([package, *rel.parts]) if rel.parts else package)
    assert found == declared_packages()


@pytest.mark.slow
def test_wheel_installs_nothing_named_datasets_at_top_level(tmp_path):
    wheel_dir = tmp_path / "wheel"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(wheel_dir), str(ROOT)],
        check=True,
    )
    (wheel,) = wheel_dir.glob("neuro-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith((".dist-info", ".data"))}
    assert top == {"neuro"}
    assert "neuro/datasets/__init__.py" in names
    assert "neuro/py.typed" in names

    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(target), str(wheel)], check=True)
    assert not (target / "datasets").exists()
    assert not (target / "encoders").exists()
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target)}
    code = "import neuro, neuro.datasets, neuro.encoders, neuro.hardware; print(neuro.datasets.__file__)"
    out = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); {code}"],
        cwd=outside,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(out.stdout.strip()).is_relative_to(target)
    missing = subprocess.run(
        [sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(target)!r}); import datasets"],
        cwd=outside,
        capture_output=True,
        text=True,
    )
    assert missing.returncode != 0
    assert "No module named 'datasets'" in missing.stderr
