"""Generated, file-backed Numba modules, so compiled loops are cached across processes.

The engine generates a loop per neuron model (and per recurrent block structure) from the
model's single ``update`` definition. Numba caches compiled code (``cache=True``) only for
functions that live in a real file, so :func:`load_generated` writes the generated source to
``<cache_dir>/engine/<tag>_<digest>.py`` (atomically) and imports it from there. The digest
covers the generated source, the source of every Python function the loop calls (the model's
``update`` and the helpers it calls, recursively) and the Numba version, so a change to any of
them gives a new file and never a stale compiled loop.
"""

from __future__ import annotations

import hashlib
import importlib.util
import inspect
import sys
import types
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

from neuro.core.io import atomic_write_text, cache_dir

_LOADED: dict[str, types.ModuleType] = {}


def function_sources(functions: Iterable[Callable[..., Any]]) -> str:
    """The source of each function and of the plain Python functions it calls, recursively (and
    the bytes of the numpy arrays they read as globals, which Numba compiles in as constants)."""
    seen: dict[Callable[..., Any], str] = {}
    arrays: list[str] = []
    todo = list(functions)
    while todo:
        fn = todo.pop()
        if isinstance(fn, np.ndarray):
            arrays.append(f"{fn.dtype.str}{fn.shape}{fn.tobytes().hex()}")
        if not isinstance(fn, types.FunctionType) or fn in seen:
            continue
        try:
            seen[fn] = inspect.getsource(fn)
        except (OSError, TypeError):
            seen[fn] = fn.__code__.co_code.hex()
        todo.extend(fn.__globals__.get(n) for n in fn.__code__.co_names)  # type: ignore[misc]
    return "\n".join(sorted(seen.values()) + sorted(set(arrays)))


def generated_dir() -> Path:
    """Where generated loop modules live: ``<cache_dir>/engine``."""
    return cache_dir() / "engine"


def load_generated(source: str, tag: str, depends_on: Iterable[Callable[..., Any]] = ()) -> types.ModuleType:
    """Import the module ``source`` from a cached file named by ``tag`` and a content digest.

    Args:
        source: Python source of the module; functions in it may use ``numba.njit(cache=True)``.
        tag: a short readable prefix of the file name (letters, digits, underscores).
        depends_on: Python functions the generated code calls; their sources enter the digest.
    """
    import numba

    digest = hashlib.sha256(
        "\n".join((source, function_sources(depends_on), numba.__version__, sys.version)).encode()
    ).hexdigest()[:16]
    name = f"{tag}_{digest}"
    if name in _LOADED:
        return _LOADED[name]
    path = generated_dir() / f"{name}.py"
    if not path.exists() or path.read_text(encoding="utf-8") != source:
        atomic_write_text(path, source)
    spec = importlib.util.spec_from_file_location(f"neuro_generated.{name}", path)
    if spec is None or spec.loader is None:  # pragma: no cover - importlib always finds a .py file
        raise ImportError(f"cannot import generated module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # Numba's cache finds compiled code's module by name
    spec.loader.exec_module(module)
    _LOADED[name] = module
    return module
