"""Ready-made networks: ``neuro.torch`` models and engine benchmarks (CUBA)."""

from neuro.models.conv_snn import ConvSNNConfig, build_conv_snn
from neuro.models.cuba import cuba, run_cuba

__all__ = ["ConvSNNConfig", "build_conv_snn", "cuba", "run_cuba"]
