"""The paper's published numbers as data: ``resources/published_numbers.tsv``.

One row per number the paper reports (and per published Fig5-7 matrix), with stable
identifiers, the value and where it comes from. The reproduction report
(:mod:`ner_repro.report`) compares its results against this table; :func:`load_published`
reads it.

The table is written once, by ``tools/extract_published.py`` (outside the runtime package), from the specification's reference documents -- the authors'
numbers as documented from their repository, in the specification's ``reference/`` folder (not
part of this repository; by default ``$NER_SHARED_DIR/spec/reference``; what each file holds is
summarised in ``docs/sources.md``):

* ``fig1-3-demo.md``: the Fig1 PDF titles (final loss, velocity/position R² of NER and CEBRA at
  5000 iterations on Chewie 20161014 M1) and the Fig3 batch final losses (20000 iterations,
  3-D NER/CEBRA and 16-D CEBRA, per M1 session);
* ``fig4-7-fig4-per-session.csv``: every Fig4 per-session value (position/velocity R², peak
  direction accuracy; train and test; the Mihili rows flagged unused);
* ``fig4-7-fig4-summary.csv``: the statistics the Fig4 plots show (group medians, peaks of the
  mean accuracy curves and their times, legend roundings);
* ``fig4-7-crossdecode-summary.csv`` and ``fig4-7-crossdecode-matrices-long.csv``: the Fig5-7
  diagonal and off-diagonal means, accuracy-curve peaks, and every matrix element;
  ``fig4-7.md`` for the one PDF title that differs from the rounded means (the Fig6 kNN
  pi-VAE position title, printed x100);
* ``fig8-baselines.md``: the Fig8 (MC_Maze) decoding R² per condition set and the final
  losses (its "Reported numbers" section).

The output is deterministic (sorted, fixed float formatting), so re-running it on unchanged
references gives an identical file.

Columns (:data:`COLUMNS`):

``id``
    ``figure/panel/method/session[>test_session]/split/decoder/metric/statistic``; unique.
``figure``, ``panel``
    The paper figure and the PDF or panel the number belongs to.
``method``
    ``NER``, ``CEBRA``, ``CEBRA_16D``, ``piVAE``, ``UMAP``, ``UMAP_label`` (the authors'
    ``Cebra`` is written ``CEBRA``).
``session``, ``test_session``
    ``{Monkey}_{YYYYMMDD}_{AREA}`` for per-session numbers; a group label for group
    statistics; a condition-set id such as ``curve-straight-38`` for Fig8. (``test_session``
    is reserved for single matrix elements and empty in this table.)
``sessions``
    For group statistics: the ``;``-separated sessions the published statistic covers.
``split``, ``decoder``
    ``train``/``test``; ``linear`` (LinearRegression + LogisticRegression) or ``knn``.
``metric``, ``statistic``
    e.g. ``vel_R2``/``value``, ``pos_R2``/``median``, ``vel_R2``/``offdiag_mean``,
    ``acc_curve``/``peak``, ``final_loss``/``value``. ``statistic`` ``matrix`` rows hold
    every element of one published matrix (``value`` = ``;``-separated, row-major over the
    ``sessions`` order; element [i, j] = train on session i, test on session j); the report
    uses them to restrict the published means to the sessions it has.
``r2_order``
    ``swapped`` where the authors computed ``r2_score(pred, true)``, ``correct`` for other
    R² values, empty for non-R² metrics.
``value``, ``display``
    The number (full precision where the source has it) and, where a figure shows it,
    the text shown (title or legend rounding).
``source``, ``note``
    The reference file and section; caveats (e.g. "unused by the paper's figures").
"""

from __future__ import annotations

import pandas as pd

from ner_repro.core.config import REPO_ROOT, SessionKey
from ner_repro.core.types import PathLike

PUBLISHED_TSV = REPO_ROOT / "resources" / "published_numbers.tsv"
#: The figures with published numbers, in the paper's order (the table's and the report's).
FIGURE_ORDER = ("Fig1", "Fig3", "Fig4", "Fig5", "Fig6", "Fig7", "Fig8")
COLUMNS = (
    "id",
    "figure",
    "panel",
    "method",
    "session",
    "test_session",
    "sessions",
    "split",
    "decoder",
    "metric",
    "statistic",
    "r2_order",
    "value",
    "display",
    "source",
    "note",
)


# -- reading the table -----------------------------------------------------------------------------
def load_published(path: PathLike = PUBLISHED_TSV) -> pd.DataFrame:
    """The published-numbers table; ``value`` as float except on ``matrix`` rows (kept in
    ``matrix_values``)."""
    table = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    is_matrix = table["statistic"] == "matrix"
    table["matrix_values"] = table["value"].where(is_matrix, "")
    table["value"] = pd.to_numeric(table["value"].where(~is_matrix, ""), errors="coerce")
    return table


def published_sessions(published: pd.DataFrame) -> set[str]:
    """Every session name the published per-session numbers and groups mention."""
    names = set()
    for _, row in published.iterrows():
        for s in [row["session"], *row["sessions"].split(";")]:
            if _is_session(s):
                names.add(s)
    return names


def _is_session(name: str) -> bool:
    try:
        SessionKey.parse(name)
    except ValueError:
        return False
    return True
