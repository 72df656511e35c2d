"""Generate the golden float64 trajectories of every neuron model.

Run with `make golden` after an intended change of a model, and review the diff. The test
suite loads CASES from this file, so the cases and the stored trajectories cannot drift apart.
Inputs come from a fixed seed; nothing here is a hand-typed number except the parameters.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from neuro.core.neurons import MODELS
from neuro.core.ops import NUMPY_OPS
from neuro.core.reset import ResetSubtract

HERE = Path(__file__).parent
N_STEPS = 400
DT = 1e-3

# (model, method, params kwargs, input scale): four neurons with different parameters each.
CASES: dict[str, tuple[str, str, dict, float]] = {
    "I": ("I", "exact", {"r": [1.0, 2.0, 0.5, 3.0]}, 1.0),
    "IF": ("IF", "exact", {"r": [400.0, 800.0, 200.0, 1000.0], "v_threshold": [1.0, 1.5, 0.8, 2.0]}, 1.0),
    "IF_subtract": ("IF", "exact", {"r": [400.0, 800.0, 200.0, 1000.0], "reset": ResetSubtract()}, 1.0),
    "LI": ("LI", "exact", {"tau": [5e-3, 1e-2, 2e-2, 5e-2], "v_leak": [0.0, 0.1, -0.1, 0.0]}, 1.0),
    "LIF": ("LIF", "exact", {"tau": [5e-3, 1e-2, 2e-2, 5e-2], "r": [4.0, 5.0, 6.0, 8.0]}, 1.0),
    "LIF_euler": ("LIF", "euler", {"tau": [5e-3, 1e-2, 2e-2, 5e-2], "r": [4.0, 5.0, 6.0, 8.0]}, 1.0),
    "LIF_subtract": ("LIF", "exact", {"tau": [5e-3, 1e-2, 2e-2, 5e-2], "r": 2.5, "reset": ResetSubtract()}, 1.0),
    "CubaLI": ("CubaLI", "exact", {"tau_syn": [2e-3, 5e-3, 1e-2, 1e-2], "tau_mem": [1e-2, 1e-2, 1e-2, 2e-2]}, 1.0),
    "CubaLIF": ("CubaLIF", "exact", {"tau_syn": [2e-3, 5e-3, 1e-2, 1e-2], "tau_mem": [1e-2, 1e-2, 1e-2, 2e-2], "r": 3.0}, 1.0),
    "CubaLIF_euler": (
        "CubaLIF",
        "euler",
        {"tau_syn": [2e-3, 5e-3, 1e-2, 1e-2], "tau_mem": [1e-2, 1e-2, 1e-2, 2e-2], "r": 3.0},
        1.0,
    ),
    "ALIF": (
        "ALIF",
        "exact",
        {"tau": [1e-2, 2e-2, 2e-2, 5e-2], "tau_adapt": [0.1, 0.2, 0.05, 0.5], "r": 3.0, "beta_adapt": [0.1, 0.2, 0.5, 0.05]},
        1.0,
    ),
    "Izhikevich": ("Izhikevich", "euler", {"d": [100e-12, 50e-12, 150e-12, 100e-12]}, 700e-12),
    "Izhikevich_exp": ("Izhikevich", "exp_euler", {"b": [-2e-9, 0.0, 2e-9, -1e-9]}, 700e-12),
    "MultiSpikeLIF": (
        "MultiSpikeLIF",
        "exact",
        {"tau": [5e-3, 1e-2, 2e-2, 5e-2], "r": [6.0, 4.0, 3.0, 2.0], "max_spikes": 4},
        1.0,
    ),
}


def make_input(name: str, scale: float) -> np.ndarray:
    """A reproducible non-negative input of shape (N_STEPS, 4) for case ``name``."""
    seed = sum(ord(c) for c in name)
    rng = np.random.default_rng(seed)
    return scale * rng.uniform(0.0, 1.0, size=(N_STEPS, 4)) * (rng.uniform(size=(N_STEPS, 4)) < 0.7)


def simulate(name: str) -> dict[str, np.ndarray]:
    """Run case ``name`` with the numpy reference ops; returns z and every state field over time."""
    model_name, method, kwargs, scale = CASES[name]
    model = MODELS[model_name]
    params = model.params(**kwargs)
    coeffs = model.discretize(params, DT, method)
    state = model.init_state(params, shape=(4,))
    x_seq = make_input(name, scale)
    out: dict[str, list[np.ndarray]] = {"z": [], **{f: [] for f in model.state._fields}}
    for x in x_seq:
        z, state = model.update(x, state, coeffs, NUMPY_OPS)
        out["z"].append(np.asarray(z, dtype=np.float64))
        for f in model.state._fields:
            out[f].append(np.asarray(getattr(state, f), dtype=np.float64))
    return {k: np.stack(v) for k, v in out.items()}


def main() -> None:
    for name in CASES:
        np.savez_compressed(HERE / f"{name}.npz", **simulate(name))
        print(f"wrote {name}.npz")


if __name__ == "__main__":
    main()
