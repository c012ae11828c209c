#!/usr/bin/env bash
# Run the real-SLURM tests (pytest -m slurm) when enough CI time remains.
#
#   .ci/slurm_if_time.sh ELAPSED_S [BUDGET_S]
#
# ELAPSED_S: seconds CI has used so far; BUDGET_S: CI's whole budget (default
# $CI_BUDGET_S or 5400). The tests run only when BUDGET_S - ELAPSED_S is at least
# NER_SLURM_NEED_S (default 1200: install ~10 s, cluster start ~1 s, tests 4-8 min here,
# with room to spare), and are killed (a failure) NER_SLURM_MARGIN_S (default 120) before
# the budget ends. Skipped, with a line saying why, when time is short or when the
# machine cannot host the cluster (not root, or neither slurm nor apt-get); exit 0
# then. Otherwise the exit status is pytest's.
#
# The cluster (tests/slurm/cluster.sh) is started here when it is not running, and
# stopped again at the end; one that was already running is left running.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
    sed -n '2,14p' "$0" >&2
    exit 2
}
[[ $# -ge 1 && $# -le 2 ]] || usage
elapsed="$1"
budget="${2:-${CI_BUDGET_S:-5400}}"
[[ "$elapsed" =~ ^[0-9]+$ && "$budget" =~ ^[0-9]+$ ]] || usage
need="${NER_SLURM_NEED_S:-1200}"
margin="${NER_SLURM_MARGIN_S:-120}"
left=$((budget - elapsed))

say() { printf '== slurm: %s\n' "$*"; }

if ((left < need)); then
    say "skipped: ${left}s of CI time left, the SLURM tests need ${need}s"
    exit 0
fi
if [[ "$(id -u)" != 0 ]]; then
    say "skipped: the test cluster needs root (apt-get install, daemons)"
    exit 0
fi
if ! command -v slurmctld >/dev/null && ! command -v apt-get >/dev/null; then
    say "skipped: neither slurmctld nor apt-get on this machine"
    exit 0
fi

python=.venv/bin/python
[[ -x "$python" ]] || python=python3

export NER_SLURM_DIR="${NER_SLURM_DIR:-/tmp/ner-slurm}"
conf="$NER_SLURM_DIR/etc/slurm.conf"
was_up=false
if [[ -f "$conf" ]] && SLURM_CONF="$conf" scontrol ping 2>/dev/null | grep -q UP; then
    was_up=true
fi
# shellcheck disable=SC2317  # called by the EXIT trap
stop_cluster() {
    if [[ "$was_up" == false ]]; then
        bash tests/slurm/cluster.sh down || true
    fi
}
trap stop_cluster EXIT

say "${left}s left: starting the cluster"
t0=$(date +%s)
bash tests/slurm/cluster.sh up
t1=$(date +%s)
say "cluster (install + start) took $((t1 - t0))s"

status=0
timeout --signal=TERM --kill-after=30 "$((left - margin - (t1 - t0)))" \
    "$python" -m pytest -m slurm -p no:cacheprovider --durations=5 || status=$?
t2=$(date +%s)
if ((status == 124 || status == 137)); then
    say "FAILED: pytest -m slurm was stopped after $((t2 - t1))s to stay within the CI budget"
elif ((status == 0)); then
    say "passed in $((t2 - t1))s"
else
    say "FAILED (pytest exit $status) after $((t2 - t1))s"
fi
exit "$status"
