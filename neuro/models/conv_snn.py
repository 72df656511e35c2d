"""A small convolutional SNN: [Conv → (BatchNorm) → LIF → pool] × k → Linear → readout.

Every layer has an IR form, so the trained network exports to the IR and NIR as it is (batch
norm folds into the convolutions). Neuron parameters are continuous-time: ``tau`` in seconds
and the input resistance chosen so that one unit of input current raises the membrane by one
unit per step (``r = 1 / (1 - exp(-dt / tau))``), which keeps thresholds meaningful whatever
``dt`` is.

Example:
    >>> import torch
    >>> net = build_conv_snn(ConvSNNConfig(channels=(4,), hidden=0), input_shape=(2, 12, 12), n_classes=3)
    >>> net(torch.zeros(5, 2, 2, 12, 12)).shape
    torch.Size([5, 2, 3])
"""

from __future__ import annotations

import math
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from torch import nn

from neuro.core.neurons import li, lif
from neuro.core.reset import ResetSubtract, ResetToValue
from neuro.core.surrogate import ArcTan, FastSigmoid, Sigmoid, Triangle
from neuro.torch import Neurons, Sequential, SumPool2d

SURROGATES = {"arctan": ArcTan, "fast_sigmoid": FastSigmoid, "sigmoid": Sigmoid, "triangle": Triangle}


class ConvSNNConfig(BaseModel):
    """Architecture and neuron options of :func:`build_conv_snn`.

    Attributes:
        channels: output channels of each convolution block.
        kernel_size: convolution kernel (square).
        pool: sum-pooling window after each block (1: none).
        batch_norm: batch norm after each convolution (folded on export).
        hidden: width of a spiking fully connected layer before the readout (0: none).
        dt: time step in seconds.
        tau: membrane time constant of the spiking layers (s).
        v_threshold: firing threshold.
        reset: ``subtract`` or ``value`` (to 0).
        surrogate: surrogate gradient name.
        readout: ``li`` (leaky membrane, use a membrane loss) or ``lif`` (spikes, rate loss).
        readout_tau: time constant of the readout (s).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    channels: tuple[int, ...] = (12, 32)
    kernel_size: int = Field(5, ge=1)
    pool: int = Field(2, ge=1)
    batch_norm: bool = False
    hidden: int = Field(0, ge=0)
    dt: float = Field(1e-3, gt=0)
    tau: float = Field(5e-3, gt=0)
    v_threshold: float = Field(1.0, gt=0)
    reset: Literal["subtract", "value"] = "subtract"
    surrogate: Literal["arctan", "fast_sigmoid", "sigmoid", "triangle"] = "arctan"
    readout: Literal["li", "lif"] = "li"
    readout_tau: float = Field(2e-2, gt=0)


def _neurons(cfg: ConvSNNConfig, tau: float) -> Neurons:
    r = 1.0 / (1.0 - math.exp(-cfg.dt / tau))
    reset = ResetSubtract() if cfg.reset == "subtract" else ResetToValue()
    params = lif.Params(tau=tau, r=r, v_threshold=cfg.v_threshold, reset=reset)
    return Neurons(params, cfg.dt, surrogate=SURROGATES[cfg.surrogate]())


def build_conv_snn(cfg: ConvSNNConfig, input_shape: tuple[int, int, int], n_classes: int) -> Sequential:
    """The network for inputs ``(C, H, W)`` per step and ``n_classes`` outputs.

    Raises:
        ValueError: the feature map vanishes before the readout.
    """
    layers: list[nn.Module] = []
    c, h, w = input_shape
    for out_c in cfg.channels:
        layers.append(nn.Conv2d(c, out_c, cfg.kernel_size))
        if cfg.batch_norm:
            layers.append(nn.BatchNorm2d(out_c))
        layers.append(_neurons(cfg, cfg.tau))
        h, w = h - cfg.kernel_size + 1, w - cfg.kernel_size + 1
        if cfg.pool > 1:
            layers.append(SumPool2d(cfg.pool))
            h, w = h // cfg.pool, w // cfg.pool
        if h < 1 or w < 1:
            raise ValueError(f"the feature map vanishes after {len(layers)} layers for input {input_shape}")
        c = out_c
    layers.append(nn.Flatten())
    features = c * h * w
    if cfg.hidden:
        layers += [nn.Linear(features, cfg.hidden), _neurons(cfg, cfg.tau)]
        features = cfg.hidden
    layers.append(nn.Linear(features, n_classes))
    if cfg.readout == "li":
        r = 1.0 / (1.0 - math.exp(-cfg.dt / cfg.readout_tau))
        layers.append(Neurons(li.Params(tau=cfg.readout_tau, r=r), cfg.dt))
    else:
        layers.append(_neurons(cfg, cfg.readout_tau))
    return Sequential(*layers)
