"""The authors' published panels: the manifest's entries, their pairing with ours
(resources/published_panels.tsv) and the reproduction record built from a results folder."""

from __future__ import annotations

import csv
import hashlib
import math
from datetime import datetime
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from ner_repro.core.config import load_config
from ner_repro.core.errors import InputError
from ner_repro.data import acquire
from ner_repro.data.published_numbers import load_published
from ner_repro.plan import Plan
from ner_repro.plan import report as plan_report
from ner_repro.report import panels, record
from ner_repro.report.ours import COMPARISON_COLUMNS
from ner_repro.report.verdicts import NOT_COMPUTABLE, NOT_REPRODUCED, REPRODUCED

from .conftest import SHARED_DIR

COMMIT = "c8bdb72f25e9a4b90bdd2544f5e18654a73ee93a"
FIGURES_DIR = SHARED_DIR / "data" / "ner-published-figures"
AVAILABLE = [
    "Chewie_20150629",
    "Chewie_20150630",
    "Chewie_20160929",
    "Chewie_20161007",
    "Han_20171201",
    "Han_20171204",
    "Han_20171207",
]


def _figure_entries() -> dict[str, acquire.Entry]:
    return {n: e for n, e in acquire.read_manifest().items() if e.kind == "figure"}


def test_manifest_pins_every_published_panel_to_the_authors_commit():
    entries = _figure_entries()
    assert len(entries) == 89  # 88 PDFs and the demo GIF
    for name, entry in entries.items():
        assert entry.url.startswith(f"https://github.com/NeuroscienceAI/NER/raw/{COMMIT}/")
        assert " " not in entry.url and len(entry.sha256) == 64, name


def test_manifest_checksums_match_the_shared_panels():
    origin = FIGURES_DIR / "ORIGIN.tsv"
    if not origin.is_file():
        pytest.skip(f"published panels not found at {FIGURES_DIR}")
    entries = _figure_entries()
    with origin.open() as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert {r["file"] for r in rows} == set(entries)
    for r in rows:
        assert entries[r["file"]].url.endswith(
            "/"
            + "/".join(
                __import__("urllib.parse").parse.quote(p) for p in r["original_path"].split("/")
            )
        )
        digest = hashlib.sha256((FIGURES_DIR / r["file"]).read_bytes()).hexdigest()
        assert digest == entries[r["file"]].sha256 == r["sha256"], r["file"]


def test_every_published_panel_has_one_row_with_a_partner_or_a_reason():
    rows = panels.load_panels()
    published = [r.published for r in rows if r.published]
    assert sorted(published) == sorted(_figure_entries())
    assert len(published) == len(set(published))
    for r in rows:
        assert r.ours or r.note, r


def _paper_plan(tmp_path: Path, **overrides) -> Plan:
    data = tmp_path / "data"
    data.mkdir(exist_ok=True)
    for name in AVAILABLE:
        (data / f"{name}_neural_con_dis_index.mat").write_bytes(b"")
    config = load_config(
        overrides={
            "data_dir": str(data),
            # Fig8 is drawn from the authors' embeddings when the NWB file is absent
            "published_dir": str(SHARED_DIR / "data" / "ner-published"),
            "results_dir": str(tmp_path / "results"),
            "missing": "skip",
            "mcmaze": {"nwb": str(tmp_path / "absent.nwb")},
            **overrides,
        }
    )
    return Plan(config, workdir=tmp_path)


def test_the_table_pairs_every_figure_the_paper_config_plans(tmp_path):
    if not (SHARED_DIR / "data" / "ner-published" / "Fig8").is_dir():
        pytest.skip("the authors' published embeddings (Fig8) are not beside the clone")
    plan = _paper_plan(tmp_path)
    root = plan.results / "figures"
    ours = [Path(f).relative_to(root).as_posix() for f in plan_report.report_figures(plan)]
    assert ours, "the paper's configuration plans figures"
    rows = panels.load_panels()
    # every figure of ours has a row, and every pattern of the table finds its figure
    assert panels.unpaired_ours(rows, ours) == []
    pairs = panels.pair_panels(rows, ours)
    for pair in pairs:
        if pair.row.ours:
            assert pair.ours, f"{pair.row.ours} matches no planned figure"
    # the Fig4 PMd+S1 panel of the authors is two panels of ours
    (both,) = [p for p in pairs if p.row.published == "Fig4/Velocities_6PMd+3S1_sessions.pdf"]
    assert both.ours == ["fig4/Velocities_PMd_sessions.pdf", "fig4/Velocities_S1_sessions.pdf"]
    # no partner: the reason is the row's note
    (pmd,) = [p for p in pairs if p.row.published.startswith("Fig2/Chewie_20161014")]
    assert pmd.ours == [] and "not public" in pmd.reason


def test_number_selectors_pick_published_numbers():
    published = load_published()
    rows = panels.load_panels()
    claimed: set[int] = set()
    for r in rows:
        if r.numbers:
            picked = panels.select_numbers(r, published)
            assert len(picked), f"{r.name}: selector {r.numbers} picks no published number"
            assert not claimed & set(picked.index), f"{r.name}: a number on two panels"
            claimed |= set(picked.index)
    # e.g. the M1 velocity panel: the medians and the per-session training values
    (vel,) = [r for r in rows if r.published == "Fig4/Velocities_10_M1_sessions.pdf"]
    picked = panels.select_numbers(vel, published)
    assert set(picked["metric"]) == {"vel_R2"} and set(picked["split"]) == {"train"}
    assert {"median", "value"} <= set(picked["statistic"])
    # the rest of a figure is listed as numbers in no panel
    rest = panels.unclaimed_numbers(rows, published, "Fig4")
    assert len(rest) and not set(rest.index) & claimed


def test_malformed_panel_table_names_the_file_and_line(tmp_path):
    bad = tmp_path / "panels.tsv"
    header = "\t".join(panels.PANEL_COLUMNS)
    bad.write_text(f"{header}\nFig1/x.pdf\tFig1\t\t\t\n")
    with pytest.raises(InputError, match=r"line 2.*no partner of ours and no note"):
        panels.load_panels(bad)
    bad.write_text(f"{header}\nFig1/x.pdf\tFig9\tfig1/x.pdf\t\t\n")
    with pytest.raises(InputError, match="Fig9"):
        panels.load_panels(bad)
    bad.write_text(f"{header}\nFig1/x.pdf\tFig1\tfig1/x.pdf\tpanel\t\n")
    with pytest.raises(InputError, match="selector"):
        panels.load_panels(bad)


def test_published_panels_are_fetched_in_error_mode_only(tmp_path):
    folder = tmp_path / "panels"
    plan = _paper_plan(tmp_path, published_figures_dir=str(folder), missing="error")
    missing = plan_report.missing_published_figures(plan)
    assert len(missing) == 89
    targets = plan_report.published_figure_targets(missing, folder)
    assert all(e.kind == "figure" for e in targets.values())
    present = folder / "Fig3" / "NER_After_rotate_Chewie2015.pdf"
    present.parent.mkdir(parents=True)
    present.write_bytes(b"%PDF")
    assert len(plan_report.missing_published_figures(plan)) == 88
    assert plan_report.published_figures(plan) == {
        "Fig3/NER_After_rotate_Chewie2015.pdf": folder / "Fig3" / "NER_After_rotate_Chewie2015.pdf"
    }
    skip = _paper_plan(tmp_path, published_figures_dir=str(folder))
    assert plan_report.missing_published_figures(skip) == []
    unset = _paper_plan(tmp_path, published_figures_dir=None)
    assert plan_report.published_figures(unset) == {}
    assert "published_figures_dir" in plan_report.published_figures_absent(unset)


# -- the reproduction record -----------------------------------------------------------------------
LOG = """\
[Sun Dec  6 07:28:26 2026]
localrule ingest_session:
    output: results/paper/sessions/Han_20171201_S1.npz
    jobid: 24
    wildcards: monkey=Han, date=20171201, area=S1
[Sun Dec  6 07:28:38 2026]
rule train_embedding:
    jobid: 7
    wildcards: method=NER, session=Han_20171201_S1, seed=0
[Sun Dec  6 07:28:40 2026]
Finished jobid: 24 (Rule: ingest_session)
[Sun Dec  6 07:36:38 2026]
Finished jobid: 7 (Rule: train_embedding)
[Sun Dec  6 07:36:39 2026]
rule cross_decode:
    jobid: 9
"""


def test_snakemake_log_gives_jobs_and_stages(tmp_path):
    log = tmp_path / "x.snakemake.log"
    log.write_text(LOG)
    jobs = record.parse_snakemake_log(log)
    assert [(j.rule, j.seconds) for j in jobs] == [
        ("ingest_session", 14.0),
        ("train_embedding", 480.0),
    ]
    assert record.stage_of(jobs[1]) == "training: NER"
    table, wall = record.timing_table([log])
    assert math.isclose(wall, (480 + 12) / 3600)
    assert dict(zip(table["stage"], table["jobs"], strict=True)) == {"training: NER": 1, "data": 1}
    assert dict(zip(table["stage"], table["median_min"], strict=True)) == {
        "training: NER": 8.0,
        "data": 14 / 60,
    }
    # a resume that redid the NER job: one job, two runs, the time of both
    again = tmp_path / "y.snakemake.log"
    again.write_text(LOG.replace("07:36:38", "07:29:38").replace("Dec  6", "Dec  7"))
    table, wall = record.timing_table([log, again])
    ner = table[table["stage"] == "training: NER"].iloc[0]
    assert (ner["jobs"], ner["runs"]) == (1, 2)
    assert math.isclose(ner["job_hours"], (480 + 60) / 3600)
    assert "; 2 runs redid a job" in "".join(record._reruns_text(table))


def _comparison() -> pd.DataFrame:
    """A comparison table over the real published numbers: Fig4 measured (two seeds), the rest
    not computable."""
    published = load_published()
    published = published[published["statistic"] != "matrix"].reset_index(drop=True)
    rows = []
    for i, p in published.iterrows():
        row = {c: "" for c in COMPARISON_COLUMNS}
        row.update({k: p[k] for k in COMPARISON_COLUMNS if k in p.index})
        row.update(published=p["value"], published_display=p["display"], reference=p["value"])
        row["reference_basis"] = "published"
        if (
            p["figure"] == "Fig4"
            and p["panel"] in ("M1", "Velocities_10_M1_sessions")
            and p["method"] in ("NER", "CEBRA")
            and p["metric"] == "vel_R2"
        ):
            values = [float(p["value"]) + 0.01 * (i % 7), float(p["value"]) - 0.01]
            ok = i % 5 != 0
            row.update(
                paper_mean=float(np.mean(values)),
                paper_sd=float(np.std(values, ddof=1)),
                paper_n=2,
                paper_per_seed=";".join(f"{s}:{v:.6g}" for s, v in enumerate(values)),
                corrected_mean=float(np.mean(values)),
                corrected_sd=0.0,
                corrected_n=2,
                tolerance=0.05,
                verdict=REPRODUCED if ok else NOT_REPRODUCED,
                reason="within tolerance" if ok else "difference beyond tolerance",
            )
        else:
            row.update(verdict=NOT_COMPUTABLE, reason="not computable: not run", paper_n=0)
        rows.append(row)
    return pd.DataFrame(rows, columns=list(COMPARISON_COLUMNS))


def _pdf(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig, ax = plt.subplots(figsize=(2, 1.5))
    ax.plot([0, 1], [0, 1])
    ax.set_title(text)
    fig.savefig(path, metadata={"CreationDate": None})
    plt.close(fig)


def _results(tmp_path: Path) -> Path:
    results = tmp_path / "results"
    (results / "report").mkdir(parents=True)
    _comparison().to_csv(results / "report" / "comparison.csv", index=False)
    (results / "report" / "run.json").write_text(
        '{"commit": "abc123", "config": {"evaluation": "paper", "seeds": [0, 1]}, '
        '"machine": "test machine", "packages": {"cebra": "0.6.1"}, "sessions": ["Han_20171201_S1"]}'
    )
    for name in ("Velocities_M1_sessions", "Positions_M1_sessions"):
        _pdf(results / "figures" / "fig4" / f"{name}.pdf", name)
    _pdf(results / "figures" / "fig3" / "NER_Before_rotate_Chewie2015.pdf", "fig3")
    (results / "run").mkdir()
    (results / "run" / "2026-12-06T072823.snakemake.log").write_text(LOG)
    (results / "run" / "invocations.txt").write_text("2026-12-06T07:28:23Z 946307dabc\n")
    bench = results / "benchmarks" / "pivae_original"
    bench.mkdir(parents=True)
    (bench / "summary_stats.csv").write_text(
        "implementation,session,split,metric,n,median,mean,sd,min,max,published\n"
        "keras_original,Han_20171201_S1,train,vel_R2,5,0.54,0.57,0.14,0.44,0.75,0.5357\n"
        "ours,Han_20171201_S1,train,vel_R2,5,0.41,0.43,0.05,0.38,0.50,0.5357\n"
    )
    (results / "benchmarks" / "bench_pipeline.json").write_text(
        '{"steps": {}, "projection": {"cores": 2, "seeds": 3, "wall_h": 5.4, '
        '"side_by_side": {"copies": 2, "factor": {"NER": 1.25, "CEBRA": 1.1}}, "stages": '
        '{"training: NER": {"jobs": 3, "job_hours": 0.25}, '
        '"training: UMAP (both kinds, compilation included)": {"jobs": 1, "job_hours": 0.1}}}}'
    )
    umap = results / "benchmarks" / "umap_spread"
    umap.mkdir(parents=True)
    (umap / "summary_stats.csv").write_text(
        "implementation,method,variant,session,split,metric,n,median,mean,sd,min,max,published,"
        "published_in_range,p_vs_seeded\n"
        "UMAP seeded,UMAP,seeded,Han_20171204_S1,train,pos_R2,5,0.19,0.2,0.05,0.15,0.3,0.3742,"
        "False,\n"
        "UMAP unseeded,UMAP,unseeded,Han_20171204_S1,train,pos_R2,5,0.21,0.22,0.05,0.16,0.31,"
        "0.3742,False,0.548\n"
    )
    authors = results / "benchmarks" / "authors_embeddings"
    authors.mkdir(parents=True)
    (authors / "summary_stats.csv").write_text(
        "implementation,method,variant,session,split,metric,n,median,mean,sd,min,max,published,"
        "published_in_range,authors_minus_published,authors_equal_published\n"
        "NER authors,NER,authors,Chewie_20150629_M1,train,pos_R2,1,0.9496,0.9496,,0.9496,"
        "0.9496,0.9496,True,0.0,True\n"
        "NER ours,NER,ours,Chewie_20150629_M1,train,pos_R2,3,0.948,0.9495,0.0036,0.947,"
        "0.954,0.9496,True,,\n"
    )
    return results


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def test_record_pages_pair_panels_and_regenerate_identically(tmp_path):
    if record.shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    results = _results(tmp_path)
    out = tmp_path / "record"
    record.write_record(results, out)
    first = _tree(out)
    record.write_record(results, out)
    assert _tree(out) == first, "the record is not regenerated identically"
    assert not list(tmp_path.glob(".record.*")), "temporary folders left behind"

    readme = first["README.md"].decode()
    assert "commit `abc123`" in readme and "test machine" in readme
    assert "2026-12-06T07:28:23Z `946307dabc`" in readme
    judged = _comparison()
    n_ok = int((judged["verdict"] == REPRODUCED).sum())
    n_bad = int((judged["verdict"] == NOT_REPRODUCED).sum())
    assert f"{n_ok} of {n_ok + n_bad} directly comparable numbers reproduced" in readme
    assert f"## What did not reproduce ({n_bad})" in readme
    from ner_repro.report import findings

    failed = judged[judged["verdict"] == NOT_REPRODUCED]
    causes = findings.finding_numbers(failed, findings.load_findings())
    assert causes.map(len).all()  # Fig4 NER/CEBRA: the evaluation was ruled out
    assert (
        f"With a finding from an investigation: {n_bad} of {n_bad}; 0 not investigated yet"
        in readme
    )
    # each finding is written once, in full, under the table that cites it as F<n>
    evidence = "test_paper_mode_reproduces_the_fig4_rows_for_161014"
    number = next(
        n for n, f in enumerate(findings.load_findings(), start=1) if evidence in f.evidence
    )
    assert readme.count(evidence) == 1
    assert f"[F{number}](#f{number})" in readme and f"### F{number}\n" in readme
    page = first["Fig4.md"].decode()
    assert f"[F{number}](#f{number})" in page and page.count(evidence) == 1
    assert (
        "| Han_20171201_S1 | train | vel_R2 | 0.536 | 0.540 [0.440 – 0.750] (5) | "
        "0.410 [0.380 – 0.500] (5) |" in readme
    )
    assert (
        "| UMAP | Han_20171204_S1 | train | pos_R2 | 0.374 | 0.190 [0.150 – 0.300] (5) | "
        "0.210 [0.160 – 0.310] (5), p 0.55 |" in readme
    )
    assert "The authors' own embeddings decoded by our evaluation" in readme
    assert (
        "| NER | Chewie_20150629_M1 | train | pos_R2 | 0.950 | 0.950 [0.950 – 0.950] (1) | "
        "0.948 [0.947 – 0.954] (3) |" in readme
    )
    assert "Wall time (Snakemake's logs" in readme
    assert "for 3 seeds on 2 cores: 5.40 h" in readme
    assert "with 2 processes at once against one alone (CEBRA 1.10x, NER 1.25x)" in readme
    assert "| training: NER | 1 | 0.13 | 8.0 | 3 | 0.25 | 5.0 |" in readme
    assert "| data | 1 | 0.00 | 0.2 | not projected | not projected | not projected |" in readme
    assert (
        "| training: UMAP (both kinds, compilation included) | 0 | 0.00 |  | 1 | 0.10 | 6.0 |"
        in readme
    )

    # an unpaired panel whose note is its reason says it once
    fig2 = first["Fig2.md"].decode()
    assert fig2.count("that recording is not public") == 1
    fig4 = first["Fig4.md"].decode()
    assert "img/fig4/Velocities_M1_sessions.png" in fig4
    assert (
        f"https://github.com/NeuroscienceAI/NER/blob/{COMMIT}/NER_Figs_pdf/Fig4/Velocities_10_M1_sessions.pdf"
        in fig4
    )
    assert "img/fig4/Velocities_10_M1_sessions_NER_seeds.png" in fig4
    assert first["img/fig4/Velocities_M1_sessions.png"].startswith(b"\x89PNG")
    # a panel not built in this run, and one without a partner, each say why
    assert "No figure of this run matches fig4/Direction_accuracy_across_time_M1.pdf" in fig4
    fig2 = first["Fig2.md"].decode()
    assert "not public" in fig2
    # every published number of Fig4 is on the page: in a panel's table or in 'no panel'
    assert fig4.count("| NER |") >= 1 and "Published numbers drawn in no panel" in fig4
    assert "comparison.csv" in first


def test_record_without_a_report_says_what_to_run(tmp_path):
    with pytest.raises(InputError, match="snakemake report"):
        record.write_record(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_record_reads_the_report_of_a_run_still_going_from_report_now(tmp_path):
    """tools/report_now.py writes <results>/report-now (a report in the rule's place would stop
    a resumed run); the record reads it with report_dir and gives the same files."""
    if record.shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    results = _results(tmp_path)
    record.write_record(results, tmp_path / "a")
    (results / "report").rename(results / "report-now")
    with pytest.raises(InputError, match="report-now"):
        record.write_record(results, tmp_path / "b")
    assert (
        record.main([str(results), str(tmp_path / "b"), "--report", str(results / "report-now")])
        == 0
    )
    assert _tree(tmp_path / "b") == _tree(tmp_path / "a")


def test_report_html_puts_each_published_panel_beside_ours(tmp_path):
    if not (FIGURES_DIR / "Fig4").is_dir():
        pytest.skip(f"published panels not found at {FIGURES_DIR}")
    from ner_repro import report

    # two of the published panels (rasterising all 89 takes a minute or two)
    folder = tmp_path / "published-figures"
    for name in ("Fig4/Velocities_10_M1_sessions.pdf", "Fig7/Han2017_S1_vel_matrix.pdf"):
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes((FIGURES_DIR / name).read_bytes())
    plan = _paper_plan(tmp_path, published_figures_dir=str(folder))
    ours = plan.results / "figures" / "fig4" / "Velocities_M1_sessions.pdf"
    _pdf(tmp_path / ours, "ours")
    inputs = plan_report.report_inputs(plan)
    assert len(inputs["published_figures"]) == 2  # the panels present: inputs of the rule
    inputs["figures"] = [str(ours)]
    out = tmp_path / "results" / "report"
    report.write_report(
        plan,
        out / "report.md",
        out / "report.html",
        out / "comparison.csv",
        inputs=inputs,
        run_json=out / "run.json",
    )
    html = (out / "report.html").read_text()
    start = html.index("<h4>Velocities_10_M1_sessions.pdf</h4>")
    block = html[start : html.index("<div class='pair'>", start)]
    assert block.count("<img src='data:image/png;base64,") == 2  # theirs and ours
    assert f"NER/raw/{COMMIT}/NER_Figs_pdf/Fig4/Velocities_10_M1_sessions.pdf" in block
    assert "<th>verdict</th>" in block  # the numbers the panel carries
    # a published panel whose partner this run did not build says so
    start = html.index("<h4>Han2017_S1_vel_matrix.pdf</h4>")
    block = html[start : html.index("<div class='pair'>", start)]
    assert block.count("<img") == 1 and "no figure of this run matches" in block
    md = (out / "report.md").read_text()
    assert "#### Velocities_10_M1_sessions.pdf" in md
    run = __import__("json").loads((out / "run.json").read_text())
    assert run["config"]["published_figures_dir"] == str(folder)
    # a panel absent locally: linked, with the reason
    start = html.index("<h4>NER_Before_rotate_Chewie2015.pdf</h4>")
    block = html[start : html.index("<div class='pair'>", start)]
    assert "not present locally" in block and "public file" in block
    assert run["commit"] and run["machine"] and run["absent_outputs"]


def test_findings_select_published_numbers_and_malformed_rows_are_errors(tmp_path):
    from ner_repro.report import findings

    published = load_published()
    rows = findings.load_findings()
    assert rows
    for f in rows:
        assert len(panels.select(published, f.selector)), f"{f.text[:40]}... selects nothing"
    causes = findings.finding_numbers(published, rows).map(
        lambda ns: "; ".join(rows[n - 1].text for n in ns)
    )
    offdiag = (published["figure"] == "Fig7") & (published["statistic"] == "offdiag_mean")
    assert causes[offdiag].str.contains("get_best_R").all()
    diag = (
        (published["figure"] == "Fig7")
        & (published["statistic"] == "diag_mean")
        & (published["method"] != "piVAE")
    )
    assert (causes[diag] == "").all()
    pivae = published["method"] == "piVAE"
    assert causes[pivae].str.contains("original Keras").all()
    bad = tmp_path / "f.tsv"
    bad.write_text("numbers\tfinding\tevidence\nfigure=Fig1\t\tx\n")
    with pytest.raises(InputError, match="line 2"):
        findings.load_findings(bad)


def test_pipeline_projection_is_staged_as_the_record_stages_the_run():
    import importlib.util
    import sys

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))
    spec = importlib.util.spec_from_file_location("bench_pipeline", bench / "bench_pipeline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    staged = [
        (record.training_stage("NER", "ner"), 3600.0),
        (record.training_stage("NER", "ner"), 1800.0),
        (record.training_stage("UMAP_label", "umap"), 360.0),
    ]
    projection = module.projection_by_stage(staged, 7200.0, 2, 3)
    assert projection == {
        "cores": 2,
        "seeds": 3,
        "wall_h": 2.0,
        "stages": {
            "training: NER": {"jobs": 2, "job_hours": 1.5},
            record.UMAP_STAGE: {"jobs": 1, "job_hours": 0.1},
        },
    }
    job = record.Job("train_embedding", "method=NER, session=x, seed=0", datetime.min, datetime.min)
    assert record.stage_of(job) == "training: NER"


def test_record_rewrites_the_readme_summary_from_the_comparison(tmp_path):
    if record.shutil.which("pdftoppm") is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    results = _results(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(
        f"# Project\n\nbefore\n{record.SUMMARY_START}\nold text\n{record.SUMMARY_END}\nafter\n"
    )
    record.write_record(results, tmp_path / "docs" / "reproduction", summary_in=readme)
    text = readme.read_text()
    block = text[text.index(record.SUMMARY_START) : text.index(record.SUMMARY_END)]
    lines = block.splitlines()[1:]
    assert len(lines) == 5 and all(line.startswith("* ") for line in lines)
    assert "old text" not in text and text.startswith("# Project\n\nbefore\n")
    assert text.endswith(f"{record.SUMMARY_END}\nafter\n")
    judged = _comparison()
    n_ok = int((judged["verdict"] == REPRODUCED).sum())
    n_bad = int((judged["verdict"] == NOT_REPRODUCED).sum())
    assert f"reproduced: {n_ok} of {n_ok + n_bad}" in block
    assert (
        f"Not reproduced: {n_bad} (" in block
        and f"{n_bad} of them carry the finding of an investigation" in block
    )
    assert "1 invocations at commit 946307d" in block
    assert "[docs/reproduction/README.md](docs/reproduction/README.md)" in block
    # Rebuilding gives the same README.
    record.write_record(results, tmp_path / "docs" / "reproduction", summary_in=readme)
    assert readme.read_text() == text

    bare = tmp_path / "bare.md"
    bare.write_text("# no block\n")
    with pytest.raises(InputError, match=r"bare\.md.*no summary block"):
        record.update_readme(bare, ["* x"])
    assert bare.read_text() == "# no block\n"
