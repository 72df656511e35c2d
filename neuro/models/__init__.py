"""Ready-made networks built from ``neuro.torch`` layers."""

from neuro.models.conv_snn import ConvSNNConfig, build_conv_snn

__all__ = ["ConvSNNConfig", "build_conv_snn"]
