"""The network IR: data-only nodes, validated graphs, and their serializers.

A superset of NIR (https://neuroir.org): every NIR primitive plus ALIF, Izhikevich,
MultiSpikeLIF, CubaEILIF and SparseLinear. ``Graph.to_dict``/``from_dict`` is the one serializer; JSON and
NIR HDF5 are thin adapters.
"""

from neuro.ir.graph import Graph
from neuro.ir.nir_io import DEFAULT_DT, NIRMetadataWarning, from_nir, read_nir, to_nir, write_nir
from neuro.ir.nodes import (
    ALIF,
    IF,
    LI,
    LIF,
    NIR_TYPES,
    NODE_TYPES,
    Affine,
    AvgPool2d,
    Conv1d,
    Conv2d,
    CubaEILIF,
    CubaLI,
    CubaLIF,
    Delay,
    Flatten,
    I,
    Input,
    Izhikevich,
    Linear,
    MultiSpikeLIF,
    Output,
    Scale,
    SparseLinear,
    SumPool2d,
    Threshold,
    is_stateful,
)
from neuro.ir.serialize import from_json, graph_from_dict, graph_to_dict, read_json, to_json, write_json

__all__ = [
    "ALIF", "DEFAULT_DT", "IF", "LI", "LIF", "NIR_TYPES", "NODE_TYPES", "Affine", "AvgPool2d",
    "Conv1d", "Conv2d", "CubaEILIF", "CubaLI", "CubaLIF", "Delay", "Flatten", "Graph", "I", "Input",
    "Izhikevich", "Linear", "MultiSpikeLIF", "NIRMetadataWarning", "Output", "Scale",
    "SparseLinear", "SumPool2d", "Threshold", "from_json", "from_nir", "graph_from_dict",
    "graph_to_dict", "is_stateful", "read_json", "read_nir", "to_json", "to_nir", "write_json",
    "write_nir",
]
