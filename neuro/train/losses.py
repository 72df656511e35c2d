"""Losses over time-first network outputs ``(T, B, C)``.

Each loss maps the output sequence of a network and integer class targets to a scalar (the mean
over the batch), so that gradient averaging across data-parallel ranks equals the global mean:

* :func:`rate_ce`: cross-entropy of the output spike counts (``sum`` over time) or rates
  (``mean`` over time) used as logits.
* :func:`count_mse`: mean squared error between each output neuron's spike count and a target
  count, ``on_target`` spikes for the correct class and ``off_target`` for the others
  (snnTorch's ``mse_count_loss`` with counts instead of ratios).
* :func:`membrane_ce`: cross-entropy of a non-spiking readout's membrane, reduced over time by
  its ``max`` or ``mean``.

:func:`get_loss` looks a loss up by name in :data:`LOSSES` and binds its options.

Example:
    >>> import torch
    >>> out_seq = torch.zeros(4, 2, 3)
    >>> out_seq[:, 0, 1] = 1.0  # sample 0: class 1 fires every step
    >>> out_seq[:, 1, 2] = 1.0  # sample 1: class 2 fires every step
    >>> loss = get_loss("count_mse", on_target=4.0, off_target=0.0)
    >>> float(loss(out_seq, torch.tensor([1, 2])))
    0.0
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Literal

import torch
import torch.nn.functional as F

from neuro.core.errors import ParameterError

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
"""``loss(out_seq (T, B, C), target (B,)) -> scalar``."""

__all__ = ["LOSSES", "LossFn", "check_output", "count_mse", "get_loss", "membrane_ce", "rate_ce"]


def check_output(out_seq: torch.Tensor, target: torch.Tensor) -> None:
    """Check that ``out_seq`` is ``(T, B, C)`` and ``target`` holds ``B`` class indices below ``C``.

    Args:
        out_seq: network output, time-first.
        target: integer class per sample.

    Raises:
        ParameterError: a shape, dtype or class index is wrong (field ``out_seq`` or ``target``).
    """
    if out_seq.ndim != 3:
        raise ParameterError(f"out_seq must be time-first (T, B, C), got shape {tuple(out_seq.shape)}", field="out_seq")
    if target.ndim != 1 or target.shape[0] != out_seq.shape[1]:
        raise ParameterError(f"target must have shape (B,) = ({out_seq.shape[1]},), got {tuple(target.shape)}", field="target")
    if target.dtype.is_floating_point or target.dtype == torch.bool or target.is_complex():
        raise ParameterError(f"target must hold integer class indices, got dtype {target.dtype}", field="target")
    if target.numel() and (int(target.min()) < 0 or int(target.max()) >= out_seq.shape[2]):
        raise ParameterError(
            f"target classes must lie in [0, {out_seq.shape[2]}), got [{int(target.min())}, {int(target.max())}]",
            field="target",
        )


def rate_ce(out_seq: torch.Tensor, target: torch.Tensor, *, reduce: Literal["sum", "mean"] = "sum") -> torch.Tensor:
    """Cross-entropy with the output spikes summed (counts) or averaged (rates) over time as logits.

    Args:
        out_seq: output spikes ``(T, B, C)``.
        target: class indices ``(B,)``.
        reduce: ``"sum"`` (spike counts, sharper softmax for long sequences) or ``"mean"``.

    Shape:
        ``out_seq (T, B, C)``, ``target (B,)`` -> scalar.

    Returns:
        The batch-mean loss, a scalar tensor.

    Raises:
        ParameterError: bad shapes or an unknown ``reduce``.
    """
    check_output(out_seq, target)
    if reduce == "sum":
        logits = out_seq.sum(dim=0)
    elif reduce == "mean":
        logits = out_seq.mean(dim=0)
    else:
        raise ParameterError(f"reduce must be 'sum' or 'mean', got {reduce!r}", field="reduce")
    return F.cross_entropy(logits.float(), target)


def count_mse(
    out_seq: torch.Tensor, target: torch.Tensor, *, on_target: float | None = None, off_target: float = 0.0
) -> torch.Tensor:
    """Mean squared error between spike counts and target counts.

    Args:
        out_seq: output spikes ``(T, B, C)``.
        target: class indices ``(B,)``.
        on_target: spikes wanted from the correct class; default ``0.8 T``.
        off_target: spikes wanted from every other class; default 0.

    Shape:
        ``out_seq (T, B, C)``, ``target (B,)`` -> scalar.

    Returns:
        The loss averaged over batch and classes, a scalar tensor.

    Raises:
        ParameterError: bad shapes or a negative target count.
    """
    check_output(out_seq, target)
    n_steps = out_seq.shape[0]
    on = 0.8 * n_steps if on_target is None else float(on_target)
    off = float(off_target)
    if on < 0 or off < 0:
        raise ParameterError(f"target counts must be >= 0, got on_target={on}, off_target={off}", field="on_target")
    counts = out_seq.float().sum(dim=0)
    wanted = torch.full_like(counts, off)
    wanted.scatter_(1, target.unsqueeze(1), on)
    return F.mse_loss(counts, wanted)


def membrane_ce(out_seq: torch.Tensor, target: torch.Tensor, *, reduce: Literal["max", "mean"] = "max") -> torch.Tensor:
    """Cross-entropy of a membrane readout reduced over time.

    Args:
        out_seq: membrane potential of a non-spiking readout ``(T, B, C)``.
        target: class indices ``(B,)``.
        reduce: ``"max"`` (peak membrane) or ``"mean"`` over time.

    Shape:
        ``out_seq (T, B, C)``, ``target (B,)`` -> scalar.

    Returns:
        The batch-mean loss, a scalar tensor.

    Raises:
        ParameterError: bad shapes or an unknown ``reduce``.
    """
    check_output(out_seq, target)
    if reduce == "max":
        logits = out_seq.max(dim=0).values
    elif reduce == "mean":
        logits = out_seq.mean(dim=0)
    else:
        raise ParameterError(f"reduce must be 'max' or 'mean', got {reduce!r}", field="reduce")
    return F.cross_entropy(logits.float(), target)


LOSSES: dict[str, Callable[..., torch.Tensor]] = {
    "rate_ce": rate_ce,
    "count_mse": count_mse,
    "membrane_ce": membrane_ce,
}
"""Losses by name; options are keyword arguments of each function."""


def get_loss(name: str, **options: object) -> LossFn:
    """Look up a loss by name and bind its options.

    Args:
        name: a key of :data:`LOSSES`.
        **options: keyword options of that loss (``reduce``, ``on_target``, ``off_target``).

    Returns:
        ``loss(out_seq, target) -> scalar``.

    Raises:
        ParameterError: unknown name (field ``loss``) or an option the loss does not take
            (field ``loss_options``).
    """
    if name not in LOSSES:
        raise ParameterError(f"unknown loss {name!r}; choose one of {sorted(LOSSES)}", field="loss")
    fn = LOSSES[name]
    allowed = set(fn.__kwdefaults__ or {})
    unknown = sorted(set(options) - allowed)
    if unknown:
        raise ParameterError(f"loss {name!r} takes options {sorted(allowed)}, got unknown {unknown}", field="loss_options")
    return functools.partial(fn, **options) if options else fn
