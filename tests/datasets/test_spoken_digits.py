"""spoken-digits: augmentation properties, TTS plumbing, split semantics, a tiny generation."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from neuro.core.errors import DatasetError, MissingToolError, ParameterError
from neuro.core.events import make_events, validate_events
from neuro.datasets import audio_augment as aug
from neuro.datasets import spoken_digits as sd
from neuro.datasets import tts
from neuro.datasets.base import PackedEventDataset

FS = 16000
HAVE_TTS = shutil.which("espeak-ng") is not None and shutil.which("flite") is not None


def burst(freq: float = 500.0, seconds: float = 0.3, pad: float = 0.2) -> np.ndarray:
    t = np.arange(int(seconds * FS)) / FS
    return np.concatenate([np.zeros(int(pad * FS)), np.sin(2 * np.pi * freq * t), np.zeros(int(pad * FS))])


def loud_duration(x: np.ndarray) -> float:
    env = np.sqrt(np.convolve(x * x, np.ones(160) / 160, mode="same"))
    on = np.flatnonzero(env > 0.5 * env.max())
    return (on[-1] - on[0]) / FS


def peak_hz(x: np.ndarray) -> float:
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    return float(spectrum.argmax() * FS / len(x))


# --- augmentation -------------------------------------------------------------------------


@pytest.mark.parametrize("snr_db", [0.0, 10.0, 25.0])
def test_added_noise_has_the_requested_snr(rng, snr_db):
    x = burst()
    y = aug.add_noise(x, snr_db, rng)
    noise = y - x
    assert 10 * np.log10(np.mean(x**2) / np.mean(noise**2)) == pytest.approx(snr_db, abs=1e-9)
    assert abs(np.mean(noise)) < 0.05 * np.std(noise)  # white, zero-mean noise
    assert abs(np.corrcoef(noise[:-1], noise[1:])[0, 1]) < 0.05
    with pytest.raises(ParameterError):
        aug.add_noise(np.zeros(100), 10.0, rng)


def test_gain_scales_rms_and_normalisation_sets_the_level(rng):
    x = 0.1 * rng.standard_normal(4000)
    assert aug.rms(aug.apply_gain(x, 6.0)) == pytest.approx(aug.rms(x) * 10 ** (6 / 20))
    assert aug.rms(aug.apply_gain(x, -20.0)) == pytest.approx(aug.rms(x) / 10)
    assert 20 * np.log10(aug.rms(aug.normalize_rms(x, -26.0))) == pytest.approx(-26.0)


@pytest.mark.parametrize("factor", [0.75, 1.4])
def test_time_stretch_changes_duration_not_pitch(factor):
    x = burst()
    y = aug.time_stretch(x, factor)
    assert len(y) == round(len(x) * factor)
    assert loud_duration(y) == pytest.approx(0.3 * factor, rel=0.05)
    assert peak_hz(y) == pytest.approx(500.0, abs=5.0)


@pytest.mark.parametrize("semitones", [-3.0, 4.0])
def test_pitch_shift_changes_pitch_not_duration(semitones):
    x = burst()
    y = aug.pitch_shift(x, semitones)
    assert len(y) == len(x)
    assert loud_duration(y) == pytest.approx(0.3, rel=0.05)
    assert peak_hz(y) == pytest.approx(500.0 * 2 ** (semitones / 12), rel=0.01)


def test_reverberation_adds_a_decaying_tail_and_keeps_energy(rng):
    x = burst(pad=0.0)
    y = aug.reverberate(x, FS, 0.4, rng)
    assert len(y) == len(x) + int(0.4 * FS) - 1
    assert np.sum(y**2) == pytest.approx(np.sum(x**2))
    tail = y[len(x) :]
    first, last = np.mean(tail[: len(tail) // 4] ** 2), np.mean(tail[-len(tail) // 4 :] ** 2)
    assert first > 100 * last > 0  # decays by tens of dB across the tail
    np.testing.assert_array_equal(y, aug.reverberate(x, FS, 0.4, np.random.default_rng(12345)))


def test_band_limit_removes_high_frequencies():
    x = burst(300.0) + burst(6000.0)
    y = aug.band_limit(x, FS, 3000.0)
    spectrum = np.abs(np.fft.rfft(y))
    freqs = np.fft.rfftfreq(len(y), 1 / FS)
    assert spectrum[np.abs(freqs - 6000).argmin()] < 1e-3 * spectrum[np.abs(freqs - 300).argmin()]


def test_onset_jitter_and_trimming(rng):
    x = burst()
    trimmed = aug.trim_silence(x, FS, margin_s=0.0)
    assert abs(len(trimmed) - int(0.3 * FS)) < 0.02 * FS
    delays = {len(aug.jitter_onset(trimmed, FS, 0.1, rng)) - len(trimmed) for _ in range(20)}
    assert min(delays) >= 0
    assert max(delays) <= 0.1 * FS
    assert len(delays) > 5
    padded = aug.jitter_onset(trimmed, FS, 0.1, rng)
    np.testing.assert_array_equal(padded[len(padded) - len(trimmed) :], trimmed)


# --- TTS plumbing -------------------------------------------------------------------------


def test_commands_never_need_a_shell():
    v = tts.Voice("flite", "kal", duration_stretch=1.2, f0_mean_hz=120.0)
    assert tts.command(v, "seven; rm -rf /", "o.wav") == [
        "flite", "-voice", "kal", "--setf", "duration_stretch=1.2", "--setf", "int_f0_target_mean=120",
        "-t", "seven; rm -rf /", "-o", "o.wav",
    ]  # fmt: skip
    assert v.key == "kal/d1.2/f120"
    with pytest.raises(ParameterError) as info:
        tts.Voice("flite", "kal", speed_wpm=150)
    assert info.value.field == "speed_wpm"


def test_missing_program_says_how_to_install(monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(MissingToolError, match="apt-get install espeak-ng flite") as info:
        tts.synthesize(tts.Voice("espeak-ng", "en-us"), "one")
    assert "brew install espeak-ng flite" in str(info.value)
    with pytest.raises(MissingToolError, match="espeak-ng is not installed"):
        sd.generate(sd.SpokenDigitsParams(voices_per_engine=1))


# --- split semantics ----------------------------------------------------------------------


def fake_dataset() -> PackedEventDataset:
    engines = ["espeak-ng"] * 6 + ["flite"] * 4
    splits = ["train", "train", "val", "test", "train", "val", "train", "test", "val", "train"]
    ev = make_events(t=[0], x=[0], p=[1])
    return PackedEventDataset.from_samples(
        sd.NAME, [ev] * 10, list(range(10)), (4, 1, 1), sd.CLASSES,
        extras={"engine": engines, "split": splits, "voice": [f"v{i}" for i in range(10)], "copy": [0] * 10},
    )  # fmt: skip


def test_select_mixture_and_holdout_semantics():
    ds = fake_dataset()
    assert sd.select(ds, "train").tolist() == [0, 1, 4, 6, 9]
    assert sd.select(ds, "val").tolist() == [2, 5, 8]
    assert sd.select(ds, "test").tolist() == [3, 7]
    assert sd.select(ds, "train", holdout="flite").tolist() == [0, 1, 4]
    assert sd.select(ds, "val", holdout="flite").tolist() == [2, 5]
    assert sd.select(ds, "test", holdout="flite").tolist() == [6, 7, 8, 9]
    assert sd.select(ds, "train", holdout="espeak-ng").tolist() == [6, 9]
    assert sd.select(ds, "test", holdout="espeak-ng").tolist() == [0, 1, 2, 3, 4, 5]
    with pytest.raises(DatasetError):
        sd.select(ds, "dev")
    with pytest.raises(DatasetError):
        sd.select(ds, "test", holdout="festival")


def test_voice_split_is_speaker_independent_and_stratified_by_engine():
    params = sd.SpokenDigitsParams(val_fraction=0.2, test_fraction=0.2)
    voice_list = [tts.Voice("espeak-ng", f"en-us+m{i}") for i in range(10)] + [tts.Voice("flite", f"v{i}") for i in range(5)]
    split = sd._voice_split(voice_list, params)
    for engine, n, n_each in (("espeak-ng", 10, 2), ("flite", 5, 1)):
        got = [split[v.key] for v in voice_list if v.engine == engine]
        assert len(got) == n
        assert got.count("test") == n_each
        assert got.count("val") == n_each
    assert split == sd._voice_split(list(reversed(voice_list)), params)  # fixed by split_seed, not by order
    assert split != sd._voice_split(voice_list, sd.SpokenDigitsParams(val_fraction=0.2, test_fraction=0.2, split_seed=1))


def test_params_are_validated():
    with pytest.raises(ParameterError) as info:
        sd.SpokenDigitsParams(flite_copies=-1)
    assert info.value.field == "flite_copies"
    with pytest.raises(ParameterError):
        sd.SpokenDigitsParams(snr_range_db=(20.0, 5.0))


# --- generation ---------------------------------------------------------------------------


@pytest.mark.skipif(not HAVE_TTS, reason="needs espeak-ng and flite (apt-get install espeak-ng flite)")
def test_tiny_generation_is_deterministic_and_well_formed():
    params = sd.SpokenDigitsParams(voices_per_engine=2, espeak_copies=1, flite_copies=1, n_channels=16)
    calls = []
    ds = sd.generate(params, progress=lambda done, total: calls.append((done, total)))
    assert len(ds) == 2 * 2 * 10 * 2
    assert ds.name == "spoken-digits"
    assert ds.sensor_size == (16, 1, 1)
    assert ds.classes == sd.CLASSES
    assert calls[-1] == (80, 80)
    assert len(calls) == 4
    engines = ds.extras["engine"]
    assert (engines == "espeak-ng").sum() == (engines == "flite").sum() == 40
    assert set(ds.extras["copy"].tolist()) == {0, 1}
    np.testing.assert_array_equal(np.bincount(ds.labels), [8] * 10)
    for i in range(len(ds)):
        ev, _ = ds[i]
        validate_events(ev, ds.sensor_size, allow_empty=False)
        assert 200 < len(ev) < 50_000
    test = sd.select(ds, "test", holdout="flite")
    assert set(engines[test]) == {"flite"}
    assert len(test) == 40
    assert set(engines[sd.select(ds, "train", holdout="flite")]) <= {"espeak-ng"}
    last = sd.voices(params)[-1]  # regenerating one voice alone gives the same samples
    again = sd._voice_samples(params, last)
    mine = np.flatnonzero(ds.extras["voice"] == last.key)
    assert len(again) == len(mine) == 20
    for i, (label, copy, events) in zip(mine, again, strict=True):
        assert (label, copy) == (ds.labels[i], ds.extras["copy"][i])
        np.testing.assert_array_equal(events, ds[i][0])
    assert ds.metadata["params"]["voices_per_engine"] == 2
