"""``spoken-digits``: the English words "zero".."nine" from two TTS engines, augmented, through a cochlea.

Recipe (shared/reference §7; a single engine is far too homogeneous: trained on espeak-ng alone, a
readout scored 23 % on flite):

1. every voice of :mod:`neuro.datasets.tts`: espeak-ng accents x variants (each accent/variant pair
   gets one speed and pitch, cycling through ``espeak_speeds_wpm`` x ``espeak_pitches``) and flite
   voices x duration stretches (x mean F0 for the diphone voices) say each digit word;
2. each clip is resampled to ``sample_rate`` (16 kHz), trimmed of leading/trailing silence (-40 dB)
   and set to ``level_dbfs`` RMS; copy 0 is this clean clip, copies 1..n are augmented
   (:mod:`neuro.datasets.audio_augment`): pitch shift, time stretch, optional band limit and
   reverberation, level reset, onset jitter, noise at a random SNR, random gain;
3. :func:`neuro.encoders.cochlea.encode_cochlea` turns each copy into audio events with
   ``sensor_size = (n_channels, 1, 1)`` (the SHD layout).

Per-sample randomness comes from a generator seeded by ``(seed, voice, digit, copy)`` (the voice as
a CRC-32 of its key), so a sample does not depend on which other voices are generated. The split is
speaker-independent: within each engine the voices are shuffled (``split_seed``) and
``test_fraction`` / ``val_fraction`` of them, with all their digits and copies, go to test / val.
:func:`select` also offers the held-out-engine protocol. Extras: ``engine``, ``voice``, ``split``,
``copy`` (0 = clean).

Licences: espeak-ng is GPL-3.0+, flite BSD-like; the generated audio carries no licence of theirs.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import zlib
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass

import numpy as np

from neuro.core.errors import DatasetError, ParameterError
from neuro.datasets import audio_augment as aug
from neuro.datasets import tts
from neuro.datasets.base import PackedEventDataset
from neuro.encoders.cochlea import encode_cochlea

__all__ = ["CLASSES", "NAME", "SpokenDigitsParams", "generate", "select", "voices"]

NAME = "spoken-digits"
CLASSES = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class SpokenDigitsParams:
    """Everything that determines the ``spoken-digits`` content (hashed into the cache key).

    Attributes:
        espeak_accents: espeak-ng English accents.
        espeak_variants: espeak-ng voice variants (each combined with every accent).
        espeak_speeds_wpm: speeds cycled over the accent/variant pairs.
        espeak_pitches: pitches (0-99) cycled over the accent/variant pairs.
        flite_voices: flite voice names.
        flite_stretches: flite duration stretches (each combined with every flite voice).
        flite_f0_means_hz: mean F0s for the flite voices that honour it (kal, kal16).
        voices_per_engine: keep only this many voices per engine, evenly spread (None: all).
        espeak_copies: augmented copies per espeak-ng clip (besides the clean one).
        flite_copies: augmented copies per flite clip (more, since flite has fewer voices).
        sample_rate: audio rate after resampling (Hz).
        level_dbfs: RMS level of every clip before augmentation.
        pitch_semitones: maximum absolute random pitch shift.
        stretch_range: random duration factor range.
        band_limit_prob: probability of a random low pass (as in telephone or 8 kHz voices).
        band_limit_hz: range of its cut-off.
        reverb_prob: probability of synthetic reverberation.
        rt60_range_s: range of its decay time.
        snr_range_db: range of the added white noise's SNR.
        gain_range_db: range of the final random gain.
        max_onset_s: largest random leading silence.
        n_channels: cochlea channels.
        f_min: lowest centre frequency (Hz).
        f_max: highest centre frequency (Hz).
        cochlea_dt: cochlea neuron step (s).
        cochlea_gain: cochlea LIF input gain.
        seed: base seed of the per-sample generators.
        split_seed: seed of the voice split.
        val_fraction: share of each engine's voices in val.
        test_fraction: share of each engine's voices in test.
        version: generator version; bump when the recipe changes.
    """

    espeak_accents: tuple[str, ...] = (
        "en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-029", "en-us-nyc",
    )  # fmt: skip
    espeak_variants: tuple[str, ...] = ("m1", "m3", "m5", "m7", "f1", "f2", "f3", "f4", "klatt", "klatt3")
    espeak_speeds_wpm: tuple[int, ...] = (130, 165, 200)
    espeak_pitches: tuple[int, ...] = (30, 50, 70)
    flite_voices: tuple[str, ...] = ("kal", "kal16", "awb", "rms", "slt")
    flite_stretches: tuple[float, ...] = (0.85, 1.0, 1.2)
    flite_f0_means_hz: tuple[float, ...] = (90.0, 120.0, 160.0)
    voices_per_engine: int | None = None
    espeak_copies: int = 2
    flite_copies: int = 5
    sample_rate: int = 16000
    level_dbfs: float = -20.0
    pitch_semitones: float = 2.0
    stretch_range: tuple[float, float] = (0.85, 1.15)
    band_limit_prob: float = 0.3
    band_limit_hz: tuple[float, float] = (3500.0, 7000.0)
    reverb_prob: float = 0.5
    rt60_range_s: tuple[float, float] = (0.1, 0.5)
    snr_range_db: tuple[float, float] = (5.0, 30.0)
    gain_range_db: tuple[float, float] = (-6.0, 6.0)
    max_onset_s: float = 0.1
    n_channels: int = 32
    f_min: float = 100.0
    f_max: float = 6000.0
    cochlea_dt: float = 5e-4
    cochlea_gain: float = 15.0
    seed: int = 0
    split_seed: int = 0
    val_fraction: float = 0.15
    test_fraction: float = 0.15
    version: int = 1

    def __post_init__(self) -> None:
        for name in ("espeak_copies", "flite_copies"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ParameterError(f"SpokenDigitsParams.{name} must be an integer >= 0, got {value!r}", name)
        if self.voices_per_engine is not None and (not isinstance(self.voices_per_engine, int) or self.voices_per_engine < 1):
            raise ParameterError("SpokenDigitsParams.voices_per_engine must be None or >= 1", "voices_per_engine")
        if not (0 <= self.val_fraction and 0 <= self.test_fraction and self.val_fraction + self.test_fraction < 1):
            raise ParameterError("val_fraction and test_fraction must be >= 0 and sum below 1", "test_fraction")
        for name in ("stretch_range", "band_limit_hz", "rt60_range_s", "snr_range_db", "gain_range_db"):
            lo, hi = getattr(self, name)
            if not lo <= hi:
                raise ParameterError(f"SpokenDigitsParams.{name} must be (low, high) with low <= high", name)
        if self.band_limit_hz[1] >= self.sample_rate / 2 or self.f_max >= self.sample_rate / 2:
            raise ParameterError("band_limit_hz and f_max must lie below sample_rate / 2", "sample_rate")


def _spread(items: list[tts.Voice], k: int | None) -> list[tts.Voice]:
    if k is None or k >= len(items):
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, k).round().astype(int)]


def voices(params: SpokenDigitsParams) -> list[tts.Voice]:
    """The voices of the dataset, espeak-ng first (checks that each is installed).

    Raises:
        MissingToolError: espeak-ng or flite is missing.
        DatasetError: a requested accent, variant or voice is not installed.
    """
    pairs = tts.espeak_voices(params.espeak_accents, params.espeak_variants)
    grid = [(s, p) for p in params.espeak_pitches for s in params.espeak_speeds_wpm]
    espeak = [
        tts.Voice("espeak-ng", v.name, speed_wpm=grid[i % len(grid)][0], pitch=grid[i % len(grid)][1])
        for i, v in enumerate(pairs)
    ]
    flite = tts.flite_voices(params.flite_voices, params.flite_stretches, params.flite_f0_means_hz)
    return _spread(espeak, params.voices_per_engine) + _spread(flite, params.voices_per_engine)


def _voice_split(voice_list: list[tts.Voice], params: SpokenDigitsParams) -> dict[str, str]:
    split: dict[str, str] = {}
    for engine in tts.ENGINES:
        keys = sorted(v.key for v in voice_list if v.engine == engine)  # independent of the order given
        order = np.random.default_rng([params.split_seed, zlib.crc32(engine.encode())]).permutation(len(keys))
        n = len(keys)
        n_test, n_val = round(params.test_fraction * n), round(params.val_fraction * n)
        if n >= 3:  # a split asked for gets at least one voice
            n_test, n_val = max(n_test, int(params.test_fraction > 0)), max(n_val, int(params.val_fraction > 0))
        for rank, i in enumerate(order):
            split[keys[i]] = "test" if rank < n_test else "val" if rank < n_test + n_val else "train"
    return split


def augment(x: np.ndarray, params: SpokenDigitsParams, rng: np.random.Generator) -> np.ndarray:
    """One random augmentation of a clean clip (see the module docstring for the chain)."""
    fs = params.sample_rate
    y = aug.pitch_shift(x, rng.uniform(-params.pitch_semitones, params.pitch_semitones))
    y = aug.time_stretch(y, rng.uniform(*params.stretch_range))
    if rng.random() < params.band_limit_prob:
        y = aug.band_limit(y, fs, rng.uniform(*params.band_limit_hz))
    if rng.random() < params.reverb_prob:
        y = aug.reverberate(y, fs, rng.uniform(*params.rt60_range_s), rng, wet=rng.uniform(0.2, 0.7))
    y = aug.jitter_onset(aug.normalize_rms(y, params.level_dbfs), fs, params.max_onset_s, rng)
    y = aug.add_noise(y, rng.uniform(*params.snr_range_db), rng)
    return aug.apply_gain(y, rng.uniform(*params.gain_range_db))


def _voice_samples(params: SpokenDigitsParams, voice: tts.Voice) -> list[tuple[int, int, np.ndarray]]:
    """``(label, copy, events)`` for every digit and copy of one voice."""
    fs = params.sample_rate
    copies = params.espeak_copies if voice.engine == "espeak-ng" else params.flite_copies
    out = []
    for label, word in enumerate(CLASSES):
        clean = aug.normalize_rms(aug.trim_silence(tts.synthesize(voice, word, fs), fs), params.level_dbfs)
        for copy in range(copies + 1):
            rng = np.random.default_rng([params.seed, zlib.crc32(f"{voice.engine}:{voice.key}".encode()), label, copy])
            audio = clean if copy == 0 else augment(clean, params, rng)
            events = encode_cochlea(
                audio, fs, params.n_channels, params.f_min, params.f_max, dt=params.cochlea_dt, gain=params.cochlea_gain
            )
            out.append((label, copy, events))
    return out


def generate(
    params: SpokenDigitsParams | None = None,
    *,
    workers: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> PackedEventDataset:
    """Synthesise, augment and encode ``spoken-digits``.

    Args:
        params: generator parameters (default :class:`SpokenDigitsParams`).
        workers: processes to use (where ``fork`` is available); the result does not depend on it.
        progress: called as ``progress(done, total)`` after each voice, counted in samples.

    Returns:
        A dataset named ``"spoken-digits"``, sensor ``(n_channels, 1, 1)``, classes ``"zero"..
        "nine"``, extras ``engine``, ``voice``, ``split``, ``copy``; samples ordered by voice,
        digit, copy.

    Raises:
        MissingToolError: espeak-ng or flite is missing (the message says how to install it).
        DatasetError: a requested voice is not installed, or a program failed.
    """
    params = params or SpokenDigitsParams()
    voice_list = voices(params)
    split_of = _voice_split(voice_list, params)
    per_voice = [
        len(CLASSES) * (1 + (params.espeak_copies if v.engine == "espeak-ng" else params.flite_copies)) for v in voice_list
    ]
    total = sum(per_voice)
    samples, labels, extras = [], [], {"engine": [], "voice": [], "split": [], "copy": []}
    with contextlib.ExitStack() as stack:
        if workers > 1 and "fork" in multiprocessing.get_all_start_methods():
            pool = stack.enter_context(ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")))
            results = pool.map(_voice_samples, [params] * len(voice_list), voice_list)
        else:
            results = (_voice_samples(params, v) for v in voice_list)
        for voice, voice_samples in zip(voice_list, results, strict=True):
            for label, copy, events in voice_samples:
                samples.append(events)
                labels.append(label)
                for key, value in (
                    ("engine", voice.engine),
                    ("voice", voice.key),
                    ("split", split_of[voice.key]),
                    ("copy", copy),
                ):
                    extras[key].append(value)
            if progress is not None:
                progress(len(samples), total)
    return PackedEventDataset.from_samples(
        NAME,
        samples,
        labels,
        (params.n_channels, 1, 1),
        CLASSES,
        extras={k: np.asarray(v, dtype=np.int16 if k == "copy" else str) for k, v in extras.items()},
        metadata={
            "params": asdict(params),
            "engines": {e: tts.engine_version(e) for e in tts.ENGINES},
            "source": "espeak-ng (GPL-3.0+) and flite (BSD-like) speech synthesis, cochlea-encoded",
        },
    )


def select(ds: PackedEventDataset, split: str, holdout: str | None = None) -> np.ndarray:
    """Indices of ``split`` in a ``spoken-digits`` dataset.

    Args:
        ds: a dataset from :func:`generate` (extras ``split`` and ``engine``).
        split: ``"train"``, ``"val"`` or ``"test"``.
        holdout: None for the stratified mixture split; ``"espeak-ng"`` or ``"flite"`` for the
            held-out-engine protocol: ``"train"``/``"val"`` are the other engine's train/val
            samples and ``"test"`` is every sample (all voices and copies) of the held-out
            engine. The other engine's own test voices are then unused.

    Returns:
        int64 indices in ascending order.

    Raises:
        DatasetError: unknown split or engine, or the dataset lacks the extras.
    """
    if split not in SPLITS:
        raise DatasetError(f"unknown split {split!r}; expected one of {SPLITS}")
    if holdout is not None and holdout not in tts.ENGINES:
        raise DatasetError(f"unknown holdout engine {holdout!r}; expected None or one of {tts.ENGINES}")
    missing = [k for k in ("split", "engine") if k not in ds.extras]
    if missing:
        raise DatasetError(f"{ds.name}: dataset lacks the extras {missing} that select needs")
    split_arr, engine = np.asarray(ds.extras["split"]), np.asarray(ds.extras["engine"])
    if holdout is None:
        mask = split_arr == split
    elif split == "test":
        mask = engine == holdout
    else:
        mask = (engine != holdout) & (split_arr == split)
    return np.flatnonzero(mask).astype(np.int64)
