"""The fused LIF kernel on CUDA (neuro.core.jit_cuda) against its compiled CPU loops.

Without a GPU the kernels run under the Numba CUDA simulator. Numba reads
``NUMBA_ENABLE_CUDASIM`` once, at import, so the simulator case runs in a fresh process with the
variable set (:func:`in_subprocess`, as tests/engine/test_cuda.py does); it moves host arrays to
the simulated device with ``numba.cuda.to_device``, calls the entry points
:func:`~neuro.core.jit_cuda.fused_lif_forward` and :func:`~neuro.core.jit_cuda.fused_lif_backward`
and compares with :func:`neuro.core.jit.fused_lif_forward` / ``fused_lif_backward``:

* membrane, spikes and final membrane bitwise, in float64 and in float32: both sides do the same
  IEEE operations in the same order, each rounded to the dtype (the device kernel spells its
  products and sums as explicitly rounded operations so that no fused multiply-add changes them);
* gradients to rounding: relative and absolute tolerance 1e-12 in float64, 1e-5 in float32 (the
  tolerance of the CPU fused tests). The only operations that may differ are inside the
  surrogate's ``derivative`` (``exp`` and ``**`` come from different math libraries: Python's
  here, libdevice on a device, possibly SVML in the CPU loops), a few ulp of float64 that the
  backward recurrence carries along linearly; in float32 such a difference can flip the
  rounding of a stored gradient by one ulp (6e-8), which the recurrence carries too.

Another subprocess compiles both kernels for a device (PTX for sm_80 with libNVVM, no GPU
needed), which checks what the simulator cannot: the CUDA target's typing, and that the forward
has no fused multiply-add. Tests marked ``gpu`` run :class:`~neuro.torch.neurons.Neurons` on torch
CUDA tensors and skip cleanly without a CUDA device.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from neuro.core.neurons import lif
from neuro.core.reset import ResetSubtract
from neuro.core.surrogate import ArcTan, FastSigmoid, Sigmoid, StraightThrough, Triangle
from neuro.torch import fused
from neuro.torch.layers import Sequential
from neuro.torch.neurons import Neurons

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
SURROGATES = (ArcTan(), FastSigmoid(3.0), Sigmoid(), Triangle(0.7), StraightThrough(0.9))
RESETS = {"subtract": (1.0, 1.0), "value": (0.0, 0.0), "general": (0.5, 0.5)}
GRAD_TOL = {"float64": 1e-12, "float32": 1e-5}


# ---- the cases (run in a subprocess) -----------------------------------------------------------


def _problem(rng: np.random.Generator, dtype: Any, shape: tuple[int, int, int]) -> tuple[Any, ...]:
    """Input, initial membrane, per-neuron coefficients (decay, bias, gain, v_threshold, v_reset),
    and the gradients of the spikes and of the final membrane."""
    x = (rng.normal(0.2, 1.0, shape)).astype(dtype)
    v0 = rng.normal(0.0, 0.2, shape[1:]).astype(dtype)
    bounds = ((0.5, 0.99), (-0.1, 0.1), (0.5, 2.0), (0.3, 0.7), (-0.3, 0.1))
    coeffs = tuple(rng.uniform(lo, hi, shape[2]).astype(dtype) for lo, hi in bounds)
    return x, v0, coeffs, rng.normal(size=shape).astype(dtype), rng.normal(size=shape[1:]).astype(dtype)


def simulator_case() -> dict[str, Any]:
    """Every reset with ArcTan and every surrogate with ResetSubtract in float64, two resets in
    float32, one backward without a spike gradient; asserts inside, returns a summary."""
    from numba import cuda

    from neuro.core import jit, jit_cuda

    rng = np.random.default_rng(7)
    shape = (10, 2, 37)  # 74 threads: three blocks of the simulator, the last partial
    plan = [("float64", reset, ArcTan()) for reset in RESETS]
    plan += [("float64", "subtract", s) for s in SURROGATES[1:]]
    plan += [("float32", reset, ArcTan()) for reset in ("general", "subtract")]  # (each compile of a CPU loop: seconds)
    plan += [("float64", "value", None)]  # None: backward without grad_z, FastSigmoid
    spikes, compared, nonzero = [], [], []
    for dtype, reset_name, surrogate in plan:
        x, v0, coeffs, gz, gv = _problem(rng, np.dtype(dtype).type, shape)
        reset = RESETS[reset_name]
        cpu = (np.empty_like(x), np.empty_like(x), np.empty_like(v0))
        jit.fused_lif_forward(x, v0, coeffs, reset, cpu, 1)
        dev = tuple(cuda.device_array_like(a) for a in cpu)
        d_coeffs = tuple(cuda.to_device(c) for c in coeffs)
        jit_cuda.fused_lif_forward(cuda.to_device(x), cuda.to_device(v0), d_coeffs, reset, dev)
        for name, a, b in zip(("u_seq", "z_seq", "v"), cpu, dev, strict=True):
            np.testing.assert_array_equal(b.copy_to_host(), a, err_msg=f"{dtype} {reset_name}: {name}")
        grad_z = None if surrogate is None else gz
        surrogate = surrogate or FastSigmoid()
        cpu_g = (np.empty_like(x), np.empty_like(v0))
        bwd = (coeffs[0], coeffs[2], coeffs[3])
        jit.fused_lif_backward(cpu[0], grad_z, gv, bwd, reset, surrogate, cpu_g, 1)
        dev_g = tuple(cuda.device_array_like(a) for a in cpu_g)
        d_gz = None if grad_z is None else cuda.to_device(grad_z)
        d_bwd = (d_coeffs[0], d_coeffs[2], d_coeffs[3])
        jit_cuda.fused_lif_backward(dev[0], d_gz, cuda.to_device(gv), d_bwd, reset, surrogate, dev_g)
        tol = GRAD_TOL[dtype]
        for name, a, b in zip(("grad_x", "grad_v0"), cpu_g, dev_g, strict=True):
            np.testing.assert_allclose(
                b.copy_to_host(), a, rtol=tol, atol=tol, err_msg=f"{dtype} {reset_name} {surrogate}: {name}"
            )
            nonzero.append(round(np.count_nonzero(a) / a.size, 3))
        spikes.append(int(cpu[1].sum()))
        compared.append(f"{dtype}/{reset_name}/{type(surrogate).__name__}/{'gz' if grad_z is not None else 'no-gz'}")
    summary = {"spikes": spikes, "compared": compared, "nonzero": nonzero, "size": int(np.prod(shape))}
    return {"simulated": jit_cuda.simulated(), **summary}


def ptx_case() -> dict[str, Any]:
    """Both kernels compiled to PTX for compute capability 8.0, float32 and float64, every
    surrogate. Needs libNVVM, not a GPU."""
    from types import SimpleNamespace

    import numba.cuda.dispatcher
    from numba import cuda, typeof
    from numba import types as nt
    from numba.cuda.cudadrv import nvvm

    from neuro.core import jit_cuda

    try:
        nvvm.NVVM()
    except Exception as exc:
        return {"simulated": False, "nvvm": False, "detail": f"{type(exc).__name__}: {exc}"[:300]}
    # no device here: device functions compile for compute capability 8.0
    numba.cuda.dispatcher.get_current_device = lambda: SimpleNamespace(compute_capability=(8, 0))
    compiled, forward_fma = [], []
    for f in (nt.float32, nt.float64):
        a3, a2, a1 = f[:, :, ::1], f[:, ::1], f[::1]
        kernel = jit_cuda._forward_kernel(f.name)
        ptx, _ = cuda.compile_ptx(kernel.py_func, (a3, a2, *[a1] * 5, f, f, f, nt.int64, a3, a3, a2), cc=(8, 0))
        assert ".entry" in ptx
        forward_fma.append("fma." in ptx)
        compiled.append(f"forward[{f}]")
        for surrogate in SURROGATES:
            kernel = jit_cuda._backward_kernel(f.name, type(surrogate))
            fields = typeof(jit_cuda._surrogate_fields(surrogate))
            sig = (a3, a3, nt.boolean, a2, a1, a1, a1, f, f, nt.int64, fields, a3, a2)
            ptx, _ = cuda.compile_ptx(kernel.py_func, sig, cc=(8, 0))
            assert ".entry" in ptx
            compiled.append(f"backward[{f}, {type(surrogate).__name__}]")
    return {"simulated": False, "nvvm": True, "compiled": compiled, "forward_fma": forward_fma}


def imports_case() -> dict[str, Any]:
    """What importing neuro and running the fused path on the CPU imports."""
    import neuro
    import neuro.torch
    import neuro.torch.fused
    import neuro.torch.neurons

    imported = {"after_import": "numba.cuda" in sys.modules}
    layer = neuro.torch.neurons.Neurons(lif.Params(tau=0.01, r=3.0, v_threshold=0.5), 1e-3)
    x = torch.ones(4, 2, 3, requires_grad=True)
    z, _ = layer(x)
    z.sum().backward()
    imported["after_cpu_step"] = "numba.cuda" in sys.modules
    imported["numba_ran"] = neuro.torch.fused.CALLS["fused_lif_numba"] == 1
    return {"simulated": False, **imported}


def dispatch_case() -> dict[str, Any]:
    """The torch side of the CUDA path (memory order, coefficients broadcast per channel, the
    autograd wiring) run under the simulator: CPU tensors are routed to it, their numpy views
    stand in for the device arrays, and :class:`~neuro.torch.neurons.Neurons` must give what the
    compiled CPU loops give."""
    from neuro.core import jit_cuda

    real_compiled = fused._compiled_applies

    def launch(device: Any, kernel: Any, *args: Any) -> None:
        def view(a: Any) -> Any:
            if isinstance(a, tuple):
                return tuple(view(x) for x in a)
            return a.numpy() if isinstance(a, torch.Tensor) else a  # shares the tensor's memory

        kernel(*(view(a) for a in args), stream=0)

    fused._cuda_applies = lambda x, c, s: x.dtype in (torch.float32, torch.float64) and type(s) in fused._SURROGATES
    fused._cuda_launch = launch
    # (every surrogate and reset is compared kernel to loop in simulator_case)
    cases = [("per_channel/channels_last", PER_CHANNEL, _channels_last(_image(torch.float64)), ArcTan())]
    cases += [("value", VALUE, _sequence(torch.float64), Triangle(0.7))]
    cases += [("per_channel", PER_CHANNEL, _image(torch.float32), ArcTan())]
    cases += [("value", VALUE, _sequence(torch.float32), ArcTan())]
    compared = []
    for name, params, x, surrogate in cases:
        fused._compiled_applies = lambda *a: False
        device = _run(params, x, surrogate, torch.device("cpu"), "fused_lif_cuda")
        fused._compiled_applies = real_compiled
        cpu = _run(params, x, surrogate, torch.device("cpu"))
        _assert_same(device, cpu, x.dtype)
        assert device[0].stride() == x.stride()  # the spikes keep the input's memory order
        compared.append(f"{name}/{x.dtype}/{type(surrogate).__name__}")
    return {"simulated": jit_cuda.simulated(), "compared": compared}


CASES: dict[str, Callable[[], dict[str, Any]]] = {
    "simulator": simulator_case, "dispatch": dispatch_case, "ptx": ptx_case, "imports": imports_case
}  # fmt: skip


def in_subprocess(case: str, simulator: bool) -> dict[str, Any]:
    """``CASES[case]()`` in a fresh process, with or without ``NUMBA_ENABLE_CUDASIM=1``."""
    code = (
        f"import json, sys; sys.path.insert(0, {str(HERE)!r}); import test_fused_cuda; "
        f"print(json.dumps(test_fused_cuda.CASES[{case!r}]()))"
    )
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1" if simulator else "0")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-6000:]
    summary = json.loads(proc.stdout.strip().splitlines()[-1])
    assert summary["simulated"] is simulator
    return summary


# ---- without a device ------------------------------------------------------------------------


def test_simulated_kernels_equal_the_compiled_cpu_loops():
    s = in_subprocess("simulator", simulator=True)
    assert len(s["compared"]) == len(RESETS) + len(SURROGATES) - 1 + 2 + 1
    assert {c.split("/")[2] for c in s["compared"]} == {type(x).__name__ for x in SURROGATES}
    assert all(0.05 * s["size"] < n < 0.95 * s["size"] for n in s["spikes"])  # spikes and silences to compare
    # the gradients reach (nearly) every neuron, and some without a spike gradient through reset to value
    assert min(s["nonzero"][:-2]) > 0.9
    assert min(s["nonzero"][-2:]) > 0


def test_simulated_dispatch_of_neurons_equals_the_compiled_cpu_path():
    s = in_subprocess("dispatch", simulator=True)
    assert len(s["compared"]) == 4


def test_kernels_compile_for_a_device_without_fused_multiply_add_in_the_forward():
    s = in_subprocess("ptx", simulator=False)
    if not s["nvvm"]:
        pytest.skip(f"libNVVM not found (set CUDA_HOME; pip install nvidia-cuda-nvcc-cu12): {s['detail']}")
    assert len(s["compiled"]) == 2 * (1 + len(SURROGATES))
    assert s["forward_fma"] == [False, False]


def test_importing_neuro_or_training_on_the_cpu_imports_no_numba_cuda():
    s = in_subprocess("imports", simulator=False)
    assert s == {"simulated": False, "after_import": False, "after_cpu_step": False, "numba_ran": True}


def test_cpu_tensors_never_take_the_cuda_path():
    before = dict(fused.CALLS)
    layer = Neurons(lif.Params(tau=0.01, r=3.0, v_threshold=0.5), 1e-3)
    layer(torch.ones(3, 2, 4))
    assert fused.CALLS["fused_lif_cuda"] == before["fused_lif_cuda"]
    assert fused.CALLS["fused_lif"] == before["fused_lif"] + 1


# ---- on a real device --------------------------------------------------------------------------

PER_CHANNEL = lif.Params(
    tau=np.array([5e-3, 1e-2, 2e-2])[:, None, None],
    r=3.0,
    v_threshold=np.array([0.4, 0.5, 0.6])[:, None, None],
    reset=ResetSubtract(),
)
VALUE = lif.Params(tau=np.array([5e-3, 1e-2, 2e-2]), r=3.0, v_leak=0.3, v_reset=-0.2, v_threshold=0.5)


def _device_or_skip() -> torch.device:
    if not torch.cuda.is_available():
        pytest.skip("no CUDA device")
    from neuro.core import jit_cuda

    ok, detail = jit_cuda.available()
    assert ok, f"a CUDA device but no usable Numba-CUDA: {detail}"
    assert not jit_cuda.simulated(), "NUMBA_ENABLE_CUDASIM=1 in a process with a CUDA device"
    return torch.device("cuda", torch.cuda.current_device())


def _run(params: Any, x: torch.Tensor, surrogate: Any, device: torch.device, sentinel: str = "") -> tuple[torch.Tensor, ...]:
    """Spikes, final membrane and the gradients of input and initial membrane of one Neurons
    layer on ``device`` (the CPU runs the compiled loops, a CUDA device the kernels), and check
    that the ``sentinel`` path ran (default: the one of ``device``)."""
    layer = Neurons(params, 1e-3, surrogate=surrogate, dtype=x.dtype).to(device)
    xx = x.to(device).detach().requires_grad_(True)
    v0 = torch.full(x.shape[1:], 0.1, dtype=x.dtype, device=device, requires_grad=True)
    sentinel = sentinel or ("fused_lif_cuda" if device.type == "cuda" else "fused_lif_numba")
    before = fused.CALLS[sentinel]
    z, final = layer(xx, layer.model.state(v=v0))
    weights = torch.linspace(0.5, 2.0, x.shape[0], dtype=x.dtype, device=device).reshape(-1, *[1] * (x.dim() - 1))
    ((z * weights).sum() + (final.v**2).sum()).backward()
    assert fused.CALLS[sentinel] == before + 1, f"the {sentinel} path did not run"
    return tuple(t.detach().cpu() for t in (z, final.v, xx.grad, v0.grad))


def _assert_same(got: tuple[torch.Tensor, ...], cpu: tuple[torch.Tensor, ...], dtype: torch.dtype) -> None:
    """Identical spikes and final membrane, gradients to rounding; spikes and silences both."""
    assert 0 < cpu[0].sum() < cpu[0].numel()
    assert torch.equal(got[0], cpu[0])
    assert torch.equal(got[1], cpu[1])
    tol = GRAD_TOL[str(dtype).removeprefix("torch.")]
    for g, c in zip(got[2:], cpu[2:], strict=True):
        torch.testing.assert_close(g, c, rtol=tol, atol=tol)


def _image(dtype: torch.dtype) -> torch.Tensor:
    torch.manual_seed(0)
    return torch.randn(8, 2, 3, 4, 5, dtype=dtype) * 1.5


def _sequence(dtype: torch.dtype) -> torch.Tensor:
    torch.manual_seed(1)
    return torch.randn(20, 4, 3, dtype=dtype) * 1.5


def _channels_last(x: torch.Tensor) -> torch.Tensor:
    t, b = x.shape[:2]
    return x.reshape(t * b, *x.shape[2:]).contiguous(memory_format=torch.channels_last).view(x.shape)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=str)
@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: type(s).__name__)
def test_gpu_kernels_equal_the_cpu_loops(dtype, surrogate):
    """Per-channel coefficients on channels-last 5-D input, and reset to value on 3-D input:
    identical spikes and membrane, gradients to rounding."""
    device = _device_or_skip()
    for params, x in ((PER_CHANNEL, _channels_last(_image(dtype))), (VALUE, _sequence(dtype))):
        _assert_same(_run(params, x, surrogate, device), _run(params, x, surrogate, torch.device("cpu")), dtype)


def _conv_net() -> Sequential:
    torch.manual_seed(3)
    params = lif.Params(tau=2e-2, r=10.0, v_threshold=0.3, reset=ResetSubtract())
    return Sequential(
        nn.Conv2d(2, 4, 3, padding=1), Neurons(params, 1e-3, surrogate=FastSigmoid()), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(4 * 4 * 4, 3), Neurons(params, 1e-3, surrogate=FastSigmoid()),
    )  # fmt: skip


@pytest.mark.gpu
def test_gpu_training_step_of_a_conv_net_matches_the_cpu():
    device = _device_or_skip()
    torch.manual_seed(4)
    x = (torch.rand(8, 3, 2, 8, 8) < 0.4).double()
    target = torch.tensor([0, 1, 2])
    grads, losses = {}, {}
    for dev in (torch.device("cpu"), device):
        net = _conv_net().double().to(dev)
        optimizer = torch.optim.SGD(net.parameters(), lr=0.5)
        before = fused.CALLS["fused_lif_cuda"]
        out = net(x.to(dev))
        loss = nn.functional.cross_entropy(out.sum(0), target.to(dev))
        optimizer.zero_grad()
        loss.backward()
        grads[dev.type] = {k: p.grad.detach().cpu().clone() for k, p in net.named_parameters()}
        start = {k: p.detach().clone() for k, p in net.named_parameters()}
        optimizer.step()
        assert all(not torch.equal(p, start[k]) for k, p in net.named_parameters())
        losses[dev.type] = float(loss)
        assert fused.CALLS["fused_lif_cuda"] - before == (2 if dev.type == "cuda" else 0)
    assert losses["cuda"] == pytest.approx(losses["cpu"], rel=1e-9)
    for k, g in grads["cpu"].items():
        assert g.abs().sum() > 0, k
        torch.testing.assert_close(grads["cuda"][k], g, rtol=1e-7, atol=1e-9)


# ---- data parallel with nccl -------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.gpu
def test_two_nccl_ranks_match_a_single_process(tmp_path):
    """As tests/train/test_distributed.py with gloo, on two GPUs: the fused CUDA kernels train a
    spiking network under DDP with nccl to the weights of one process over the same batches."""
    _device_or_skip()
    if torch.cuda.device_count() < 2:
        pytest.skip(f"two nccl ranks need two CUDA devices; {torch.cuda.device_count()} found")
    import safetensors.torch

    script = HERE / "_ddp_fused.py"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port())}
    env.update(WORLD_SIZE="2", OMP_NUM_THREADS="1")
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "ddp")],
            env={**env, "RANK": str(r), "LOCAL_RANK": str(r)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for r in range(2)
    ]
    try:
        for p in procs:
            stdout, _ = p.communicate(timeout=300)
            assert p.returncode == 0, stdout.decode()[-6000:]
    finally:
        for p in procs:
            p.kill()
    single_env = {k: v for k, v in env.items() if k not in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT")}
    one = subprocess.run(
        [sys.executable, str(script), str(tmp_path / "one")], env=single_env, capture_output=True, text=True, timeout=300
    )
    assert one.returncode == 0, one.stdout[-3000:] + one.stderr[-3000:]
    rank0 = safetensors.torch.load_file(str(tmp_path / "ddp" / "weights.rank0.safetensors"))
    rank1 = safetensors.torch.load_file(str(tmp_path / "ddp" / "weights.rank1.safetensors"))
    single = safetensors.torch.load_file(str(tmp_path / "one" / "weights.rank0.safetensors"))
    start = safetensors.torch.load_file(str(tmp_path / "one" / "start.safetensors"))
    for k in rank0:
        assert torch.equal(rank0[k], rank1[k]), k  # both ranks applied the same averaged gradient
        assert not torch.equal(single[k], start[k]), k  # training moved every parameter
        torch.testing.assert_close(rank0[k], single[k], rtol=1e-5, atol=1e-6)
    for run_dir, ranks in ((tmp_path / "ddp", (0, 1)), (tmp_path / "one", (0,))):
        for r in ranks:
            calls = json.loads((run_dir / f"calls.rank{r}.json").read_text())
            assert calls["fused_lif_cuda"] > 0
            assert calls["backend"] == ("nccl" if run_dir.name == "ddp" else None)
