"""Registry of engine backends and probes of their requirements."""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType


@dataclass(frozen=True)
class BackendInfo:
    """One backend: its name, what it is, and a probe ``() -> (usable, detail)``.

    ``implemented`` is False while the backend's simulator has not landed; ``neuro info``
    then reports it as planned rather than usable.
    """

    name: str
    description: str
    probe: Callable[[], tuple[bool, str]]
    implemented: bool


def _version(module: str) -> str | None:
    if importlib.util.find_spec(module) is None:
        return None
    try:
        return str(getattr(importlib.import_module(module), "__version__", "?"))
    except Exception as exc:
        return f"broken ({type(exc).__name__}: {exc})"


def _probe_numpy() -> tuple[bool, str]:
    return True, f"numpy {_version('numpy')}"


def _probe_numba() -> tuple[bool, str]:
    version = _version("numba")
    if version is None:
        return False, "numba is not installed (pip install numba)"
    if version.startswith("broken"):
        return False, f"numba {version}"
    return True, f"numba {version}"


def _probe_cuda() -> tuple[bool, str]:
    from neuro.engine.cuda.arrays import probe

    return probe()


BACKENDS: MappingProxyType[str, BackendInfo] = MappingProxyType(
    {
        "numpy": BackendInfo("numpy", "plain numpy reference implementation", _probe_numpy, True),
        "numba": BackendInfo("numba", "compiled CPU event loops (the default)", _probe_numba, True),
        "cuda": BackendInfo("cuda", "CuPy arrays with Numba-CUDA kernels", _probe_cuda, True),
    }
)


def probe_backends() -> list[dict[str, object]]:
    """One row per backend: name, description, requirements met, detail, status."""
    rows = []
    for info in BACKENDS.values():
        ok, detail = info.probe()
        status = ("usable" if ok else "unavailable") if info.implemented else "planned"
        rows.append(
            {"name": info.name, "description": info.description, "requirements_met": ok, "detail": detail, "status": status}
        )
    return rows
