"""Traverse conditions and patch normalisation for ``vpr-traverse`` (private helper of
:mod:`neuro.datasets.vpr`).

A traverse is rendered in the order a camera would produce it: pose of the view window (small
jitter on every traverse but the first reference; viewpoint change), optics (blur), scene light
(illumination, contrast), sensor (noise), then clipping to [0, 1] and quantisation. The
magnitudes below are the condition at ``severity`` 1; a severity ``s`` scales each of them by ``s``
(log-scaled for gains and gamma), so ``s = 0`` leaves only the jitter.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from scipy import ndimage

from neuro.core.errors import ParameterError
from neuro.datasets._vpr_source import smooth_noise

# --- magnitudes at severity 1 --------------------------------------------------------------------
DARKEN = 0.5  # illumination: mean gain 1 - DARKEN * s (dusk)
GAIN_WANDER = 0.2  # illumination: smooth log-gain variation along the route (std)
GAMMA = 0.6  # illumination: gamma 1 + GAMMA * s (darker mid-tones) times a smooth variation
SHADING = 0.5  # illumination: peak-to-peak linear shading across the image, in a random direction
FOG = 0.7  # contrast: x -> c x + (1 - c) AIRLIGHT with c = 1 - FOG * s
AIRLIGHT = 0.8
NOISE_READ = 0.04  # noise: std = s (NOISE_READ + NOISE_SHOT sqrt(x))
NOISE_SHOT = 0.10
BLUR = (1.0, 2.0)  # blur: Gaussian std (rows, columns) in output pixels; wider along the motion
SHIFT = 0.1  # viewpoint: smooth window shift, in views (std)
ROTATE = np.deg2rad(5.0)  # viewpoint: smooth rotation (std)
ZOOM = 0.1  # viewpoint: smooth log-zoom (std)
MILD_GAIN = 0.05  # reference-2: per-image log-gain std
MILD_NOISE = 0.01  # reference-2: noise std

CONDITIONS: tuple[str, ...] = ("illumination", "contrast", "noise", "blur", "viewpoint", "hard")
EFFECTS: dict[str, tuple[str, ...]] = {
    "illumination": ("illumination",),
    "contrast": ("contrast",),
    "noise": ("noise",),
    "blur": ("blur",),
    "viewpoint": ("viewpoint",),
    "hard": ("viewpoint", "blur", "illumination", "contrast", "noise"),
}


class Pose(NamedTuple):
    """Per-image change of the view window: shift (source pixels), rotation (radians), zoom."""

    dy: np.ndarray
    dx: np.ndarray
    angle: np.ndarray
    scale: np.ndarray


def _smooth(rng: np.random.Generator, n: int) -> np.ndarray:
    return np.clip(smooth_noise(rng, n), -2.5, 2.5)


def pose(effects: tuple[str, ...], n: int, view: int, severity: float, jitter: float, rng: np.random.Generator) -> Pose:
    """Window changes of one traverse: i.i.d. jitter plus, with ``viewpoint``, a smooth lane change."""
    dy = jitter * view * rng.standard_normal(n)
    dx = jitter * view * rng.standard_normal(n)
    angle = np.zeros(n)
    scale = np.ones(n)
    if "viewpoint" in effects:
        dy += SHIFT * severity * view * _smooth(rng, n)
        dx += SHIFT * severity * view * _smooth(rng, n)
        angle += ROTATE * severity * _smooth(rng, n)
        scale *= np.exp(ZOOM * severity * _smooth(rng, n))
    return Pose(dy, dx, angle, scale)


def appearance(images: np.ndarray, effects: tuple[str, ...], severity: float, rng: np.random.Generator) -> np.ndarray:
    """Apply the photometric effects (``mild``, blur, illumination, contrast, noise) to a stack.

    Args:
        images: ``(n, H, W)`` float64 in [0, 1], consecutive places along the route.
        effects: effect names (see :data:`EFFECTS`; ``"mild"`` is the second reference's change).
        severity: in [0, 1].
        rng: the traverse's random stream.

    Returns:
        The changed stack, clipped to [0, 1].
    """
    n, h, w = images.shape
    s = severity
    out = images.copy()
    if "blur" in effects and s > 0:
        out = ndimage.gaussian_filter(out, (0.0, BLUR[0] * s, BLUR[1] * s), mode="nearest")
    if "illumination" in effects:
        gain = (1.0 - DARKEN * s) * np.exp(GAIN_WANDER * s * _smooth(rng, n))
        gamma = (1.0 + GAMMA * s) * np.exp(0.1 * s * _smooth(rng, n))
        theta = rng.uniform(0.0, 2.0 * np.pi, n)
        yy, xx = np.meshgrid(np.linspace(-0.5, 0.5, h), np.linspace(-0.5, 0.5, w), indexing="ij")
        ramp = np.cos(theta)[:, None, None] * yy + np.sin(theta)[:, None, None] * xx
        out = gain[:, None, None] * out ** gamma[:, None, None] * (1.0 + SHADING * s * ramp)
    if "contrast" in effects:
        c = (1.0 - FOG * s) * np.exp(0.1 * s * _smooth(rng, n))
        c = np.minimum(c, 1.0)[:, None, None]
        out = c * out + (1.0 - c) * AIRLIGHT
    if "mild" in effects:
        out = out * np.exp(MILD_GAIN * rng.standard_normal(n))[:, None, None]
    sigma = np.zeros(())
    if "noise" in effects:
        sigma = s * (NOISE_READ + NOISE_SHOT * np.sqrt(np.clip(out, 0.0, None)))
    if "mild" in effects:
        sigma = np.sqrt(sigma**2 + MILD_NOISE**2)
    if np.any(sigma > 0):
        out = out + sigma * rng.standard_normal(out.shape)
    return np.clip(out, 0.0, 1.0)


def quantise(images: np.ndarray, bits: int) -> np.ndarray:
    """Round to ``2**bits`` grey levels (``bits`` 0: unchanged)."""
    if bits == 0:
        return images
    levels = float(2**bits - 1)
    return np.round(images * levels) / levels


def _box_sum(a: np.ndarray, half: int) -> np.ndarray:
    """Sum over the (2 half + 1)² neighbourhood of each pixel, zero outside (direct summation)."""
    k = np.ones(2 * half + 1)
    rows = ndimage.correlate1d(a, k, axis=-2, mode="constant", cval=0.0)
    return ndimage.correlate1d(rows, k, axis=-1, mode="constant", cval=0.0)


def patch_normalise(image: np.ndarray, patch: int = 7) -> np.ndarray:
    """Patch normalisation of Hussaini et al. (VPRSNN ``processImage``), for one image or a stack.

    Each pixel is z-scored against the mean and (population) standard deviation of the
    ``patch``×``patch`` neighbourhood centred on it, counting only pixels inside the image (the
    reference pads with NaN and uses ``nanmean``/``nanstd``). ``z`` is clipped to [-1, 1], a
    featureless neighbourhood (0/0, NaN in the reference) gives 0, and the result is rescaled to
    ``(1 + z) / 2`` in [0, 1]; the reference stores ``uint8(255 (1 + z) / 2)`` instead. A standard
    deviation below 1e-6 of the image's largest deviation from its mean counts as featureless,
    so the result is invariant to ``a * image + b`` for any ``a > 0`` up to float rounding.

    Args:
        image: ``(H, W)`` or ``(..., H, W)`` real array (any scale; uint8 is fine).
        patch: odd neighbourhood side, at least 3 (the paper uses 7 on 28×28 images).

    Returns:
        float32 array of the same shape, in [0, 1]; a constant image maps to 0.5 everywhere.

    Raises:
        ParameterError: ``patch`` is not an odd integer >= 3 (field ``patch``), or ``image`` has
            fewer than 2 dimensions, is empty, not real or not finite (field ``image``).

    Example:
        >>> import numpy as np
        >>> out = patch_normalise(np.arange(16.0).reshape(4, 4), patch=3)
        >>> out.shape, out.dtype, float(out.min()) >= 0.0, float(out.max()) <= 1.0
        ((4, 4), dtype('float32'), True, True)
        >>> float(patch_normalise(np.full((5, 5), 3.0))[2, 2])
        0.5
    """
    if isinstance(patch, bool) or not isinstance(patch, int | np.integer) or patch < 3 or patch % 2 == 0:
        raise ParameterError(f"patch must be an odd integer >= 3, got {patch!r}", "patch")
    arr = np.asarray(image)
    if arr.ndim < 2 or arr.size == 0 or not (np.issubdtype(arr.dtype, np.integer) or np.issubdtype(arr.dtype, np.floating)):
        raise ParameterError(f"image must be a non-empty real array with >= 2 dimensions, got {arr.dtype} {arr.shape}", "image")
    x = arr.astype(np.float64)
    if not np.all(np.isfinite(x)):
        raise ParameterError("image holds NaN or infinite values", "image")
    half = patch // 2
    centred = x - x.mean(axis=(-2, -1), keepdims=True)
    count = _box_sum(np.ones(x.shape[-2:]), half)
    mean = _box_sum(centred, half) / count
    var = np.maximum(_box_sum(centred * centred, half) / count - mean * mean, 0.0)
    std = np.sqrt(var)
    scale = np.abs(centred).max(axis=(-2, -1), keepdims=True)
    flat = std <= 1e-6 * scale
    z = np.where(flat, 0.0, (centred - mean) / np.where(flat, 1.0, std))
    return ((1.0 + np.clip(z, -1.0, 1.0)) / 2.0).astype(np.float32)
