"""Read line images with the Python API and print text with confidence.

    python examples/recognize_lines.py examples/lines/*.png [--model DIR_OR_HUB_ID]
"""

import argparse

import trocr_plugin


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", nargs="+")
    parser.add_argument("--model", help="hub id or local directory (default: $TROCR_PLUGIN_MODEL)")
    args = parser.parse_args()
    for result in trocr_plugin.recognize(args.images, names=args.images, model=args.model):
        if result.ok:
            print(f"{result.confidence:.2f}  {result.text}    ({result.source})")
        else:
            print(f"ERROR {result.source}: {result.error}")


if __name__ == "__main__":
    main()
