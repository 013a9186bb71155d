"""Shared fixtures: a tiny TrOCR model built offline and saved like a hub repository."""

import os

os.environ.setdefault("DO_NOT_TRACK", "1")  # unstructured pings on import otherwise
os.environ["HF_HUB_OFFLINE"] = "1"  # tests never touch the network
os.environ.pop("TROCR_PLUGIN_MODEL", None)

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """A ViT + TrOCR model with random weights (fixed seed) and an offline tokenizer.

    Its weights are spread wide enough that its readings depend on the image and end at
    varied lengths, which the equivalence tests need.
    """
    from trocr_plugin.engine.build import build_tokenizer, random_model, save_model, tiny_config

    tokenizer = build_tokenizer()
    model = random_model(tiny_config(len(tokenizer), init_std=0.5), seed=3, eos_bias=0.9)
    return str(save_model(model, tokenizer, tmp_path_factory.mktemp("tiny-trocr")))


@pytest.fixture(scope="session")
def engine(tiny_model_dir):
    from trocr_plugin.engine import Engine

    eng = Engine(tiny_model_dir, device="cpu", max_batch_size=4)
    yield eng
    eng.close()


def line_image(text: str, seed: int = 0, height: int = 24) -> Image.Image:
    """A line of text drawn with PIL's default font, with a little noise."""
    rng = np.random.default_rng(seed)
    width = max(16, 8 * len(text) + 8)
    image = Image.new("L", (width, height), 255)
    ImageDraw.Draw(image).text((4, 4), text, fill=int(rng.integers(0, 60)))
    noise = rng.normal(0, 12, (height, width))
    pixels = np.clip(np.asarray(image, dtype=np.float64) + noise, 0, 255).astype(np.uint8)
    return Image.fromarray(pixels).convert("RGB")


@pytest.fixture(scope="session")
def line_images():
    words = ["hello", "a", "handwriting and print", "12/03/2024", "Total: 41.50",
             "ok", "Dear Sir,", "the quick brown fox jumps", "x", "Name", "signed", "yes"]
    return [line_image(w, seed=i) for i, w in enumerate(words)]


@pytest.fixture(autouse=True)
def _fresh_plugins():
    """Each test starts from the default plugins."""
    from trocr_plugin import plugins

    plugins.reset()
    yield
    plugins.reset()
