"""Offline text-to-speech with the espeak-ng and flite programs (Debian packages, no network).

Speech is synthesised by running the program (``subprocess``, never through a shell) into a WAV
file in a temporary folder, read with ``scipy.io.wavfile``, converted to float in full-scale
units (int16 / 32768) and resampled to ``sample_rate`` (default 16 kHz) with
``scipy.signal.resample_poly`` (a polyphase anti-aliasing filter; espeak-ng writes 22,050 Hz,
flite 16 kHz, flite's ``kal`` voice 8 kHz).

Voices:

* **espeak-ng** (formant synthesis): an English accent (``en-us``, ``en-gb-x-rp``...) plus a
  voice variant (``m3``, ``f2``, ``klatt``...) as ``-v accent+variant``, a speed in words per
  minute (``-s``, 80-450) and a pitch (``-p``, 0-99). mbrola voices are skipped (not installable
  on Debian).
* **flite** (diphone ``kal``/``kal16``, clustergen ``awb``/``rms``/``slt``): a voice name, a
  ``duration_stretch`` (> 1 is slower) and, for the diphone voices, which honour it, a mean
  fundamental frequency ``int_f0_target_mean`` in Hz. ``awb_time`` is a limited-domain voice
  (clock times only) and is not offered by default.

Example:
    >>> v = Voice("espeak-ng", "en-us+f3", speed_wpm=150, pitch=50)
    >>> v.key
    'en-us+f3/s150/p50'
    >>> command(v, "seven", "out.wav")
    ['espeak-ng', '-v', 'en-us+f3', '-s', '150', '-p', '50', '-w', 'out.wav', 'seven']
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from math import gcd
from pathlib import Path
from typing import Any

import numpy as np
from scipy import signal
from scipy.io import wavfile

from neuro.core.errors import DatasetError, MissingToolError, ParameterError

__all__ = [
    "ENGINES",
    "FLITE_PITCHED_VOICES",
    "Voice",
    "command",
    "engine_version",
    "espeak_accents",
    "espeak_variants",
    "espeak_voices",
    "flite_voice_names",
    "flite_voices",
    "require",
    "resample",
    "synthesize",
]

ENGINES = ("espeak-ng", "flite")
FLITE_PITCHED_VOICES = ("kal", "kal16")
"""flite voices that honour ``int_f0_target_mean`` (the clustergen voices ignore it)."""

INSTALL_HINT = "install it with `apt-get install espeak-ng flite` on Debian/Ubuntu or `brew install espeak-ng flite` on macOS"
_TIMEOUT_S = 60


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker.

    Attributes:
        engine: ``"espeak-ng"`` or ``"flite"``.
        name: espeak-ng ``accent+variant`` (or just an accent), or a flite voice name.
        speed_wpm: espeak-ng speed in words per minute (None: the program's default, 175).
        pitch: espeak-ng pitch 0-99 (None: default 50).
        duration_stretch: flite duration factor (None: 1).
        f0_mean_hz: flite mean F0 in Hz, diphone voices only (None: the voice's own).
    """

    engine: str
    name: str
    speed_wpm: int | None = None
    pitch: int | None = None
    duration_stretch: float | None = None
    f0_mean_hz: float | None = None

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ParameterError(f"unknown TTS engine {self.engine!r}; expected one of {ENGINES}", "engine")
        espeak_only = {"speed_wpm": self.speed_wpm, "pitch": self.pitch}
        flite_only = {"duration_stretch": self.duration_stretch, "f0_mean_hz": self.f0_mean_hz}
        other = flite_only if self.engine == "espeak-ng" else espeak_only
        for field, value in other.items():
            if value is not None:
                raise ParameterError(f"{field} does not apply to {self.engine} voices", field)
        if self.pitch is not None and not 0 <= self.pitch <= 99:
            raise ParameterError(f"espeak-ng pitch must lie in 0..99, got {self.pitch}", "pitch")
        if self.speed_wpm is not None and not 80 <= self.speed_wpm <= 450:
            raise ParameterError(f"espeak-ng speed must lie in 80..450 wpm, got {self.speed_wpm}", "speed_wpm")
        for field, value in flite_only.items():
            if value is not None and not value > 0:
                raise ParameterError(f"{field} must be positive, got {value}", field)

    @property
    def key(self) -> str:
        """A short unique text label, e.g. ``en-us+f3/s150/p50`` or ``kal/d1.25/f120``."""
        parts = [self.name]
        for tag, value in (("s", self.speed_wpm), ("p", self.pitch), ("d", self.duration_stretch), ("f", self.f0_mean_hz)):
            if value is not None:
                parts.append(f"{tag}{value:g}")
        return "/".join(parts)


def require(program: str) -> str:
    """The path of ``program``.

    Raises:
        MissingToolError: it is not on ``PATH``; the message says how to install it.
    """
    path = shutil.which(program)
    if path is None:
        raise MissingToolError(f"{program} is not installed (needed to synthesise speech): {INSTALL_HINT}")
    return path


def _run(args: list[str], check: bool = True) -> str:
    require(args[0])
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=_TIMEOUT_S, check=False)
    except FileNotFoundError:
        raise MissingToolError(f"{args[0]} is not installed (needed to synthesise speech): {INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        raise DatasetError(f"{args[0]} did not finish within {_TIMEOUT_S} s: {args}") from None
    if check and done.returncode != 0:
        raise DatasetError(f"{args[0]} failed with exit status {done.returncode}: {args}: {done.stderr.strip()}")
    return done.stdout + done.stderr


@functools.cache
def engine_version(engine: str) -> str:
    """The line with the program's version (recorded in dataset metadata).

    Raises:
        MissingToolError: the program is missing.
    """
    lines = _run([engine, "--version"], check=False).splitlines()  # flite exits with status 1 here
    return next((line.strip() for line in lines if "version" in line.lower() or "espeak" in line.lower()), "unknown")


def espeak_accents() -> list[str]:
    """The English accents of the installed espeak-ng (mbrola voices excluded), e.g. ``en-us``.

    Raises:
        MissingToolError: espeak-ng is missing.
    """
    accents = []
    for line in _run(["espeak-ng", "--voices=en"]).splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5 and cols[1].startswith("en") and not cols[4].startswith("mb/") and cols[1] not in accents:
            accents.append(cols[1])
    return accents


def espeak_variants() -> list[str]:
    """The voice variants of the installed espeak-ng (``m1``, ``f3``, ``klatt``, ``croak``...).

    Raises:
        MissingToolError: espeak-ng is missing.
    """
    variants = []
    for line in _run(["espeak-ng", "--voices=variant"]).splitlines()[1:]:
        cols = line.split()
        if len(cols) >= 5 and cols[4].startswith("!v/"):
            variants.append(cols[4][3:])
    return variants


def flite_voice_names() -> list[str]:
    """The voices compiled into the installed flite (``kal awb_time kal16 awb rms slt``).

    Raises:
        MissingToolError: flite is missing.
    """
    out = _run(["flite", "-lv"])
    return out.split(":", 1)[-1].split()


def _check_available(requested: tuple[str, ...], available: list[str], what: str) -> None:
    missing = [r for r in requested if r not in available]
    if missing:
        raise DatasetError(f"{what} {missing} not available; the installed ones are {available}")


def espeak_voices(
    accents: tuple[str, ...],
    variants: tuple[str, ...],
    speeds_wpm: tuple[int, ...] = (175,),
    pitches: tuple[int, ...] = (50,),
) -> list[Voice]:
    """Every combination accent x variant x speed x pitch, after checking they are installed.

    Raises:
        MissingToolError: espeak-ng is missing.
        DatasetError: an accent or variant is not installed.
    """
    _check_available(accents, espeak_accents(), "espeak-ng accents")
    _check_available(variants, espeak_variants(), "espeak-ng variants")
    return [
        Voice("espeak-ng", f"{a}+{v}", speed_wpm=s, pitch=p)
        for a in accents
        for v in variants
        for s in speeds_wpm
        for p in pitches
    ]


def flite_voices(
    names: tuple[str, ...],
    duration_stretches: tuple[float, ...] = (1.0,),
    f0_means_hz: tuple[float, ...] = (),
) -> list[Voice]:
    """Every voice x stretch, and x mean F0 for the voices that honour it (kal, kal16).

    Raises:
        MissingToolError: flite is missing.
        DatasetError: a voice is not compiled into the installed flite.
    """
    _check_available(names, flite_voice_names(), "flite voices")
    out = []
    for name in names:
        f0s: tuple[float | None, ...] = tuple(f0_means_hz) if name in FLITE_PITCHED_VOICES and f0_means_hz else (None,)
        out += [Voice("flite", name, duration_stretch=d, f0_mean_hz=f) for d in duration_stretches for f in f0s]
    return out


def command(voice: Voice, text: str, wav_path: str | Path) -> list[str]:
    """The argument list that makes ``voice`` say ``text`` into ``wav_path`` (no shell involved)."""
    if voice.engine == "espeak-ng":
        args = ["espeak-ng", "-v", voice.name]
        if voice.speed_wpm is not None:
            args += ["-s", str(voice.speed_wpm)]
        if voice.pitch is not None:
            args += ["-p", str(voice.pitch)]
        return [*args, "-w", str(wav_path), text]
    args = ["flite", "-voice", voice.name]
    if voice.duration_stretch is not None:
        args += ["--setf", f"duration_stretch={voice.duration_stretch:g}"]
    if voice.f0_mean_hz is not None:
        args += ["--setf", f"int_f0_target_mean={voice.f0_mean_hz:g}"]
    return [*args, "-t", text, "-o", str(wav_path)]


def resample(audio: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Resample between integer rates with ``scipy.signal.resample_poly`` (ratio reduced by the gcd)."""
    if rate_in == rate_out:
        return np.asarray(audio, dtype=np.float64)
    g = gcd(int(rate_in), int(rate_out))
    return signal.resample_poly(np.asarray(audio, dtype=np.float64), int(rate_out) // g, int(rate_in) // g)


def _to_float(data: Any, path: Path) -> np.ndarray:
    x = np.asarray(data)
    if x.ndim == 2:
        x = x.mean(axis=1)
    if x.dtype.kind == "i":
        return x.astype(np.float64) / float(-np.iinfo(x.dtype).min)
    if x.dtype.kind == "u":
        half = (np.iinfo(x.dtype).max + 1) / 2
        return (x.astype(np.float64) - half) / half
    if x.dtype.kind == "f":
        return x.astype(np.float64)
    raise DatasetError(f"{path}: unsupported WAV sample type {x.dtype}")


def synthesize(voice: Voice, text: str, sample_rate: int = 16000, workdir: str | Path | None = None) -> np.ndarray:
    """Say ``text`` with ``voice``; return mono float64 samples in full-scale units at ``sample_rate``.

    Args:
        voice: the speaker.
        text: what to say (passed as one argument, never through a shell).
        sample_rate: output rate in Hz.
        workdir: folder for the temporary WAV (default: a fresh temporary folder).

    Returns:
        ``(T,)`` float64 samples.

    Raises:
        MissingToolError: the engine's program is missing (the message says how to install it).
        DatasetError: the program failed or wrote no audio.
    """
    with tempfile.TemporaryDirectory(dir=workdir, prefix="neuro-tts-") as tmp:
        path = Path(tmp) / "speech.wav"
        _run(command(voice, text, path))
        try:
            rate, data = wavfile.read(path)
        except (OSError, ValueError) as exc:
            raise DatasetError(f"{voice.engine} wrote no readable WAV for {text!r} with voice {voice.key}: {exc}") from exc
    x = _to_float(data, path)
    if x.size == 0:
        raise DatasetError(f"{voice.engine} produced empty audio for {text!r} with voice {voice.key}")
    return resample(x, int(rate), int(sample_rate))
