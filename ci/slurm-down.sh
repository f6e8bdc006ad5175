#!/usr/bin/env bash
# Stop what ci/slurm-up.sh started, by the PIDs it recorded. Idempotent.
state=/tmp/soart-slurm
for daemon in slurmd slurmctld munged; do
  pidfile="$state/$daemon.pid"
  if [ -f "$pidfile" ]; then
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null && for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    rm -f "$pidfile"
  fi
done
echo "slurm-down: stopped"
