"""Fig8 (MC_Maze straight vs curved reaches): what the figure needs and the steps that make it.

Sources: ``reference/fig8-baselines.md`` §1 (sets, labels ``[vx, vy, 0]``, split, 5000
iterations, train-set decoding, every panel), METHODS §1, §2 and §7.

Two source modes (:meth:`ner_repro.plan.Plan.fig8_sources`):

``trained``
    The DANDI 000128 NWB file (or, in the offline demo, a synthetic one written by
    :func:`ner_repro.mcmaze.write_synthetic_nwb`) is loaded once and cut into one session per
    condition set (:func:`write_sessions` -> ``sessions/MCMaze_<set>.npz``); the workflow's
    ``train_embedding`` rule trains every configured method on each set; :func:`analyse_trained`
    decodes each run.
``published``
    The NWB file is absent: the authors' own embeddings (``data_NER/Fig8/*.npz`` for NER,
    ``Fig8/Supp_Cebra/*.npz`` for the CEBRA supplement) are read by :func:`read_published` into the
    same :class:`~ner_repro.embedding.EmbeddingRun` (plus per-bin extras) and decoded by the same
    :func:`analyse`. Every figure says "from published embeddings". Sets whose embedding the
    authors did not ship (the straight set of panels 7b-d / 7c) are listed as skipped.

Files (relative to ``results_dir``):

=========================================================  =========================================
``analysis/mcmaze/condition_sets.csv``                     trials per set, type and version
``sessions/MCMaze_<set>.npz``                              one condition set (session contract)
``analysis/mcmaze/MCMaze_<set>/<method>_seed<seed>.npz``   decoding of a run trained here (+ .csv)
``analysis/mcmaze/MCMaze_<set>/<method>_published.npz``    decoding of the authors' run (+ .csv)
``figures/fig8/*.pdf``, ``figures/fig8/Fig8_decoding_R2.csv``  the panels and every number they show
=========================================================  =========================================

The analysis (:func:`analyse`) is the authors' (§1.7): ``LinearRegression`` from the training
embedding to (vx, vy), scored on the same training bins (vel R²), positions = per-trial cumulative
sum of true and predicted velocity (pos R²); the same regression applied to the test embedding
gives test R² (``r2_score(true, pred)``; no figure shows them, the table keeps them). Trial
averages of the latent trajectory are taken per target angle, over all trials, over the straight
trials (version 0) and over the curved ones (versions 1 and 2 pooled), as panels 7f / 7i draw them.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.linear_model import LinearRegression

from ner_repro import atomic, provenance
from ner_repro.decoding import in_sample_analysis, positions_from_velocity, r2
from ner_repro.embedding import EmbeddingRun
from ner_repro.errors import InputError
from ner_repro.mcmaze import ConditionSet, condition_set, condition_sets_from_config, load_mcmaze
from ner_repro.session import SessionData

if TYPE_CHECKING:  # plan imports this module lazily; keep the import one-way at run time
    from ner_repro.plan import FigureSpec, Plan

log = logging.getLogger(__name__)
PathLike = str | os.PathLike[str]

FIGURE = "fig8"
SESSION_PREFIX = "MCMaze_"
#: Bins per trial of the authors' files (100 five-ms bins, -50..450 ms around movement onset).
PUBLISHED_T_DUR = 100
#: ``seed`` recorded for the authors' runs, which set no seed.
UNSEEDED = -1
#: Folder of the authors' npz per method kind, relative to ``published_dir/Fig8``.
PUBLISHED_FOLDERS = {"ner": ".", "cebra": "Supp_Cebra"}
#: The paper's panel order per family (sets matched by their trial types), §1.8.
PAPER_PANELS: dict[str, tuple[tuple[int, ...], ...]] = {
    "curve-straight": ((38,), (18,), (13,), (13, 38, 18)),
    "curve-up-down": ((31, 38), (34, 18), (37, 1), (37, 1, 31, 38, 34, 18)),
}
#: How the trial-averaged latent trajectories of a family's sets are drawn (§1.8): straight
#: (version 0) vs curved (versions 1+2) per angle (7f), or one average per angle (7i).
FAMILY_STYLE = {"curve-straight": "versions", "curve-up-down": "angles"}
#: The authors' file-name stem per family (their PDFs say "straight-curve" for "curve-straight").
FAMILY_FILE = {"curve-straight": "straight-curve", "curve-up-down": "curve-up-down"}
#: Paper panel ids per (method kind, family, panel): NER = main figure, CEBRA = supplement.
PANEL_IDS = {
    ("ner", "curve-straight", "embedding"): "7f",
    ("ner", "curve-straight", "var"): "7g",
    ("ner", "curve-up-down", "embedding"): "7i",
    ("ner", "curve-up-down", "var"): "7j",
    ("cebra", "curve-straight", "embedding"): "S-b",
    ("cebra", "curve-straight", "var"): "S-c",
    ("cebra", "curve-up-down", "embedding"): "S-e",
    ("cebra", "curve-up-down", "var"): "S-f",
    ("ner", "straight", "decoding"): "7b-d",
    ("ner", "straight", "embedding"): "7c",
}


# -- names and paths ------------------------------------------------------------------------------
def session_name(cset: ConditionSet | str) -> str:
    """``MCMaze_<set>``: the workflow's session id of a condition set."""
    return SESSION_PREFIX + (cset if isinstance(cset, str) else cset.name)


def set_of(session: str) -> str:
    """The condition-set name of a ``MCMaze_<set>`` session id."""
    if not session.startswith(SESSION_PREFIX):
        raise ValueError(f"{session!r} is not an MC_Maze session id ({SESSION_PREFIX}<set>)")
    return session[len(SESSION_PREFIX) :]


def mcmaze_config(plan: Plan) -> Mapping[str, Any]:
    return plan.config.get("mcmaze") or {}


def condition_sets(plan: Plan) -> list[ConditionSet]:
    """The configured condition sets (the paper's when none are configured)."""
    return condition_sets_from_config(mcmaze_config(plan).get("condition_sets"))


def methods(plan: Plan) -> list[str]:
    return [str(m) for m in mcmaze_config(plan).get("methods") or []]


def sets_table(plan: Plan) -> Path:
    return plan.results / "analysis" / "mcmaze" / "condition_sets.csv"


def session_paths(plan: Plan) -> dict[str, Path]:
    """``{set name: sessions/MCMaze_<set>.npz}`` for every configured set."""
    return {cs.name: plan.session_npz(session_name(cs)) for cs in condition_sets(plan)}


def analysis_path(
    plan: Plan, method: str, cset: ConditionSet | str, seed: int | None, ext: str = "npz"
) -> Path:
    """Decoding of one run: trained here (``seed``) or the authors' (``seed=None``)."""
    stem = f"{method}_published" if seed is None else f"{method}_seed{seed}"
    return plan.results / "analysis" / "mcmaze" / session_name(cset) / f"{stem}.{ext}"


def published_file(published_fig8: PathLike, published: str, kind: str) -> Path | None:
    """The authors' npz of a set (``<published>_parameters_*.npz``) for a method kind, if shipped.

    NER files lie in ``Fig8/``, CEBRA files in ``Fig8/Supp_Cebra/``; the NER six-type file carries
    a ``_1st`` suffix (§1.9). The shortest matching name wins.
    """
    folder = PUBLISHED_FOLDERS.get(kind)
    if not published or folder is None:
        return None
    base = Path(published_fig8) / folder
    if not base.is_dir():
        return None
    found = sorted(base.glob(f"{published}_parameters_*.npz"), key=lambda p: (len(p.name), p.name))
    return found[0] if found else None


def published_input(plan: Plan, set_name: str, method: str) -> Path:
    """The authors' npz of a configured set for a method (rule ``mcmaze_analysis_published``)."""
    sets = {cs.name: cs for cs in condition_sets(plan)}
    if set_name not in sets:
        raise ValueError(f"condition set {set_name!r} is not configured (mcmaze.condition_sets)")
    folder = Path(plan.config["published_dir"]) / "Fig8"
    found = published_file(plan.workdir / folder, sets[set_name].published, plan.kind(method))
    if found is None:
        raise ValueError(
            f"no published Fig8 embedding of set {set_name} for method {method} under {folder}"
        )
    return found if folder.is_absolute() else folder / found.relative_to(plan.workdir / folder)


def panel_order(family: str, sets: Sequence[ConditionSet]) -> list[ConditionSet]:
    """The paper's panel order for a family (matched by trial types), other sets after, in order."""
    order = {tuple(t): i for i, t in enumerate(PAPER_PANELS.get(family, ()))}
    ranked = sorted(enumerate(sets), key=lambda p: (order.get(p[1].types, len(order)), p[0]))
    return [cs for _, cs in ranked]


def set_label(cset: ConditionSet) -> str:
    """The authors' short label: ``[13, 38, 18]``."""
    return "[" + ", ".join(str(t) for t in cset.types) + "]"


def _unique_labels(plan: Plan, names: Sequence[str]) -> dict[str, str]:
    labels = {m: plan.label(m) for m in names}
    counts = {v: list(labels.values()).count(v) for v in labels.values()}
    return {m: (lab if counts[lab] == 1 else m) for m, lab in labels.items()}


# -- the figure target ----------------------------------------------------------------------------
def figure_spec(plan: Plan) -> FigureSpec:
    """Inputs, outputs and parameters of the ``fig8`` target (see the module docstring).

    Outputs per method (file names ``<label>_<family>_<panel>.pdf``):

    * ``<method>:curve-straight:embedding`` / ``:var`` (7f / 7g; CEBRA: S-b / S-c) and
      ``<method>:curve-up-down:embedding`` / ``:var`` (7i / 7j; CEBRA: S-e / S-f), each with one
      panel per set of the family that has an input;
    * for every set of any other family (the paper's straight set): ``<method>:<set>:decoding``
      and ``<method>:<set>:embedding`` (7b-d, 7c);
    * ``table``: every number drawn (and the test-split R², which no panel shows).
    """
    from ner_repro.plan import FigureSpec

    spec = FigureSpec(FIGURE)
    sources = plan.fig8_sources()
    mc = mcmaze_config(plan)
    if not sources or not mc:
        return spec
    source = "trained" if "trained" in sources else "published"
    sets = condition_sets(plan)
    names = methods(plan)
    labels = _unique_labels(plan, names)
    seed = plan.figure_seed
    skipped: dict[str, str] = {}

    for m in names:
        kind = plan.kind(m)
        for cs in sets:
            if source == "trained":
                spec.inputs[f"{m}:{cs.name}"] = [str(analysis_path(plan, m, cs, seed))]
                continue
            found = published_file(plan.workdir / sources["published"], cs.published, kind)
            if found is None:
                why = "no NWB file; " + (
                    f"no published {labels[m]} embedding"
                    if cs.published
                    else "the authors published no embedding of this set"
                )
                skipped.setdefault(session_name(cs), why)
                continue
            spec.inputs[f"{m}:{cs.name}"] = [str(analysis_path(plan, m, cs, None))]

    families: dict[str, dict[str, Any]] = {}
    for cs in sets:
        families.setdefault(cs.family or "other", {"sets": []})["sets"].append(cs)
    for family, entry in families.items():
        ordered = panel_order(family, entry["sets"])
        entry["sets"] = [cs.name for cs in ordered]
        entry["style"] = FAMILY_STYLE.get(family, "single")
        entry["file"] = FAMILY_FILE.get(family, family)

    for m in names:
        for family, entry in families.items():
            present = [s for s in entry["sets"] if f"{m}:{s}" in spec.inputs]
            if not present:
                continue
            if entry["style"] == "single":
                for s in present:
                    for panel, stem in (
                        ("decoding", "Decoding_R2_Train"),
                        ("embedding", "Embedding"),
                    ):
                        spec.outputs[f"{m}:{s}:{panel}"] = plan._out(
                            FIGURE, f"{labels[m]}_{s}_{stem}.pdf"
                        )
                continue
            for panel in ("embedding", "var"):
                spec.outputs[f"{m}:{family}:{panel}"] = plan._out(
                    FIGURE, f"{labels[m]}_{entry['file']}_{panel}.pdf"
                )
    if spec.outputs:
        spec.outputs["table"] = plan._out(FIGURE, "Fig8_decoding_R2.csv")

    prov = plan.provenance()
    for key in ("example", "example_is_substitute", "example_requested"):
        prov.pop(key, None)
    prov["sessions"] = []
    prov["skipped"] = sorted(skipped)
    mc_synthetic = bool(mc.get("synthetic"))
    prov["simulated"] = source == "trained" and mc_synthetic
    if source == "published":
        prov.pop("seed", None)  # the authors' runs were not seeded
        prov["seeds"] = []
    spec.params = {
        **prov,
        "source": source,
        "source_path": sources[source],
        "synthetic": source == "trained" and mc_synthetic,
        "skipped_reasons": skipped,
        "sets": {
            cs.name: {
                "family": cs.family,
                "types": list(cs.types),
                "rule": cs.describe(),
                "label": set_label(cs),
                "published": cs.published,
            }
            for cs in sets
        },
        "families": {
            f: {"sets": e["sets"], "style": e["style"], "file": e["file"]}
            for f, e in families.items()
        },
        "methods": {m: {"label": labels[m], "kind": plan.kind(m)} for m in names},
        "labels": labels,
        "panel_ids": {"/".join(k): v for k, v in PANEL_IDS.items()},
    }
    return spec


# -- sessions from the NWB file -------------------------------------------------------------------
def write_sessions(
    nwb: PathLike,
    sessions: Mapping[str, PathLike],
    sets: Sequence[ConditionSet] | Mapping[str, Mapping[str, Any]],
    table: PathLike,
    *,
    bin_ms: int = 5,
    smooth_ms: float = 50,
    window_ms: Sequence[int] = (-50, 450),
    train_fraction: float = 0.8,
) -> list[SessionData]:
    """Load ``nwb`` once and write one session file per condition set, plus a table of trials.

    ``sessions`` maps set names to output paths (every set needs one); ``sets`` are
    :class:`ConditionSet` objects or the config mapping. The table has one row per set and
    (trial type, version) with the trial counts of the whole set and of its splits.
    """
    csets = list(sets) if not isinstance(sets, Mapping) else condition_sets_from_config(sets)
    missing = [cs.name for cs in csets if cs.name not in sessions]
    if missing:
        raise ValueError(f"no output path for condition set(s) {', '.join(missing)}")
    rec = load_mcmaze(nwb, bin_ms=bin_ms, smooth_ms=smooth_ms, window=tuple(window_ms))
    log.info(
        "%s: %d trials x %d bins x %d units (%d dropped)",
        nwb,
        rec.n_trials,
        rec.n_bins,
        rec.n_units,
        len(rec.dropped),
    )
    rows = []
    out = []
    for cs in csets:
        session = condition_set(rec, cs, train_fraction=train_fraction)
        session.meta["session_id"] = session_name(cs)
        session.save(sessions[cs.name])
        out.append(session)
        per_trial = slice(None, None, session.t_dur)
        ttype = session.extras["trial_type"][per_trial]
        version = session.extras["version"][per_trial]
        angle = session.extras["target_angle"][per_trial]
        train = session.is_train[per_trial]
        for (t, v), n in sorted(rec.counts(cs).items()):
            sel = (ttype == t) & (version == v)
            rows.append(
                {
                    "set": cs.name,
                    "session": session_name(cs),
                    "family": cs.family,
                    "rule": cs.describe(),
                    "trial_type": int(t),
                    "trial_version": int(v),
                    "target_angle_deg": float(np.unique(angle[sel])[0]) if sel.any() else np.nan,
                    "n_trials": int(n),
                    "n_train": int((sel & train).sum()),
                    "n_test": int((sel & ~train).sum()),
                    "set_trials": session.n_trials,
                    "set_train_trials": session.n_train_trials,
                    "dropped_in_file": len(rec.dropped),
                }
            )
        log.info(
            "%s (%s): %d trials, %d train / %d test -> %s",
            cs.name,
            cs.describe(),
            session.n_trials,
            session.n_train_trials,
            session.n_trials - session.n_train_trials,
            sessions[cs.name],
        )
    with atomic.atomic_path(table, suffix=".csv") as tmp:
        pd.DataFrame(rows).to_csv(tmp, index=False)
    return out


# -- runs: ours and the authors' ------------------------------------------------------------------
_EXTRAS = ("target_angle", "version")


def run_from_trained(embedding: PathLike, session: PathLike) -> EmbeddingRun:
    """A run trained here, with the per-bin ``target_angle`` / ``version`` (and ``trial_type``)
    of its session's train and test splits added as ``extras`` ``<name>_train`` / ``<name>_test``."""
    run = EmbeddingRun.load(embedding)
    data = SessionData.load(session)
    _, labels_train = data.split("train")
    _, labels_test = data.split("test")
    if labels_train.shape != run.labels_train.shape or not np.allclose(
        labels_train, run.labels_train
    ):
        raise InputError(
            embedding, f"training labels differ from those of its session file {session}"
        )
    if labels_test.shape != run.labels_test.shape:
        raise InputError(embedding, f"test split differs from that of its session file {session}")
    for name in (*_EXTRAS, "trial_type"):
        if name not in data.extras:
            if name in _EXTRAS:
                raise InputError(session, f"not an MC_Maze session: no per-bin '{name}'")
            continue
        values = np.asarray(data.extras[name])
        run.extras[f"{name}_train"] = values[data.is_train]
        run.extras[f"{name}_test"] = values[~data.is_train]
    run.meta.setdefault("mcmaze_session", str(session))
    return run


_PUBLISHED_KEYS = (
    "cebra_veldir_train",
    "cebra_veldir_test",
    "continuous_index_train",
    "continuous_index_test",
    "target_angle_train",
    "target_angle_test",
    "version_index_train",
    "version_index_test",
)
_LOSS_NAMES = {"ner": "RnC", "cebra": "InfoNCE"}


def read_published(
    path: PathLike, method: str, session: str, kind: str = "", t_dur: int = PUBLISHED_T_DUR
) -> EmbeddingRun:
    """The authors' Fig8 npz (§1.9) as an :class:`EmbeddingRun` with the same extras as ours.

    ``cebra_veldir_*`` -> ``train`` / ``test``; ``continuous_index_*`` (vx, vy, 0) -> labels;
    ``train_loss_stable`` (the full history) -> ``loss``; ``target_angle_*`` and
    ``version_index_*`` -> extras ``target_angle_*`` / ``version_*``. ``seed`` is
    :data:`UNSEEDED`. Checks the keys, the trial length and that angle and version are constant
    within every trial.
    """
    data = atomic.load_npz(path, _PUBLISHED_KEYS, "an authors' Fig8 file")
    for part in ("train", "test"):
        n = data[f"cebra_veldir_{part}"].shape[0]
        for key in ("continuous_index", "target_angle", "version_index"):
            if data[f"{key}_{part}"].shape[0] != n:
                raise InputError(
                    path, f"{key}_{part} has {data[f'{key}_{part}'].shape[0]} rows, expected {n}"
                )
        if n % t_dur:
            raise InputError(path, f"{part}: {n} rows is not a whole number of {t_dur}-bin trials")
        for key in ("target_angle", "version_index"):
            per_trial = data[f"{key}_{part}"].reshape(-1, t_dur)
            if not (per_trial == per_trial[:, :1]).all():
                raise InputError(path, f"{key}_{part} changes within a trial")
    loss = data.get("train_loss_stable", np.zeros(0))
    run = EmbeddingRun(
        method=method,
        session=session,
        seed=UNSEEDED,
        train=data["cebra_veldir_train"],
        test=data["cebra_veldir_test"],
        labels_train=data["continuous_index_train"],
        labels_test=data["continuous_index_test"],
        t_dur=t_dur,
        loss=loss,
        loss_name=_LOSS_NAMES.get(kind, ""),
        extras={
            "target_angle_train": data["target_angle_train"].astype(np.float64),
            "target_angle_test": data["target_angle_test"].astype(np.float64),
            "version_train": data["version_index_train"].astype(np.int64),
            "version_test": data["version_index_test"].astype(np.int64),
        },
        meta={
            "source": "published",
            "published_file": str(path),
            "published_sha256": provenance.sha256sum(path),
            "kind": kind,
            "seed": None,
            "note": "the authors' embedding (NeuroscienceAI/NER data_NER/Fig8); unseeded run",
        },
    )
    return run


# -- the analysis ---------------------------------------------------------------------------------
def angle_groups(angle: np.ndarray, decimals: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct target angles (rounded to ``decimals``) and each bin's group index."""
    rounded = np.round(np.asarray(angle, dtype=np.float64), decimals)
    values, index = np.unique(rounded, return_inverse=True)
    return values, index.reshape(-1)


def trial_average_by(
    emb: np.ndarray, group: np.ndarray, mask: np.ndarray, n_groups: int, t_dur: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean ``(t_dur, d)`` latent trajectory over the trials of each group (bins in ``mask``);
    NaN for groups without trials. Returns ``(averages (G, t_dur, d), trials per group (G,))``."""
    n_trials = emb.shape[0] // t_dur
    traj = emb.reshape(n_trials, t_dur, -1)
    g = group.reshape(n_trials, t_dur)[:, 0]
    keep = mask.reshape(n_trials, t_dur)[:, 0]
    avg = np.full((n_groups, t_dur, emb.shape[1]), np.nan)
    counts = np.zeros(n_groups, np.int64)
    for k in range(n_groups):
        sel = keep & (g == k)
        counts[k] = int(sel.sum())
        if counts[k]:
            avg[k] = traj[sel].mean(axis=0)
    return avg, counts


def analyse(run: EmbeddingRun) -> dict[str, Any]:
    """The Fig8 numbers and arrays of one run (ours or the authors'), as plain arrays.

    Keys: ``vel_r2``, ``pos_r2``, ``r2_axis`` (training split, in-sample, as the paper);
    ``vel_r2_test``, ``pos_r2_test`` (the training regression on the test split);
    ``true_pos``, ``pred_pos``, ``true_vel``, ``pred_vel``, ``embedding``, ``target_angle``,
    ``version`` (training bins); ``angles`` (A,) and the trial averages ``avg_all``,
    ``avg_straight`` (version 0), ``avg_curved`` (versions 1, 2) of shape (A, t_dur, d) with their
    trial counts ``n_all``, ``n_straight``, ``n_curved``; ``n_train_trials``, ``n_test_trials``,
    ``loss``, ``final_loss`` (mean of the last 10 values).
    """
    for key in ("target_angle_train", "version_train"):
        if key not in run.extras:
            raise InputError(
                f"{run.method}/{run.session}", f"run has no per-bin '{key}' (not an MC_Maze run)"
            )
    t_dur = run.t_dur
    result = in_sample_analysis(run.train, run.labels_train, t_dur, direction=False, pvalues=False)
    reg = LinearRegression().fit(run.train, run.labels_train[:, :2])
    test_vel = run.labels_test[:, :2]
    pred_test = np.asarray(reg.predict(run.test))
    vel_r2_test = r2(test_vel, pred_test)
    pos_r2_test = r2(
        positions_from_velocity(test_vel, t_dur), positions_from_velocity(pred_test, t_dur)
    )
    angle = np.asarray(run.extras["target_angle_train"], dtype=np.float64)
    version = np.asarray(run.extras["version_train"], dtype=np.int64)
    angles, group = angle_groups(angle)
    everything = np.ones(len(angle), bool)
    avg_all, n_all = trial_average_by(run.train, group, everything, len(angles), t_dur)
    avg_straight, n_straight = trial_average_by(run.train, group, version == 0, len(angles), t_dur)
    avg_curved, n_curved = trial_average_by(run.train, group, version > 0, len(angles), t_dur)
    out: dict[str, Any] = {
        "vel_r2": result.vel_r2,
        "pos_r2": result.pos_r2,
        "r2_axis": result.r2_axis,
        "vel_r2_test": vel_r2_test,
        "pos_r2_test": pos_r2_test,
        "true_vel": result.true_vel,
        "pred_vel": result.pred_vel,
        "true_pos": result.true_pos,
        "pred_pos": result.pred_pos,
        "embedding": run.train,
        "target_angle": angle,
        "version": version,
        "angles": angles,
        "avg_all": avg_all,
        "avg_straight": avg_straight,
        "avg_curved": avg_curved,
        "n_all": n_all,
        "n_straight": n_straight,
        "n_curved": n_curved,
        "n_train_trials": np.int64(run.train.shape[0] // t_dur),
        "n_test_trials": np.int64(run.test.shape[0] // t_dur),
        "t_dur": np.int64(t_dur),
        "loss": run.loss,
        "loss_name": run.loss_name,
        "final_loss": float(np.mean(run.loss[-10:])) if run.loss.size else np.nan,
    }
    if "trial_type_train" in run.extras:
        out["trial_type"] = np.asarray(run.extras["trial_type_train"], dtype=np.int64)
    return out


def _table(arrays: Mapping[str, Any]) -> pd.DataFrame:
    head = {k: arrays[k] for k in ("method", "label", "set", "source", "seed")}
    rows = [
        {**head, "split": split, "metric": metric, "value": float(arrays[key])}
        for split, metric, key in (
            ("train", "vel_R2", "vel_r2"),
            ("train", "pos_R2", "pos_r2"),
            ("test", "vel_R2", "vel_r2_test"),
            ("test", "pos_R2", "pos_r2_test"),
            ("train", "n_trials", "n_train_trials"),
            ("test", "n_trials", "n_test_trials"),
            ("train", "final_loss", "final_loss"),
        )
    ]
    rows.insert(2, {**head, "split": "train", "metric": "vel_R2_x", "value": arrays["r2_axis"][0]})
    rows.insert(3, {**head, "split": "train", "metric": "vel_R2_y", "value": arrays["r2_axis"][1]})
    return pd.DataFrame(rows)


def write_analysis(
    run: EmbeddingRun,
    npz: PathLike,
    csv: PathLike | None = None,
    *,
    set_name: str,
    label: str = "",
    source: str,
    inputs: Mapping[str, PathLike] | None = None,
) -> dict[str, Any]:
    """:func:`analyse` ``run`` and write the arrays (``npz``) and its numbers (``csv``)."""
    arrays = analyse(run)
    arrays.update(
        method=run.method,
        label=label or run.method,
        set=set_name,
        session=session_name(set_name),
        source=source,
        seed=np.int64(run.seed),
        meta_json=provenance.to_json(
            provenance.run_metadata(
                inputs=dict(inputs or {}),
                run={"method": run.method, "session": run.session, "seed": run.seed},
                run_meta=run.meta,
                evaluation="train-set (in-sample) linear decoding, as the paper (spec §1.7)",
            )
        ),
    )
    atomic.save_npz(npz, arrays)
    if csv is not None:
        with atomic.atomic_path(csv, suffix=".csv") as tmp:
            _table(arrays).to_csv(tmp, index=False)
    log.info(
        "%s on %s (%s): train vel R2 %.4f, pos R2 %.4f; test vel R2 %.4f, pos R2 %.4f",
        run.method,
        set_name,
        source,
        arrays["vel_r2"],
        arrays["pos_r2"],
        arrays["vel_r2_test"],
        arrays["pos_r2_test"],
    )
    return arrays


def analyse_trained(
    embedding: PathLike,
    session: PathLike,
    npz: PathLike,
    csv: PathLike | None = None,
    *,
    set_name: str,
    label: str = "",
) -> dict[str, Any]:
    """Rule ``mcmaze_analysis``: decode a run trained here on ``MCMaze_<set>``."""
    run = run_from_trained(embedding, session)
    return write_analysis(
        run,
        npz,
        csv,
        set_name=set_name,
        label=label,
        source="trained",
        inputs={"embedding": embedding, "session": session},
    )


def analyse_published(
    path: PathLike,
    npz: PathLike,
    csv: PathLike | None = None,
    *,
    method: str,
    set_name: str,
    kind: str,
    label: str = "",
) -> dict[str, Any]:
    """Rule ``mcmaze_analysis_published``: decode the authors' embedding of a set."""
    run = read_published(path, method, session_name(set_name), kind)
    return write_analysis(
        run,
        npz,
        csv,
        set_name=set_name,
        label=label,
        source="published",
        inputs={"published": path},
    )
