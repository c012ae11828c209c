#!/usr/bin/env python3
"""Print the README's "What we measured on the real data" table from a report CSV.

Usage::

    python tools/measured_table.py results/paper_subset/report/report.csv [--figures Fig1,Fig4,Fig7]

The table is :func:`ner_repro.report.measured_table` of the CSV the ``report`` rule writes:
per figure and method the share of directly comparable published numbers reproduced,
then every published number with ours in paper mode (mean ± SD over seeds), the range
over seeds and the report's verdict and reason.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ner_repro import report


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("csv", type=Path, help="the report's CSV (report rule, output csv)")
    ap.add_argument("--figures", help="comma-separated figures (default: all)")
    ap.add_argument("--all-rows", action="store_true", help="also rows with no number of ours")
    args = ap.parse_args(argv)
    if not args.csv.is_file():
        ap.error(f"{args.csv}: no such file (run the report rule first)")
    frame = report.read_comparison(args.csv)
    figures = args.figures.split(",") if args.figures else None
    sys.stdout.write(report.measured_table(frame, figures, include_not_computable=args.all_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
