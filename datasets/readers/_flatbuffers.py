"""A minimal, bounds-checked FlatBuffers table reader (private; enough for AEDAT 4).

FlatBuffers layout (little-endian): a buffer starts with a ``uoffset32`` to the root table
(optionally preceded by a ``uint32`` size prefix, and followed by a 4-byte file identifier).
A table starts with an ``soffset32``; ``table - soffset`` is its vtable: ``uint16`` vtable size,
``uint16`` table size, then one ``uint16`` offset per field (0 = absent, use the default).
Vectors and strings are reached through a ``uoffset32`` relative to the field's own position
and start with a ``uint32`` length.
"""

from __future__ import annotations

import struct

from neuro.core.errors import DataFormatError


class FlatTable:
    """One table inside a buffer.

    Args:
        buf: the whole buffer.
        pos: position of the table in ``buf``.
        path: file name for error messages.
        base: file offset of ``buf[0]`` (for error messages), or None if unknown.
        exact: True if ``buf`` is the file's bytes from ``base`` on, so that a position inside it
            is ``base + position``; False for decompressed data, where errors name ``base`` (the
            packet) itself.
    """

    def __init__(self, buf: bytes, pos: int, path: str, base: int | None, exact: bool = True) -> None:
        self.buf, self.pos, self.path, self.base, self.exact = buf, pos, path, base, exact
        vtable = pos - self._unpack("<i", pos, "table")
        vsize = self._unpack("<H", vtable, "vtable")
        if vsize < 4 or vsize % 2:
            self._fail(f"invalid vtable size {vsize}", vtable)
        self._fields = [self._unpack("<H", vtable + 4 + 2 * i, "vtable") for i in range((vsize - 4) // 2)]

    @classmethod
    def root(
        cls, buf: bytes, path: str, base: int | None, *, size_prefixed: bool, identifier: bytes, exact: bool = True
    ) -> FlatTable:
        """The root table of ``buf``, after checking its 4-byte file identifier."""
        probe = cls.__new__(cls)
        probe.buf, probe.pos, probe.path, probe.base, probe.exact = buf, 0, path, base, exact
        start = 4 if size_prefixed else 0
        if size_prefixed:
            size = probe._unpack("<I", 0, "size prefix")
            if size != len(buf) - 4:
                probe._fail(f"flatbuffer size prefix says {size} bytes, buffer has {len(buf) - 4}", 0)
        got = buf[start + 4 : start + 8]
        if got != identifier:
            probe._fail(f"flatbuffer identifier is {got!r}, expected {identifier!r}", start + 4)
        return cls(buf, start + probe._unpack("<I", start, "root offset"), path, base, exact)

    def _where(self, at: int) -> int | None:
        if self.base is None or not self.exact:
            return self.base
        return self.base + max(at, 0)

    def _fail(self, message: str, at: int) -> None:
        raise DataFormatError(message, self.path, self._where(at))

    def _unpack(self, fmt: str, at: int, what: str) -> int:
        size = struct.calcsize(fmt)
        if at < 0 or at + size > len(self.buf):
            self._fail(f"flatbuffer {what} at position {at} lies outside the {len(self.buf)}-byte buffer", at)
        return int(struct.unpack_from(fmt, self.buf, at)[0])

    def field_pos(self, index: int) -> int | None:
        """Position of field ``index`` in the buffer, or None when the field is absent."""
        off = self._fields[index] if index < len(self._fields) else 0
        return self.pos + off if off else None

    def scalar(self, index: int, fmt: str, default: int) -> int:
        """A scalar field (struct format such as ``"<i"``), or ``default`` when absent."""
        at = self.field_pos(index)
        return default if at is None else self._unpack(fmt, at, f"field {index}")

    def vector(self, index: int, item_size: int) -> tuple[int, int]:
        """``(start, length)`` of a vector field (``(0, 0)`` when absent), bounds-checked."""
        at = self.field_pos(index)
        if at is None:
            return 0, 0
        vec = at + self._unpack("<I", at, f"field {index}")
        length = self._unpack("<I", vec, f"vector of field {index}")
        start = vec + 4
        if start + length * item_size > len(self.buf):
            self._fail(f"vector of field {index} claims {length} items of {item_size} bytes beyond the buffer end", vec)
        return start, length

    def string(self, index: int) -> str | None:
        """A string field decoded as UTF-8, or None when absent."""
        start, length = self.vector(index, 1)
        if self.field_pos(index) is None:
            return None
        try:
            return self.buf[start : start + length].decode("utf-8")
        except UnicodeDecodeError as exc:
            self._fail(f"string field {index} is not UTF-8 ({exc.reason})", start)
            raise  # pragma: no cover - _fail always raises
