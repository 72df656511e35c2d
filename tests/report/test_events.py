"""Event pictures: files are written for 2-D and 1-D sensors and images; bad input is refused."""

from __future__ import annotations

import numpy as np
import pytest

from neuro.core.errors import ParameterError
from neuro.core.events import EVENT_DTYPE, make_events
from neuro.report.events import _rgb, animate_events, plot_event_grid, plot_images

PNG = b"\x89PNG\r\n\x1a\n"


def test_rgb_puts_on_in_red_and_off_in_blue():
    frame = np.zeros((2, 1, 2))
    frame[1, 0, 0] = 4  # ON at pixel 0
    frame[0, 0, 1] = 2  # OFF at pixel 1
    rgb = _rgb(frame)
    assert rgb[0, 0].tolist() == [1.0, 0.0, 0.0]
    assert rgb[0, 1].tolist() == [0.0, 0.0, 0.5]


def test_audio_events_give_a_raster(tmp_path):
    ev = make_events(t=[0, 10, 20], x=[0, 5, 9], p=[1, 1, 1])
    path = plot_event_grid(ev, (10, 1, 1), tmp_path / "raster.png")
    assert path.read_bytes()[:8] == PNG


def test_empty_events_still_plot_but_do_not_animate(tmp_path):
    ev = np.empty(0, dtype=EVENT_DTYPE)
    assert plot_event_grid(ev, (4, 4, 2), tmp_path / "empty.png", n_bins=2).read_bytes()[:8] == PNG
    with pytest.raises(ParameterError):
        animate_events(ev, (4, 4, 2), tmp_path / "empty.gif")


def test_images_and_bad_bins(tmp_path, rng):
    assert plot_images(rng.random((3, 5, 5)), [0, 1, 2], tmp_path / "img.png").read_bytes()[:8] == PNG
    ev = make_events(x=[1], y=[1], t=[0], p=[1])
    with pytest.raises(ParameterError) as info:
        plot_event_grid(ev, (4, 4, 2), tmp_path / "x.png", n_bins=0)
    assert info.value.field == "n_bins"
