"""Command line: ``python -m lamina summary FILE`` and ``python -m lamina explain FILE``.

``summary FILE.keras`` loads the model without compiling it (no training step is built) and prints the
classic Keras summary; ``summary FILE.weights.h5`` lists the weight groups, names, shapes and parameter
counts stored in the file. ``explain FILE.keras`` prints ``lamina.explain.explain(model)``.

>>> main(["--help"])  # doctest: +ELLIPSIS
usage: python -m lamina ...
0
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

USAGE = "python -m lamina {summary,explain} FILE"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lamina", usage=f"{USAGE}\n       python -m lamina --help",
                                     description="Inspect Keras 3 / lamina model files.")
    sub = parser.add_subparsers(dest="command")
    summary = sub.add_parser("summary", help="print the classic summary of a .keras or .weights.h5 file")
    summary.add_argument("file")
    explain = sub.add_parser("explain", help="explain the shapes of a .keras model (lamina.explain)")
    explain.add_argument("file")
    return parser


def weights_file_summary(path: str, print_fn: Callable[[str], Any] = print) -> int:
    """Print the weights stored in a ``.weights.h5`` file; returns the number of parameters."""
    from lamina.saving import safety
    from lamina.saving.h5_weights import _read_vars
    from lamina.saving.keras_file import _open_h5

    safety.check_magic(path, "hdf5")
    rows: list[tuple[str, str, str, int]] = []
    total = 0
    with _open_h5(path, path) as h5:
        groups: list[str] = []
        h5.visit(lambda name: groups.append(name) if name == "vars" or name.endswith("/vars") else None)
        for name in sorted(groups, key=lambda n: (n != "vars", n)):
            group = safety.safe_group(h5, name)
            datasets = _read_vars(group, name)
            count = int(sum(math.prod(ds.shape) for ds in datasets))
            if not name.startswith("optimizer/"):
                total += count
            shapes = ", ".join(str(tuple(ds.shape)) for ds in datasets) or "-"
            path_text = "(model)" if name == "vars" else name[:-len("/vars")]
            rows.append((path_text, str(group.attrs.get("name", "")), shapes, count))
    width = 98
    print_fn(f'Weights file: "{path}"')
    print_fn("_" * width)
    print_fn(f"{'Path':<40}{'Name':<20}{'Shapes':<28}{'Param #':<10}")
    print_fn("=" * width)
    for i, (p, n, s, c) in enumerate(rows):
        print_fn(f"{p:<40}{n:<20}{s:<28}{c:<10}")
        print_fn("_" * width if i < len(rows) - 1 else "=" * width)
    print_fn(f"Total params: {total:,}")
    print_fn("_" * width)
    return total


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = _parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.command is None:
        parser.print_usage()
        return 2
    from lamina.saving import load_model

    try:
        if args.command == "summary" and args.file.endswith(".weights.h5"):
            weights_file_summary(args.file)
            return 0
        model = load_model(args.file, compile=False)
        if args.command == "summary":
            model.summary()
            return 0
        if importlib.util.find_spec("lamina.explain") is None:
            print("lamina.explain is not available in this installation.", file=sys.stderr)
            return 1
        from lamina.explain import explain

        explain(model)
        return 0
    except (ValueError, OSError, TypeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
