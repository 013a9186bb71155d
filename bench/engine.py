"""Engine vs. naive per-line transformers (the model card's snippet), same machine, same run, same inputs.

Builds the real TrOCR architectures (configs in ../shared/model-configs, no weights) with
random weights, saves them and loads them back through from_pretrained. Random weights never
emit </s>, so both sides are forced to produce exactly --tokens tokens per line: equal work.

    python bench/engine.py [--models small,base] [--lines 8] [--tokens 16] [--batch-size 8]

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("DO_NOT_TRACK", "1")

import numpy as np  # noqa: E402
from PIL import Image, ImageDraw  # noqa: E402

from trocr_plugin.engine import DecodeOptions, Engine  # noqa: E402
from trocr_plugin.engine._imports import VisionEncoderDecoderConfig, torch, transformers  # noqa: E402
from trocr_plugin.engine.build import build_tokenizer, random_model, save_model  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1].parent / "shared" / "model-configs"
ARCHITECTURES = {"small": "trocr-small-handwritten", "base": "trocr-base-handwritten"}
WORDS = ["the", "quick", "brown", "fox", "jumps", "over", "a", "lazy", "dog", "Dear", "Sir",
         "received", "with", "thanks"]


def line_images(n: int, seed: int = 0) -> list[Image.Image]:
    """Line images of varied widths (2 to 9 words), drawn with PIL's default font."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n):
        text = " ".join(rng.choice(WORDS, size=int(rng.integers(2, 10))))
        image = Image.new("RGB", (8 * len(text) + 16, 32), "white")
        ImageDraw.Draw(image).text((8, 10), text, fill=(20, 20, 20))
        images.append(image)
    return images


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(name: str, directory: Path) -> Path:
    source = CONFIGS / ARCHITECTURES[name]
    config = VisionEncoderDecoderConfig.from_pretrained(source)
    tokenizer = build_tokenizer(vocab_size=config.decoder.vocab_size)
    model = random_model(config, seed=0)
    preprocessor = json.loads((source / "preprocessor_config.json").read_text())
    return save_model(model, tokenizer, directory / name, preprocessor=preprocessor)


def naive(model_dir: Path, images, tokens: int) -> dict:
    """The TrOCR model card's snippet, one line at a time, with the model's shipped config
    (KV cache off). transformers 5 removed the image-to-text pipeline; this is what it ran."""
    from transformers import AutoImageProcessor, AutoTokenizer, VisionEncoderDecoderModel

    model = VisionEncoderDecoderModel.from_pretrained(model_dir).eval()
    processor = AutoImageProcessor.from_pretrained(model_dir)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)

    def read(image) -> str:
        pixel_values = processor(images=image, return_tensors="pt").pixel_values
        ids = model.generate(pixel_values, min_new_tokens=tokens, max_new_tokens=tokens)
        return tokenizer.batch_decode(ids, skip_special_tokens=True)[0]

    read(images[0])  # warm-up
    started = time.perf_counter()
    outputs = [read(image) for image in images]
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "texts": outputs}


def ours(model_dir: Path, images, tokens: int, batch_size: int) -> dict:
    engine = Engine(str(model_dir), device="cpu", max_batch_size=batch_size)
    options = DecodeOptions(min_new_tokens=tokens, max_new_tokens=tokens)
    engine.recognize(images[:1], options)  # warm-up
    started = time.perf_counter()
    results = engine.recognize(images, options)
    seconds = time.perf_counter() - started
    engine.close()
    return {"seconds": seconds, "texts": [r.text for r in results]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="small,base")
    parser.add_argument("--lines", type=int, default=8)
    parser.add_argument("--tokens", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=8)
    args = parser.parse_args()

    images = line_images(args.lines)
    report = {
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "processor": platform.processor() or platform.machine(),
                    "python": sys.version.split()[0], "torch": torch.__version__,
                    "transformers": transformers.__version__},
        "lines": args.lines, "tokens_per_line": args.tokens, "batch_size": args.batch_size,
        "results": {},
    }
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.models.split(","):
            model_dir = build(name, Path(tmp))
            base = naive(model_dir, images, args.tokens)
            fast = ours(model_dir, images, args.tokens, args.batch_size)
            agree = sum(a.strip() == b for a, b in zip(base["texts"], fast["texts"], strict=True))
            report["results"][name] = {
                "naive_lines_per_s": round(args.lines / base["seconds"], 3),
                "naive_ms_per_line": round(1000 * base["seconds"] / args.lines, 1),
                "engine_lines_per_s": round(args.lines / fast["seconds"], 3),
                "engine_ms_per_line": round(1000 * fast["seconds"] / args.lines, 1),
                "speedup": round(base["seconds"] / fast["seconds"], 2),
                "same_text_as_naive": f"{agree}/{args.lines}",
                "peak_rss_mb_so_far": round(peak_rss_mb()),
            }
            print(json.dumps({name: report["results"][name]}), file=sys.stderr)
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
