"""Alignment of embeddings between sessions, and to an anchor for the "after rotation" figures.

Sources: METHODS §5–6; ``reference/fig4-7.md`` §2.2–2.4 and ``reference/fig1-3-demo.md`` §4
(the sections cited in this module are summarised in ``docs/sources.md``).

All rotations are orthogonal d×d matrices ``R`` (rotation or reflection) that act on row vectors:
``aligned = emb @ R``. :func:`procrustes` is ``scipy.linalg.orthogonal_procrustes`` (no centring,
no scaling): the ``R`` minimising ‖source·R − target‖_F.

Two ways of choosing the single rotation that maps session A onto session B (or onto an anchor):

``paper`` (the authors' code, reproduced exactly)
    One Procrustes fit per direction between the direction trial-averages, ``R_a`` (a = 0..7);
    A's bins rotated each by their own direction's ``R_a`` give ``E8``; :func:`get_best_R` then
    keeps one of the eight ``R_a``. For cross-decoding the averages use **all** trials of A and B
    (train and test), so B's test labels enter the alignment. Among the ``R_a`` with det ≥ 0 it
    takes the one whose |det| is closest to 1, and likewise among det < 0 — all orthogonal
    matrices have |det| = 1, so this is decided by floating-point noise and differs between
    LAPACK builds (``fig4-7.md`` §2.3, §6.2) — and of those two the one whose ``emb @ R`` is
    closer to ``E8`` in L1.
``corrected``
    One Procrustes fit on the 8 direction averages stacked in time (8·t_dur × d), from the
    **training** splits only: deterministic and free of test data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy.linalg import orthogonal_procrustes

from ner_repro.analysis.decoding import N_DIRECTIONS, direction_class

Mode = Literal["paper", "corrected"]
#: The L1 distance the authors give an empty sign group in ``get_best_R``.
_EMPTY_GROUP_DIFF = 5_000_000.0


class AlignmentError(ValueError):
    """An alignment that is undefined for the given data (stated in words)."""


# -- trial averages -------------------------------------------------------------------------------
def _classes(labels_or_angles: np.ndarray) -> np.ndarray:
    arr = np.asarray(labels_or_angles, dtype=np.float64)
    if arr.ndim == 2:
        if arr.shape[1] != 3:
            raise ValueError(f"labels must be (T, 3) [vx, vy, angle_deg], got {arr.shape}")
        arr = arr[:, 2]
    return direction_class(arr)


def group_averages(
    trials: np.ndarray, groups: np.ndarray, n_groups: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean trajectory of the trials of each group: ``(avg (n_groups, t_dur, d), n_trials (n_groups,))``.

    ``trials`` is ``(n_trials, t_dur, d)`` and ``groups`` the group (``0 .. n_groups - 1``) of
    each trial; a trial of any other group (e.g. ``-1``) is left out. A group without trials
    gets NaN. Each mean is taken in the dtype of ``trials`` and stored as float64.
    """
    avg = np.full((n_groups, *trials.shape[1:]), np.nan)
    counts = np.zeros(n_groups, dtype=np.int64)
    for g in range(n_groups):
        sel = groups == g
        counts[g] = int(sel.sum())
        if counts[g]:
            avg[g] = trials[sel].mean(axis=0)
    return avg, counts


def trial_averages(
    emb: np.ndarray, labels_or_angles: np.ndarray, t_dur: int
) -> tuple[np.ndarray, np.ndarray]:
    """Mean trajectory per direction: ``(avg (t_dur, d, 8), n_trials (8,))``.

    ``labels_or_angles`` is the (T, 3) label array or the (T,) angle in degrees. A direction
    without trials gets NaN. This is the authors' ``emb[angle == a].reshape(-1, dur, d).mean(0)``
    and the layout of the Fig3 anchor file (``anchor_emb`` (40, 3, 8)).
    """
    emb = np.asarray(emb, dtype=np.float64)
    cls = _classes(labels_or_angles)
    if emb.ndim != 2 or cls.shape[0] != emb.shape[0]:
        raise ValueError(f"embedding {emb.shape} and {cls.shape[0]} labels do not match")
    if t_dur <= 0 or emb.shape[0] % t_dur:
        raise ValueError(f"{emb.shape[0]} bins is not a whole number of trials of {t_dur} bins")
    trials = emb.reshape(-1, t_dur, emb.shape[1])
    trial_cls = cls.reshape(-1, t_dur)
    if not (trial_cls == trial_cls[:, :1]).all():
        raise ValueError("the direction changes within a trial")
    avg, counts = group_averages(trials, trial_cls[:, 0], N_DIRECTIONS)
    return np.ascontiguousarray(avg.transpose(1, 2, 0)), counts


def stack_directions(avg: np.ndarray, directions: np.ndarray | None = None) -> np.ndarray:
    """(t_dur, d, 8) averages → (n_dir·t_dur, d), directions in order 0..7 (or ``directions``)."""
    if directions is None:
        directions = np.arange(avg.shape[2])
    return np.concatenate([avg[:, :, a] for a in directions], axis=0)


# -- Procrustes -----------------------------------------------------------------------------------
def procrustes(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Orthogonal ``R`` minimising ‖source·R − target‖_F (``scipy.linalg.orthogonal_procrustes``)."""
    source = np.asarray(source, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if source.shape != target.shape:
        raise ValueError(f"Procrustes needs equal shapes, got {source.shape} and {target.shape}")
    R, _ = orthogonal_procrustes(source, target)
    return R


def per_direction_rotations(avg_source: np.ndarray, avg_target: np.ndarray) -> np.ndarray:
    """``R_all (d, d, 8)``: one Procrustes fit per direction, the authors' layout."""
    missing = [
        a
        for a in range(N_DIRECTIONS)
        if not (np.isfinite(avg_source[:, :, a]).all() and np.isfinite(avg_target[:, :, a]).all())
    ]
    if missing:
        raise AlignmentError(
            f"direction(s) {missing} have no trials in one of the two sessions; the per-direction "
            "(paper) alignment needs all 8 directions"
        )
    d = avg_source.shape[1]
    R_all = np.zeros((d, d, N_DIRECTIONS))
    for a in range(N_DIRECTIONS):
        R_all[:, :, a] = procrustes(avg_source[:, :, a], avg_target[:, :, a])
    return R_all


def apply_per_direction(
    emb: np.ndarray, labels_or_angles: np.ndarray, R_all: np.ndarray
) -> np.ndarray:
    """``E8``: every bin of ``emb`` rotated by its own direction's ``R_all[:, :, a]``."""
    emb = np.asarray(emb, dtype=np.float64)
    cls = _classes(labels_or_angles)
    out = np.empty_like(emb)
    for a in range(R_all.shape[2]):
        mask = cls == a
        out[mask] = emb[mask] @ R_all[:, :, a]
    return out


@dataclass(frozen=True)
class BestR:
    """What :func:`get_best_R` chose."""

    R: np.ndarray
    index: int  # direction whose R_a was chosen
    positive: int | None  # candidate with det >= 0 (index) or None
    negative: int | None  # candidate with det < 0
    diff_positive: float  # L1 distance of emb @ R_p to E8 (5e6 if no candidate)
    diff_negative: float


def _group_candidate(dets: list[float], sign_ok: list[bool]) -> int | None:
    members = [i for i, ok in enumerate(sign_ok) if ok]
    if not members:
        return None
    diffs = [abs(abs(dets[i]) - 1.0) for i in members]
    return members[int(np.argmin(diffs))]


def get_best_R(
    R_all: np.ndarray,
    emb: np.ndarray,
    emb_8angle: np.ndarray,
    *,
    on_tie: Literal["error", "positive"] = "error",
) -> BestR:
    """The authors' ``get_best_R`` (``fig4-7.md`` §2.3), reproduced step by step.

    The cited section is summarised in ``docs/sources.md``.

    ``dets = det(R_a)``; among a with det ≥ 0 the first a minimising ``||det| − 1|`` (p*), among
    det < 0 likewise (n*); ``diff = Σ|emb @ R − emb_8angle|`` for each (5e6 for an empty group);
    R_{p*} if its diff is smaller, R_{n*} if larger. Equal diffs leave the authors' ``best_R``
    unassigned (``UnboundLocalError``): here ``on_tie="error"`` raises :class:`AlignmentError`
    and ``on_tie="positive"`` takes R_{p*} (a documented fallback, not the authors' behaviour).
    The choice inside each sign group follows rounding noise in ``det`` and so depends on the
    LAPACK build; it is reproduced as computed on this machine.
    """
    n = R_all.shape[2]
    dets = [float(np.linalg.det(R_all[:, :, i])) for i in range(n)]
    p = _group_candidate(dets, [d >= 0 for d in dets])
    q = _group_candidate(dets, [d < 0 for d in dets])
    diff_p = (
        float(np.sum(np.abs(emb @ R_all[:, :, p] - emb_8angle)))
        if p is not None
        else _EMPTY_GROUP_DIFF
    )
    diff_n = (
        float(np.sum(np.abs(emb @ R_all[:, :, q] - emb_8angle)))
        if q is not None
        else _EMPTY_GROUP_DIFF
    )
    if diff_p < diff_n:
        chosen = p
    elif diff_p > diff_n:
        chosen = q
    elif on_tie == "positive" and p is not None:
        chosen = p
    else:
        raise AlignmentError(
            f"get_best_R is undefined: the det>=0 candidate (direction {p}) and the det<0 candidate "
            f"(direction {q}) are equally far from the per-direction alignment (L1 {diff_p!r}); "
            "the authors' code fails here (UnboundLocalError)"
        )
    assert chosen is not None
    return BestR(R_all[:, :, chosen].copy(), int(chosen), p, q, diff_p, diff_n)


def joint_rotation(avg_source: np.ndarray, avg_target: np.ndarray) -> np.ndarray:
    """One Procrustes fit on the stacked direction averages (directions present in both)."""
    present = np.array(
        [
            np.isfinite(avg_source[:, :, a]).all() and np.isfinite(avg_target[:, :, a]).all()
            for a in range(avg_source.shape[2])
        ]
    )
    if not present.any():
        raise AlignmentError("the two sessions share no direction with trials; cannot align")
    dirs = np.flatnonzero(present)
    return procrustes(stack_directions(avg_source, dirs), stack_directions(avg_target, dirs))


# -- session to session ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Alignment:
    """The single orthogonal matrix applied to all of the source session (``emb @ R``)."""

    R: np.ndarray
    method: str  # "identity", "get_best_R" or "joint_procrustes"
    chosen_direction: int = -1  # get_best_R: the direction whose R_a was kept
    R_all: np.ndarray | None = None  # get_best_R: the 8 per-direction candidates (d, d, 8)


def identity_alignment(d: int) -> Alignment:
    return Alignment(np.eye(d), "identity")


def paper_alignment(
    emb_source: np.ndarray,
    labels_source: np.ndarray,
    emb_target: np.ndarray,
    labels_target: np.ndarray,
    t_dur: int,
    *,
    on_tie: Literal["error", "positive"] = "error",
) -> Alignment:
    """The authors' choice: per-direction Procrustes + :func:`get_best_R` on the given bins.

    For cross-decoding the authors pass all trials (train then test) of both sessions; for the
    rotation figures the training split of the session and an anchor (:func:`align_to_anchor`).
    """
    avg_s, _ = trial_averages(emb_source, labels_source, t_dur)
    avg_t, _ = trial_averages(emb_target, labels_target, t_dur)
    R_all = per_direction_rotations(avg_s, avg_t)
    e8 = apply_per_direction(emb_source, labels_source, R_all)
    best = get_best_R(R_all, np.asarray(emb_source, dtype=np.float64), e8, on_tie=on_tie)
    return Alignment(best.R, "get_best_R", best.index, R_all)


def corrected_alignment(
    train_source: np.ndarray,
    labels_source: np.ndarray,
    train_target: np.ndarray,
    labels_target: np.ndarray,
    t_dur: int,
) -> Alignment:
    """One Procrustes fit on the stacked direction averages of the two *training* splits."""
    avg_s, _ = trial_averages(train_source, labels_source, t_dur)
    avg_t, _ = trial_averages(train_target, labels_target, t_dur)
    return Alignment(joint_rotation(avg_s, avg_t), "joint_procrustes")


# -- to an anchor (rotation figures) --------------------------------------------------------------
@dataclass(frozen=True)
class AnchorAlignment:
    """A session's training embedding rotated onto an anchor (Fig3/6/7 "after rotation")."""

    aligned: np.ndarray  # (T_tr, d) = emb @ R
    averages: np.ndarray  # (t_dur, d, 8) direction averages before rotation
    aligned_averages: np.ndarray  # (t_dur, d, 8) after rotation
    alignment: Alignment
    rmse_before: float  # RMS difference of averages to the anchor, over directions present
    rmse_after: float


def anchor_rmse(avg: np.ndarray, anchor: np.ndarray) -> float:
    """Root-mean-square difference between direction averages and an anchor (finite entries)."""
    diff = np.asarray(avg) - np.asarray(anchor)
    return float(np.sqrt(np.nanmean(diff**2)))


def rotate_averages(avg: np.ndarray, R: np.ndarray) -> np.ndarray:
    """Apply ``R`` to each direction of (t_dur, d, 8) averages."""
    return np.einsum("tda,de->tea", avg, R)


def align_to_anchor(
    emb_train: np.ndarray,
    labels_train: np.ndarray,
    anchor: np.ndarray,
    t_dur: int,
    mode: Mode,
    *,
    on_tie: Literal["error", "positive"] = "error",
) -> AnchorAlignment:
    """Rotate one session's training embedding onto ``anchor`` (t_dur, d, 8).

    ``paper`` (``fig4-7.md`` §2.4, ``fig1-3-demo.md`` §4; ``docs/sources.md``): per-direction
    Procrustes of the session's direction averages onto the anchor's, ``E8`` from the training
    bins, then :func:`get_best_R`. ``corrected``: :func:`joint_rotation` of the stacked
    averages.
    The anchor must have the session's ``t_dur`` bins: slice it first where the authors did
    (S1 onto the M1 anchor uses bins ``[2:37]``).
    """
    emb_train = np.asarray(emb_train, dtype=np.float64)
    anchor = np.asarray(anchor, dtype=np.float64)
    avg, _ = trial_averages(emb_train, labels_train, t_dur)
    if anchor.shape != avg.shape:
        raise ValueError(f"anchor {anchor.shape} does not match the session's averages {avg.shape}")
    if mode == "paper":
        R_all = per_direction_rotations(avg, anchor)
        e8 = apply_per_direction(emb_train, labels_train, R_all)
        best = get_best_R(R_all, emb_train, e8, on_tie=on_tie)
        alignment = Alignment(best.R, "get_best_R", best.index, R_all)
    elif mode == "corrected":
        alignment = Alignment(joint_rotation(avg, anchor), "joint_procrustes")
    else:
        raise ValueError(f"mode must be 'paper' or 'corrected', got {mode!r}")
    aligned_avg = rotate_averages(avg, alignment.R)
    return AnchorAlignment(
        aligned=emb_train @ alignment.R,
        averages=avg,
        aligned_averages=aligned_avg,
        alignment=alignment,
        rmse_before=anchor_rmse(avg, anchor),
        rmse_after=anchor_rmse(aligned_avg, anchor),
    )
