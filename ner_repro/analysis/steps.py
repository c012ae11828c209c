"""Each workflow analysis as one function from files to files.

The rules in ``workflow/rules/evaluate.smk`` call these through thin scripts; the
science is in :mod:`ner_repro.analysis.decoding`, :mod:`ner_repro.analysis.alignment` and
:mod:`ner_repro.analysis.evaluation`. Every output records the evaluation mode, the seed and
what it was computed from.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ner_repro.analysis import evaluation
from ner_repro.analysis.alignment import align_to_anchor, trial_averages
from ner_repro.analysis.controls import shuffled_label_decoding
from ner_repro.analysis.decoding import in_sample_analysis
from ner_repro.core import atomic, provenance
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.core.types import PathLike

log = logging.getLogger(__name__)


def load_runs(paths: Sequence[PathLike]) -> list[EmbeddingRun]:
    return [EmbeddingRun.load(p) for p in paths]


def _meta(runs: Sequence[EmbeddingRun], **extra: object) -> str:
    return provenance.to_json(
        provenance.run_metadata(
            runs=[{"method": r.method, "session": r.session, "seed": r.seed} for r in runs], **extra
        )
    )


def explained_variance(
    embeddings: Sequence[PathLike],
    csv: PathLike,
    npz: PathLike,
    *,
    mode: str,
    group: str,
    n_jobs: int = 1,
) -> None:
    """Fig4: in-sample and test decoding of every run (linear decoders, as the paper plots)."""
    runs = load_runs(embeddings)
    table = evaluation.explained_variance_table(
        runs, mode, dataset=group, n_jobs=n_jobs, log=log.info
    )
    arrays = table.arrays()
    arrays["meta_json"] = _meta(runs, mode=mode, group=group)
    evaluation.write_table(table.frame, csv)
    evaluation.write_arrays(npz, arrays)


def cross_decode(
    embeddings: Sequence[PathLike],
    csv: PathLike,
    npz: PathLike,
    *,
    mode: str,
    decoder: str,
    group: str,
    n_jobs: int = 1,
) -> None:
    """Fig5-7: self- (diagonal) and cross-session decoding of one method."""
    runs = load_runs(embeddings)
    result = evaluation.cross_decode(
        runs,
        mode,
        decoders=(decoder,),
        dataset=group,
        n_jobs=n_jobs,
        on_tie="positive",
        log=log.info,
    )
    arrays = result.arrays()
    summary = evaluation.cross_summary(result)
    for _, row in summary.iterrows():
        for stat in ("diag_mean", "offdiag_mean", "diag_sd", "offdiag_sd"):
            arrays[f"summary_{row['decoder']}_{row['metric']}_{stat}"] = row[stat]
    arrays["meta_json"] = _meta(runs, mode=mode, group=group, decoder=decoder)
    evaluation.write_table(result.frame, csv)
    evaluation.write_arrays(npz, arrays)


def method_stats(
    tables: Sequence[PathLike], out: PathLike, *, methods: Sequence[str], decoder: str
) -> None:
    """Paired tests between methods on the diagonal and off-diagonal elements (Fig5-7 statistics)."""
    frame = pd.concat([pd.read_csv(p) for p in tables], ignore_index=True)
    rows = []
    for metric in ("vel_R2", "pos_R2", "peak_dir_acc"):
        for subset in ("diag", "offdiag"):
            try:
                rows.append(
                    evaluation.compare_methods(
                        frame, methods, metric=metric, decoder=decoder, subset=subset
                    )
                )
            except ValueError as exc:  # e.g. a single session: no off-diagonal elements
                rows.append(
                    {"metric": metric, "decoder": decoder, "subset": subset, "note": str(exc)}
                )
    result = pd.DataFrame(rows)
    result.insert(0, "methods", "+".join(methods))
    result.insert(1, "mode", frame["mode"].iloc[0] if len(frame) else "")
    with atomic.atomic_path(out, suffix=".csv") as tmp:
        result.to_csv(tmp, index=False)


def _anchor_averages(anchor: EmbeddingRun, t_dur: int) -> np.ndarray:
    """The anchor's training direction averages, cut to ``t_dur`` bins around its centre
    where it is longer (the authors align 35-bin S1 trials to bins [2:37] of the 40-bin anchor)."""
    avg, _ = trial_averages(anchor.train, anchor.labels_train, anchor.t_dur)
    if anchor.t_dur == t_dur:
        return avg
    if anchor.t_dur < t_dur:
        raise ValueError(
            f"anchor {anchor.session} has {anchor.t_dur} bins per trial, fewer than {t_dur}"
        )
    start = (anchor.t_dur - t_dur) // 2
    return avg[start : start + t_dur]


def rotate_to_anchor(
    embeddings: Sequence[PathLike], anchor_path: PathLike, npz: PathLike, *, mode: str
) -> None:
    """Fig3/6/7: each session's training embedding rotated onto an anchor's direction averages.

    Saves per session ``{i}_aligned`` (T_tr, d), ``{i}_angle`` (T_tr,), and stacked
    ``averages`` / ``aligned_averages`` (n, t_dur, d, 8), ``rotations`` (n, d, d),
    ``rmse_before`` / ``rmse_after`` (n,), ``sessions``, ``anchor_averages``.
    """
    runs = evaluation.canonical_order(load_runs(embeddings))
    anchor = EmbeddingRun.load(anchor_path)
    arrays: dict[str, object] = {
        "sessions": np.array([r.session for r in runs]),
        "anchor": f"{anchor.method}-{anchor.session}",
        "mode": mode,
        "method": runs[0].method if runs else "",
    }
    averages, aligned_avgs, rotations, before, after, chosen = [], [], [], [], [], []
    for i, run in enumerate(runs):
        target = _anchor_averages(anchor, run.t_dur)
        result = align_to_anchor(
            run.train, run.labels_train, target, run.t_dur, mode, on_tie="positive"
        )
        averages.append(result.averages)
        aligned_avgs.append(result.aligned_averages)
        rotations.append(result.alignment.R)
        before.append(result.rmse_before)
        after.append(result.rmse_after)
        chosen.append(result.alignment.chosen_direction)
        arrays[f"{i}_aligned"] = result.aligned
        arrays[f"{i}_angle"] = run.labels_train[:, 2]
        log.info(
            "%s -> %s: RMSE %.4f -> %.4f",
            run.session,
            arrays["anchor"],
            result.rmse_before,
            result.rmse_after,
        )
    t_dur = {r.t_dur for r in runs}
    arrays.update(
        averages=np.array(averages),
        aligned_averages=np.array(aligned_avgs),
        rotations=np.array(rotations),
        rmse_before=np.array(before),
        rmse_after=np.array(after),
        chosen_direction=np.array(chosen),
        anchor_averages=_anchor_averages(anchor, min(t_dur) if t_dur else anchor.t_dur),
        meta_json=_meta([*runs, anchor], mode=mode),
    )
    atomic.save_npz(npz, arrays)


def shuffled_label_control(
    embeddings: Sequence[PathLike], csv: PathLike, labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """The shuffled-label control table (:func:`ner_repro.analysis.controls.shuffled_label_decoding`)."""
    table = shuffled_label_decoding(load_runs(embeddings), labels)
    evaluation.write_table(table, csv)
    return table


def insample(embedding: PathLike, npz: PathLike, csv: PathLike) -> None:
    """Fig1: in-sample linear decoding of the training split, per-axis R² and OLS p-values."""
    run = EmbeddingRun.load(embedding)
    result = in_sample_analysis(run.train, run.labels_train, run.t_dur)
    arrays = {
        "method": run.method,
        "session": run.session,
        "seed": np.int64(run.seed),
        "t_dur": np.int64(run.t_dur),
        "loss": run.loss,
        "loss_name": run.loss_name,
        "embedding": run.train,
        "labels": run.labels_train,
        "vel_r2": result.vel_r2,
        "pos_r2": result.pos_r2,
        "r2_axis": result.r2_axis,
        "pvalues": result.pvalues,
        "true_vel": result.true_vel,
        "pred_vel": result.pred_vel,
        "true_pos": result.true_pos,
        "pred_pos": result.pred_pos,
        "pred_dir_deg": result.pred_dir_deg,
        "dir_mae_deg": result.dir_mae_deg,
        "dir_acc": result.dir_acc,
        "final_loss": float(np.mean(run.loss[-10:])) if run.loss.size else np.nan,
        "meta_json": _meta([run]),
    }
    atomic.save_npz(npz, {k: v for k, v in arrays.items() if v is not None})
    table = pd.DataFrame(
        [
            {
                "method": run.method,
                "session": run.session,
                "seed": run.seed,
                "metric": k,
                "value": v,
            }
            for k, v in (
                ("vel_R2", result.vel_r2),
                ("pos_R2", result.pos_r2),
                ("vel_R2_x", result.r2_axis[0]),
                ("vel_R2_y", result.r2_axis[1]),
                ("dir_acc", result.dir_acc),
                ("dir_MAE_deg", result.dir_mae_deg),
                ("final_loss", arrays["final_loss"]),
            )
        ]
    )
    evaluation.write_table(table, csv)
