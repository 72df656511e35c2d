from __future__ import annotations

import re
import struct
import sys

import numpy as np
import pytest

from neuro.core.errors import DataFormatError, DatasetError, MissingToolError
from neuro.core.events import EVENT_DTYPE
from neuro.datasets.readers.aedat import read_aedat
from tests.conftest import ROOT
from tests.datasets.readers import fakes

REAL_AEDAT4 = ROOT.parent / "shared" / "data" / "sample.aedat4"


def random_events(rng, n, w=128, h=128, t0=0):
    t = t0 + np.sort(rng.integers(0, 1_000_000, n))
    return rng.integers(0, w, n), rng.integers(0, h, n), t, rng.integers(0, 2, n)


def assert_events(ev, x, y, t, p):
    assert ev.dtype == EVENT_DTYPE
    np.testing.assert_array_equal(ev["x"], x)
    np.testing.assert_array_equal(ev["y"], y)
    np.testing.assert_array_equal(ev["t"], t)
    np.testing.assert_array_equal(ev["p"], p)


# ------------------------------------------------------------------------------------ bad magic line
def test_unknown_magic_line_is_a_format_error_at_byte_0(tmp_path):
    path = tmp_path / "x.aedat"
    path.write_bytes(b"#!AER-DAT9.9\r\n\x00\x01")
    with pytest.raises(DataFormatError, match="magic") as info:
        read_aedat(path)
    assert info.value.offset == 0
    assert "x.aedat at byte 0" in str(info.value)


def test_missing_file_is_a_dataset_error(tmp_path):
    with pytest.raises(DatasetError, match="nothing"):
        read_aedat(tmp_path / "nothing.aedat")


# ------------------------------------------------------------------------------------ AEDAT 2.0
def test_v2_address_layout_follows_jaer_dvs128():
    # raw address 0: polarity bit 0 (raw 0 is ON), column bits 0 (mirrored to x = 127), row 0
    assert fakes.dvs128_address(127, 0, 1) == 0
    assert fakes.dvs128_address(0, 127, 0) == (127 << 1) | (127 << 8) | 1


def test_v2_round_trip_drops_special_events(tmp_path, rng):
    x, y, t, p = random_events(rng, 200)
    records = [(fakes.dvs128_address(*map(int, e)), int(ti)) for *e, ti in zip(x, y, p, t, strict=True)]
    records.insert(50, (0x8000 | 5, int(t[49])))  # external sync event
    records.insert(120, (0x80000000, int(t[118])))  # special event
    path = tmp_path / "rec.aedat"
    fakes.write_aedat2(path, records)
    rec = read_aedat(path)
    assert rec.version == "2.0"
    assert rec.sensor_size == (128, 128, 2)
    assert_events(rec.events, x, y, t, p)


def test_v2_unwraps_32_bit_timestamps(tmp_path):
    path = tmp_path / "wrap.aedat"
    fakes.write_aedat2(path, [(fakes.dvs128_address(1, 1, 1), 2**32 - 10), (fakes.dvs128_address(2, 2, 0), 5)])
    assert read_aedat(path).events["t"].tolist() == [2**32 - 10, 2**32 + 5]


def test_v2_truncated_record_and_davis_chip(tmp_path):
    path = tmp_path / "cut.aedat"
    start = fakes.write_aedat2(path, [(0, 1), (2, 3)])
    path.write_bytes(path.read_bytes() + b"\x00\x00\x01")
    with pytest.raises(DataFormatError, match="multiple of 8") as info:
        read_aedat(path)
    assert info.value.offset == start + 16
    fakes.write_aedat2(path, [(0, 1)], chip="eu.seebetter.ini.chips.davis.DAVIS240C")
    with pytest.raises(DataFormatError, match="DAVIS240C") as info:
        read_aedat(path)
    assert path.read_bytes()[info.value.offset :].startswith(b"# AEChip")


# ------------------------------------------------------------------------------------ AEDAT 3.1
def test_v3_round_trip_with_overflow_invalid_and_other_packets(tmp_path, rng):
    x, y, t, p = random_events(rng, 40)
    first = [(int(a), int(b), int(c), int(d)) for a, b, c, d in zip(x[:25], y[:25], t[:25], p[:25], strict=True)]
    second = [(int(a), int(b), int(c), int(d)) for a, b, c, d in zip(x[25:], y[25:], t[25:], p[25:], strict=True)]
    junk = [(1, 2, int(t[24]), 1)]  # an invalid event, must be dropped
    blob = (
        fakes.V3_HEADER
        + fakes.v3_polarity_packet(first + junk, invalid=[25])
        + fakes.v3_other_packet(3)
        + fakes.v3_polarity_packet(second, overflow=1)
    )
    path = tmp_path / "user01_led.aedat"
    path.write_bytes(blob)
    rec = read_aedat(path)
    assert rec.version == "3.1"
    assert rec.sensor_size == (128, 128, 2)  # from '#Source 1: DVS128'
    expected_t = np.concatenate([t[:25], t[25:] + 2**31])
    assert_events(rec.events, x, y, expected_t, p)


def test_v3_packet_claiming_more_bytes_than_remain(tmp_path):
    packet = fakes.v3_polarity_packet([(1, 1, 10, 1), (2, 2, 20, 0)])
    path = tmp_path / "cut.aedat"
    path.write_bytes(fakes.V3_HEADER + packet[:-3])
    with pytest.raises(DataFormatError, match="claims 16 bytes but only 13 remain") as info:
        read_aedat(path)
    assert info.value.offset == len(fakes.V3_HEADER)
    path.write_bytes(fakes.V3_HEADER + packet + packet[:10])
    with pytest.raises(DataFormatError, match="truncated packet header") as info:
        read_aedat(path)
    assert info.value.offset == len(fakes.V3_HEADER) + len(packet)


def test_v3_header_without_end_and_event_outside_given_sensor(tmp_path):
    path = tmp_path / "a.aedat"
    path.write_bytes(b"#!AER-DAT3.1\r\n#Format: RAW\r\n")
    with pytest.raises(DataFormatError, match="END-HEADER"):
        read_aedat(path)
    path.write_bytes(fakes.V3_HEADER + fakes.v3_polarity_packet([(1, 1, 10, 1), (70, 1, 20, 0)]))
    with pytest.raises(DataFormatError, match="x = 70") as info:
        read_aedat(path, sensor_size=(64, 64, 2))
    assert info.value.offset == len(fakes.V3_HEADER) + 28 + 8


def test_v3_unknown_source_infers_the_sensor(tmp_path):
    path = tmp_path / "a.aedat"
    header = fakes.V3_HEADER.replace(b"DVS128", b"SomethingElse")
    path.write_bytes(header + fakes.v3_polarity_packet([(300, 7, 10, 1)]))
    assert read_aedat(path).sensor_size == (301, 8, 2)


# ------------------------------------------------------------------------------------ AEDAT 4.0
def aedat4_file(tmp_path, rng, compression):
    x, y, t, p = random_events(rng, 120, w=64, h=48, t0=1_600_000_000_000_000)
    packets = [
        (0, fakes.event_packet_flatbuffer(t[:70], x[:70], y[:70], p[:70])),
        (2, fakes.event_packet_flatbuffer([1], [1], [1], [1], identifier=b"IMUS")),  # other stream: skipped
        (0, fakes.event_packet_flatbuffer(t[70:], x[70:], y[70:], p[70:])),
    ]
    streams = {0: ("EVTS", 64, 48), 2: ("IMUS", None, None)}
    path = tmp_path / f"rec{compression}.aedat4"
    offsets = fakes.write_aedat4(path, packets, compression=compression, streams=streams)
    return path, (x, y, t, p), offsets


@pytest.mark.parametrize("compression", [0, 1, 3])
def test_v4_round_trip(tmp_path, rng, compression):
    if compression == 1:
        pytest.importorskip("lz4")
    if compression == 3:
        pytest.importorskip("zstandard")
    path, (x, y, t, p), _ = aedat4_file(tmp_path, rng, compression)
    rec = read_aedat(path)
    assert rec.version == "4.0"
    assert rec.sensor_size == (64, 48, 2)
    assert_events(rec.events, x, y, t, p)


def test_v4_without_data_table_reads_to_the_end(tmp_path, rng):
    x, y, t, p = random_events(rng, 10, w=64, h=48)
    path = tmp_path / "a.aedat4"
    fakes.write_aedat4(path, [(0, fakes.event_packet_flatbuffer(t, x, y, p))], data_table=False)
    assert_events(read_aedat(path).events, x, y, t, p)


def test_v4_stream_choice(tmp_path):
    packets = [(0, fakes.event_packet_flatbuffer([5], [1], [1], [1])), (1, fakes.event_packet_flatbuffer([7], [2], [2], [0]))]
    path = tmp_path / "two.aedat4"
    fakes.write_aedat4(path, packets, streams={0: ("EVTS", 8, 8), 1: ("EVTS", 8, 8)})
    assert read_aedat(path).events["x"].tolist() == [1]
    assert read_aedat(path, stream=1).events["x"].tolist() == [2]
    with pytest.raises(DatasetError, match=r"event streams: \[0, 1\]"):
        read_aedat(path, stream=4)
    fakes.write_aedat4(path, [(2, packets[0][1])], streams={2: ("IMUS", None, None)})
    with pytest.raises(DataFormatError, match="no event"):
        read_aedat(path)


def test_v4_packet_claiming_more_bytes_than_remain(tmp_path, rng):
    path, _, offsets = aedat4_file(tmp_path, rng, 0)
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, offsets[1] + 4, 10_000_000)
    path.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="claims 10000000 bytes") as info:
        read_aedat(path)
    assert info.value.offset == offsets[1]
    assert path.name in str(info.value)


def test_v4_corrupt_compressed_packet(tmp_path, rng):
    pytest.importorskip("lz4")
    path, _, offsets = aedat4_file(tmp_path, rng, 1)
    data = bytearray(path.read_bytes())
    data[offsets[2] + 8 : offsets[2] + 12] = b"JUNK"  # LZ4 frame magic destroyed
    path.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="decompress") as info:
        read_aedat(path)
    assert info.value.offset == offsets[2]


def test_v4_wrong_identifier_and_event_outside_sensor(tmp_path):
    path = tmp_path / "a.aedat4"
    offsets = fakes.write_aedat4(path, [(0, fakes.event_packet_flatbuffer([1], [1], [1], [1], identifier=b"FRME"))])
    with pytest.raises(DataFormatError, match="identifier") as info:
        read_aedat(path)
    assert info.value.offset == offsets[0] + 8 + 8  # size prefix + root offset
    offsets = fakes.write_aedat4(
        path, [(0, fakes.event_packet_flatbuffer([1, 2, 3], [1, 2, 3], [0, 0, 60], [1, 1, 1]))], streams={0: ("EVTS", 64, 48)}
    )
    with pytest.raises(DataFormatError, match="y = 60") as info:
        read_aedat(path)
    # fakes' layout: size prefix 4 + root 4 + id 4 + vtable 6 + pad 2 + table 8 + pad 4 + length 4 = 36
    assert info.value.offset == offsets[0] + 8 + 36 + 2 * 16


def test_v4_truncated_ioheader(tmp_path, rng):
    path, _, _ = aedat4_file(tmp_path, rng, 0)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(DataFormatError, match="IOHeader claims") as info:
        read_aedat(path)
    assert info.value.offset == 14


def hand_decode_aedat4(data: bytes):
    """Independent decoding of the real file: walk packets, decompress, read vectors by hand."""
    import lz4.frame

    (hlen,) = struct.unpack_from("<I", data, 14)
    pos, out = 18 + hlen, []
    while pos + 8 <= len(data):
        _sid, size = struct.unpack_from("<iI", data, pos)
        if pos + 8 + size > len(data):
            break
        try:
            buf = lz4.frame.decompress(data[pos + 8 : pos + 8 + size])
        except RuntimeError:
            break  # the trailing data table
        pos += 8 + size
        if buf[8:12] != b"EVTS":
            continue
        root = 4 + struct.unpack_from("<I", buf, 4)[0]
        vtable = root - struct.unpack_from("<i", buf, root)[0]
        field = root + struct.unpack_from("<H", buf, vtable + 4)[0]
        vec = field + struct.unpack_from("<I", buf, field)[0]
        (n,) = struct.unpack_from("<I", buf, vec)
        out += [struct.unpack_from("<qhh?", buf, vec + 4 + 16 * i) for i in range(n)]
    return out


@pytest.mark.skipif(not REAL_AEDAT4.is_file(), reason="shared test data absent")
def test_real_aedat4_sample():
    pytest.importorskip("lz4")
    data = REAL_AEDAT4.read_bytes()
    rec = read_aedat(REAL_AEDAT4)
    ev = rec.events
    text = data[:4096].decode("latin-1")
    width = int(re.search(r'key="sizeX" type="int">(\d+)<', text).group(1))
    height = int(re.search(r'key="sizeY" type="int">(\d+)<', text).group(1))
    ts_offset = int(re.search(r'key="tsOffset" type="long">(\d+)<', text).group(1))
    assert rec.version == "4.0"
    assert rec.sensor_size == (width, height, 2)
    assert 64 <= width <= 1280
    assert 64 <= height <= 720
    assert len(ev) > 10_000
    assert np.all(np.diff(ev["t"]) >= 0)
    assert ev["t"][0] >= ts_offset  # absolute µs since the epoch, after the stream started
    assert 0.05e6 < ev["t"][-1] - ev["t"][0] < 60e6
    assert ev["x"].max() < width
    assert ev["y"].max() < height
    assert min(np.bincount(ev["p"], minlength=2)) > 0.2 * len(ev)
    hand = hand_decode_aedat4(data)
    assert len(hand) == len(ev)
    assert tuple(ev[0]) == (hand[0][1], hand[0][2], hand[0][0], int(hand[0][3]))
    assert [e[0] for e in hand] == ev["t"].tolist()


def test_v4_vector_longer_than_its_packet(tmp_path):
    path = tmp_path / "a.aedat4"
    offsets = fakes.write_aedat4(path, [(0, fakes.event_packet_flatbuffer([1, 2], [1, 2], [1, 2], [1, 1]))])
    data = bytearray(path.read_bytes())
    vector = offsets[0] + 8 + 32  # size prefix 4 + root 4 + id 4 + vtable 6 + pad 2 + table 8 + pad 4
    assert struct.unpack_from("<I", data, vector)[0] == 2
    struct.pack_into("<I", data, vector, 1000)
    path.write_bytes(bytes(data))
    with pytest.raises(DataFormatError, match="claims 1000 items") as info:
        read_aedat(path)
    assert info.value.offset == vector


def test_v4_lz4_without_the_package_names_what_to_install(tmp_path, rng, monkeypatch):
    pytest.importorskip("lz4")
    path, _, _ = aedat4_file(tmp_path, rng, 1)
    monkeypatch.setitem(sys.modules, "lz4", None)
    monkeypatch.setitem(sys.modules, "lz4.frame", None)
    with pytest.raises(MissingToolError, match="pip install lz4"):
        read_aedat(path)
