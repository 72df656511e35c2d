"""Layering of the folders installed into the neuro namespace from outside neuro/.

import-linter (``make lint``) checks neuro/ itself; it cannot see encoders/, hardware/ and
datasets/ on disk, so their rules (ARCHITECTURE.md) are checked here from the source.
"""

from __future__ import annotations

import ast

import pytest

from tests.conftest import ROOT

FORBIDDEN = {
    "encoders": ("neuro.engine", "neuro.hardware", "neuro.cli", "neuro.train"),
    "datasets": ("neuro.engine", "neuro.hardware", "neuro.cli", "neuro.train"),
    "hardware": ("torch", "neuro.torch", "neuro.engine", "neuro.cli", "neuro.train"),
}


def imported_modules(path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@pytest.mark.parametrize("folder", sorted(FORBIDDEN))
def test_mapped_folders_respect_layering(folder):
    files = list((ROOT / folder).rglob("*.py"))
    assert files, f"{folder}/ has no Python files"
    for path in files:
        for module in imported_modules(path):
            bad = [f for f in FORBIDDEN[folder] if module == f or module.startswith(f + ".")]
            assert not bad, f"{path.relative_to(ROOT)} imports {module}"


def test_checker_sees_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import neuro.engine\nfrom torch import nn\n")
    assert list(imported_modules(bad)) == ["neuro.engine", "torch"]


def test_core_is_importable_without_torch_or_numba():
    import subprocess
    import sys

    code = (
        "import sys; import neuro.core.neurons, neuro.core.events, neuro.ir; "
        "bad = [m for m in ('torch', 'numba') if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
