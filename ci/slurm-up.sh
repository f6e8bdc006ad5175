#!/usr/bin/env bash
# Bring up a one-node Slurm cluster on this machine for the Slurm test (tests/test_slurm.py).
# Idempotent: a running cluster is left as it is. Needs root and apt-get (Debian's
# slurm-wlm and munge); exits 3 with the reason where it cannot install them.
# Stop it with ci/slurm-down.sh, which stops what this started, by PID.
set -euo pipefail
state=/tmp/soart-slurm
mkdir -p "$state"

if [ -f "$state/slurmctld.pid" ] && kill -0 "$(cat "$state/slurmctld.pid")" 2>/dev/null \
    && sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
  echo "slurm-up: already running"; exit 0
fi
if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "slurm-up: not root: cannot install slurm-wlm and munge" >&2; exit 3; }
  command -v apt-get >/dev/null || { echo "slurm-up: no apt-get to install slurm-wlm and munge" >&2; exit 3; }
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null \
    || { echo "slurm-up: apt-get could not install slurm-wlm and munge" >&2; exit 3; }
fi

host=$(hostname -s)
# Slurm needs an IPv4 address besides 127.0.0.1
addr=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -n1 || true)
[ -n "$addr" ] || { echo "slurm-up: no IPv4 address besides 127.0.0.1" >&2; exit 3; }
mem=$(awk '/MemTotal/ {print int($2 / 1024 * 0.8)}' /proc/meminfo)

# munge: a key, its run folder owned by munge, the daemon started as munge
mkdir -p /etc/munge /run/munge /var/lib/munge /var/log/munge
[ -s /etc/munge/munge.key ] || dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge
chmod 400 /etc/munge/munge.key
chmod 755 /run/munge
if ! { [ -f "$state/munged.pid" ] && kill -0 "$(cat "$state/munged.pid")" 2>/dev/null; }; then
  runuser -u munge -- munged --pid-file=/run/munge/munged.pid
  sleep 0.5
  cp /run/munge/munged.pid "$state/munged.pid"
fi

# the plugin's job step clears SLURM_CONF: the config must live at /etc/slurm/slurm.conf
mkdir -p /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
cat > /etc/slurm/slurm.conf <<CONF
ClusterName=soart
SlurmctldHost=$host($addr)
SlurmUser=root
AuthType=auth/munge
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
ReturnToService=2
MinJobAge=300
NodeName=$host NodeAddr=$addr CPUs=2 RealMemory=$mem State=UNKNOWN
PartitionName=main Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld
slurmd
for _ in $(seq 1 60); do
  if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
    echo "slurm-up: node $host ($addr) is up"; exit 0
  fi
  sleep 0.5
done
echo "slurm-up: the node did not come up; see /var/log/slurm/" >&2
exit 1
