"""NIR interoperability: other tools' conventions, import, export for a consumer, and a fidelity
checker that runs another tool's own simulator next to neuro's engine.

Nothing here imports torch, snnTorch or Norse at import time; they load inside the functions
that need them.
"""

from neuro.interop.conventions import CONVENTIONS, TOOLS, Convention, detect_producer, get_convention
from neuro.interop.errors import (
    AmbiguousProducerError,
    ConventionConflictError,
    InteropError,
    MissingTimeStepError,
    MissingToolError,
    UnknownToolError,
    UnsupportedByToolError,
)
from neuro.interop.fidelity import AGAINST, FidelityReport, LayerFidelity, check_fidelity, van_rossum
from neuro.interop.nir_export import CONSUMERS, ExportReport, Issue, export_nir
from neuro.interop.nir_import import ImportReport, import_nir

__all__ = [
    "AGAINST",
    "CONSUMERS",
    "CONVENTIONS",
    "TOOLS",
    "AmbiguousProducerError",
    "Convention",
    "ConventionConflictError",
    "ExportReport",
    "FidelityReport",
    "ImportReport",
    "InteropError",
    "Issue",
    "LayerFidelity",
    "MissingTimeStepError",
    "MissingToolError",
    "UnknownToolError",
    "UnsupportedByToolError",
    "check_fidelity",
    "detect_producer",
    "export_nir",
    "get_convention",
    "import_nir",
    "van_rossum",
]
