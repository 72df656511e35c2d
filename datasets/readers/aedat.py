"""AEDAT event-camera files: versions 2.0 (jAER), 3.1 (cAER) and 4.0 (DV).

The version is read from the first line (``#!AER-DAT2.0``, ``#!AER-DAT3.1``, ``#!AER-DAT4.0``).

* **2.0**: ``#`` comment lines, then big-endian records of a 32-bit address and a 32-bit
  timestamp (µs). Addresses are decoded with the DVS128 layout as jAER does: bit 0 polarity
  (raw 0 = ON, so ``p = 1 - bit``), bits 1-7 column (mirrored: ``x = 127 - bits``), bits 8-14
  row; addresses with bit 15 or bit 31 set are sync/special events and are dropped. A
  ``# AEChip:`` line naming a DAVIS chip is refused (different address layout). Timestamps
  that wrap around 2**32 are unwrapped.
* **3.1**: ``#`` header lines ending with ``#!END-HEADER``, then packets: a 28-byte
  little-endian header (int16 type, int16 source, int32 event size, int32 timestamp offset,
  int32 timestamp overflow, int32 capacity, int32 number, int32 valid) and ``capacity * size``
  bytes. Polarity packets (type 1) hold 8-byte events: uint32 data (bit 0 valid, bit 1
  polarity, bits 2-16 y, bits 17-31 x) and int32 timestamp; the full time is
  ``overflow << 31 | timestamp``. Other packet types are skipped.
* **4.0**: the magic line, a uint32 length and an ``IOHE`` FlatBuffer (compression, data-table
  position, XML description of the streams), then packets of int32 stream id, uint32 size and
  a size-prefixed FlatBuffer (``EVTS`` for events: int64 t, int16 x, int16 y, bool on; 16
  bytes each), LZ4- or Zstandard-framed per packet when the header says so. Reading stops at
  the data table. LZ4 needs the ``lz4`` package; Zstandard needs ``compression.zstd``
  (Python 3.14), ``backports.zstd`` or ``zstandard``.

Timestamps are returned as stored in the file (DV writes absolute µs since the epoch).

Example:
    >>> from neuro.datasets.readers.aedat import read_aedat
    >>> rec = read_aedat("recording.aedat4")  # doctest: +SKIP
    >>> rec.sensor_size, rec.version, len(rec.events)  # doctest: +SKIP
    ((320, 240, 2), '4.0', 111954)
"""

from __future__ import annotations

import re
import struct
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NamedTuple

import numpy as np

from neuro.core.errors import DataFormatError, DatasetError, MissingToolError
from neuro.core.events import SensorSize, check_sensor_size
from neuro.datasets.readers._common import finish_events, require_file
from neuro.datasets.readers._flatbuffers import FlatTable

DVS128_SENSOR: SensorSize = (128, 128, 2)
V3_PACKET_HEADER = struct.Struct("<hhiiiiii")
V3_POLARITY_TYPE = 1
V4_MAGIC = b"#!AER-DAT4.0\r\n"
V4_EVENT_DTYPE = np.dtype(
    {"names": ["t", "x", "y", "on"], "formats": ["<i8", "<i2", "<i2", "u1"], "offsets": [0, 8, 10, 12], "itemsize": 16}
)
V4_COMPRESSION = {0: "none", 1: "LZ4", 2: "LZ4 (high)", 3: "ZSTD", 4: "ZSTD (high)"}
# cAER source names (AEDAT 3.1 ``#Source`` lines) and their pixel arrays.
KNOWN_SOURCES = {"DVS128": (128, 128), "DAVIS240": (240, 180), "DAVIS346": (346, 260), "DVXPLORER": (640, 480)}


class AedatRecording(NamedTuple):
    """Events of one AEDAT file with the sensor they came from.

    Attributes:
        events: canonical events (x, y, t µs, p), sorted by time.
        sensor_size: ``(W, H, 2)`` from the file (or the caller), every event inside it.
        version: ``"2.0"``, ``"3.1"`` or ``"4.0"``.
    """

    events: np.ndarray
    sensor_size: SensorSize
    version: str


def read_aedat(path: str | Path, sensor_size: Sequence[int] | None = None, *, stream: int | None = None) -> AedatRecording:
    """Read the polarity events of an AEDAT 2.0, 3.1 or 4.0 file.

    Args:
        path: the ``.aedat`` / ``.aedat4`` file.
        sensor_size: ``(W, H, P)`` to check the events against. By default it comes from the
            file: DVS128 for 2.0, the ``#Source`` line for 3.1, the stream's ``sizeX``/``sizeY``
            for 4.0; when the file does not say, it is one more than the largest coordinate.
        stream: AEDAT 4 only: the id of the event stream to read (default: the lowest id whose
            type is ``EVTS``).

    Returns:
        An :class:`AedatRecording`.

    Raises:
        DatasetError: the file does not exist, or ``stream`` is not an event stream.
        DataFormatError: a bad magic line, a truncated header or packet, a packet claiming more
            bytes than remain, undecodable compressed data, or an event outside the sensor (the
            message names the file and the byte offset).
        MissingToolError: the file is compressed and the decompressor is not installed.
    """
    file = require_file(path, "AEDAT file")
    data = file.read_bytes()
    first = data[: data.find(b"\n") + 1] if b"\n" in data[:64] else data[:64]
    size = None if sensor_size is None else check_sensor_size(sensor_size)
    if first.startswith(b"#!AER-DAT2."):
        return _read_v2(file, data, size)
    if first.startswith(b"#!AER-DAT3."):
        return _read_v3(file, data, size)
    if first == V4_MAGIC:
        return _read_v4(file, data, size, stream)
    raise DataFormatError(
        f"bad magic line {first[:20]!r}: expected '#!AER-DAT2.0', '#!AER-DAT3.1' or '#!AER-DAT4.0'", str(file), 0
    )


def _header_lines(file: Path, data: bytes, stop: bytes | None) -> tuple[list[tuple[int, str]], int]:
    """``(offset, text)`` of the leading ``#`` lines and the offset just after them.

    With ``stop``, the header ends after the line that starts with it (which must exist).
    """
    lines: list[tuple[int, str]] = []
    pos = 0
    while pos < len(data) and data[pos : pos + 1] == b"#":
        nl = data.find(b"\n", pos)
        if nl < 0:
            raise DataFormatError("unterminated header line", str(file), pos)
        text = data[pos:nl].decode("latin-1").rstrip("\r")
        lines.append((pos, text))
        pos = nl + 1
        if stop is not None and text.startswith(stop.decode()):
            return lines, pos
    if stop is not None:
        raise DataFormatError(f"header has no {stop.decode()!r} line", str(file), pos)
    return lines, pos


def _infer_size(columns: dict[str, np.ndarray]) -> SensorSize:
    w = int(columns["x"].max()) + 1 if len(columns["x"]) else 1
    h = int(columns["y"].max()) + 1 if len(columns["y"]) else 1
    return (w, h, 2)


def _read_v2(file: Path, data: bytes, sensor_size: SensorSize | None) -> AedatRecording:
    lines, start = _header_lines(file, data, None)
    for offset, text in lines:
        if text.lstrip("# ").lower().startswith("aechip:") and "davis" in text.lower():
            raise DataFormatError(
                f"unsupported chip {text.split(':', 1)[1].strip()!r}: only the DVS128 address layout is decoded",
                str(file),
                offset,
            )
    extra = (len(data) - start) % 8
    if extra:
        raise DataFormatError(
            f"truncated AEDAT 2.0 data: {len(data) - start} bytes after the header is not a multiple of 8",
            str(file),
            len(data) - extra,
        )
    rec = np.frombuffer(data, dtype=[("a", ">u4"), ("t", ">u4")], offset=start)
    addr = rec["a"].astype(np.int64)
    t = rec["t"].astype(np.int64)
    if len(t) > 1:
        t = t + np.concatenate([[0], np.cumsum(np.diff(t) < -(2**31))]) * 2**32
    keep = (addr & 0x80008000) == 0
    addr, t = addr[keep], t[keep]
    x = 127 - ((addr >> 1) & 0x7F)
    y = (addr >> 8) & 0x7F
    p = 1 - (addr & 1)
    size = sensor_size or DVS128_SENSOR
    offsets = start + 8 * np.flatnonzero(keep)
    events = finish_events(file, x=x, y=y, t=t, p=p, sensor_size=size, offsets=offsets)
    return AedatRecording(events, size, "2.0")


def _source_size(lines: list[tuple[int, str]]) -> SensorSize | None:
    for _, text in lines:
        m = re.match(r"#\s*Source\s+\d+\s*:\s*(\S+)", text, re.IGNORECASE)
        if m:
            name = m.group(1).upper()
            for key, (w, h) in KNOWN_SOURCES.items():
                if name.startswith(key):
                    return (w, h, 2)
    return None


def _read_v3(file: Path, data: bytes, sensor_size: SensorSize | None) -> AedatRecording:
    lines, pos = _header_lines(file, data, b"#!END-HEADER")
    parts: list[np.ndarray] = []
    offsets: list[np.ndarray] = []
    overflow: list[np.ndarray] = []
    while pos < len(data):
        if pos + V3_PACKET_HEADER.size > len(data):
            raise DataFormatError(
                f"truncated packet header: {len(data) - pos} bytes left, a header has {V3_PACKET_HEADER.size}",
                str(file),
                pos,
            )
        etype, _src, esize, _tsoff, tsovf, capacity, number, _valid = V3_PACKET_HEADER.unpack_from(data, pos)
        if esize <= 0 or capacity < 0 or not 0 <= number <= capacity:
            raise DataFormatError(
                f"invalid packet header (event size {esize}, capacity {capacity}, number {number})", str(file), pos
            )
        body = pos + V3_PACKET_HEADER.size
        nbytes = capacity * esize
        if body + nbytes > len(data):
            raise DataFormatError(f"packet header claims {nbytes} bytes but only {len(data) - body} remain", str(file), pos)
        if etype == V3_POLARITY_TYPE:
            if esize != 8:
                raise DataFormatError(f"polarity packet with event size {esize}, expected 8", str(file), pos)
            parts.append(np.frombuffer(data, dtype="<u4", count=2 * number, offset=body).reshape(-1, 2))
            offsets.append(body + 8 * np.arange(number, dtype=np.int64))
            overflow.append(np.full(number, tsovf, dtype=np.int64))
        pos = body + nbytes
    raw = np.concatenate(parts) if parts else np.empty((0, 2), np.uint32)
    where = np.concatenate(offsets) if offsets else np.empty(0, np.int64)
    ovf = np.concatenate(overflow) if overflow else np.empty(0, np.int64)
    word = raw[:, 0].astype(np.int64)
    valid = (word & 1) == 1
    word, where = word[valid], where[valid]
    t = (ovf[valid] << 31) | raw[valid, 1].astype(np.int64)
    cols = {"x": (word >> 17) & 0x7FFF, "y": (word >> 2) & 0x7FFF}
    size = sensor_size or _source_size(lines) or _infer_size(cols)
    events = finish_events(file, t=t, p=(word >> 1) & 1, sensor_size=size, offsets=where, **cols)
    return AedatRecording(events, size, "3.1")


def _decompressor(file: Path, code: int) -> Callable[[bytes], bytes]:
    if code == 0:
        return lambda b: b
    if code in (1, 2):
        try:
            import lz4.frame
        except ImportError as exc:
            raise MissingToolError(f"{file} is LZ4-compressed: install the 'lz4' package (pip install lz4)") from exc
        return lz4.frame.decompress
    if code in (3, 4):
        return _zstd_decompressor(file)
    raise DataFormatError(f"unknown compression code {code} in the IOHeader", str(file), len(V4_MAGIC))


def _zstd_decompressor(file: Path) -> Callable[[bytes], bytes]:
    for module in ("compression.zstd", "backports.zstd"):
        try:
            mod = __import__(module, fromlist=["decompress"])
            return mod.decompress
        except ImportError:
            continue
    try:
        import zstandard
    except ImportError as exc:
        raise MissingToolError(
            f"{file} is Zstandard-compressed: install 'zstandard' or 'backports.zstd' (or use Python >= 3.14)"
        ) from exc
    return lambda b: zstandard.ZstdDecompressor().decompressobj().decompress(b)


def _v4_streams(file: Path, description: str, at: int) -> dict[int, tuple[str, int | None, int | None]]:
    """Stream id -> (type identifier, sizeX, sizeY) from the IOHeader's XML description."""
    try:
        root = ET.fromstring(description)
    except ET.ParseError as exc:
        raise DataFormatError(f"the IOHeader description is not valid XML ({exc})", str(file), at) from exc
    streams: dict[int, tuple[str, int | None, int | None]] = {}
    for out in root.iter("node"):
        if out.get("name") != "outInfo":
            continue
        for node in out.findall("node"):
            attrs = {a.get("key"): (a.text or "").strip() for a in node.findall("attr")}
            info = {a.get("key"): (a.text or "").strip() for n in node.findall("node") for a in n.findall("attr")}
            sx, sy = info.get("sizeX", ""), info.get("sizeY", "")
            if (node.get("name") or "").isdigit():
                streams[int(node.get("name"))] = (
                    attrs.get("typeIdentifier", ""),
                    int(sx) if sx.isdigit() else None,
                    int(sy) if sy.isdigit() else None,
                )
    return streams


def _read_v4(file: Path, data: bytes, sensor_size: SensorSize | None, stream: int | None) -> AedatRecording:
    pos = len(V4_MAGIC)
    if pos + 4 > len(data):
        raise DataFormatError("truncated: no IOHeader length after the magic line", str(file), pos)
    (hlen,) = struct.unpack_from("<I", data, pos)
    if pos + 4 + hlen > len(data):
        raise DataFormatError(f"IOHeader claims {hlen} bytes but only {len(data) - pos - 4} remain", str(file), pos)
    header = FlatTable.root(data[pos + 4 : pos + 4 + hlen], str(file), pos + 4, size_prefixed=False, identifier=b"IOHE")
    compression = header.scalar(0, "<i", 0)
    data_table = header.scalar(1, "<q", -1)
    streams = _v4_streams(file, header.string(2) or "", pos + 4)
    decompress = _decompressor(file, compression)
    pos += 4 + hlen
    event_ids = sorted(k for k, v in streams.items() if v[0] == "EVTS")
    if stream is None:
        if not event_ids:
            raise DataFormatError("the IOHeader describes no event (EVTS) stream", str(file), len(V4_MAGIC))
        stream = event_ids[0]
    elif stream not in event_ids:
        raise DatasetError(f"{file}: stream {stream} is not an event stream; event streams: {event_ids}")
    end = data_table if data_table >= 0 else len(data)
    if not pos <= end <= len(data):
        raise DataFormatError(f"IOHeader data-table position {data_table} lies outside the file", str(file), len(V4_MAGIC))
    parts: list[np.ndarray] = []
    offsets: list[np.ndarray] = []
    while pos < end:
        if pos + 8 > end:
            raise DataFormatError(f"truncated packet header: {end - pos} bytes left, a header has 8", str(file), pos)
        sid, size = struct.unpack_from("<iI", data, pos)
        if pos + 8 + size > end:
            raise DataFormatError(f"packet header claims {size} bytes but only {end - pos - 8} remain", str(file), pos)
        if sid == stream:
            events, start = _v4_events(file, data[pos + 8 : pos + 8 + size], decompress, compression, pos)
            parts.append(events)
            if compression == 0:  # exact byte of each event
                offsets.append(pos + 8 + start + V4_EVENT_DTYPE.itemsize * np.arange(len(events), dtype=np.int64))
            else:  # compressed: the packet is the finest position in the file
                offsets.append(np.full(len(events), pos, dtype=np.int64))
        pos += 8 + size
    raw = np.concatenate(parts) if parts else np.empty(0, V4_EVENT_DTYPE)
    cols = {"x": raw["x"].astype(np.int64), "y": raw["y"].astype(np.int64)}
    _, sx, sy = streams[stream]
    size = sensor_size or ((sx, sy, 2) if sx and sy else _infer_size(cols))
    where = np.concatenate(offsets) if offsets else np.empty(0, np.int64)
    events = finish_events(file, t=raw["t"], p=(raw["on"] != 0).astype(np.int8), sensor_size=size, offsets=where, **cols)
    return AedatRecording(events, size, "4.0")


def _v4_events(
    file: Path, payload: bytes, decompress: Callable[[bytes], bytes], compression: int, at: int
) -> tuple[np.ndarray, int]:
    """Events of one packet and the position of the first one inside the (decompressed) packet."""
    try:
        buf = decompress(payload)
    except Exception as exc:  # each decompressor raises its own error types
        raise DataFormatError(
            f"cannot decompress a {V4_COMPRESSION.get(compression, compression)} packet ({exc})", str(file), at
        ) from exc
    exact = compression == 0
    table = FlatTable.root(buf, str(file), at + 8 if exact else at, size_prefixed=True, identifier=b"EVTS", exact=exact)
    start, length = table.vector(0, V4_EVENT_DTYPE.itemsize)
    return np.frombuffer(buf, dtype=V4_EVENT_DTYPE, count=length, offset=start), start
