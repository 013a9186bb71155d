"""Image input: a path, bytes, a file object, a PIL image or a numpy array -> an RGB PIL image.

Every PIL mode is accepted (1, L, LA, P, RGB, RGBA, CMYK, I;16, I, F, ...); transparency is
composited on white (ink on paper); EXIF orientation is applied. Limits on size are checked
from the header, before any pixel is decoded. Errors are InputError naming the input.
"""

from __future__ import annotations

import io
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from PIL import Image, ImageOps, ImageSequence, UnidentifiedImageError

from .errors import InputError

ImageInput = str | os.PathLike | bytes | bytearray | BinaryIO | Image.Image | np.ndarray

_SIGNATURES = {
    b"\x89PNG\r\n\x1a\n": "PNG",
    b"\xff\xd8\xff": "JPEG",
    b"GIF8": "GIF",
    b"II*\x00": "TIFF",
    b"MM\x00*": "TIFF",
    b"BM": "BMP",
}


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        return int(value)
    except ValueError as err:
        raise ValueError(f"{name}={value!r} is not an integer") from err


@dataclass(frozen=True)
class ImageLimits:
    """Bounds on an input image. max_pixels guards against decompression bombs."""

    max_pixels: int = 100_000_000
    min_side: int = 2

    @classmethod
    def from_env(cls) -> ImageLimits:
        return cls(
            max_pixels=_env_int("TROCR_PLUGIN_MAX_PIXELS", cls.max_pixels),
            min_side=_env_int("TROCR_PLUGIN_MIN_SIDE", cls.min_side),
        )


def describe(source: Any, index: int | None = None) -> str:
    """A short human name for an input, used in results and error messages."""
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    suffix = f" #{index}" if index is not None else ""
    if isinstance(source, bytes | bytearray):
        return f"<bytes{suffix}>"
    if isinstance(source, Image.Image):
        return f"<PIL image{suffix}>"
    if isinstance(source, np.ndarray):
        return f"<array{suffix}>"
    name = getattr(source, "name", None)
    if isinstance(name, str):
        return name
    return f"<{type(source).__name__}{suffix}>"


def load_image(
    source: ImageInput, name: str | None = None, limits: ImageLimits | None = None
) -> Image.Image:
    """Read any supported input as a fully decoded RGB image (its first frame), or raise InputError."""
    name = name or describe(source)
    return to_rgb(_apply_exif(open_image(source, name, limits), name), name)


def iter_frames(
    source: ImageInput, name: str | None = None, limits: ImageLimits | None = None
) -> Iterator[Image.Image]:
    """Every frame of a multi-frame image (TIFF, GIF, ...) as an RGB image, one at a time."""
    name = name or describe(source)
    image = open_image(source, name, limits)
    for index, frame in enumerate(ImageSequence.Iterator(image)):
        try:
            frame.load()
        except (OSError, SyntaxError, ValueError, EOFError) as err:
            raise InputError(name, f"frame {index + 1} is corrupt ({err})") from err
        yield to_rgb(_apply_exif(frame.copy(), name), name)


def open_image(
    source: ImageInput, name: str | None = None, limits: ImageLimits | None = None
) -> Image.Image:
    """Open and check an input without converting it: a PIL image, its size within limits."""
    limits = limits or ImageLimits.from_env()
    name = name or describe(source)
    if isinstance(source, Image.Image):
        _check_size(source.size, name, limits)
        return source
    if isinstance(source, np.ndarray):
        image = _from_array(source, name)
        _check_size(image.size, name, limits)
        return image
    if isinstance(source, str | os.PathLike):
        path = Path(source)
        if not path.exists():
            raise InputError(name, "file not found")
        if path.is_dir():
            raise InputError(name, "is a directory, not an image file")
        return _open_bytes(path.read_bytes(), name, limits)
    if isinstance(source, bytes | bytearray):
        return _open_bytes(bytes(source), name, limits)
    if hasattr(source, "read"):
        return _open_bytes(source.read(), name, limits)
    raise InputError(name, f"unsupported input type {type(source).__name__}")


def _open_bytes(data: bytes, name: str, limits: ImageLimits) -> Image.Image:
    if not data:
        raise InputError(name, "empty file (0 bytes)")
    try:
        image = Image.open(io.BytesIO(data))
    except Image.DecompressionBombError as err:
        raise InputError(
            name, f"image too large to decode safely ({err}); Pillow refuses this size "
            "whatever TROCR_PLUGIN_MAX_PIXELS says"
        ) from err
    except UnidentifiedImageError as err:
        raise InputError(name, _unreadable(data)) from err
    _check_size(image.size, name, limits)  # from the header: before decoding any pixel
    try:
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError, struct.error) as err:
        kind = _sniff(data) or "image"
        raise InputError(name, f"corrupt or truncated {kind} data ({err})") from err
    return image


def _sniff(data: bytes) -> str | None:
    for signature, kind in _SIGNATURES.items():
        if data.startswith(signature):
            return kind
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "WebP"
    return None


def _unreadable(data: bytes) -> str:
    kind = _sniff(data)
    if kind is None:
        return f"not an image file (unrecognised content starting {data[:16]!r})"
    if kind == "PNG" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = struct.unpack(">II", data[16:24])
        if width == 0 or height == 0:
            return f"PNG header declares an empty image ({width}x{height} pixels)"
    return f"a {kind} file that cannot be decoded (corrupt header)"


def _check_size(size: tuple[int, int], name: str, limits: ImageLimits) -> None:
    width, height = size
    if width == 0 or height == 0:
        raise InputError(name, f"empty image ({width}x{height} pixels)")
    if width * height > limits.max_pixels:
        raise InputError(
            name,
            f"image too large: {width}x{height} = {width * height:,} pixels, over the limit of "
            f"{limits.max_pixels:,} (raise it with TROCR_PLUGIN_MAX_PIXELS)",
        )
    if min(width, height) < limits.min_side:
        raise InputError(
            name,
            f"image is {width}x{height} pixels, too small to hold a line of text "
            f"(each side needs at least {limits.min_side} pixels)",
        )


def _apply_exif(image: Image.Image, name: str) -> Image.Image:
    try:
        return ImageOps.exif_transpose(image) or image
    except (OSError, SyntaxError, ValueError, struct.error) as err:
        raise InputError(name, f"unreadable EXIF orientation ({err})") from err


def to_rgb(image: Image.Image, name: str = "<image>") -> Image.Image:
    """Convert any PIL mode to RGB: alpha over white, 16/32-bit and float scaled to 8 bits."""
    mode = image.mode
    if mode == "RGB":
        return image
    if mode == "P" and "transparency" in image.info:
        image, mode = image.convert("RGBA"), "RGBA"
    if mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return Image.alpha_composite(white, rgba).convert("RGB")
    if mode.startswith("I") or mode == "F":
        return Image.fromarray(_to_uint8(np.asarray(image)), "L").convert("RGB")
    try:
        return image.convert("RGB")
    except (ValueError, OSError) as err:
        raise InputError(name, f"cannot convert image mode {mode!r} to RGB ({err})") from err


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Scale integer or float pixel data to 0..255, keeping what the values mean."""
    if array.dtype == np.uint8:
        return array
    if array.dtype == np.bool_:
        return array.astype(np.uint8) * 255
    if np.issubdtype(array.dtype, np.floating):
        finite = np.nan_to_num(array.astype(np.float64), nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if finite.max(initial=0.0) <= 1.0 else 1.0
        return np.clip(finite * scale, 0, 255).round().astype(np.uint8)
    if array.dtype == np.uint16 or array.max(initial=0) > 255:
        if array.min(initial=0) >= 0 and array.max(initial=0) <= 65535:
            return (array.astype(np.float64) / 257.0).round().astype(np.uint8)
        lo, hi = float(array.min()), float(array.max())
        return ((array - lo) * (255.0 / max(hi - lo, 1.0))).round().astype(np.uint8)
    return np.clip(array, 0, 255).astype(np.uint8)


def _from_array(array: np.ndarray, name: str) -> Image.Image:
    """An RGB(A) or grayscale array, (H, W), (H, W, 1), (H, W, 3) or (H, W, 4), any dtype."""
    if array.size == 0:
        raise InputError(name, f"empty array (shape {array.shape})")
    if array.ndim == 3 and array.shape[2] == 1:
        array = array[:, :, 0]
    if array.ndim == 2:
        return Image.fromarray(_to_uint8(array), "L")
    if array.ndim == 3 and array.shape[2] in (3, 4):
        mode = "RGB" if array.shape[2] == 3 else "RGBA"
        return Image.fromarray(np.ascontiguousarray(_to_uint8(array)), mode)
    raise InputError(
        name, f"array of shape {array.shape} is not an image (expected HxW, HxWx1, HxWx3 or HxWx4)"
    )
