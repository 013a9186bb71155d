"""The `trocr-plugin` command line: recognize, eval, plugins."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from . import __version__
from .config import DEFAULT_MODEL, MODEL_ENV
from .default_plugins.pages import IMAGE_SUFFIXES
from .errors import InputError, PluginError, TrocrPluginError
from .types import Recognition

log = logging.getLogger("trocr_plugin")



def _engine_args(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("model and engine")
    group.add_argument("--model", help=f"hub id or local directory (default: ${MODEL_ENV}, "
                       f"else {DEFAULT_MODEL})")
    group.add_argument("--device", default="auto", help="cpu, cuda, cuda:1, mps or auto")
    group.add_argument("--dtype", default="auto", help="float32, bfloat16, float16 or auto")
    group.add_argument("--batch-size", type=_positive, default=16, help="max lines per batch")
    group.add_argument("--num-beams", type=_positive, default=1, help="beam width (1: greedy)")
    group.add_argument("--max-new-tokens", type=_positive, default=256,
                       help="most tokens read per line")


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return number


def _options(args: argparse.Namespace, **extra: Any) -> dict[str, Any]:
    return {
        "model": args.model, "device": args.device, "dtype": args.dtype,
        "max_batch_size": args.batch_size, "num_beams": args.num_beams,
        "max_new_tokens": args.max_new_tokens, **extra,
    }


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trocr-plugin", description="Read handwriting with TrOCR.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine does")
    sub = parser.add_subparsers(dest="command", required=True)

    rec = sub.add_parser("recognize", help="read line images",
                         description="Read images that each hold one line of text.")
    rec.add_argument("images", nargs="+", metavar="IMAGE",
                     help="line image files, or folders of them")
    _engine_args(rec)
    rec.add_argument("--n-best", type=_positive, default=1,
                     help="also list the n best readings (needs --num-beams >= n)")
    rec.add_argument("--tokens", action="store_true", help="include per-token confidences")
    rec.add_argument("--json", action="store_true", help="one JSON object per image (JSON Lines)")
    rec.set_defaults(func=cmd_recognize)

    ev = sub.add_parser("eval", help="measure CER/WER on a manifest",
                        description="MANIFEST is a TSV of image<TAB>text, paths relative to it.")
    ev.add_argument("manifest", metavar="MANIFEST")
    _engine_args(ev)
    ev.add_argument("--predictions", metavar="FILE",
                    help="also write each line's reading as JSON Lines")
    ev.add_argument("--json", action="store_true", help="print the report as JSON")
    ev.set_defaults(func=cmd_eval)

    pl = sub.add_parser("plugins", help="list the registered plugins")
    pl.add_argument("--json", action="store_true")
    pl.set_defaults(func=cmd_plugins)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="trocr-plugin: %(message)s")
    try:
        return args.func(args)
    except (TrocrPluginError, ValueError) as err:
        print(f"trocr-plugin: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _expand(paths: Sequence[str]) -> list[str]:
    """Folders expand to the image files inside them, sorted; files stay as given."""
    out = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            out.extend(str(p) for p in sorted(path.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES)
        else:
            out.append(raw)
    return out


def _progress(total: int, what: str) -> tqdm:
    # disable=None: a bar on a terminal, silence when stderr is a pipe or a file
    return tqdm(total=total, unit=what, file=sys.stderr, disable=None, dynamic_ncols=True)


def _handler():
    from .plugins import get_registry

    return get_registry().get("element_handler", "handwritten")


def _recognition_json(r: Recognition, tokens: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"file": r.source, "text": r.text, "confidence": r.confidence,
                           "model": r.model, "engine": r.engine}
    if r.error:
        out["error"] = r.error
    if r.alternatives:
        out["alternatives"] = [vars(a) for a in r.alternatives]
    if tokens:
        out["tokens"] = [vars(t) for t in r.tokens]
    return out


def cmd_recognize(args: argparse.Namespace) -> int:
    if args.n_best > args.num_beams:
        raise ValueError(f"--n-best {args.n_best} needs --num-beams >= {args.n_best}")
    images = _expand(args.images)
    if not images:
        raise InputError(" ".join(args.images), "no image files found")
    handler = _handler()
    options = _options(args, num_return_sequences=args.n_best, return_tokens=args.tokens)
    chunk = max(64, 4 * args.batch_size)  # bounds how many decoded images sit in memory
    failures = 0
    with _progress(len(images), "line") as bar:
        for start in range(0, len(images), chunk):
            paths = images[start : start + chunk]
            for r in handler.recognize(paths, names=paths, **options):
                failures += not r.ok
                if args.json:
                    line = json.dumps(_recognition_json(r, args.tokens), ensure_ascii=False)
                elif r.ok:
                    line = f"{r.source}\t{r.text}\t{r.confidence:.3f}"
                else:
                    line = f"{r.source}\t\tERROR: {r.error}"
                bar.write(line, file=sys.stdout)
                bar.update(1)
    if failures:
        print(f"trocr-plugin: {failures} of {len(images)} images could not be read",
              file=sys.stderr)
    return 1 if failures else 0


def cmd_eval(args: argparse.Namespace) -> int:
    from .evaluation import evaluate, read_manifest

    entries = read_manifest(args.manifest)
    handler = _handler()
    options = _options(args)
    handler.recognize([], **options)  # load the model now, so its loading is not timed
    names = {str(e.image): e for e in entries}

    def read(paths):
        return handler.recognize(paths, names=[str(p) for p in paths], **options)

    with _progress(len(entries), "line") as bar:
        report, recognitions = evaluate(entries, read, chunk_size=max(64, 4 * args.batch_size),
                                        progress=bar.update)
    model = next((r.model for r in recognitions if r.model), options["model"])
    report = {"manifest": args.manifest, "model": model, **report}
    if args.predictions:
        with open(args.predictions, "w", encoding="utf-8") as out:
            for r in recognitions:
                row = _recognition_json(r, tokens=False)
                row["reference"] = names[r.source].text if r.source in names else None
                out.write(json.dumps(row, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(report, ensure_ascii=False))
    else:
        for key, value in report.items():
            print(f"{key:>16}: {value:.4f}" if isinstance(value, float) else f"{key:>16}: {value}")
    return 0


def cmd_plugins(args: argparse.Namespace) -> int:
    from .plugins import get_registry

    try:
        listing = get_registry().as_dict()
    except PluginError as err:
        print(f"trocr-plugin: error: {err}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(listing, indent=2))
        return 0
    for kind, entries in listing.items():
        if kind == "failed_plugins":
            continue
        print(f"{kind.replace('_', ' ')}s:")
        for e in entries:
            print(f"  {e['name']:<14} {e['object']}  [{e['origin']}]")
    for name, why in listing.get("failed_plugins", {}).items():
        print(f"failed to load: {name}: {why}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
