"""Deployment exporters: NIR, IR JSON, lava-dl netx (Loihi 2), FPGA memory images, QONNX."""
