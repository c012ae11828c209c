#!/usr/bin/env python3
"""Extract the paper's published numbers into ``resources/published_numbers.tsv``.

The parser is :mod:`ner_repro.data.published_numbers` (which documents the reference files it
reads and the columns it writes); this command only runs it.

Usage::

    python tools/extract_published.py [--reference DIR] [--out resources/published_numbers.tsv]

``DIR`` defaults to ``$NER_SHARED_DIR/spec/reference`` (``NER_SHARED_DIR`` defaults to
``../shared`` beside the checkout): the specification's reference tables, not part of this
repository (what each holds is summarised in ``docs/sources.md``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ner_repro.data import published_numbers


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reference", type=Path, default=published_numbers.default_reference_dir())
    parser.add_argument("--out", type=Path, default=published_numbers.PUBLISHED_TSV)
    args = parser.parse_args(argv)
    if not args.reference.is_dir():
        print(f"reference folder not found: {args.reference}", file=sys.stderr)
        return 1
    rows = published_numbers.extract(args.reference)
    published_numbers.write_tsv(rows, args.out)
    print(f"{len(rows)} published numbers -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
