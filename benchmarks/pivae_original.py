"""The ORIGINAL Keras pi-VAE (CEBRA's vendored ``third_party/pivae``) against our PyTorch port.

Issue 22 item 4: is our pi-VAE's lower Fig4 R² seed spread or a difference of the port? This
script trains the authors' own model code on the same data, with the same protocol and seeds,
and decodes both with the project's own Fig4 evaluation (paper mode).

Two processes, one file:

* the **project side** (this script under the project's venv) reads the session, makes the
  authors' split, windows and labels with :mod:`ner_repro.methods.pivae` (``paper_split``,
  ``windows``; so the arrays Keras gets are byte-identical to what our port trains on), writes
  them to a ``.npz`` in a work folder, and runs the worker;
* the **worker** (``--worker``, run by ``--keras-python``, a venv with numpy, tensorflow and
  tf-keras and no torch; it imports nothing from the project) puts ``--pivae-dir`` on
  ``sys.path``, imports the vendored ``pivae_code.conv_pi_vae`` and builds the model exactly as
  the authors' notebooks did (``Fig3_Batch_M1_piVAE`` / ``Fig7_Batch_S1_piVAE``, METHODS §4,
  fig4-7.md §1, fig8-baselines.md §2.4; summaries in ``docs/sources.md``):
  ``conv_vae_mdl(dim_x=N, dim_z=3, dim_u=3, time_window=10, gen_nodes=60, n_blk=2,
  mdl="poisson", disc=False, learning_rate=2.5e-4)``; batches ``np.array_split`` of the
  fit part into ``len // 200`` chunks fed in order by the vendored
  ``pi_vae.custom_data_generator``, ``fit_generator`` for a fixed number of epochs
  with the validation part as ``validation_data`` (only recorded), final weights kept;
  embedding ``predict([X, U])[0]`` (the posterior mean, with labels) of the fit bins and of
  the test bins, and ``predict(...)[6]`` (the encoder's mean, without labels) as the
  label-free test embedding. It writes them, with the per-epoch losses, to a result ``.npz``.

The project side stores each run as an :class:`~ner_repro.core.embedding.EmbeddingRun`
(method ``piVAE_keras``) under ``--out/keras_original/``, trains (or reads, ``--ours-results``)
our port's runs of the same sessions and seeds (``ner_repro.methods.pivae.fit_pivae`` with
``methods.piVAE`` of ``config/config.yaml``: protocol paper, 300 epochs M1 / 50 S1) under
``--out/ours/``, decodes every run with
:func:`ner_repro.analysis.evaluation.explained_variance_table` in ``paper`` mode (the Fig4
per-session numbers: train/test vel_R2, pos_R2, peak_dir_acc, dir_MAE_deg) and writes
``--out/summary.csv`` (one row per implementation, session, seed, split, metric) and
``--out/summary_stats.csv`` (median, mean, SD, min, max over seeds, beside the published Fig4
value). Runs already in ``--out`` are reused, so an interrupted run resumes.

Where the worker departs from the vendored code as it stands, to run it as the authors did:

* The vendored ``conv_pi_vae.py`` imports standalone Keras 2 (``keras.layers.core``,
  ``keras.utils.generic_utils``); ``pi_vae.py`` imports ``tensorflow.keras``. Both are pointed
  at ``tf_keras`` (Keras 2 for TF 2.16+; ``TF_USE_LEGACY_KERAS=1``) through module aliases.
* ``Adam(lr=learning_rate)``: the current tf-keras optimizer *ignores* ``lr=`` with a warning
  and trains at its default 1e-3; Keras 2.2/2.3, which the authors ran, honoured it. The alias
  of ``keras.optimizers.Adam`` is tf-keras' legacy Adam, which takes ``lr`` and applies the
  same update as Keras 2.3 (``lr_t = lr*sqrt(1-b2^t)/(1-b1^t)``, epsilon 1e-7 added to
  ``sqrt(v)``); the worker checks that the optimizer's learning rate is 2.5e-4.
* ``fit_generator`` gets the vendored ``custom_data_generator``'s batches with the input
  list ``[x, u]`` made a tuple: tf-keras turns a yielded list into one tensor, Keras 2.3 took
  it as the model's two inputs. Same batches, same order.
* Seeds: ``tf_keras.utils.set_random_seed(seed)`` (Python, NumPy and the TF global seed) and
  op determinism, one intra- and one inter-op thread, so a run is repeatable; the authors ran
  ``np.random.seed(42)`` with TensorFlow unseeded (every run different).

Differences of the vendored code from our port found by reading them side by side (neither
changes the model or the loss): Keras' Adam adds epsilon to ``sqrt(v_t)`` before the bias
correction of the step, torch's after (an effective epsilon smaller by ``sqrt(1-b2^t)``);
Keras reports an epoch's loss as the batch-size-weighted mean of its batch losses, our port
the plain mean (batches differ by at most one bin); the reparameterisation noise and the
initial weights come from TensorFlow's generators, ours from torch's. CEBRA's own
``task.py`` restores the best validation checkpoint; the NER authors did not (final weights).

Usage (the data preparation and evaluation under the project's venv, single-threaded)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/pivae_original.py \\
        --keras-python /work/ext/pivae-keras-venv/bin/python \\
        --pivae-dir /work/ext/cebra/third_party/pivae \\
        [--sessions Han_20171201_S1 Chewie_20150630_M1] [--seeds 0 1 2 3 4] \\
        [--epochs N (default: config's, 300 M1 / 50 S1)] [--out benchmarks/out/pivae_original] \\
        [--ours-results results/<...>] [--implementations keras_original ours]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # the worker runs without the project's packages
    import pandas as pd

    from ner_repro.core.embedding import EmbeddingRun
    from ner_repro.core.session import SessionData

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("NER_SHARED_DIR", REPO_ROOT.parent / "shared"))
DATA_DIR = SHARED / "data" / "ner-sessions"
CONFIG = REPO_ROOT / "config" / "config.yaml"
PUBLISHED = REPO_ROOT / "resources" / "published_numbers.tsv"
DEFAULT_OUT = REPO_ROOT / "benchmarks" / "out" / "pivae_original"
DEFAULT_SESSIONS = ("Han_20171201_S1", "Chewie_20150630_M1")

KERAS = "keras_original"
OURS = "ours"
IMPLEMENTATIONS = (KERAS, OURS)
#: Method names of the runs (EmbeddingRun.method) per implementation.
METHOD_NAMES = {KERAS: "piVAE_keras", OURS: "piVAE"}

#: The authors' conv_vae_mdl arguments and batching (fig8-baselines.md §2.4).
MODEL_ARGS: dict[str, Any] = {
    "dim_z": 3,
    "dim_u": 3,
    "time_window": 10,
    "gen_nodes": 60,
    "n_blk": 2,
    "mdl": "poisson",
    "disc": False,
    "learning_rate": 2.5e-4,
}
BATCH_SIZE = 200

#: Final training losses of the authors' runs, which ``resources/published_numbers.tsv`` does
#: not carry: (statistic, value, where). The M1 one is the title of the training-loss PDF
#: (``int`` of the mean of the last 10 epochs, 300 epochs), the S1 one the last epoch of the
#: notebook's stored 50-epoch log (fig8-baselines.md §2.4 and its reported baseline numbers).
REFERENCE_FINAL_LOSS: dict[str, tuple[str, float, str]] = {
    "Chewie_20150630_M1": ("final_loss_last10", 245.0, "loss-PDF title, int(mean last 10)"),
    "Han_20171201_S1": ("final_loss", 290.6, "stored notebook log, last epoch"),
}
#: Per-run metrics reported besides the decoding ones.
RUN_METRICS = ("final_loss", "final_loss_last10", "final_val_loss", "wall_s")


# ============================================================================================
# Worker (Keras venv): numpy, tensorflow, tf_keras and the vendored code only.
# ============================================================================================


def _install_keras_aliases() -> dict[str, str]:
    """Point the standalone-Keras-2 imports of the vendored code at ``tf_keras``."""
    import types

    import tf_keras

    aliases: dict[str, Any] = {
        "keras": tf_keras,
        "keras.models": tf_keras.models,
        "keras.layers": tf_keras.layers,
        "keras.losses": tf_keras.losses,
        "keras.backend": tf_keras.backend,
        "keras.callbacks": tf_keras.callbacks,
        "keras.activations": tf_keras.activations,
        "keras.utils": tf_keras.utils,
    }
    core = types.ModuleType("keras.layers.core")
    core.Lambda = tf_keras.layers.Lambda  # type: ignore[attr-defined]
    generic_utils = types.ModuleType("keras.utils.generic_utils")
    generic_utils.get_custom_objects = tf_keras.utils.get_custom_objects  # type: ignore[attr-defined]
    # Keras 2.3's Adam honours ``lr=``; tf-keras' current one ignores it (legacy one does not).
    optimizers = types.ModuleType("keras.optimizers")
    optimizers.Adam = tf_keras.optimizers.legacy.Adam  # type: ignore[attr-defined]
    aliases.update(
        {
            "keras.layers.core": core,
            "keras.utils.generic_utils": generic_utils,
            "keras.optimizers": optimizers,
        }
    )
    sys.modules.update(aliases)
    return {name: getattr(mod, "__name__", str(mod)) for name, mod in aliases.items()}


def split_batches(x: np.ndarray, batch_size: int = BATCH_SIZE) -> list[np.ndarray]:
    """The authors' batches: ``np.array_split(x, int(len(x) / batch_size))``, in order."""
    return np.array_split(x, max(1, int(len(x) / batch_size)))


def worker(job_path: Path, result_path: Path, pivae_dir: Path) -> None:
    """Train the vendored conv pi-VAE on the job's arrays; write the embeddings and losses."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    for var in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(var, "1")
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    aliases = _install_keras_aliases()
    import tf_keras

    sys.path.insert(0, str(pivae_dir))
    from pivae_code import conv_pi_vae, pi_vae  # the vendored code, as the notebooks import it

    with np.load(job_path) as z:
        job = {k: z[k] for k in z.files}
    seed = int(job["seed"])
    epochs = int(job["epochs"])
    model_args = json.loads(str(job["model_args"]))
    tf_keras.utils.set_random_seed(seed)  # random, np.random.seed(seed), tf.random.set_seed
    tf.config.experimental.enable_op_determinism()

    clock = time.perf_counter()
    x_fit, u_fit = job["x_fit"], job["u_fit"]
    vae = conv_pi_vae.conv_vae_mdl(dim_x=x_fit.shape[2], **model_args)
    lr = float(tf_keras.backend.get_value(vae.optimizer.learning_rate))
    if not np.isclose(lr, model_args["learning_rate"]):
        raise RuntimeError(f"the optimizer's learning rate is {lr}, not the authors' value")
    batch_size = int(job["batch_size"])
    x_all, u_all = split_batches(x_fit, batch_size), split_batches(u_fit, batch_size)
    x_valid, u_valid = (
        split_batches(job["x_val"], batch_size),
        split_batches(job["u_val"], batch_size),
    )

    epoch_s: list[float] = []

    class EpochTimer(tf_keras.callbacks.Callback):
        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            epoch_s.append(time.perf_counter() - self.t0)

    def as_tuples(gen: Any) -> Any:
        # tf-keras turns a yielded *list* [x, u] into one tensor; a tuple is two inputs.
        for inputs, target in gen:
            yield tuple(inputs), target

    fit = getattr(vae, "fit_generator", vae.fit)
    history = fit(
        as_tuples(pi_vae.custom_data_generator(x_all, u_all)),
        steps_per_epoch=len(x_all),
        epochs=epochs,
        verbose=2,
        validation_data=as_tuples(pi_vae.custom_data_generator(x_valid, u_valid)),
        validation_steps=len(x_valid),
        callbacks=[EpochTimer()],
    )
    fit_s = time.perf_counter() - clock
    out_fit = vae.predict([x_fit, u_fit], verbose=0)
    out_test = vae.predict([job["x_test"], job["u_test"]], verbose=0)
    np.savez(
        result_path,
        train=out_fit[0],  # posterior mean with the training labels
        train_encoder=out_fit[6],  # encoder mean, no labels
        test_paper=out_test[0],  # posterior mean with the test labels (the authors')
        test=out_test[6],  # encoder mean, no test labels
        loss=np.asarray(history.history["loss"], dtype=np.float64),
        val_loss=np.asarray(history.history.get("val_loss", []), dtype=np.float64),
        epoch_s=np.asarray(epoch_s),
        fit_s=np.float64(fit_s),
        wall_s=np.float64(time.perf_counter() - clock),
        n_parameters=np.int64(vae.count_params()),
        learning_rate=np.float64(lr),
        versions=json.dumps(
            {
                "tensorflow": tf.__version__,
                "tf_keras": tf_keras.__version__,
                "numpy": np.__version__,
                "python": sys.version.split()[0],
                "keras_aliases": aliases,
                "optimizer": type(vae.optimizer).__module__ + "." + type(vae.optimizer).__name__,
            }
        ),
    )


# ============================================================================================
# Project side (project venv).
# ============================================================================================


def parse_session(name: str) -> tuple[str, str, str]:
    """``Monkey_YYYYMMDD_Area`` -> (monkey, date, area)."""
    parts = name.split("_")
    if len(parts) != 3:
        raise ValueError(f"session must be Monkey_YYYYMMDD_Area, got {name!r}")
    return parts[0], parts[1], parts[2]


def load_session(name: str, data_dir: Path = DATA_DIR) -> SessionData:
    """One session as ``benchmarks/bench_pivae.py`` reads it (40-bin Chewie/Mihili trials)."""
    from ner_repro.data.ingest import read_session

    monkey, date, area = parse_session(name)
    t_dur = None if monkey == "Han" else 40  # Han's files store their t_dur (35)
    return read_session(data_dir / f"{monkey}_{date}_neural_con_dis_index.mat", area, t_dur=t_dur)


def method_params(method: str = "piVAE", config: Path = CONFIG) -> dict[str, Any]:
    """The settings of ``methods.<method>`` in the workflow's config (kind/seeds left out)."""
    import yaml

    from ner_repro.methods.kinds import ENTRY_KEYS

    entry = yaml.safe_load(config.read_text())["methods"][method]
    return {k: v for k, v in entry.items() if k not in ENTRY_KEYS}


def paper_parts(session: SessionData, params: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """The authors' split of ``session`` as our port makes it in ``protocol: paper``: raw
    neural parts and labels (``y_*``), and the model inputs (``x_*``: float32 windows;
    ``u_*``: float32 labels, normalised as the port does where ``normalize_labels``)."""
    from ner_repro.methods import pivae

    neural, labels = session.neural, session.labels
    n_fit, valid_end = pivae.paper_split(neural.shape[0], session.t_dur)
    parts = {"fit": slice(0, n_fit), "val": slice(n_fit, valid_end), "test": slice(valid_end, None)}
    y = {k: labels[s] for k, s in parts.items()}
    mean, std = np.zeros(labels.shape[1]), np.ones(labels.shape[1])
    if params.get("normalize_labels", False):
        mean, std = y["fit"].mean(0), y["fit"].std(0) + 1e-12
    out: dict[str, np.ndarray] = {}
    for k, s in parts.items():
        out[f"x_{k}"] = pivae.windows(neural[s])
        # The port feeds torch.as_tensor(u, dtype=float32): the same float32 values.
        out[f"u_{k}"] = ((y[k] - mean) / std).astype(np.float32)
        out[f"y_{k}"] = y[k]
    return out


def keras_job(parts: Mapping[str, np.ndarray], *, seed: int, epochs: int) -> dict[str, Any]:
    """The arrays and settings the worker trains on."""
    job: dict[str, Any] = {k: v for k, v in parts.items() if k[:2] in ("x_", "u_")}
    job.update(
        seed=np.int64(seed),
        epochs=np.int64(epochs),
        batch_size=np.int64(BATCH_SIZE),
        model_args=json.dumps(MODEL_ARGS),
    )
    return job


def checkout_commit(pivae_dir: Path) -> str:
    """The git commit of the checkout holding ``pivae_dir``
    (:func:`ner_repro.core.provenance.code_version`), or a ``COMMIT`` file at one of its parents
    (written when the folder was exported with ``git archive``); "" when unknown."""
    from ner_repro.core.provenance import code_version

    commit = code_version(pivae_dir)
    if commit != "unknown":
        return commit
    for parent in (pivae_dir, *pivae_dir.resolve().parents):
        marker = parent / "COMMIT"
        if marker.is_file():
            return marker.read_text().strip()
    return ""


def run_from_result(
    session: SessionData,
    parts: Mapping[str, np.ndarray],
    result: Mapping[str, Any],
    *,
    seed: int,
    epochs: int,
    meta: Mapping[str, Any],
) -> EmbeddingRun:
    """The worker's result as an EmbeddingRun (method ``piVAE_keras``), labels as our port's."""
    from ner_repro.core import provenance
    from ner_repro.core.embedding import EmbeddingRun

    versions = json.loads(str(result["versions"]))
    record = provenance.run_metadata(
        config={
            "kind": "pivae_keras_original",
            **MODEL_ARGS,
            "batch_size": BATCH_SIZE,
            "epochs": epochs,
            "protocol": "paper",
        },
        seed=seed,
        wall_time_s=float(result["wall_s"]),
        session=session.name,
        source=session.source,
        source_sha256=session.source_sha256,
        implementation=KERAS,
        device="cpu (TensorFlow, 1 intra-op and 1 inter-op thread)",
        learning_rate_used=float(result["learning_rate"]),
        n_parameters=int(result["n_parameters"]),
        **versions,
        **meta,
    )
    return EmbeddingRun(
        method=METHOD_NAMES[KERAS],
        session=session.name,
        seed=seed,
        train=np.asarray(result["train"]),
        test=np.asarray(result["test"]),
        test_paper=np.asarray(result["test_paper"]),
        labels_train=parts["y_fit"],
        labels_test=parts["y_test"],
        t_dur=session.t_dur,
        loss=np.asarray(result["loss"]),
        loss_name="-ELBO",
        extras={
            "train_encoder": np.asarray(result["train_encoder"]),
            "val_loss": np.asarray(result["val_loss"]),
            "epoch_s": np.asarray(result["epoch_s"]),
            "n_fit_bins": np.int64(len(parts["y_fit"])),
        },
        meta=record,
    )


def train_keras(
    session: SessionData,
    *,
    seed: int,
    epochs: int,
    params: Mapping[str, Any],
    keras_python: Path,
    pivae_dir: Path,
    work_dir: Path,
) -> EmbeddingRun:
    """One run of the vendored model through the worker."""
    parts = paper_parts(session, params)
    job_path = work_dir / f"{session.name}_seed{seed}_job.npz"
    result_path = work_dir / f"{session.name}_seed{seed}_result.npz"
    np.savez(job_path, **keras_job(parts, seed=seed, epochs=epochs))
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "PYTHONNOUSERSITE": "1"}
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = "1"
    env.pop("PYTHONPATH", None)
    cmd = [
        str(keras_python),
        str(Path(__file__).resolve()),
        "--worker",
        "--job",
        str(job_path),
        "--result",
        str(result_path),
        "--pivae-dir",
        str(pivae_dir),
    ]
    print(f"[keras] {session.name} seed {seed}, {epochs} epochs: {' '.join(cmd)}", flush=True)
    subprocess.run(cmd, env=env, check=True)
    with np.load(result_path) as z:
        result = {k: z[k] for k in z.files}
    meta = {
        "pivae_dir": str(pivae_dir),
        "cebra_commit": checkout_commit(pivae_dir),
        "keras_python": str(keras_python),
    }
    return run_from_result(session, parts, result, seed=seed, epochs=epochs, meta=meta)


def train_ours(
    session: SessionData, *, seed: int, epochs: int, params: Mapping[str, Any]
) -> EmbeddingRun:
    """Our port, with the config's settings (``epochs`` as given), one torch thread."""
    from ner_repro.methods.pivae import fit_pivae

    settings = {**params, "epochs": epochs, "num_threads": 1}
    print(f"[ours] {session.name} seed {seed}, {epochs} epochs", flush=True)
    return fit_pivae(session, seed=seed, params=settings, method=METHOD_NAMES[OURS])


def run_path(out: Path, implementation: str, session: str, seed: int) -> Path:
    return out / implementation / METHOD_NAMES[implementation] / f"{session}_seed{seed}.npz"


def find_ours(results: Path, session: str, seed: int) -> Path | None:
    """Our port's run in a workflow results folder (``<results>/embeddings/piVAE/``)."""
    for folder in (results / "embeddings" / "piVAE", results / "piVAE", results):
        path = folder / f"{session}_seed{seed}.npz"
        if path.is_file():
            return path
    return None


def run_metrics(run: EmbeddingRun) -> dict[str, float]:
    """Final losses and wall time of one run (NaN where absent)."""
    loss = np.asarray(run.loss)
    val = np.asarray(run.extras.get("val_loss", np.zeros(0)))
    wall = run.meta.get("wall_time_s", np.nan)
    return {
        "final_loss": float(loss[-1]) if loss.size else np.nan,
        "final_loss_last10": float(loss[-10:].mean()) if loss.size else np.nan,
        "final_val_loss": float(val[-1]) if val.size else np.nan,
        "wall_s": float(wall) if wall is not None else np.nan,
    }


def published_values(
    path: Path = PUBLISHED, method: str = "piVAE"
) -> dict[tuple[str, str, str], float]:
    """(session, split, metric) -> the published Fig4 value of ``method`` (linear decoder;
    for pi-VAE also the authors' final training losses)."""
    import pandas as pd

    pub = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    sel = pub[
        (pub["figure"] == "Fig4")
        & (pub["method"] == method)
        & (pub["statistic"] == "value")
        & (pub["decoder"].isin(["linear", ""]))
    ]
    out = {
        (r.session, r.split, r.metric): float(r.value) for r in sel.itertuples() if r.value != ""
    }
    if method == "piVAE":
        for session, (metric, value, _) in REFERENCE_FINAL_LOSS.items():
            out.setdefault((session, "train", metric), value)
    return out


def per_run_table(
    runs: Sequence[tuple[str, EmbeddingRun]], published: Mapping[tuple[str, str, str], float]
) -> pd.DataFrame:
    """One row per (implementation, session, seed, split, metric): the Fig4 paper-mode
    decoding (the report's own :func:`explained_variance_table`) and the run metrics."""
    import pandas as pd

    from ner_repro.analysis.evaluation import explained_variance_table

    implementation = {METHOD_NAMES[i]: i for i in IMPLEMENTATIONS}
    table = explained_variance_table([r for _, r in runs], "paper", dataset="pivae_original")
    frame = table.frame
    rows = [
        {
            "implementation": implementation[r.method],
            "session": r.train_session,
            "seed": int(r.seed),
            "split": r.split,
            "metric": r.metric,
            "value": float(r.value),
        }
        for r in frame.itertuples()
    ]
    for impl, run in runs:
        for metric, value in run_metrics(run).items():
            rows.append(
                {
                    "implementation": impl,
                    "session": run.session,
                    "seed": run.seed,
                    "split": "train",
                    "metric": metric,
                    "value": value,
                }
            )
    out = pd.DataFrame(rows)
    out["published"] = [
        published.get((s, sp, m), np.nan)
        for s, sp, m in zip(out["session"], out["split"], out["metric"], strict=True)
    ]
    return out.sort_values(["session", "split", "metric", "implementation", "seed"]).reset_index(
        drop=True
    )


def summary_table(per_run: pd.DataFrame) -> pd.DataFrame:
    """Median, mean, SD (ddof 1), min, max over seeds per (implementation, session, split,
    metric), with the published value."""
    keys = ["implementation", "session", "split", "metric"]
    grouped = per_run.groupby(keys, sort=True)
    stats = grouped["value"].agg(
        n="count",
        median="median",
        mean="mean",
        sd="std",
        min="min",
        max="max",
    )
    stats["published"] = grouped["published"].first()
    stats = stats.reset_index()
    inside = (stats["published"] >= stats["min"] - 1e-9) & (
        stats["published"] <= stats["max"] + 1e-9
    )
    stats["published_in_range"] = np.where(stats["published"].isna(), "", inside.map(str))
    order = ["session", "split", "metric", "implementation"]
    return stats.sort_values(order).reset_index(drop=True)


def collect_runs(args: argparse.Namespace) -> list[tuple[str, EmbeddingRun]]:
    """Train (or reuse) every run, one training at a time: per session, per seed, Keras
    then ours."""
    from ner_repro.core.embedding import EmbeddingRun
    from ner_repro.methods.pivae import epochs_for

    params = method_params("piVAE")
    runs: list[tuple[str, EmbeddingRun]] = []
    work = Path(args.work_dir) if args.work_dir else Path(tempfile.mkdtemp(prefix="pivae_orig_"))
    work.mkdir(parents=True, exist_ok=True)
    for name in args.sessions:
        session = load_session(name, Path(args.data_dir))
        epochs = (
            args.epochs if args.epochs is not None else epochs_for(params["epochs"], session.area)
        )
        for seed in args.seeds:
            for impl in args.implementations:
                path = run_path(Path(args.out), impl, session.name, seed)
                if impl == OURS and args.ours_results and not path.is_file():
                    found = find_ours(Path(args.ours_results), session.name, seed)
                    if found is not None:
                        print(f"[ours] {session.name} seed {seed}: {found}", flush=True)
                        runs.append((impl, EmbeddingRun.load(found)))
                        continue
                if path.is_file():
                    run = EmbeddingRun.load(path)
                    if run.loss.size == epochs:
                        print(f"[{impl}] {session.name} seed {seed}: cached {path}", flush=True)
                        runs.append((impl, run))
                        continue
                if impl == KERAS:
                    run = train_keras(
                        session,
                        seed=seed,
                        epochs=epochs,
                        params=params,
                        keras_python=Path(args.keras_python),
                        pivae_dir=Path(args.pivae_dir),
                        work_dir=work,
                    )
                else:
                    run = train_ours(session, seed=seed, epochs=epochs, params=params)
                run.save(path)
                m = run_metrics(run)
                print(
                    f"[{impl}] {session.name} seed {seed}: final loss {m['final_loss']:.2f}, "
                    f"wall {m['wall_s']:.0f} s -> {path}",
                    flush=True,
                )
                runs.append((impl, run))
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    ap.add_argument("--keras-python", help="python of a venv with numpy, tensorflow, tf-keras")
    ap.add_argument("--pivae-dir", help="CEBRA's third_party/pivae folder (holds pivae_code/)")
    ap.add_argument("--sessions", nargs="+", default=list(DEFAULT_SESSIONS))
    ap.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    ap.add_argument("--epochs", type=int, default=None, help="default: the config's per area")
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    ap.add_argument("--ours-results", default=None, help="a results folder with our piVAE runs")
    ap.add_argument("--implementations", nargs="+", default=list(IMPLEMENTATIONS))
    ap.add_argument("--data-dir", default=str(DATA_DIR))
    ap.add_argument("--work-dir", default=None, help="for the exchanged .npz (default: a temp dir)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--job", help=argparse.SUPPRESS)
    ap.add_argument("--result", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.worker:
        if not (args.job and args.result and args.pivae_dir):
            ap.error("--worker needs --job, --result and --pivae-dir")
        worker(Path(args.job), Path(args.result), Path(args.pivae_dir))
        return 0
    if not args.pivae_dir or (KERAS in args.implementations and not args.keras_python):
        ap.error("--keras-python and --pivae-dir are required")
    if not (Path(args.pivae_dir) / "pivae_code" / "conv_pi_vae.py").is_file():
        ap.error(f"{args.pivae_dir} has no pivae_code/conv_pi_vae.py")
    bad = set(args.implementations) - set(IMPLEMENTATIONS)
    if bad:
        ap.error(f"unknown implementations {sorted(bad)}; known: {IMPLEMENTATIONS}")

    import pandas as pd

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    runs = collect_runs(args)
    per_run = per_run_table(runs, published_values())
    stats = summary_table(per_run)
    per_run.to_csv(out / "summary.csv", index=False)
    stats.to_csv(out / "summary_stats.csv", index=False)
    with pd.option_context("display.width", 200, "display.max_rows", 1000):
        print(per_run.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
        print()
        print(stats.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    print(f"\nwrote {out / 'summary.csv'} and {out / 'summary_stats.csv'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
