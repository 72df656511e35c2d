from __future__ import annotations

import numpy as np
import pytest

from neuro.core.errors import DataFormatError, DatasetError
from neuro.datasets.readers.cifar10dvs import CIFAR10_CLASSES, CIFAR10DVS
from neuro.datasets.readers.dvsgesture import GESTURE_CLASSES, DVSGesture, read_gesture_labels
from tests.datasets.readers import fakes


def write_recording(folder, name, rng, rows, n=400, t_max=10_000_000):
    """An AEDAT 3.1 recording with random DVS128 events and its label CSV; returns the events."""
    t = np.sort(rng.integers(0, t_max, n))
    x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
    events = [(int(a), int(b), int(c), int(d)) for a, b, c, d in zip(x, y, t, p, strict=True)]
    (folder / f"{name}.aedat").write_bytes(fakes.V3_HEADER + fakes.v3_polarity_packet(events))
    csv = "class,startTime_usec,endTime_usec\r\n" + "".join(f"{c},{s},{e}\r\n" for c, s, e in rows)
    (folder / f"{name}_labels.csv").write_text(csv)
    return {"x": x, "y": y, "t": t, "p": p}


@pytest.fixture
def gesture_root(tmp_path, rng):
    folder = tmp_path / "DvsGesture"
    folder.mkdir()
    recordings = {
        "user01_fluorescent": [(1, 1_000_000, 3_000_000), (11, 3_500_000, 6_000_000)],
        "user02_fluorescent_led": [(8, 2_000_000, 4_000_000), (8, 4_000_000, 9_000_000)],
        "user24_lab": [(5, 0, 10_000_000)],
    }
    events = {name: write_recording(folder, name, rng, rows) for name, rows in recordings.items()}
    (folder / "trials_to_train.txt").write_text("user01_fluorescent.aedat\nuser02_fluorescent_led.aedat\n\n")
    (folder / "trials_to_test.txt").write_text("user24_lab.aedat\n")
    return tmp_path, recordings, events


def test_gesture_samples_are_the_labelled_cuts(gesture_root):
    root, recordings, events = gesture_root
    train = DVSGesture(root / "DvsGesture", "train")
    assert train.sensor_size == (128, 128, 2)
    assert len(train.classes) == 11
    assert train.classes[0] == "hand_clapping"
    assert train.labels.tolist() == [0, 10, 7, 7]
    assert train.extras["user"].tolist() == [1, 1, 2, 2]
    assert train.extras["lighting"].tolist() == ["fluorescent", "fluorescent", "fluorescent_led", "fluorescent_led"]
    for i, (name, (_, start, end)) in enumerate(
        [(n, r) for n in ("user01_fluorescent", "user02_fluorescent_led") for r in recordings[n]]
    ):
        got, label = train[i]
        src = events[name]
        keep = (src["t"] >= start) & (src["t"] < end)
        assert label == train.labels[i]
        np.testing.assert_array_equal(got["t"], src["t"][keep] - start)
        np.testing.assert_array_equal(got["x"], src["x"][keep])
        np.testing.assert_array_equal(got["y"], src["y"][keep])
        np.testing.assert_array_equal(got["p"], src["p"][keep])
        assert train.extras["start_us"][i] == start
    test = DVSGesture(root, "test")  # the parent folder is accepted
    assert len(test) == 1
    assert test[0][1] == GESTURE_CLASSES.index("right_arm_counter_clockwise")
    assert len(test[0][0]) == 400


def test_gesture_missing_files_and_bad_split(gesture_root):
    root, _, _ = gesture_root
    folder = root / "DvsGesture"
    with pytest.raises(DatasetError, match="split"):
        DVSGesture(folder, "valid")
    (folder / "user02_fluorescent_led_labels.csv").unlink()
    with pytest.raises(DatasetError, match=r"user02_fluorescent_led_labels\.csv") as info:
        DVSGesture(folder, "train")
    assert "trials_to_train.txt" in str(info.value)
    (folder / "trials_to_test.txt").unlink()
    with pytest.raises(DatasetError, match=r"trials_to_test\.txt"):
        DVSGesture(folder, "test")
    with pytest.raises(DatasetError, match="expected layout"):
        DVSGesture(root / "absent", "test")


def test_gesture_label_file_errors_name_the_line(tmp_path):
    path = tmp_path / "u_labels.csv"
    head = b"class,startTime_usec,endTime_usec\r\n"
    path.write_bytes(head + b"1,10,20\r\n" + b"12,30,40\r\n")
    with pytest.raises(DataFormatError, match="class 12") as info:
        read_gesture_labels(path)
    assert info.value.offset == len(head) + len(b"1,10,20\r\n")
    path.write_bytes(head + b"3,50,40\r\n")
    with pytest.raises(DataFormatError, match="not after"):
        read_gesture_labels(path)
    path.write_bytes(head + b"3;50;40\r\n")
    with pytest.raises(DataFormatError, match="expected") as info:
        read_gesture_labels(path)
    assert info.value.offset == len(head)
    path.write_bytes(head + b"3\t50\t60\r\n\r\n")  # tab-separated copies exist too
    assert read_gesture_labels(path) == [(2, 50, 60)]


def write_cifar_tree(root, rng, per_class=2):
    truth = {}
    for cls in CIFAR10_CLASSES:
        folder = root / cls
        folder.mkdir(parents=True)
        for k in (10, 2)[:per_class]:
            n = 30
            t = 5_000 + np.sort(rng.integers(0, 1_000_000, n))
            x, y, p = rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)
            records = [(fakes.dvs128_address(int(a), int(b), int(c)), int(d)) for a, b, c, d in zip(x, y, p, t, strict=True)]
            fakes.write_aedat2(folder / f"cifar10_{cls}_{k}.aedat", records)
            truth[(cls, k)] = (x, y, t, p)
    return truth


def test_cifar10dvs_reads_class_folders_in_natural_order(tmp_path, rng):
    truth = write_cifar_tree(tmp_path, rng)
    x, y, t, p = rng.integers(0, 128, 5), rng.integers(0, 128, 5), np.arange(5) * 7 + 100, rng.integers(0, 2, 5)
    fakes.write_aedat4(
        tmp_path / "truck" / "cifar10_truck_11.aedat4",
        [(0, fakes.event_packet_flatbuffer(t, x, y, p))],
        streams={0: ("EVTS", 128, 128)},
    )
    ds = CIFAR10DVS(tmp_path)
    assert len(ds) == 21
    assert ds.labels.tolist() == [k for k in range(10) for _ in range(2)] + [9]
    assert [f.name for f in ds.files[:2]] == ["cifar10_airplane_2.aedat", "cifar10_airplane_10.aedat"]
    events, label = ds[3]
    assert label == 1
    ex, ey, et, ep = truth[("automobile", 10)]
    np.testing.assert_array_equal(events["t"], et - et[0])
    np.testing.assert_array_equal(events["x"], ex)
    np.testing.assert_array_equal(events["y"], ey)
    np.testing.assert_array_equal(events["p"], ep)
    last, label = ds[-1]
    assert label == 9
    assert last["t"].tolist() == [0, 7, 14, 21, 28]


def test_cifar10dvs_missing_class_folder(tmp_path, rng):
    write_cifar_tree(tmp_path / "CIFAR10DVS", rng, per_class=1)
    assert len(CIFAR10DVS(tmp_path)) == 10
    (tmp_path / "CIFAR10DVS" / "frog" / "cifar10_frog_10.aedat").unlink()
    (tmp_path / "CIFAR10DVS" / "frog").rmdir()
    with pytest.raises(DatasetError, match="frog") as info:
        CIFAR10DVS(tmp_path / "CIFAR10DVS")
    assert "expected layout" in str(info.value)
