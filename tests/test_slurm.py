"""The workflow on a real SLURM cluster: profiles/slurm through the SLURM executor plugin.

``pytest -m slurm`` starts a one-node cluster from Debian packages
(``tests/slurm/cluster.sh up``: munge, slurmctld, slurmd; needs root and apt), runs a
small DAG with ``--workflow-profile profiles/slurm``, and checks that

* every job went through SLURM: one line per job in the cluster's job completion log
  (jobcomp/filetxt; ``sacct`` needs slurmdbd, which this cluster does not have),
  named with Snakemake's run id, COMPLETED, and its SLURM log under
  ``.snakemake/slurm_logs``;
* the profile's requests reached sbatch (``scontrol show job``: CPUs, memory, time
  limit, and the GPU of the training rule, scheduled on the node's fake GPU);
* the outputs equal those of a local run (``--cores 2``) of the same targets: text
  byte for byte, ``.npz`` array by array.

Two DAGs: a toy Snakefile written by the test (always), and targets of the real
workflow with ``config/demo.yaml`` (``WORKFLOW_TARGETS``).

Without the ``slurm`` marker (the default run) only the cheap checks run: both
profiles parse, and every rule they name exists.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
CLUSTER_SH = REPO_ROOT / "tests" / "slurm" / "cluster.sh"
SLURM_PROFILE = REPO_ROOT / "profiles" / "slurm"
DEFAULT_PROFILE = REPO_ROOT / "profiles" / "default"
SNAKEFILE = REPO_ROOT / "Snakefile"

#: Targets of the real workflow run through SLURM, relative to the run directory, with
#: the demo config (``WORKFLOW_CONFIGFILE`` updated by ``WORKFLOW_CONFIG_UPDATE``): two
#: sessions (simulated, then ingested) and one short NER training run. Empty: the
#: real-workflow test is skipped.
WORKFLOW_TARGETS: tuple[str, ...] = (
    "results/demo/sessions/Simia_20230105_M1.npz",
    "results/demo/sessions/Simon_20240201_S1.npz",
    "results/demo/embeddings/NER/Simia_20230105_M1_seed0.npz",
)
WORKFLOW_CONFIGFILE = REPO_ROOT / "config" / "demo.yaml"
#: Merged into the demo config for both runs. `device: cpu`: the test cluster's GPU is
#: fake, so training must not look for CUDA (and the rule then asks for no GPU); NER
#: trains for a few iterations only (the test runs it twice, on 2 busy cores).
WORKFLOW_CONFIG_UPDATE: dict = {"device": "cpu", "methods": {"NER": {"max_iterations": 20}}}

#: Settings for the test cluster on top of the profile (command-line options win over
#: it): squeue for status (no slurmdbd, so no sacct; MinJobAge=300 keeps finished jobs
#: visible), quick polling, and SLURM logs kept for the checks.
SLURM_TEST_ARGS: tuple[str, ...] = (
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
    "--slurm-keep-successful-logs",
)

SNAKEMAKE = [sys.executable, "-m", "snakemake"]

# --- the toy DAG -----------------------------------------------------------------

TOY_SNAKEFILE = """
import os

import numpy as np

SESSIONS = ["a", "b"]


rule all:
    input:
        "summary.txt",


rule make_session:
    output:
        "sessions/{s}.npz",
    threads: 1
    resources:
        gpu=0,
    run:
        rng = np.random.default_rng(sum(map(ord, wildcards.s)))
        np.savez(output[0], x=rng.normal(size=(60, 5)), y=np.arange(60))


# Named like the workflow's training rule, so the profile's set-resources and
# set-threads for train_embedding apply to it.
rule train_embedding:
    input:
        "sessions/{s}.npz",
    output:
        "embeddings/{s}.npz",
    log:
        "logs/train_{s}.log",
    threads: 1
    resources:
        gpu=1 if config.get("gpu") else 0,
    run:
        with open(log[0], "w") as fh:
            for key in ("SLURM_JOB_ID", "SLURM_CPUS_PER_TASK", "SLURM_GPUS_ON_NODE"):
                print(f"{key}={os.environ.get(key, '')}", file=fh)
            print(f"threads={threads}", file=fh)
        x = np.load(input[0])["x"]
        x = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(x, full_matrices=False)
        np.savez(output[0], embedding=x @ vt[:3].T, components=vt[:3])


rule summary:
    input:
        expand("embeddings/{s}.npz", s=SESSIONS),
    output:
        "summary.txt",
    run:
        with open(output[0], "w") as fh:
            for path in input:
                emb = np.load(path)["embedding"]
                print(path, emb.shape, repr(float(np.abs(emb).sum())), file=fh)
"""
#: What the toy DAG writes (compared between the two runs).
TOY_OUTPUTS = (
    "sessions/a.npz",
    "sessions/b.npz",
    "embeddings/a.npz",
    "embeddings/b.npz",
    "summary.txt",
)
#: Rules of the toy DAG that become SLURM jobs (`all` has no action and runs locally).
TOY_JOBS = {"make_session": 2, "train_embedding": 2, "summary": 1}


# --- helpers ---------------------------------------------------------------------


@dataclass(frozen=True)
class Cluster:
    conf: Path
    state_dir: Path
    node: str
    cpus: int
    mem_mb: int
    gpus: int

    @property
    def jobcomp(self) -> Path:
        return self.state_dir / "log" / "jobcomp.txt"

    def env(self) -> dict[str, str]:
        return {**os.environ, "SLURM_CONF": str(self.conf)}


def run(cmd: Sequence[str], *, cwd: Path, env=None, timeout: float = 900) -> str:
    """Run ``cmd``; return stdout+stderr; fail the test with its tail if it fails."""
    proc = subprocess.run(
        [str(c) for c in cmd],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.splitlines()[-60:])
        pytest.fail(f"exit {proc.returncode}: {' '.join(map(str, cmd))}\n{tail}")
    return proc.stdout


def jobcomp_records(path: Path) -> list[dict[str, str]]:
    """The job completion log: one ``Key=Value ...`` line per finished job."""
    if not path.exists():
        return []
    return [
        dict(re.findall(r"(\w+)=(\S*)", line))
        for line in path.read_text().splitlines()
        if line.strip()
    ]


def scontrol_job(job_id: str, env) -> dict[str, str]:
    out = subprocess.run(
        ["scontrol", "show", "job", job_id],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        check=True,
    ).stdout
    return dict(re.findall(r"(\w+)=(\S*)", out))


#: .npz entries that legitimately differ between two runs of the same job: the
#: provenance record (times, host, argv, wall time) and the checksum of the source
#: recording (a simulated MATLAB file's header carries its creation time).
VOLATILE_NPZ_KEYS = frozenset({"meta_json", "source_sha256"})


def assert_same_outputs(ref_dir: Path, other_dir: Path, paths: Iterable[str]) -> None:
    """Files equal: .npz array by array (``VOLATILE_NPZ_KEYS`` only present in both),
    anything else byte for byte."""
    for rel in paths:
        ref, other = ref_dir / rel, other_dir / rel
        assert ref.is_file(), f"local run did not write {rel}"
        assert other.is_file(), f"SLURM run did not write {rel}"
        if rel.endswith(".npz"):
            with np.load(ref, allow_pickle=False) as a, np.load(other, allow_pickle=False) as b:
                assert sorted(a.files) == sorted(b.files), rel
                for key in a.files:
                    if key in VOLATILE_NPZ_KEYS:
                        continue
                    assert a[key].dtype == b[key].dtype, f"{rel}:{key} dtype"
                    np.testing.assert_array_equal(a[key], b[key], err_msg=f"{rel}:{key}")
        else:
            assert ref.read_bytes() == other.read_bytes(), rel


@dataclass
class SlurmRun:
    run_id: str
    records: list[dict[str, str]]
    log: str


def run_on_slurm(
    cluster: Cluster,
    workdir: Path,
    targets: Sequence[str],
    args: Sequence[str],
    timeout: float = 1200,
) -> SlurmRun:
    """snakemake with the SLURM profile in ``workdir``; the jobs it sent to SLURM.
    (Targets come first: options such as --config take any number of values.)"""
    cmd = [
        *SNAKEMAKE,
        *targets,
        "--workflow-profile",
        SLURM_PROFILE,
        *SLURM_TEST_ARGS,
        # The test node has few CPUs: cap the profile's set-threads to what it has
        # (sbatch refuses --cpus-per-task above the node's CPU count).
        "--max-threads",
        str(cluster.cpus),
        *args,
    ]
    log = run(cmd, cwd=workdir, env=cluster.env(), timeout=timeout)
    assert "Using workflow specific profile" in log and str(SLURM_PROFILE) in log, log[:2000]
    match = re.search(r"SLURM run ID: (\S+)", log)
    assert match, f"no SLURM run ID in the log:\n{log[-3000:]}"
    run_id = match.group(1)
    records = [r for r in jobcomp_records(cluster.jobcomp) if r.get("Name") == run_id]
    return SlurmRun(run_id, records, log)


def submitted_jobs(log: str) -> dict[str, str]:
    """SLURM job id -> rule, from the lines 'Job N has been submitted with SLURM jobid
    M (log: .../rule_<rule>/...)'."""
    found = re.findall(r"submitted with SLURM jobid (\d+) \(log: \S*/rule_([A-Za-z0-9_]+)/", log)
    return dict(found)


def check_slurm_run(result: SlurmRun, workdir: Path, expected: dict[str, int]) -> dict[str, str]:
    """Every expected job went through SLURM and completed; returns job id -> rule."""
    jobs = submitted_jobs(result.log)
    per_rule: dict[str, int] = {}
    for rule in jobs.values():
        per_rule[rule] = per_rule.get(rule, 0) + 1
    assert per_rule == expected, f"submitted {per_rule}, expected {expected}"
    by_id = {r["JobId"]: r for r in result.records}
    assert set(by_id) == set(jobs), (
        f"jobcomp has {sorted(by_id)} for run {result.run_id}, snakemake submitted {sorted(jobs)}"
    )
    for job_id, rule in jobs.items():
        assert by_id[job_id]["JobState"] == "COMPLETED", by_id[job_id]
        logs = list((workdir / ".snakemake" / "slurm_logs" / f"rule_{rule}").rglob(f"{job_id}.log"))
        assert logs, f"no SLURM log for job {job_id} ({rule})"
    return jobs


# --- fixtures --------------------------------------------------------------------


def _cluster_info(conf: Path, state_dir: Path) -> Cluster:
    env = {**os.environ, "SLURM_CONF": str(conf)}
    out = subprocess.run(
        ["sinfo", "-h", "-N", "-o", "%N|%c|%m|%G|%T"],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout.split()[0]
    node, cpus, mem, gres, _state = out.split("|")
    gpus = sum(int(m) for m in re.findall(r"gpu(?::[^:,()]+)?:(\d+)", gres))
    return Cluster(conf, state_dir, node, int(cpus), int(mem), gpus)


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[Cluster]:
    """A running one-node cluster; started here (and stopped after) when it was not."""
    state_dir = Path(os.environ.get("NER_SLURM_DIR", "/tmp/ner-slurm"))
    conf = state_dir / "etc" / "slurm.conf"
    env = {**os.environ, "NER_SLURM_DIR": str(state_dir), "SLURM_CONF": str(conf)}

    def running() -> bool:
        if not conf.exists() or shutil.which("scontrol") is None:
            return False
        ping = subprocess.run(["scontrol", "ping"], env=env, capture_output=True, text=True)
        return "UP" in ping.stdout

    started_here = False
    if not running():
        if os.geteuid() != 0:
            pytest.skip("starting the SLURM test cluster needs root (apt-get, daemons)")
        if shutil.which("slurmctld") is None and shutil.which("apt-get") is None:
            pytest.skip("no slurmctld and no apt-get to install it")
        started_here = True
    t0 = time.monotonic()
    proc = subprocess.run(
        ["bash", str(CLUSTER_SH), "up"], env=env, capture_output=True, text=True, timeout=900
    )
    if proc.returncode != 0:
        pytest.fail(f"tests/slurm/cluster.sh up failed:\n{proc.stdout}\n{proc.stderr}")
    print(f"SLURM test cluster up in {time.monotonic() - t0:.1f} s ({state_dir})")
    try:
        yield _cluster_info(conf, state_dir)
    finally:
        if started_here and not os.environ.get("NER_SLURM_KEEP"):
            subprocess.run(["bash", str(CLUSTER_SH), "down"], env=env, check=False)


# --- cheap checks (default test run) ---------------------------------------------


def _profile(path: Path) -> dict:
    return yaml.safe_load((path / "config.yaml").read_text())


@pytest.mark.parametrize("profile", [SLURM_PROFILE, DEFAULT_PROFILE], ids=["slurm", "default"])
def test_profile_parses_and_is_used(profile: Path, tmp_path: Path) -> None:
    """Every key of the profile is an option Snakemake (and the SLURM plugin) knows,
    and --workflow-profile loads this profile alone."""
    (tmp_path / "Snakefile").write_text(TOY_SNAKEFILE)
    out = run(
        [*SNAKEMAKE, "--workflow-profile", profile, "--dry-run", "--quiet", "all"],
        cwd=tmp_path,
        timeout=120,
    )
    assert f"Using workflow specific profile {profile}" in out, out


def test_profiles_are_commented() -> None:
    """Every top-level entry of both profiles has a comment right above it."""
    for profile in (SLURM_PROFILE, DEFAULT_PROFILE):
        lines = (profile / "config.yaml").read_text().splitlines()
        for i, line in enumerate(lines):
            if re.match(r"^[A-Za-z]", line):
                above = lines[i - 1] if i else ""
                assert above.startswith("#"), f"{profile.name}: '{line}' has no comment"


def test_profile_rules_exist() -> None:
    """set-resources and set-threads name rules of the workflow (a typo would be
    silently ignored by Snakemake)."""
    if not SNAKEFILE.exists() or not WORKFLOW_CONFIGFILE.exists():
        pytest.skip("the workflow (Snakefile, config/demo.yaml) is not there yet")
    named = set()
    for profile in (SLURM_PROFILE, DEFAULT_PROFILE):
        data = _profile(profile)
        named |= set(data.get("set-resources") or {}) | set(data.get("set-threads") or {})
    if not named:
        return
    out = subprocess.run(
        [
            *SNAKEMAKE,
            "--list-rules",
            "--workflow-profile",
            "none",
            "--configfile",
            WORKFLOW_CONFIGFILE,
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if out.returncode != 0:
        pytest.skip(f"snakemake --list-rules failed:\n{out.stderr[-2000:]}")
    rules = set(out.stdout.split())
    assert named <= rules, f"profiles name unknown rules: {sorted(named - rules)}"


# --- on the cluster ---------------------------------------------------------------


@pytest.mark.slurm
def test_toy_dag_on_slurm(slurm_cluster: Cluster, tmp_path: Path) -> None:
    cluster = slurm_cluster
    if cluster.mem_mb < 8000:
        pytest.skip(f"node has {cluster.mem_mb} MB; the profile asks 8000 MB for training")
    use_gpu = cluster.gpus > 0
    config = ["--config", f"gpu={int(use_gpu)}"]
    local_dir, slurm_dir = tmp_path / "local", tmp_path / "slurm"
    for d in (local_dir, slurm_dir):
        d.mkdir()
        (d / "Snakefile").write_text(TOY_SNAKEFILE)

    run(
        [*SNAKEMAKE, "all", "--workflow-profile", "none", "--cores", "2", *config],
        cwd=local_dir,
        timeout=300,
    )
    t0 = time.monotonic()
    result = run_on_slurm(cluster, slurm_dir, ["all"], config, timeout=600)
    print(f"toy DAG on SLURM: {time.monotonic() - t0:.1f} s")

    jobs = check_slurm_run(result, slurm_dir, TOY_JOBS)
    assert_same_outputs(local_dir, slurm_dir, TOY_OUTPUTS)

    # The profile's requests, as slurmctld recorded them (it keeps finished jobs for
    # MinJobAge=300 s).
    threads = min(_profile(SLURM_PROFILE)["set-threads"]["train_embedding"], cluster.cpus)
    for job_id, rule in jobs.items():
        info = scontrol_job(job_id, cluster.env())
        if rule == "train_embedding":
            assert info["MinMemoryNode"] == "8000M", info
            assert info["TimeLimit"] == "06:00:00", info
            assert info["NumCPUs"] == str(threads), info
            if use_gpu:
                assert "gpu:1" in info.get("TresPerJob", ""), info
            else:
                assert "gpu" not in info.get("TresPerJob", ""), info
        else:
            assert info["MinMemoryNode"] == "4000M", info
            assert info["TimeLimit"] == "01:00:00", info
            assert info["NumCPUs"] == "1", info
            assert "gpu" not in info.get("TresPerJob", ""), info
    train_logs = sorted((slurm_dir / "logs").glob("train_*.log"))
    assert len(train_logs) == 2
    for path in train_logs:
        text = path.read_text()
        assert re.search(r"SLURM_JOB_ID=\d+", text), text
        assert f"threads={threads}" in text, text
        if use_gpu:
            assert "SLURM_GPUS_ON_NODE=1" in text, text


def _deep_update(base: dict, update: dict) -> dict:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_update(base[key], value)
        else:
            base[key] = value
    return base


def _workflow_jobs(workdir: Path, targets: Sequence[str], args: Sequence[str]) -> dict[str, int]:
    """Jobs per rule a dry run of the targets plans (all of them SLURM jobs)."""
    out = run(
        [*SNAKEMAKE, *targets, "--workflow-profile", "none", "--dry-run", "--cores", "1", *args],
        cwd=workdir,
        timeout=300,
    )
    table = out[out.index("Job stats:") :].splitlines()
    counts = {}
    for line in table[3:]:
        parts = line.split()
        if len(parts) != 2 or parts[0] == "total":
            break
        counts[parts[0]] = int(parts[1])
    return counts


@pytest.mark.slurm
def test_workflow_targets_on_slurm(slurm_cluster: Cluster, tmp_path: Path) -> None:
    if not WORKFLOW_TARGETS:
        pytest.skip("WORKFLOW_TARGETS is empty")
    if not SNAKEFILE.exists() or not WORKFLOW_CONFIGFILE.exists():
        pytest.skip("the workflow (Snakefile, config/demo.yaml) is not there yet")
    cluster = slurm_cluster
    if cluster.mem_mb < 8000:
        pytest.skip(f"node has {cluster.mem_mb} MB; the profile asks 8000 MB for training")
    config = _deep_update(yaml.safe_load(WORKFLOW_CONFIGFILE.read_text()), WORKFLOW_CONFIG_UPDATE)
    configfile = tmp_path / "config.yaml"
    configfile.write_text(yaml.safe_dump(config, sort_keys=False))
    args = ["--snakefile", SNAKEFILE, "--configfile", configfile]
    local_dir, slurm_dir = tmp_path / "local", tmp_path / "slurm"
    local_dir.mkdir()
    slurm_dir.mkdir()
    expected = _workflow_jobs(local_dir, WORKFLOW_TARGETS, args)

    # Bit-identical training needs the same thread count as the SLURM job gets.
    threads = min(_profile(SLURM_PROFILE)["set-threads"]["train_embedding"], cluster.cpus)
    t0 = time.monotonic()
    run(
        [
            *(*SNAKEMAKE, *WORKFLOW_TARGETS, "--workflow-profile", "none", "--cores", "2"),
            *("--set-threads", f"train_embedding={threads}", *args),
        ],
        cwd=local_dir,
    )
    print(f"workflow targets locally: {time.monotonic() - t0:.1f} s")
    t0 = time.monotonic()
    result = run_on_slurm(cluster, slurm_dir, WORKFLOW_TARGETS, args)
    print(f"workflow targets on SLURM: {time.monotonic() - t0:.1f} s")

    jobs = check_slurm_run(result, slurm_dir, expected)
    assert_same_outputs(local_dir, slurm_dir, WORKFLOW_TARGETS)
    for job_id, rule in jobs.items():
        if rule == "train_embedding":
            info = scontrol_job(job_id, cluster.env())
            assert info["MinMemoryNode"] == "8000M", info
            assert info["NumCPUs"] == str(threads), info
            assert "gpu" not in info.get("TresPerJob", ""), info
