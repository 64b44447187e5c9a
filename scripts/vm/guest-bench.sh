#!/bin/sh
# A benchmark row inside the guest (MDLUA_VM_BENCH=1, see docs/testing.md): the time of
# `mdlua run --rm busybox true` against `crun run` of a bundle with the same rootfs, as a
# ratio. Notes only (lines starting with "#"): never counted as a check.
#
# busybox's date has no sub-second format, so each block of runs is timed with
# /proc/uptime (10 ms steps; a block takes seconds here). mdlua's and crun's blocks
# alternate, so that a slow spell of the emulator falls on both.
export MDLUA_ROOT=/var/lib/mdlua
runs=${MDLUA_VM_BENCH_RUNS:-10}
blocks=3
up() { cut -d' ' -f1 /proc/uptime | tr -d .; }   # hundredths of a second

# The bundle: the busybox image's rootfs, exported from a container as bench.py does.
mkdir -p /bench/rootfs
mdlua create --name bench-export busybox true >/dev/null &&
  mdlua export bench-export | tar -x -C /bench/rootfs &&
  mdlua rm bench-export >/dev/null || { echo "# bench: could not export the busybox rootfs"; exit 0; }
(cd /bench && crun spec) || { echo "# bench: crun does not run in the guest"; exit 0; }
sed -i -e 's/"terminal": true/"terminal": false/' -e 's/^\(\t*\)"sh"$/\1"\/bin\/true"/' /bench/config.json
if ! crun run --bundle /bench bench-probe >/tmp/crun.err 2>&1; then
  echo "# bench: crun run failed in the guest: $(head -c 300 /tmp/crun.err | tr '\n' ' ')"
  exit 0
fi
mdlua run --rm busybox true || { echo "# bench: mdlua run failed"; exit 0; }

m=0 c=0 i=0
while [ "$i" -lt "$blocks" ]; do
  t0=$(up); n=0
  while [ "$n" -lt "$runs" ]; do mdlua run --rm busybox true; n=$((n + 1)); done
  t1=$(up); n=0
  while [ "$n" -lt "$runs" ]; do crun run --bundle /bench "bench-$i-$n"; n=$((n + 1)); done
  t2=$(up)
  m=$((m + t1 - t0)) c=$((c + t2 - t1)) i=$((i + 1))
done
total=$((runs * blocks))
# Milliseconds per run, and the ratio with two decimals (integer arithmetic only).
echo "# bench: run --rm busybox true: mdlua $((m * 10 / total)) ms, crun $((c * 10 / total)) ms, ratio $((m / c)).$(( (m * 100 / c) % 100 / 10 ))$(( (m * 100 / c) % 10 )) (mdlua/crun, $total runs each, kernel $(uname -r), qemu TCG)"
