#!/usr/bin/env bash
# A one-node SLURM cluster on this machine, for the tests marked slurm
# (tests/test_slurm.py) and for trying hydra/launcher=slurm without a cluster.
#
#   scripts/slurm_cluster.sh start  [DIR]   install slurm-wlm and munge if missing, start
#                                           munged, slurmctld and slurmd, wait for the node
#   scripts/slurm_cluster.sh restart [DIR]  stop, then start afresh with a new slurm.conf
#   scripts/slurm_cluster.sh status [DIR]   the node's state and the daemons' pids
#   scripts/slurm_cluster.sh stop   [DIR]   cancel the cluster's jobs, stop the daemons by pid
#   eval "$(scripts/slurm_cluster.sh env [DIR])"   export SLURM_CONF for sbatch, squeue, the tests
#
# All of the cluster's state (slurm.conf, spool, logs, pid files, the munge key
# and socket) lives in DIR (default $RNNEXP_SLURM_DIR, else /tmp/rnnexp-slurm),
# and its daemons listen on their own ports, so a real cluster's /etc/slurm,
# /etc/munge and daemons are never touched. The daemons run as root
# (SlurmUser=root); start and stop ask sudo for it when run as another user.
set -euo pipefail

usage="usage: $0 start|restart|stop|status|env [DIR]"
command=${1:-}
dir=${2:-${RNNEXP_SLURM_DIR:-/tmp/rnnexp-slurm}}
case "$dir" in /*) ;; *) dir="$PWD/$dir" ;; esac
conf="$dir/slurm.conf"
export SLURM_CONF="$conf"

# Ports of their own: a real cluster on this machine listens on 6817 and 6818.
ctld_port=16817
slurmd_port=16818
# The cluster's one partition (tests/test_slurm.py reads the default partition from sinfo).
partition=rnnexp
# The most tasks a job array may hold. SLURM's default is 1001; many clusters set less, and so
# does this one, so that the tests see sweeps split into arrays and arrays refused.
# RNNEXP_SLURM_MAX_ARRAY_SIZE=101 scripts/slurm_cluster.sh restart sets another.
max_array_size=${RNNEXP_SLURM_MAX_ARRAY_SIZE:-21}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

alive() {  # alive PIDFILE: the pid it names is a running process
    [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null
}

install_missing() {
    local tool missing=0
    for tool in sbatch squeue sinfo scontrol scancel slurmctld slurmd munged mungekey; do
        command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || missing=1
    done
    [ "$missing" -eq 0 ] && return
    echo "Installing Debian's slurm-wlm and munge"
    as_root apt-get update -q
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends slurm-wlm munge
}

write_conf() {
    local host node
    host=$(hostname -s)
    # slurmd -C prints this machine's NodeName line: cores, sockets, threads, RealMemory.
    node=$(/usr/sbin/slurmd -C | head -n 1)
    : > "$dir/plugstack.conf"  # no SPANK plugins (not the system's /etc/slurm/plugstack.conf)
    cat > "$conf" <<EOF
# A one-node cluster for rnnexp's tests, written by scripts/slurm_cluster.sh.
ClusterName=rnnexp
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
# munged's own socket; cred_expire is also how long a requeued job waits before it
# may start again (120 s by default, 5 at least).
AuthInfo=socket=$dir/munge/munged.socket,cred_expire=10
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
PlugStackConfig=$dir/plugstack.conf
# No cgroups and no accounting: what a container or a CI machine allows.
# Without accounting storage sacct has nothing to read (submitit polls it; see
# rnnexp.sweep.slurm_noise).
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SwitchType=switch/none
# One job per core, memory counted: cpus_per_task and mem_gb of the launcher
# config mean what they mean on a real cluster.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# Requeue (scontrol requeue, and submitit's requeue at a time limit) allowed;
# a requeued job waits cred_expire (above), then starts at the next scheduling
# pass: every 2 s here instead of every 30 to 60.
JobRequeue=1
SchedulerParameters=sched_interval=2,bf_interval=2
# A job ends at its time limit exactly; SIGTERM then SIGKILL 10 s later, time
# enough for rnnexp to finish its step and save last.pt.
OverTimeLimit=0
KillWait=10
# Finished jobs leave squeue after 10 s (they stay in scontrol show job till then).
MinJobAge=10
# Read only as slurmctld starts (scontrol reconfigure leaves it): see restart.
MaxArraySize=$max_array_size
SlurmctldTimeout=30
SlurmdTimeout=30
InactiveLimit=0
ReturnToService=2
MailProg=/bin/true
$node State=UNKNOWN NodeAddr=127.0.0.1
# A day at most, as clusters limit their partitions: a task asking for more is refused.
PartitionName=$partition Nodes=ALL Default=YES MaxTime=1-00:00:00 State=UP
EOF
}

start_munged() {
    # munged insists that its key, socket, pid and log files sit in the munge
    # user's own directories; clients (sbatch, slurmd) reach the socket, so the
    # directory is world-readable and the key alone is private.
    local m="$dir/munge"
    mkdir -p "$m"
    [ -s "$m/munge.key" ] || mungekey --create --keyfile="$m/munge.key"
    chown -R munge:munge "$m"
    chmod 0755 "$m"
    chmod 0600 "$m/munge.key"
    runuser -u munge -- /usr/sbin/munged \
        --key-file="$m/munge.key" --socket="$m/munged.socket" --pid-file="$m/munged.pid" \
        --log-file="$m/munged.log" --seed-file="$m/munged.seed"
}

wait_for_node() {
    local state="" i
    for i in $(seq 60); do
        state=$(sinfo -h -N -o %T 2>/dev/null | head -n 1 || true)
        case "$state" in
            idle|mixed|allocated|completing) echo "SLURM is up: node $(hostname -s) $state; SLURM_CONF=$conf"; return 0 ;;
            drain*|down*|fail*) break ;;
        esac
        sleep 1
    done
    echo "slurm_cluster: the node did not come up (state: ${state:-no answer}); logs in $dir/log" >&2
    sinfo -R >&2 || true
    tail -n 20 "$dir/log/slurmctld.log" "$dir/log/slurmd.log" >&2 || true
    return 1
}

start() {
    if alive "$dir/slurmctld.pid" && alive "$dir/slurmd.pid" && alive "$dir/munge/munged.pid"; then
        wait_for_node
        return
    fi
    stop_daemons  # whatever is left of an earlier start
    install_missing
    mkdir -p "$dir/state" "$dir/spool" "$dir/log"
    chmod 0755 "$dir" "$dir/log"
    write_conf
    start_munged
    # -c: a fresh cluster every start, no jobs left over from the last one.
    /usr/sbin/slurmctld -c -f "$conf"
    # The jobs inherit slurmd's nice value (PropagatePrioProcess=0, the default):
    # on a machine that also runs the tests waiting for them, the tests come
    # first and the jobs take the time left over.
    nice -n 10 /usr/sbin/slurmd -f "$conf"
    wait_for_node
}

stop_pid() {  # stop_pid NAME PIDFILE: SIGTERM, then SIGKILL after 10 s
    local pid i
    alive "$2" || { rm -f "$2"; return 0; }
    pid=$(cat "$2")
    kill "$pid"
    for i in $(seq 100); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$2"; echo "stopped $1 ($pid)"; return 0; }
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$2"
    echo "killed $1 ($pid)"
}

stop_daemons() {
    stop_pid slurmd "$dir/slurmd.pid"
    stop_pid slurmctld "$dir/slurmctld.pid"
    stop_pid munged "$dir/munge/munged.pid"
}

stop() {
    local i
    if alive "$dir/slurmctld.pid"; then
        # This cluster's jobs only (SLURM_CONF names it); they get SIGTERM, then
        # SIGKILL after KillWait, and their slurmstepd reports the end to the daemons.
        scancel "--partition=$partition" 2>/dev/null || true
        for i in $(seq 30); do
            [ -z "$(squeue --noheader "--partition=$partition" 2>/dev/null)" ] && break
            sleep 1
        done
    fi
    stop_daemons
}

status() {
    local name file
    for name in slurmctld slurmd munged; do
        file="$dir/$name.pid"
        [ "$name" = munged ] && file="$dir/munge/munged.pid"
        if alive "$file"; then echo "$name: running ($(cat "$file"))"; else echo "$name: not running"; fi
    done
    alive "$dir/slurmctld.pid" || return 1
    sinfo -N -o "%N %P %T %c %m"
    squeue
}

case "$command" in
    start|stop)
        if [ "$(id -u)" -ne 0 ]; then exec sudo RNNEXP_SLURM_MAX_ARRAY_SIZE="$max_array_size" bash "$0" "$command" "$dir"; fi
        "$command"
        ;;
    restart)
        if [ "$(id -u)" -ne 0 ]; then exec sudo RNNEXP_SLURM_MAX_ARRAY_SIZE="$max_array_size" bash "$0" restart "$dir"; fi
        stop
        start
        ;;
    status) status ;;
    env) printf 'export SLURM_CONF=%q\n' "$conf" ;;
    *) echo "$usage" >&2; exit 2 ;;
esac
