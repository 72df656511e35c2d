"""Writers of small files in the real dataset formats, for the reader tests (not part of the package).

Each writer encodes the format from its description (N-MNIST codec, jAER AEDAT 2.0, cAER
AEDAT 3.1, DV AEDAT 4 with hand-built FlatBuffers, SHD/SSC and N-TIDIGITS HDF5 layouts).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from pathlib import Path

import h5py
import numpy as np

NMNIST_OVERFLOW = bytes([0, 240, 0, 0, 0])


def encode_nmnist(x, y, t, p) -> bytes:
    """5 bytes per event: x, y, p<<7 | t[22:16], t[15:8], t[7:0]."""
    out = bytearray()
    for xi, yi, ti, pi in zip(x, y, t, p, strict=True):
        ti = int(ti)
        assert 0 <= ti < 2**23
        out += bytes([int(xi), int(yi), (int(pi) << 7) | (ti >> 16), (ti >> 8) & 0xFF, ti & 0xFF])
    return bytes(out)


def write_nmnist_tree(root: Path, split: str, per_digit: dict[int, list[bytes]]) -> None:
    """``root/<Split>/<digit>/<k>.bin`` for every digit 0-9 (empty folders where none given)."""
    for digit in range(10):
        folder = root / split.capitalize() / str(digit)
        folder.mkdir(parents=True, exist_ok=True)
        for k, blob in enumerate(per_digit.get(digit, [])):
            (folder / f"{k:05d}.bin").write_bytes(blob)


# ----------------------------------------------------------------------------------------- AEDAT 2.0
def dvs128_address(x: int, y: int, p: int) -> int:
    """jAER DVS128 raw address: bit 0 = 1 - p (raw 0 is ON), bits 1-7 = 127 - x, bits 8-14 = y."""
    return ((127 - x) << 1) | (y << 8) | (1 - p)


def write_aedat2(path: Path, records: Sequence[tuple[int, int]], chip: str = "ch.unizh.ini.jaer.chip.retina.DVS128") -> int:
    """A jAER file with (address, timestamp) records; returns the header length in bytes."""
    header = (
        b"#!AER-DAT2.0\r\n"
        b"# This is a raw AE data file - do not edit\r\n"
        b"# Data format is int32 address, int32 timestamp (8 bytes total), repeated for each event\r\n"
        b"# Timestamps tick is 1 us\r\n" + f"# AEChip: {chip}\r\n".encode() + b"# End of ASCII Header\r\n"
    )
    body = b"".join(struct.pack(">II", a, t) for a, t in records)
    path.write_bytes(header + body)
    return len(header)


# ----------------------------------------------------------------------------------------- AEDAT 3.1
V3_HEADER = (
    b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#Start-Time: 2017-03-31 12:00:00 (TZ+0200)\r\n#!END-HEADER\r\n"
)


def v3_polarity_packet(events: Sequence[tuple[int, int, int, int]], overflow: int = 0, invalid: Sequence[int] = ()) -> bytes:
    """A polarity packet of (x, y, t31, p) events; indices in ``invalid`` get the valid bit cleared."""
    body = b""
    for k, (x, y, t, p) in enumerate(events):
        word = (x << 17) | (y << 2) | (p << 1) | (0 if k in invalid else 1)
        body += struct.pack("<Ii", word, t)
    n = len(events)
    return struct.pack("<hhiiiiii", 1, 1, 8, 4, overflow, n, n, n - len(invalid)) + body


def v3_other_packet(n: int, size: int = 16, etype: int = 0) -> bytes:
    """A non-polarity packet (special events by default) filled with 0xAB."""
    return struct.pack("<hhiiiiii", etype, 1, size, 4, 0, n, n, n) + b"\xab" * (n * size)


# ----------------------------------------------------------------------------------------- AEDAT 4.0
def _align(buf: bytearray, n: int) -> None:
    while len(buf) % n:
        buf += b"\0"


def ioheader_flatbuffer(compression: int, data_table: int, description: str) -> bytes:
    """``IOHE`` table {compression: int32, dataTablePosition: int64, description: string}."""
    buf = bytearray(struct.pack("<I", 0) + b"IOHE")
    vtable = len(buf)
    buf += struct.pack("<HHHHH", 10, 24, 4, 8, 16)
    _align(buf, 8)
    table = len(buf)
    buf += struct.pack("<iiqI", table - vtable, compression, data_table, 0)
    _align(buf, 4)
    text = description.encode()
    string = len(buf)
    buf += struct.pack("<I", len(text)) + text + b"\0"
    _align(buf, 4)
    struct.pack_into("<I", buf, 0, table)
    struct.pack_into("<I", buf, table + 16, string - (table + 16))
    return bytes(buf)


def event_packet_flatbuffer(t, x, y, p, identifier: bytes = b"EVTS") -> bytes:
    """Size-prefixed ``EVTS`` table {elements: [Event{t int64, x int16, y int16, on bool}]}."""
    buf = bytearray(struct.pack("<I", 0) + identifier)
    vtable = len(buf)
    buf += struct.pack("<HHH", 6, 8, 4)
    _align(buf, 4)
    table = len(buf)
    buf += struct.pack("<iI", table - vtable, 0)
    buf += b"\0" * 4  # so that the structs start 8-aligned
    vec = len(buf)
    buf += struct.pack("<I", len(t))
    for ti, xi, yi, pi in zip(t, x, y, p, strict=True):
        buf += struct.pack("<qhh?3x", int(ti), int(xi), int(yi), bool(pi))
    struct.pack_into("<I", buf, 0, table)
    struct.pack_into("<I", buf, table + 4, vec - (table + 4))
    return struct.pack("<I", len(buf)) + bytes(buf)


def dv_description(streams: dict[int, tuple[str, int | None, int | None]]) -> str:
    """DV's XML: one ``outInfo`` child node per stream with typeIdentifier and sizeX/sizeY."""
    nodes = []
    for sid, (kind, w, h) in streams.items():
        size = "" if w is None else f'<attr key="sizeX" type="int">{w}</attr><attr key="sizeY" type="int">{h}</attr>'
        nodes.append(
            f'<node name="{sid}" path="/mainloop/Recorder/outInfo/{sid}/">'
            f'<attr key="typeIdentifier" type="string">{kind}</attr>'
            f'<node name="info" path="/mainloop/Recorder/outInfo/{sid}/info/">{size}</node></node>'
        )
    return '<dv version="2.0"><node name="outInfo" path="/mainloop/Recorder/outInfo/">' + "".join(nodes) + "</node></dv>"


def compress(payload: bytes, compression: int) -> bytes:
    if compression == 0:
        return payload
    if compression in (1, 2):
        import lz4.frame

        return lz4.frame.compress(payload)
    import zstandard

    return zstandard.ZstdCompressor().compress(payload)


def write_aedat4(
    path: Path,
    packets: Sequence[tuple[int, bytes]],
    *,
    compression: int = 0,
    streams: dict[int, tuple[str, int | None, int | None]] | None = None,
    data_table: bool = True,
) -> list[int]:
    """A DV file with (stream id, flatbuffer) packets; returns each packet header's file offset."""
    streams = streams if streams is not None else {0: ("EVTS", 64, 48)}
    body = bytearray()
    for sid, fb in packets:
        blob = compress(fb, compression)
        body += struct.pack("<iI", sid, len(blob)) + blob
    trailer = b"FTAB-data-table-stand-in"

    def header(table_pos: int) -> bytes:
        fb = ioheader_flatbuffer(compression, table_pos, dv_description(streams))
        return b"#!AER-DAT4.0\r\n" + struct.pack("<I", len(fb)) + fb

    start = len(header(0))
    table_pos = start + len(body) if data_table else -1
    path.write_bytes(header(table_pos) + bytes(body) + (trailer if data_table else b""))
    offsets, pos = [], start
    for _sid, fb in packets:
        offsets.append(pos)
        pos += 8 + len(compress(fb, compression))
    return offsets


# ----------------------------------------------------------------------------------------- HDF5
def write_heidelberg(path: Path, samples: Sequence[tuple[np.ndarray, np.ndarray]], labels, speakers, keys) -> None:
    """SHD/SSC layout: ragged ``spikes/times`` (float s) and ``spikes/units``, ``labels``, ``extra/*``."""
    with h5py.File(path, "w") as f:
        times = f.create_dataset("spikes/times", (len(samples),), dtype=h5py.vlen_dtype(np.float32))
        units = f.create_dataset("spikes/units", (len(samples),), dtype=h5py.vlen_dtype(np.uint16))
        for i, (t, u) in enumerate(samples):
            times[i] = np.asarray(t, np.float32)
            units[i] = np.asarray(u, np.uint16)
        f["labels"] = np.asarray(labels, np.uint16)
        f["extra/speaker"] = np.asarray(speakers, np.uint16)
        f["extra/keys"] = np.asarray([k.encode() for k in keys])


def write_ntidigits(path: Path, splits: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]) -> None:
    """N-TIDIGITS layout: ``<split>_labels`` (ids) and groups ``<split>_addresses/<id>``, ``<split>_timestamps/<id>``."""
    with h5py.File(path, "w") as f:
        for split, samples in splits.items():
            f[f"{split}_labels"] = np.asarray([k.encode() for k in samples])
            for key, (addresses, seconds) in samples.items():
                f[f"{split}_addresses/{key}"] = np.asarray(addresses, np.uint8)
                f[f"{split}_timestamps/{key}"] = np.asarray(seconds, np.float64)
