#!/usr/bin/env bash
# A single-node SLURM cluster on this machine, from Debian packages, for the
# workflow's SLURM test (tests/test_slurm.py). Needs root and apt; no systemd,
# no cgroups, no slurmdbd.
#
#   tests/slurm/cluster.sh install   apt-get install munge + slurm (skipped when present)
#   tests/slurm/cluster.sh up        install, start munged, slurmctld, slurmd; wait for an idle node
#   tests/slurm/cluster.sh status    daemons, sinfo, squeue
#   tests/slurm/cluster.sh env       print the `export SLURM_CONF=...` line for this cluster
#   tests/slurm/cluster.sh down      stop the daemons this script started (state dir kept)
#   tests/slurm/cluster.sh purge     down, then delete the state dir
#
# Every command is idempotent: `up` on a running cluster only checks it (and restarts
# the daemons if the generated config changed), `down` on a stopped one does nothing.
#
# Environment:
#   NER_SLURM_DIR     state dir: slurm.conf, spool, state, pid files, logs (default /tmp/ner-slurm)
#   NER_SLURM_GPUS    number of *fake* GPUs the node advertises as GRES gpu:<type>:N
#                     (empty files stand in for the devices: GPU requests get scheduled,
#                     nothing more) (default 1; 0 = none)
#   NER_SLURM_GPU_TYPE  the GRES type of those GPUs (default fake)
#   NER_SLURM_PORT    slurmctld port; slurmd uses port+1 (default 6817)
#
# The config lives in the state dir; /etc/slurm/slurm.conf is made a symlink to it
# (refused if a real file is there) because the Snakemake plugin's job step drops
# SLURM_CONF from the environment of the `srun` it runs inside each job, so `srun`
# only finds the config at the default path. `down` removes the link.
#
# Where to look afterwards ($NER_SLURM_DIR/log/):
#   jobcomp.txt   one line per finished job (jobcomp/filetxt): JobId, Name, JobState, ...
#                 This is the record of what ran: `sacct` needs slurmdbd and does not work here.
#   slurmctld.log, slurmd.log
set -euo pipefail

STATE_DIR="${NER_SLURM_DIR:-/tmp/ner-slurm}"
GPUS="${NER_SLURM_GPUS:-1}"
GPU_TYPE="${NER_SLURM_GPU_TYPE:-fake}"
PORT="${NER_SLURM_PORT:-6817}"
CONF="$STATE_DIR/etc/slurm.conf"
PARTITION="debug"
NODE="$(hostname -s)"

log() { printf '[slurm-cluster] %s\n' "$*" >&2; }
die() {
    printf '[slurm-cluster] ERROR: %s\n' "$*" >&2
    exit 1
}

need_root() {
    [[ "$(id -u)" == 0 ]] || die "needs root (installs packages and starts daemons)"
}

have_binaries() {
    command -v slurmctld >/dev/null && command -v slurmd >/dev/null &&
        command -v sbatch >/dev/null && command -v munged >/dev/null
}

cmd_install() {
    if have_binaries; then
        log "munge and slurm already installed ($(slurmctld -V))"
        return 0
    fi
    need_root
    command -v apt-get >/dev/null || die "apt-get not found: install slurmctld slurmd slurm-client munge by hand"
    local pkgs=(munge slurmctld slurmd slurm-client)
    log "installing ${pkgs[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has no package lists; a stale list may name removed versions.
    if ! apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null 2>&1; then
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
    fi
    have_binaries || die "packages installed but binaries are missing"
    log "installed $(slurmctld -V)"
}

# --- munge -----------------------------------------------------------------------

munge_ok() { munge -n 2>/dev/null | unmunge >/dev/null 2>&1; }

start_munge() {
    if munge_ok; then
        log "munged already running"
        return 0
    fi
    if [[ ! -s /etc/munge/munge.key ]]; then
        log "creating /etc/munge/munge.key"
        mkdir -p /etc/munge
        mungekey --create --keyfile=/etc/munge/munge.key
    fi
    chown munge:munge /etc/munge /etc/munge/munge.key
    chmod 0700 /etc/munge
    chmod 0600 /etc/munge/munge.key
    mkdir -p /run/munge /var/log/munge /var/lib/munge
    chown munge:munge /run/munge /var/log/munge /var/lib/munge
    chmod 0755 /run/munge
    rm -f /run/munge/munged.pid /run/munge/munge.socket.2*
    log "starting munged"
    runuser -u munge -- /usr/sbin/munged
    local i
    for i in $(seq 50); do
        munge_ok && break
        sleep 0.2
    done
    munge_ok || die "munged did not come up; see /var/log/munge/munged.log"
    cp /run/munge/munged.pid "$STATE_DIR/run/munged.pid.ours"
}

stop_munge() {
    # Only a munged this script started (a system one is left alone).
    local ours="$STATE_DIR/run/munged.pid.ours"
    [[ -f "$ours" ]] || return 0
    local pid
    pid="$(cat "$ours")"
    if kill -0 "$pid" 2>/dev/null; then
        log "stopping munged ($pid)"
        kill "$pid"
        wait_gone "$pid" munged
    fi
    rm -f "$ours"
}

# --- slurm -----------------------------------------------------------------------

# write_conf PATH: the slurm.conf for this machine (and gres.conf beside $CONF).
write_conf() {
    local out="$1"
    local cpus boards sockets cores threads mem
    # What slurmd itself detects, so the node registers as configured (else: INVAL).
    local detected
    detected="$(slurmd -C | head -n 1)"
    cpus="$(sed -n 's/.* CPUs=\([0-9]*\).*/\1/p' <<<"$detected")"
    boards="$(sed -n 's/.* Boards=\([0-9]*\).*/\1/p' <<<"$detected")"
    sockets="$(sed -n 's/.* SocketsPerBoard=\([0-9]*\).*/\1/p' <<<"$detected")"
    cores="$(sed -n 's/.* CoresPerSocket=\([0-9]*\).*/\1/p' <<<"$detected")"
    threads="$(sed -n 's/.* ThreadsPerCore=\([0-9]*\).*/\1/p' <<<"$detected")"
    mem="$(sed -n 's/.* RealMemory=\([0-9]*\).*/\1/p' <<<"$detected")"
    [[ -n "$cpus" && -n "$mem" ]] || die "cannot parse 'slurmd -C': $detected"

    local gres_node="" gres_types=""
    if ((GPUS > 0)); then
        gres_types="GresTypes=gpu"
        gres_node="Gres=gpu:${GPU_TYPE}:${GPUS}"
        # Plain files stand in for the device files (slurmd only counts them; it
        # reports no GPU at all without File=). Enough to prove that `--gpus=N` and
        # `--gpus=<type>:N` submissions are accepted and scheduled.
        mkdir -p "$STATE_DIR/dev"
        local g
        for ((g = 0; g < GPUS; g++)); do touch "$STATE_DIR/dev/fakegpu$g"; done
        printf 'NodeName=%s Name=gpu Type=%s File=%s/dev/fakegpu[0-%s]\n' \
            "$NODE" "$GPU_TYPE" "$STATE_DIR" "$((GPUS - 1))" >"$STATE_DIR/etc/gres.conf"
    else
        : >"$STATE_DIR/etc/gres.conf"
    fi

    cat >"$out" <<EOF
# Written by tests/slurm/cluster.sh: a one-node test cluster. Do not use in production.
ClusterName=ner-test
SlurmctldHost=${NODE}(127.0.0.1)
SlurmctldPort=${PORT}
SlurmdPort=$((PORT + 1))
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CryptoType=crypto/munge
StateSaveLocation=${STATE_DIR}/ctld
SlurmdSpoolDir=${STATE_DIR}/spool/slurmd
SlurmctldPidFile=${STATE_DIR}/run/slurmctld.pid
SlurmdPidFile=${STATE_DIR}/run/slurmd.pid
SlurmctldLogFile=${STATE_DIR}/log/slurmctld.log
SlurmdLogFile=${STATE_DIR}/log/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
# No cgroups in a container: track processes by /proc, no task binding.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# No slurmdbd: no accounting storage (so no sacct), but a job completion log.
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=${STATE_DIR}/log/jobcomp.txt
# Finished jobs stay visible to 'squeue --states=all' this long (the Snakemake
# plugin's squeue status check relies on it).
MinJobAge=300
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# A job that asks for no memory gets this much per CPU (not the whole node).
DefMemPerCPU=512
MpiDefault=none
MailProg=/bin/true
ReturnToService=2
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
KillWait=5
Waittime=0
${gres_types}
NodeName=${NODE} NodeAddr=127.0.0.1 CPUs=${cpus} Boards=${boards:-1} SocketsPerBoard=${sockets:-1} CoresPerSocket=${cores:-$cpus} ThreadsPerCore=${threads:-1} RealMemory=${mem} ${gres_node} State=UNKNOWN
PartitionName=${PARTITION} Nodes=${NODE} Default=YES MaxTime=INFINITE State=UP
EOF
}

ETC_CONF=/etc/slurm/slurm.conf

link_etc_conf() {
    if [[ -L "$ETC_CONF" && "$(readlink "$ETC_CONF")" == "$CONF" ]]; then
        return 0
    fi
    if [[ -e "$ETC_CONF" || -L "$ETC_CONF" ]]; then
        die "$ETC_CONF exists and is not this cluster's; move it away (the job steps' srun reads only that path)"
    fi
    mkdir -p "$(dirname "$ETC_CONF")"
    ln -s "$CONF" "$ETC_CONF"
    log "linked $ETC_CONF -> $CONF"
}

unlink_etc_conf() {
    if [[ -L "$ETC_CONF" && "$(readlink "$ETC_CONF")" == "$CONF" ]]; then
        rm -f "$ETC_CONF"
        log "removed the link $ETC_CONF"
    fi
}

pid_alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_gone() {
    local pid="$1" name="$2" i
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    log "$name ($pid) did not stop after SIGTERM; sending SIGKILL"
    kill -9 "$pid" 2>/dev/null || true
}

node_state() { sinfo -h -n "$NODE" -o '%T' 2>/dev/null | head -n 1; }

cmd_up() {
    need_root
    cmd_install
    mkdir -p "$STATE_DIR"/{etc,ctld,spool,run,log}
    export SLURM_CONF="$CONF"
    start_munge

    write_conf "$CONF.new"
    # Before the daemons: a refusal must not leave them running.
    [[ -f "$CONF" ]] || cp "$CONF.new" "$CONF"
    link_etc_conf
    if pid_alive "$STATE_DIR/run/slurmctld.pid" && pid_alive "$STATE_DIR/run/slurmd.pid" &&
        cmp -s "$CONF" "$CONF.new"; then
        rm -f "$CONF.new"
        log "slurmctld and slurmd already running ($STATE_DIR)"
    else
        # Not running, half up (one daemon died), or configured differently:
        # (re)start both from the new config.
        stop_slurm
        mv "$CONF.new" "$CONF"
        log "starting slurmctld (config $CONF)"
        # -c: a fresh start, no jobs recovered from a previous run.
        slurmctld -c -f "$CONF" || die "slurmctld failed; see $STATE_DIR/log/slurmctld.log"
        local i
        for i in $(seq 100); do
            scontrol ping 2>/dev/null | grep -q UP && break
            # It forks before reading its state; a fatal config error ends it.
            ((i > 10)) && ! pid_alive "$STATE_DIR/run/slurmctld.pid" && break
            sleep 0.2
        done
        scontrol ping | grep -q UP || die "slurmctld not answering; see $STATE_DIR/log/slurmctld.log"
        log "starting slurmd (node $NODE)"
        slurmd -f "$CONF" -N "$NODE" || die "slurmd failed; see $STATE_DIR/log/slurmd.log"
    fi

    local state="" i
    for i in $(seq 150); do
        state="$(node_state)"
        case "$state" in
            idle | mixed | allocated) break ;;
            down* | drain* | inval*)
                # e.g. after a slurmd restart; ReturnToService=2 usually handles it.
                scontrol update NodeName="$NODE" State=RESUME 2>/dev/null || true
                ;;
        esac
        sleep 0.2
    done
    case "$state" in
        idle | mixed | allocated) ;;
        *)
            sinfo -N -l >&2 || true
            tail -n 20 "$STATE_DIR/log/slurmctld.log" "$STATE_DIR/log/slurmd.log" >&2 || true
            die "node $NODE is '$state', not idle, after 30 s"
            ;;
    esac
    log "cluster up: node $NODE $state, partition $PARTITION; export SLURM_CONF=$CONF"
}

stop_slurm() {
    local name pidfile pid
    for name in slurmd slurmctld; do
        pidfile="$STATE_DIR/run/$name.pid"
        if pid_alive "$pidfile"; then
            pid="$(cat "$pidfile")"
            log "stopping $name ($pid)"
            kill "$pid"
            wait_gone "$pid" "$name"
        fi
        rm -f "$pidfile"
    done
}

cmd_down() {
    if [[ ! -d "$STATE_DIR" ]]; then
        log "nothing to stop ($STATE_DIR absent)"
        return 0
    fi
    export SLURM_CONF="$CONF"
    if pid_alive "$STATE_DIR/run/slurmctld.pid"; then
        # Jobs still queued or running would outlive slurmd as orphans.
        scancel --full --quiet --user=root 2>/dev/null || true
    fi
    stop_slurm
    stop_munge
    unlink_etc_conf
    log "cluster down (logs kept in $STATE_DIR/log)"
}

cmd_purge() {
    cmd_down
    if [[ -d "$STATE_DIR" ]]; then
        rm -rf "$STATE_DIR"
        log "removed $STATE_DIR"
    fi
}

cmd_status() {
    export SLURM_CONF="$CONF"
    local name
    for name in slurmctld slurmd; do
        if pid_alive "$STATE_DIR/run/$name.pid"; then
            echo "$name: running ($(cat "$STATE_DIR/run/$name.pid"))"
        else
            echo "$name: stopped"
        fi
    done
    if munge_ok; then echo "munged: running"; else echo "munged: stopped"; fi
    if pid_alive "$STATE_DIR/run/slurmctld.pid"; then
        sinfo
        squeue --states=all
    fi
}

case "${1:-}" in
    install) cmd_install ;;
    up) cmd_up ;;
    down) cmd_down ;;
    purge) cmd_purge ;;
    status) cmd_status ;;
    env) echo "export SLURM_CONF=$CONF" ;;
    *)
        sed -n '2,26p' "$0" >&2
        exit 2
        ;;
esac
