#!/usr/bin/env bash
# A real single-node Slurm (slurmctld + slurmd + munged) on this machine: the test fixture for
# `w2s slurm`, following shared/design/slurm.md (Debian slurm-wlm, root, no systemd).
#   bash scripts/slurm-local.sh start  STATE_DIR   install if needed, configure, start, wait for idle
#   bash scripts/slurm-local.sh stop   STATE_DIR   stop the daemons this script started (by pid)
#   bash scripts/slurm-local.sh status STATE_DIR   exit 0 and print sinfo if running, else 1
# It writes /etc/slurm/slurm.conf (the client commands read it) only when there is none or one it
# wrote itself (marker line below), and kills only pids it recorded in STATE_DIR/pids.
# Exit codes: 0 ok, 1 not ready in time / not running, 2 usage, 3 cannot (no root, apt, foreign config).
set -euo pipefail
MARKER='# written by w2s scripts/slurm-local.sh'
CONF=/etc/slurm/slurm.conf
say() { printf '[slurm-local] %s\n' "$*" >&2; }
die() { local code="$1"; shift; say "$*"; exit "$code"; }

[[ $# == 2 && $1 =~ ^(start|stop|status)$ ]] || die 2 "usage: $0 start|stop|status STATE_DIR"
cmd="$1"
mkdir -p "$2"
dir="$(cd "$2" && pwd)"
pids="$dir/pids"
node="$(hostname -s)"

# Our daemon pids (from the pids file) that are still alive and still one of our daemons.
alive_pids() {
  [[ -f $pids ]] || return 0
  local p
  while read -r p; do
    [[ $p =~ ^[0-9]+$ ]] || continue
    if grep -qxE 'slurmctld|slurmd|munged' "/proc/$p/comm" 2>/dev/null; then echo "$p"; fi
  done <"$pids"
}
all_alive() { [[ -s $pids ]] && [[ "$(alive_pids | wc -l)" == "$(grep -c . "$pids")" ]]; }
node_state() { timeout 5 sinfo -h -n "$node" -o %T 2>/dev/null | head -n1 || true; }

stop_daemons() {
  local live p i
  live="$(alive_pids)"
  if [[ -n $live ]]; then
    # Slurm daemons first (they need munge to say goodbye), munged last (it is listed last).
    for p in $live; do kill -TERM "$p" 2>/dev/null || true; done
    for i in $(seq 1 50); do
      [[ -z "$(alive_pids)" ]] && break
      sleep 0.2
    done
    for p in $(alive_pids); do say "pid $p ignored SIGTERM: SIGKILL"; kill -KILL "$p" 2>/dev/null || true; done
  fi
  rm -f "$pids"
}

case "$cmd" in
  status)
    if all_alive && [[ -n "$(node_state)" ]]; then timeout 5 sinfo; exit 0; fi
    say "slurm is not running (from $dir)"; exit 1 ;;
  stop)
    stop_daemons; say "slurm stopped"; exit 0 ;;
esac

# --- start ---
if all_alive && [[ "$(node_state)" =~ ^idle ]]; then echo "slurm already running"; exit 0; fi
stop_daemons  # leftovers of a half-dead earlier start

if ! command -v sbatch >/dev/null || ! command -v slurmctld >/dev/null || [[ ! -x /usr/sbin/munged ]]; then
  [[ "$(id -u)" == 0 ]] || die 3 "slurm-wlm/munge are not installed and we are not root to apt-get install them"
  command -v apt-get >/dev/null || die 3 "slurm-wlm/munge are not installed and there is no apt-get"
  say "installing slurm-wlm and munge with apt-get"
  log="$(mktemp)"
  if ! { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y slurm-wlm munge; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2; rm -f "$log"; die 3 "apt-get install slurm-wlm munge failed (log tail above)"
  fi
  rm -f "$log"
fi
[[ "$(id -u)" == 0 ]] || die 3 "starting slurmd/slurmctld needs root"
if [[ -e $CONF ]] && ! grep -qxF "$MARKER" "$CONF"; then
  die 3 "$CONF exists and was not written by this script: refusing to overwrite a real cluster's config"
fi
for d in slurmctld slurmd; do
  pgrep -x "$d" >/dev/null && die 3 "a $d not started from $dir is already running (pid $(pgrep -x "$d" | head -n1)): stop it first"
done

mkdir -p "$dir"/{state,spool,run,log} /etc/slurm
hw="$(slurmd -C | head -n1)"
cpus="$(grep -oE '(^| )CPUs=[0-9]+' <<<"$hw" | cut -d= -f2)"
mem="$(grep -oE 'RealMemory=[0-9]+' <<<"$hw" | cut -d= -f2)"
[[ -n $cpus && -n $mem ]] || die 3 "cannot read CPUs/RealMemory from 'slurmd -C': $hw"
cat >"$dir/slurm.conf" <<EOF
$MARKER
# state in $dir
ClusterName=ci
SlurmctldHost=$node
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool
SlurmctldPidFile=$dir/run/slurmctld.pid
SlurmdPidFile=$dir/run/slurmd.pid
SlurmctldLogFile=$dir/log/slurmctld.log
SlurmdLogFile=$dir/log/slurmd.log
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
MpiDefault=none
ReturnToService=2
NodeName=$node CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=debug Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
cp "$dir/slurm.conf" "$CONF"

: >"$pids"
mpid="$(cat /run/munge/munged.pid 2>/dev/null || true)"
if ! [[ -n $mpid ]] || ! grep -qx munged "/proc/$mpid/comm" 2>/dev/null; then
  install -d -o munge -g munge -m 755 /run/munge
  runuser -u munge -- /usr/sbin/munged
  for _ in $(seq 1 25); do [[ -s /run/munge/munged.pid ]] && break; sleep 0.2; done
  mpid="$(cat /run/munge/munged.pid 2>/dev/null)" || die 1 "munged did not start"
  munged_started="$mpid"
fi
nohup slurmctld -D >"$dir/log/slurmctld.out" 2>&1 </dev/null & echo $! >>"$pids"
nohup slurmd -D >"$dir/log/slurmd.out" 2>&1 </dev/null & echo $! >>"$pids"
[[ -n ${munged_started:-} ]] && echo "$munged_started" >>"$pids"

resumed=""
for _ in $(seq 1 60); do
  state="$(node_state)"
  if [[ $state =~ ^idle ]] && all_alive; then echo "slurm ready: node $node, $cpus cpus"; exit 0; fi
  if [[ $state =~ ^(down|drain) && -z $resumed ]]; then
    scontrol update nodename="$node" state=resume || true; resumed=1
  fi
  sleep 0.5
done
say "node $node not idle after 30 s (state: ${state:-none}); log tails:"
for f in "$dir"/log/*; do echo "== $f" >&2; tail -n 15 "$f" >&2; done
exit 1
