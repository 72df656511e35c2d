"""Typed exceptions.

Every error raised for bad user input is a subclass of :class:`NeuroError` (and of the
builtin exception a caller would naturally catch, usually ``ValueError``). Messages name the
offending field, index, node or file so that the problem can be fixed without a debugger.
"""

from __future__ import annotations


class NeuroError(Exception):
    """Base class of every error neuro raises on purpose."""


class ParameterError(NeuroError, ValueError):
    """A model parameter is invalid (wrong shape, not finite, out of range).

    Attributes:
        field: name of the offending parameter, or None.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class DiscretizationError(ParameterError):
    """``discretize`` was given an invalid time step or an unknown method."""


class EventError(NeuroError, ValueError):
    """An event array is malformed.

    Attributes:
        field: the structured-array field concerned (``"x"``, ``"t"``...), or None.
        index: the first offending event index, or None.
    """

    def __init__(self, message: str, field: str | None = None, index: int | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.index = index


class EventFieldError(EventError):
    """A required field is missing or has the wrong dtype kind."""


class EventValueError(EventError):
    """A field holds an invalid value (NaN, negative or decreasing time, outside the sensor)."""


class IRError(NeuroError, ValueError):
    """Base class of network IR errors."""


class NodeError(IRError):
    """A node's fields are invalid.

    Attributes:
        node: the node's name in its graph, or None when the node stands alone.
        field: the offending field, or None.
    """

    def __init__(self, message: str, node: str | None = None, field: str | None = None) -> None:
        super().__init__(message)
        self.node = node
        self.field = field


class ShapeError(IRError):
    """Shapes do not agree along an edge or inside a node."""


class GraphError(IRError):
    """The graph structure is invalid (unknown endpoints, bad cycles, missing nodes)."""


class UnsupportedNodeError(IRError):
    """A node type cannot be written to the requested format.

    Attributes:
        nodes: names of the nodes that cannot be written.
    """

    def __init__(self, message: str, nodes: list[str]) -> None:
        super().__init__(message)
        self.nodes = nodes


class SerializationError(IRError):
    """A dict, JSON or NIR file does not describe a valid graph."""


class DataFormatError(NeuroError, ValueError):
    """A data file is truncated, corrupt or not in the expected format.

    Attributes:
        path: the file, as a string.
        offset: byte offset of the problem in the file, or None when it has no single position.
    """

    def __init__(self, message: str, path: str, offset: int | None = None) -> None:
        where = f"{path}" + (f" at byte {offset}" if offset is not None else "")
        super().__init__(f"{where}: {message}")
        self.path = path
        self.offset = offset


class DatasetError(NeuroError, ValueError):
    """A dataset name, split or option is invalid, or its source files are missing."""


class MissingToolError(NeuroError, RuntimeError):
    """An external program or optional package a generator needs is not installed.

    The message says how to install it.
    """


class SimulationInputError(NeuroError, ValueError):
    """Inputs given to a simulator do not fit the graph: wrong shape, events outside the
    sensor, a time step that does not divide event timestamps, a probability above 1.

    Attributes:
        field: the argument or event field at fault, or None.
    """

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class BackendUnavailableError(NeuroError, RuntimeError):
    """The requested engine backend is unknown, or its requirements are missing here; the
    message says what is missing and how to install it."""
