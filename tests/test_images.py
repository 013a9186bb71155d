"""Every input form and PIL mode reads as RGB; every bad input gets an error naming it."""

import io
import struct
import zlib

import numpy as np
import pytest
from PIL import Image

from trocr_plugin.errors import InputError
from trocr_plugin.images import ImageLimits, iter_frames, load_image


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header declares width x height, with (almost) no pixel data."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        crc = zlib.crc32(kind + data) & 0xFFFFFFFF
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b""))
            + chunk(b"IEND", b""))


def png_bytes(image: Image.Image, **save) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", **save)
    return buf.getvalue()


@pytest.mark.parametrize("mode", ["1", "L", "LA", "P", "RGB", "RGBA", "CMYK", "I;16", "I", "F"])
def test_every_mode_becomes_rgb(mode):
    source = Image.new("RGB", (40, 12), (200, 200, 200)).convert(mode)
    rgb = load_image(source)
    assert rgb.mode == "RGB" and rgb.size == (40, 12)


def test_transparency_is_composited_on_white():
    ink = Image.new("RGBA", (10, 10), (0, 0, 0, 0))
    ink.putpixel((5, 5), (0, 0, 0, 255))
    rgb = load_image(ink)
    assert rgb.getpixel((0, 0)) == (255, 255, 255) and rgb.getpixel((5, 5)) == (0, 0, 0)
    palette = Image.new("P", (4, 4), 0)
    palette.info["transparency"] = 0
    assert load_image(palette).getpixel((1, 1)) == (255, 255, 255)


def test_sixteen_bit_keeps_its_brightness():
    array = np.full((6, 20), 65535 // 2, dtype=np.uint16)
    rgb = load_image(Image.fromarray(array))
    assert rgb.getpixel((3, 3)) == (127, 127, 127) or rgb.getpixel((3, 3)) == (128, 128, 128)


def test_exif_orientation_is_applied():
    image = Image.new("RGB", (30, 10), "white")
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif)
    assert load_image(buf.getvalue()).size == (10, 30)


@pytest.mark.parametrize(
    ("array", "expected"),
    [
        (np.zeros((8, 20), np.uint8), (0, 0, 0)),
        (np.ones((8, 20, 1), np.float32), (255, 255, 255)),
        (np.full((8, 20, 3), 1000, np.uint16), (4, 4, 4)),
        (np.dstack([np.zeros((8, 20, 3), np.uint8), np.zeros((8, 20), np.uint8)]), (255, 255, 255)),
        (np.ones((8, 20), bool), (255, 255, 255)),
    ],
)
def test_numpy_arrays(array, expected):
    rgb = load_image(array)
    assert rgb.size == (20, 8) and rgb.getpixel((0, 0)) == expected


def test_paths_bytes_and_file_objects(tmp_path):
    data = png_bytes(Image.new("L", (20, 8), 0))
    path = tmp_path / "line.png"
    path.write_bytes(data)
    for source in (path, str(path), data, io.BytesIO(data)):
        assert load_image(source).size == (20, 8)


def test_multi_frame_tiff_gives_every_frame(tmp_path):
    frames = [Image.new("L", (20, 8), v) for v in (0, 128, 255)]
    path = tmp_path / "pages.tif"
    frames[0].save(path, save_all=True, append_images=frames[1:])
    assert [f.getpixel((0, 0)) for f in iter_frames(path)] == [(0,) * 3, (128,) * 3, (255,) * 3]


def bad_inputs(tmp_path):
    good = png_bytes(Image.new("L", (200, 40), 255))
    files = {
        "empty.png": b"",
        "truncated.png": good[: len(good) // 2],
        "text.png": b"this is a text file, not a picture\n",
        "zero.png": png_header_only(0, 0),
        "sliver.png": png_bytes(Image.new("L", (1, 300), 0)),
        "huge.png": png_header_only(50000, 50000),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    return {
        "missing.png": "file not found",
        "empty.png": "empty file",
        "truncated.png": "truncated",
        "text.png": "not an image file",
        "zero.png": "0x0",
        "sliver.png": "too small",
        "huge.png": "too large",
    }


def test_each_bad_input_names_itself_and_the_problem(tmp_path):
    for name, problem in bad_inputs(tmp_path).items():
        path = str(tmp_path / name)
        with pytest.raises(InputError) as err:
            load_image(path)
        assert path in str(err.value) and problem in str(err.value), str(err.value)


def test_bad_arrays_and_limits():
    with pytest.raises(InputError, match="empty array"):
        load_image(np.zeros((0, 0), np.uint8))
    with pytest.raises(InputError, match="not an image"):
        load_image(np.zeros((4, 4, 7), np.uint8))
    with pytest.raises(InputError, match="over the limit of 100"):
        load_image(Image.new("L", (20, 20)), limits=ImageLimits(max_pixels=100))


def test_bad_inputs_in_a_batch_return_errors_beside_results(engine, tmp_path, line_images):
    cases = bad_inputs(tmp_path)
    paths = [str(tmp_path / name) for name in cases]
    results = engine.recognize([line_images[0], *paths, line_images[1]])
    assert results[0].ok and results[-1].ok
    for path, problem, result in zip(paths, cases.values(), results[1:-1], strict=True):
        assert not result.ok and result.source == path and problem in result.error
