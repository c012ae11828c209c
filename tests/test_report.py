"""The reproduction report (ner_repro.report), its files (ner_repro.plan.report) and the
published numbers it compares against (ner_repro.data.published_numbers)."""

from __future__ import annotations

import math
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from ner_repro import report
from ner_repro.analysis import steps as analyses
from ner_repro.core.config import REPO_ROOT, load_config
from ner_repro.core.embedding import EmbeddingRun
from ner_repro.data import published_numbers
from ner_repro.plan import MODES, Plan
from ner_repro.plan import report as plan_report
from ner_repro.report import document

SEEDS = [0, 1]


def _one(table: pd.DataFrame, **where: str) -> pd.Series:
    sel = table
    for key, value in where.items():
        sel = sel[sel[key] == value]
    assert len(sel) == 1, f"{len(sel)} rows for {where}"
    return sel.iloc[0]


# -- the published numbers ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def published() -> pd.DataFrame:
    return published_numbers.load_published()


def test_published_table_has_the_expected_rows(published):
    assert published["id"].is_unique
    fig5 = _one(
        published,
        figure="Fig5",
        method="NER",
        decoder="linear",
        metric="vel_R2",
        statistic="diag_mean",
    )
    assert fig5["value"] == pytest.approx(0.7116, abs=5e-5)
    assert fig5["display"] == "0.71" and fig5["r2_order"] == "swapped"
    assert len(fig5["sessions"].split(";")) == 10
    off = _one(
        published, figure="Fig5", method="CEBRA", decoder="linear", metric="vel_R2",
        statistic="offdiag_mean",
    )  # fmt: skip
    assert off["value"] == pytest.approx(-3.207, abs=5e-4)
    fig1 = _one(published, figure="Fig1", method="NER", metric="vel_R2")
    assert fig1["value"] == pytest.approx(0.841) and fig1["session"] == "Chewie_20161014_M1"
    assert _one(published, figure="Fig1", method="CEBRA", metric="final_loss")[
        "value"
    ] == pytest.approx(5.527431)
    per_session = _one(
        published, figure="Fig4", method="NER", session="Chewie_20161007_M1", split="train",
        metric="vel_R2", statistic="value",
    )  # fmt: skip
    assert per_session["value"] == pytest.approx(0.878, abs=5e-4)
    mihili = published[published["session"].str.startswith("Mihili")]
    assert len(mihili) == 5 * 6 * 2 * 3  # methods x sessions x splits x metrics
    assert mihili["note"].str.contains("unused by the paper's figures").all()
    test_vel = published[
        (published["figure"] == "Fig4") & (published["split"] == "test")
        & (published["metric"] == "vel_R2")
    ]  # fmt: skip
    assert (test_vel["r2_order"] == "swapped").all()
    fig8 = _one(
        published, figure="Fig8", method="NER", session="curve-straight-38", metric="vel_R2"
    )
    assert fig8["value"] == pytest.approx(0.925) and fig8["display"] == "vel=0.92"
    assert len(published[(published["figure"] == "Fig8") & (published["method"] == "CEBRA")]) == 24
    medians = published[(published["figure"] == "Fig4") & (published["statistic"] == "median")]
    assert len(medians) == 30
    peak = _one(
        published, figure="Fig5", method="NER", decoder="linear", metric="acc_curve",
        statistic="peak",
    )  # fmt: skip
    assert peak["value"] == pytest.approx(86.39, abs=0.01) and peak["display"] == "86.4"
    assert len(published[published["statistic"] == "matrix"]) == 45
    assert len(published[published["figure"] == "Fig3"]) == 30


def test_published_matrices_give_the_published_means(published):
    for _, row in published[published["statistic"].isin(["diag_mean", "offdiag_mean"])].iterrows():
        sessions = row["sessions"].split(";")
        ctx = report.Context(None, published, None)  # type: ignore[arg-type]
        assert ctx.published_value(row, sessions) == pytest.approx(row["value"], abs=1e-6)


# -- tolerances and verdicts ---------------------------------------------------------------------------
def test_tolerances():
    assert report.tolerance_for({"metric": "pos_R2", "statistic": "value"})[0] == 0.05
    swapped = {"metric": "vel_R2", "statistic": "offdiag_mean", "r2_order": "swapped"}
    assert report.tolerance_for({**swapped, "value": -3.08})[0] == pytest.approx(0.05 * 5.08**2)
    assert report.tolerance_for({**swapped, "value": 0.71})[0] == pytest.approx(0.05 * 1.29**2)
    assert report.tolerance_for({"metric": "peak_dir_acc", "statistic": "value"})[0] == 5.0
    assert report.tolerance_for({"metric": "acc_curve", "statistic": "peak_time_ms"})[0] == 90
    assert report.tolerance_for({"metric": "final_loss", "statistic": "value"})[0] == 0.03


def test_judge():
    verdict, diff, tol, reason = report.judge(0.80, 0.83, math.nan, 0.05)
    assert verdict == report.REPRODUCED and diff == pytest.approx(0.03) and tol == 0.05
    verdict, diff, _, reason = report.judge(0.80, 0.90, 0.01, 0.05)
    assert verdict == report.NOT_REPRODUCED and "differs by +0.1" in reason
    # the spread over seeds widens the tolerance
    verdict, _, tol, reason = report.judge(0.80, 0.90, 0.06, 0.05)
    assert verdict == report.REPRODUCED and tol == pytest.approx(0.12) and "2 SD" in reason
    # ... but only up to 3x the base tolerance: beyond that our own seeds disagree
    verdict, _, tol, reason = report.judge(0.80, 1.00, 1.0, 0.05)
    assert verdict == report.NOT_REPRODUCED and tol == pytest.approx(0.15)
    assert "our seeds disagree" in reason
    assert report.judge(0.8, math.nan, math.nan, 0.05)[0] == report.NOT_COMPUTABLE


def test_judge_reports_a_published_value_inside_our_seed_range():
    # the mean 0.692 misses 0.77 by 0.078 (tolerance 3 x 0.025), but one seed reaches 0.78
    vals = [0.66, 0.67, 0.67, 0.68, 0.78]
    sd = float(np.std(vals, ddof=1))
    verdict, _, _, reason = report.judge(0.77, float(np.mean(vals)), sd, 0.025, vals)
    assert verdict == report.REPRODUCED and "inside the range of our 5 seeds" in reason
    assert "the mean differs by" in reason
    # outside the range: not reproduced, and no range claim
    verdict, _, _, reason = report.judge(0.80, float(np.mean(vals)), sd, 0.025, vals)
    assert verdict == report.NOT_REPRODUCED and "inside" not in reason
    # two seeds are not a range
    assert report.judge(0.74, 0.70, 0.0, 0.02, [0.66, 0.75])[0] == report.NOT_REPRODUCED
    # a range wider than 2 x 3 x the tolerance says little: named, but not a reproduction
    wide = [0.0, 0.5, 1.0]
    verdict, _, _, reason = report.judge(0.9, 0.5, 0.5, 0.05, wide)
    assert verdict == report.NOT_REPRODUCED and "it says little" in reason


# -- a configuration with real session names and synthetic analysis outputs ------------------------
AVAILABLE = ["Chewie_20150629", "Chewie_20150630", "Chewie_20161007", "Han_20171201"]


def _real_like_plan(tmp_path: Path) -> Plan:
    data = tmp_path / "data"
    data.mkdir()
    for name in AVAILABLE:  # the report only checks that recordings are present
        (data / f"{name}_neural_con_dis_index.mat").write_bytes(b"")
    config = load_config(
        overrides={
            "data_dir": str(data),
            "published_dir": str(tmp_path / "no-published"),
            "results_dir": str(tmp_path / "results"),
            "missing": "skip",
            "seeds": SEEDS,
            "mcmaze": {"nwb": str(tmp_path / "absent.nwb")},
        }
    )
    return Plan(config, workdir=tmp_path)


def _run(session: str, method: str, seed: int, *, n_trials: int = 30, t_dur: int = 8):
    """Eight directions, bell-shaped speed; the embedding is a noisy linear map of velocity."""
    rng = np.random.default_rng([seed, zlib.crc32(session.encode()), zlib.crc32(method.encode())])
    cls = np.arange(n_trials) % 8
    theta = np.deg2rad(np.repeat(cls, t_dur) * 45.0)
    bell = np.tile(np.sin(np.linspace(0.1, np.pi - 0.1, t_dur)), n_trials)
    vel = 30 * bell[:, None] * np.c_[np.cos(theta), np.sin(theta)]
    labels = np.c_[vel, np.repeat(cls, t_dur) * 45.0]
    latent = np.c_[vel / 30, np.cos(theta), np.sin(theta)]
    emb = latent @ rng.normal(size=(4, 3)) + 0.1 * rng.normal(size=(len(latent), 3))
    n_train = int(0.8 * n_trials) * t_dur
    return EmbeddingRun(
        method=method,
        session=session,
        seed=seed,
        train=emb[:n_train],
        test=emb[n_train:],
        labels_train=labels[:n_train],
        labels_test=labels[n_train:],
        t_dur=t_dur,
        loss=5.6 + 0.01 * rng.normal(size=50),
    )


def _write_outputs(plan: Plan) -> None:
    """NER (and NER5k) analyses of the available M1 sessions, through the workflow's code."""
    m1 = [k for k in plan.sessions(areas=["M1"]) if k.monkey == "Chewie"]
    for seed in SEEDS:
        for method in ("NER", "NER5k"):
            for key in m1:
                _run(key.name, method, seed).save(plan.embedding(method, key, seed))
        runs = [str(plan.embedding("NER", k, seed)) for k in m1]
        for mode in MODES:
            group = "Chewie2016+Chewie2015_M1"
            analyses.explained_variance(
                runs,
                plan.explained_variance(group, "NER", mode, seed, "csv"),
                plan.explained_variance(group, "NER", mode, seed, "npz"),
                mode=mode,
                group=group,
            )
            group = "Chewie2015+Chewie2016_M1"
            analyses.cross_decode(
                runs,
                plan.crossdecode(group, "NER", "linear", mode, seed, "csv"),
                plan.crossdecode(group, "NER", "linear", mode, seed, "npz"),
                mode=mode,
                decoder="linear",
                group=group,
            )
        example = plan.example[0]
        analyses.insample(
            plan.embedding("NER5k", example, seed),
            plan.insample("NER5k", example.name, seed, "npz"),
            plan.insample("NER5k", example.name, seed, "csv"),
        )


def _ev_frame(values: dict[tuple[str, str, str], float]) -> pd.DataFrame:
    """An explained-variance table with given (session, split, metric) values for NER."""
    rows = []
    for (session, split, metric), value in values.items():
        for mode in MODES:
            for seed in SEEDS:
                rows.append(
                    {
                        "analysis": "explained_variance",
                        "method": "NER",
                        "mode": mode,
                        "seed": seed,
                        "decoder": "linear",
                        "train_session": session,
                        "test_session": session,
                        "split": split,
                        "metric": metric,
                        "value": value + 0.001 * seed,
                    }
                )
    return pd.DataFrame(rows)


def test_verdicts_reproduced_not_reproduced_not_computable(tmp_path, published):
    plan = _real_like_plan(tmp_path)

    def pub(session: str) -> float:
        return _one(
            published, figure="Fig4", method="NER", session=session, split="train",
            metric="vel_R2", statistic="value",
        )["value"]  # fmt: skip

    ev = _ev_frame(
        {
            ("Chewie_20150629_M1", "train", "vel_R2"): pub("Chewie_20150629_M1") + 0.02,
            ("Chewie_20150630_M1", "train", "vel_R2"): pub("Chewie_20150630_M1") - 0.30,
        }
    )
    empty = pd.DataFrame()
    outputs = report.Outputs(ev, empty, empty, empty, {}, {}, {})
    frame = report.compare(plan, published, outputs)
    assert len(frame) == int((published["statistic"] != "matrix").sum())

    def row(session: str, **where) -> pd.Series:
        return _one(frame, figure="Fig4", method="NER", session=session, **where)

    ok = row("Chewie_20150629_M1", split="train", metric="vel_R2", statistic="value")
    assert ok["verdict"] == report.REPRODUCED
    assert ok["paper_n"] == 2 and ok["paper_sd"] == pytest.approx(0.001 / math.sqrt(2))
    assert ok["difference"] == pytest.approx(0.0205)
    bad = row("Chewie_20150630_M1", split="train", metric="vel_R2", statistic="value")
    assert bad["verdict"] == report.NOT_REPRODUCED and "differs by -0.299" in bad["reason"]
    absent = row("Chewie_20150313_M1", split="train", metric="vel_R2", statistic="value")
    assert absent["verdict"] == report.NOT_COMPUTABLE
    assert "recording absent" in absent["reason"] and absent["reason"].startswith("not computable")
    no_output = row("Chewie_20161007_M1", split="test", metric="pos_R2", statistic="value")
    assert no_output["verdict"] == report.NOT_COMPUTABLE
    # the legend median over 2 of 10 sessions is compared with the published values of those 2
    median = row("Chewie-2015+2016-M1", metric="vel_R2", statistic="median")
    assert median["n_sessions_ours"] == 2 and median["n_sessions_published"] == 10
    assert "restricted to our 2 of 10" in median["reference_basis"]
    assert median["reference"] == pytest.approx(
        np.median([pub("Chewie_20150629_M1"), pub("Chewie_20150630_M1")])
    )
    mihili = frame[frame["session"].str.startswith("Mihili")]
    assert (mihili["verdict"] == report.NOT_COMPUTABLE).all()
    swapped = _one(
        frame, figure="Fig5", method="CEBRA", decoder="linear", metric="vel_R2",
        statistic="offdiag_mean",
    )  # fmt: skip
    assert swapped["explanation"] == "swapped R²; get_best_R"


def test_report_inputs_cover_both_modes_and_all_seeds(tmp_path, published):
    plan = _real_like_plan(tmp_path)
    inputs = plan_report.report_inputs(plan, published)
    ev = inputs["explained_variance"]
    for mode in MODES:
        for seed in SEEDS:
            assert (
                str(plan.explained_variance("Chewie2016+Chewie2015_M1", "UMAP", mode, seed, "csv"))
                in ev
            )
            path = plan.crossdecode("Chewie2015+Chewie2016_M1", "CEBRA16", "knn", mode, seed, "csv")
            assert str(path) in inputs["crossdecode"]
    # Mihili is outside the Fig4 panels but has published (unused) Fig4 numbers: it has no
    # recording here, so no analysis is asked for.
    assert not any("Mihili" in p for p in ev)
    assert inputs["insample"] == [
        str(plan.insample("NER5k", "Chewie_20161007_M1", s, "csv")) for s in SEEDS
    ] + [str(plan.insample("CEBRA5k", "Chewie_20161007_M1", s, "csv")) for s in SEEDS]
    assert inputs["mcmaze"] == []


def test_report_outputs_from_the_plan_or_its_results_folder(tmp_path):
    plan = _real_like_plan(tmp_path)
    files = plan_report.report_outputs(plan)
    assert files == plan_report.report_outputs(str(tmp_path / "results"))
    assert files["csv"] == str(tmp_path / "results" / "report" / "comparison.csv")


def test_end_to_end_on_synthetic_outputs(tmp_path, published):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plan = _real_like_plan(tmp_path)
    _write_outputs(plan)
    fig_dir = tmp_path / "results" / "figures" / "fig5"
    fig_dir.mkdir(parents=True)
    plt.plot([0, 1], [1, 0])
    plt.savefig(fig_dir / "panel.pdf")
    plt.close("all")
    inputs = plan_report.report_inputs(plan, published)
    inputs["figures"] = [str(fig_dir / "panel.pdf")]
    out = tmp_path / "results" / "report"
    frame = report.write_report(
        plan, out / "report.md", out / "report.html", out / "comparison.csv", inputs=inputs
    )
    csv = pd.read_csv(out / "comparison.csv")
    assert list(csv.columns) == list(report.COMPARISON_COLUMNS)
    assert len(csv) == len(frame) == int((published["statistic"] != "matrix").sum())
    assert set(csv["verdict"]) <= set(report.VERDICTS)
    diag = _one(
        csv, figure="Fig5", method="NER", decoder="linear", metric="pos_R2",
        statistic="diag_mean",
    )  # fmt: skip
    assert diag["n_sessions_ours"] == 3 and diag["paper_n"] == 2 and diag["corrected_n"] == 2
    assert diag["verdict"] in (report.REPRODUCED, report.NOT_REPRODUCED)
    assert "restricted to our 3 of 10" in diag["reference_basis"]
    curve = _one(
        csv, figure="Fig5", method="NER", decoder="linear", metric="acc_curve",
        statistic="peak",
    )  # fmt: skip
    assert curve["verdict"] == report.NOT_COMPARABLE and np.isfinite(curve["paper_mean"])
    fig1 = _one(csv, figure="Fig1", method="NER", metric="vel_R2")
    assert fig1["verdict"] == report.NOT_COMPARABLE and "Chewie_20161007_M1" in fig1["reason"]
    loss = _one(csv, figure="Fig3", method="NER", session="Chewie_20150629_M1")
    assert loss["verdict"] in (report.REPRODUCED, report.NOT_REPRODUCED)
    assert loss["paper_mean"] == pytest.approx(
        np.mean([np.mean(_run("Chewie_20150629_M1", "NER", s).loss[-10:]) for s in SEEDS])
    )
    fig8 = csv[csv["figure"] == "Fig8"]
    assert (fig8["verdict"] == report.NOT_COMPUTABLE).all()
    assert fig8["reason"].str.contains("no MC_Maze source").all()

    md = (out / "report.md").read_text()
    assert "the configured substitute Chewie_20161007_M1 is used" in md
    assert "Sessions skipped" in md and "Chewie_20161014_M1" in md
    assert "not computable:" in md and "What this means" in md
    assert "simulated data" not in md.lower()
    html = (out / "report.html").read_text()
    assert "<table>" in html and "panel.pdf" in html
    assert "data:image/png;base64," in html or "data:application/pdf;base64," in html

    # The README table (tools/measured_table.py) from the same CSV.
    back = report.read_comparison(out / "comparison.csv")
    table = report.measured_table(back, ["Fig5", "Fig3"])
    judged = back[
        back["figure"].isin(["Fig5", "Fig3"])
        & back["verdict"].isin([report.REPRODUCED, report.NOT_REPRODUCED])
    ]
    ok = int((judged["verdict"] == report.REPRODUCED).sum())
    assert f"| all | all | {ok} / {len(judged)} " in table
    summary_part, rows_part = table.split("\n\n")
    assert "| Fig5 | NER |" in summary_part
    rows = [line for line in rows_part.splitlines() if line.startswith("| Fig5 | ")]
    shown = back[(back["figure"] == "Fig5") & (back["verdict"] != report.NOT_COMPUTABLE)]
    assert len(rows) == len(shown) > 0
    assert "Fig1" not in table and "Fig8" not in table
    # the range over seeds is that of the per-seed values
    per_seed = [float(p.split(":")[1]) for p in diag["paper_per_seed"].split(";")]
    assert document._seed_range(diag["paper_per_seed"], "pos_R2", "diag_mean") == (
        f"{min(per_seed):.3f} – {max(per_seed):.3f} (median {np.median(per_seed):.3f})"
    )
    assert document._seed_range("0:0.5", "pos_R2", "value") == ""
    with pytest.raises(ValueError, match="not a report CSV"):
        (tmp_path / "other.csv").write_text("a,b\n1,2\n")
        report.read_comparison(tmp_path / "other.csv")


def test_simulated_data_is_reported_as_not_applicable(tmp_path, published):
    config = load_config(
        REPO_ROOT / "config" / "demo.yaml",
        overrides={"results_dir": str(tmp_path / "results")},
    )
    plan = Plan(config, workdir=REPO_ROOT)
    group = "Simia2024+Simia2023_M1"
    m1 = plan.group_sessions(group)
    for key in m1:
        _run(key.name, "NER", 0).save(plan.embedding("NER", key, 0))
    for mode in MODES:
        analyses.explained_variance(
            [str(plan.embedding("NER", k, 0)) for k in m1],
            plan.explained_variance(group, "NER", mode, 0, "csv"),
            plan.explained_variance(group, "NER", mode, 0, "npz"),
            mode=mode,
            group=group,
        )
    inputs = plan_report.report_inputs(plan, published)
    inputs["figures"] = []
    out = tmp_path / "results" / "report"
    frame = report.write_report(
        plan, out / "report.md", out / "report.html", out / "comparison.csv", inputs=inputs
    )
    assert (frame["verdict"] == report.NOT_APPLICABLE).all()
    median = _one(
        frame, figure="Fig4", method="NER", session="Chewie-2015+2016-M1", metric="vel_R2",
        statistic="median",
    )  # fmt: skip
    assert median["n_sessions_ours"] == len(m1) and np.isfinite(median["paper_mean"])
    md = (out / "report.md").read_text()
    assert "simulated data: comparison to published values not applicable" in md
    assert "Our numbers without a published counterpart" in md and m1[0].name in md


def test_rounding_tolerance():
    assert report.rounding_tolerance(0.925) == pytest.approx(0.0005, abs=1e-8)
    assert report.rounding_tolerance(5.6603036) == pytest.approx(5e-8, abs=2e-9)


def test_fig8_from_published_embeddings_matches_to_rounding(tmp_path, published, published_dir):
    from ner_repro.analysis.mcmaze import analyse_published
    from ner_repro.data.published_embeddings import published_file
    from ner_repro.plan.figures import fig8 as mcmaze

    config = load_config(
        overrides={
            "data_dir": str(tmp_path / "none"),
            "published_dir": str(published_dir),
            "results_dir": str(tmp_path / "results"),
            "missing": "skip",
        }
    )
    plan = Plan(config, workdir=tmp_path)
    (cset,) = [cs for cs in mcmaze.condition_sets(plan) if cs.name == "curve-straight-38"]
    method = "NER5k"
    path = published_file(published_dir / "Fig8", cset.published, plan.kind(method))
    csv = mcmaze.analysis_path(plan, method, cset, None, "csv")
    analyse_published(
        path,
        mcmaze.analysis_path(plan, method, cset, None, "npz"),
        csv,
        method=method,
        set_name=cset.name,
        kind=plan.kind(method),
    )
    empty = pd.DataFrame()
    outputs = report.Outputs(empty, empty, empty, pd.read_csv(csv), {}, {}, {})
    frame = report.compare(plan, published, outputs)
    rows = frame[(frame["figure"] == "Fig8") & (frame["session"] == "curve-straight-38")]
    ner = rows[rows["method"] == "NER"]
    assert len(ner) == 3 and (ner["verdict"] == report.REPRODUCED).all()
    assert (ner["tolerance"] < 0.001).all()
    assert ner["reason"].str.contains("authors' published embedding").all()
    straight = frame[(frame["figure"] == "Fig8") & frame["session"].str.startswith("straight")]
    assert (straight["verdict"] == report.NOT_COMPUTABLE).all()
    assert straight["reason"].str.contains("did not publish").all()


def test_training_cap_is_stated(tmp_path, published):
    plan = _real_like_plan(tmp_path)
    plan.config["training_cap"] = {"max_iterations": "2000", "epochs": 30}
    summary = report.data_summary(plan, published)
    assert summary["training_cap"] == {"max_iterations": 2000, "epochs": 30}
    frame = pd.DataFrame(columns=["figure", "verdict", "paper_n", "method", "statistic"])
    doc = report.build_document(frame, summary, pd.DataFrame(), [], [])
    text = " ".join(b.text for b in doc if b.kind == "p")
    assert "TRAINING CAPPED" in text and "30 epochs and 2000 iterations" in text
    summary["training_cap"] = {}
    doc = report.build_document(frame, summary, pd.DataFrame(), [], [])
    assert "TRAINING CAPPED" not in " ".join(b.text for b in doc if b.kind == "p")


def test_cross_decoding_curve_is_taken_from_the_group_holding_the_row_sessions():
    """Two groups ran the same method, decoder, mode and seed (Fig5's Chewie 2015+2016 M1 and
    Fig6's Chewie 2016 M1+PMd share the 2016 M1 sessions): each row uses the arrays that hold
    its own sessions, whichever file was read last (they once overwrote each other)."""
    from types import SimpleNamespace

    from ner_repro.report import ours

    t = np.arange(4) * 30.0
    m1 = ["C_2016a_M1", "C_2016b_M1"]
    fig5 = ["C_2015a_M1", "C_2015b_M1", *m1]
    fig6 = [*m1, "C_2016a_PMd", "C_2016b_PMd"]

    def arrays(sessions: list[str], level: float) -> np.ndarray:
        return np.full((len(sessions), len(sessions), len(t)), level)

    curves = {
        ("NER", "linear", mode, 0): [(fig6, arrays(fig6, 80.0), t), (fig5, arrays(fig5, 60.0), t)]
        for mode in MODES
    }
    # seed 1 only in Fig6's group: absent for Fig5's rows, not "0 of 4 sessions"
    pmd = fig6[2:]
    curves.update({("NER", "linear", m, 1): [(pmd, arrays(pmd, 70.0), t)] for m in MODES})
    for sessions, level in ((fig5, 60.0), (fig6, 80.0)):
        ctx = SimpleNamespace(
            method=lambda row: "NER",
            group_sessions=lambda row, s=sessions: (list(s), []),
            plan=SimpleNamespace(seeds_for=lambda m: [0, 1]),
            outputs=SimpleNamespace(cd_curves=curves),
        )
        row = {"decoder": "linear", "statistic": "peak"}
        got = ours._ours_matrix_curve(ctx, row)
        assert got.sessions == sessions, "the row lost sessions to another group's arrays"
        assert got.values["paper"][0] == pytest.approx(level)
        if sessions == fig5:
            assert 1 not in got.values["paper"] and not got.notes
        else:
            assert got.notes == [f"{m} seed 1: 2 of 4 sessions" for m in MODES]
