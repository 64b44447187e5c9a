#!/bin/sh
# The checks run inside the test guest (busybox sh, as root, cgroup v2 unified on
# /sys/fs/cgroup). One line per check, TAP-like: "ok - NAME" or "not ok - NAME: WHY";
# lines starting with "#" are notes. scripts/vm/run.sh counts the lines.
#
# To add a check: run what you want with `md ...`, then call `check NAME EXPECTED ACTUAL
# [DETAIL]` (equality; DETAIL, mdlua's stderr as a rule, is shown when it fails),
# `check_match NAME PATTERN ACTUAL [DETAIL]` (a shell case pattern) or `pass`/`fail NAME WHY`.
# Keep every container named or its id kept, and remove it at the end of its block: a
# check that fails must not leave work for the next one.

export MDLUA_ROOT=/var/lib/mdlua
CG=/sys/fs/cgroup/mdlua      # the default --cgroup-parent (Sources/MDCore/Cgroup/CgroupDriver.swift)

# A check that depends on a container which did not start fails with the reason, instead
# of reading files of a cgroup that does not exist: `block REASON` ... `unblock`.
blocked=
block() { blocked=$1; }
unblock() { blocked=; }
pass() {
  if [ -n "$blocked" ]; then fail "$1" ""; else echo "ok - $1"; fi
}
fail() {
  why=$2
  [ -n "$blocked" ] && why="not run: $blocked"
  # One line whatever the message holds.
  printf 'not ok - %s: %s\n' "$1" "$(printf '%s' "$why" | tr '\n' ' ')"
}
check() {
  if [ "$2" = "$3" ]; then pass "$1"; else fail "$1" "expected '$2' got '$3'${4:+ ($4)}"; fi
}
check_match() {
  case $3 in $2) pass "$1" ;; *) fail "$1" "expected $2 got '$3'${4:+ ($4)}" ;; esac
}
# After `md run -d ...`: the id in $id, or the checks that follow blocked.
started() {
  id=
  if [ "$rc" = 0 ] && [ ${#out} = 64 ]; then id=$out; pass "$1"; else fail "$1" "exit $rc: $err"; block "$1 failed"; fi
}
# md ARGS...: runs mdlua; its stdout in $out, stderr in $err, status in $rc. A command that
# hangs is killed after 120 s (rc 143) and fails its check: the guest's own time limit
# (scripts/vm/boot.sh) is left for a hung emulator, which is retried, not counted.
md() {
  timeout 120 mdlua "$@" >/tmp/md.out 2>/tmp/md.err
  rc=$?
  out=$(cat /tmp/md.out)
  err=$(head -c 300 /tmp/md.err)
}
# A file of a container's cgroup, or <missing>.
cgfile() { cat "$CG/$1/$2" 2>/dev/null || echo "<missing>"; }
# Waits up to $2 tenths of a second for the shell test in $1 to hold.
wait_for() {
  n=0
  while [ "$n" -lt "$2" ]; do eval "$1" && return 0; sleep 0.1; n=$((n + 1)); done
  return 1
}

# The modules guest-init.sh loaded (overlay for every container; veth, nf_tables and its
# NAT for the default network; bridge comes below).
missing=
for m in overlay veth nf_tables nft_chain_nat nft_masq nft_ct nft_fib_ipv4; do
  grep -q "^$m " /proc/modules || missing="$missing $m"
done
check "kernel modules loaded" "" "$missing"

md image bootstrap busybox
check "image bootstrap busybox" 0 "$rc" "$err"

# --- the default network (docs/networking.md) ---------------------------------------------
# Without the bridge module (and no modprobe to load it), a run on the default network
# fails before it starts, in one line that names what is missing; --network none runs.
md run --rm busybox true
check_match "no bridge support: run fails with 125 in one line naming it" "125 1 *bridge*" \
  "$rc $(printf '%s\n' "$err" | wc -l | tr -d ' ') $err" "$err"
md run --rm --network none busybox true
check "no bridge support: --network none runs" 0 "$rc" "$err"
md ps -aq
check "no bridge support: nothing left of the failed run" "" "$out" "$err"
insmod /lib/modules/bridge.ko 2>/tmp/insmod.err
check "insmod bridge" 0 "$?" "$(cat /tmp/insmod.err)"
md run --rm busybox sh -c 'ip -4 -o addr show eth0 | awk "{print \$4}"; ip route | grep -c "^default via"'
check_match "the default network: eth0 with an address, a default route" "0 10.*/24?1" "$rc $(echo $out | tr ' ' '?')" "$err"
check "ip_forward on with the first bridge" 1 "$(cat /proc/sys/net/ipv4/ip_forward)"
md run -d --name web -p 8080:80 busybox sh -c 'while true; do echo hello | nc -l -p 80 >/dev/null; done'
started "run -d -p 8080:80 on the default network"
got=
wait_for 'got=$(echo | nc -w 2 127.0.0.1 8080 2>/dev/null); [ "$got" = hello ]' 50
check "a published port answers on 127.0.0.1 (nf_tables DNAT)" hello "$got"
md run --rm busybox sh -c "echo | nc -w 2 \$(ip route | awk '/^default/ {print \$3}') 8080"
check "a published port answers from another container (hairpin)" "0 hello" "$rc $out" "$err"
md rm -f web
unblock
wait_for '[ "$(ls /sys/class/net | grep -vc "^lo$")" = 0 ]' 50
check "no bridge or veth left after the last container" "lo" "$(ls /sys/class/net | tr '\n' ' ' | sed 's/ $//')"

# --- run, exit codes -------------------------------------------------------------------
md run --rm busybox echo hi
check "run --rm busybox echo hi" "0 hi" "$rc $out" "$err"
md run --rm busybox sh -c 'exit 3'
check "run exit code 3" 3 "$rc" "$err"
md run --rm busybox no-such-command
check "run a missing command exits 127" 127 "$rc" "$err"
md run --rm -u 1000:1000 -h box busybox sh -c 'echo $(id -u) $(hostname)'
check "run -u 1000:1000 -h box" "0 1000 box" "$rc $out" "$err"
md run --rm --network none busybox sh -c 'ls /sys/class/net | tr "\n" " "'
check "--network none: lo only" "0 lo " "$rc $out" "$err"
md run --rm --init busybox true
check "run --init" 0 "$rc" "$err"

# --- mounts: where the kernel fallbacks for mount_setattr (5.12) are used ----------------------
md run --rm --read-only busybox touch /x
check_match "--read-only: the root refuses a write" "[1-9]*" "$rc" "$err"
md run --rm --read-only --tmpfs /tmp busybox sh -c 'touch /tmp/x && echo written'
check "--read-only --tmpfs /tmp: the tmpfs takes a write" "0 written" "$rc $out" "$err"
md run --rm busybox sh -c 'grep " /proc/sys " /proc/self/mounts | cut -d" " -f4 | cut -d, -f1'
check "/proc/sys is read-only in the container" "0 ro" "$rc $out" "$err"
md run --rm busybox cat /proc/self/cgroup
check "a private cgroup namespace: /proc/self/cgroup is 0::/" "0 0::/" "$rc $out" "$err"

# --- a second layer: diff, commit, a run of the committed image (overlay with 2 image layers) ---
md run --name layered busybox sh -c 'echo from-layer > /f'
md diff layered
check_match "diff shows the added file" "*A /f*" "$out" "$err"
md commit layered layered:1
check "commit" 0 "$rc" "$err"
md run --rm layered:1 cat /f
check "run the committed image" "0 from-layer" "$rc $out" "$err"
md rm layered
md rmi layered:1

# --- logs and wait -------------------------------------------------------------------------------
md run -d --name logged busybox sh -c 'echo to-the-log; exit 4'
md wait logged
check "wait prints the exit code" "0 4" "$rc $out" "$err"
md logs logged
check "logs" "to-the-log" "$out" "$err"
md rm logged

# --- OOM -------------------------------------------------------------------------------
md run --name oom -m 8m busybox sh -c 'x=$(head -c 100000000 /dev/zero | tr "\0" a); echo survived'
check "run -m 8m with a memory hog exits 137" 137 "$rc" "$err"
md inspect -f '{{.State.OOMKilled}}' oom
check "inspect State.OOMKilled after the OOM kill" true "$out" "$err"
md rm -f oom

# --- limits written to cgroup v2 files ------------------------------------------------------
md run -d -m 100m --memory-swap 200m --memory-reservation 50m --cpus 0.5 --cpu-shares 512 \
  --cpuset-cpus 0 --cpuset-mems 0 --pids-limit 20 --blkio-weight 500 busybox sleep 600
started "run -d with limits"
if [ -d "$CG/$id" ]; then pass "the container's cgroup is $CG/ID"; else fail "the container's cgroup is $CG/ID" "no directory $CG/$id"; fi
check "memory.max (-m 100m)" 104857600 "$(cgfile "$id" memory.max)"
# v2 counts swap apart from memory: --memory-swap 200m with -m 100m is 100m of swap.
check "memory.swap.max (--memory-swap 200m)" 104857600 "$(cgfile "$id" memory.swap.max)"
check "cpu.max (--cpus 0.5)" "50000 100000" "$(cgfile "$id" cpu.max)"
# 512 shares: 1 + (512 - 2) * 9999 / 262142 (Sources/MDCore/Cgroup/CgroupResources.swift)
check "cpu.weight (--cpu-shares 512)" 20 "$(cgfile "$id" cpu.weight)"
check "cpuset.cpus (--cpuset-cpus 0)" 0 "$(cgfile "$id" cpuset.cpus)"
check "cpuset.mems (--cpuset-mems 0)" 0 "$(cgfile "$id" cpuset.mems)"
check "memory.low (--memory-reservation 50m)" 52428800 "$(cgfile "$id" memory.low)"
check "pids.max (--pids-limit 20)" 20 "$(cgfile "$id" pids.max)"
# 500: 1 + (500 - 10) * 9999 / 990, as runc converts it
check "io.weight (--blkio-weight 500)" "default 4950" "$(cgfile "$id" io.weight)"

# stats: one process, some memory used, the limit as its ceiling (100m: 105MB in
# Docker's decimal units; 104.9MB or 100MiB are taken too, the unit is not what is tested).
md stats --no-stream --format '{{.PIDs}} {{.MemUsage}}' "$id"
check_match "stats --no-stream figures" "1 [1-9]*B / 10[045]*" "$out" "$err"

# exec: the new process is in the container's cgroup.
md exec -d "$id" sleep 477
found=no
wait_for 'for p in $(cat "$CG/$id/cgroup.procs" 2>/dev/null); do tr "\0" " " </proc/$p/cmdline 2>/dev/null | grep -q "^sleep 477" && found=yes; done; [ $found = yes ]' 50
check "exec lands in the container's cgroup" yes "$found" "$err"
md exec "$id" sh -c 'exit 5'
check "exec exit code" 5 "$rc" "$err"
echo copied-in > /tmp/cp-src
md cp /tmp/cp-src "$id:/cp-dst"
md exec "$id" cat /cp-dst
check "cp into the container" "0 copied-in" "$rc $out" "$err"
md top "$id"
check_match "top lists the container's process" "*sleep 600*" "$out" "$err"

# update on the running container.
md update -m 150m --memory-swap 300m --cpus 1 --pids-limit 30 --cpu-shares 1024 "$id"
check "update exit code" 0 "$rc" "$err"
check "update -m 150m: memory.max" 157286400 "$(cgfile "$id" memory.max)"
check "update --memory-swap 300m: memory.swap.max" 157286400 "$(cgfile "$id" memory.swap.max)"
check "update --cpus 1: cpu.max" "100000 100000" "$(cgfile "$id" cpu.max)"
check "update --pids-limit 30: pids.max" 30 "$(cgfile "$id" pids.max)"
check "update --cpu-shares 1024: cpu.weight" 39 "$(cgfile "$id" cpu.weight)"
md update --cpu-quota 20000 --cpu-period 50000 "$id"
check "update --cpu-quota 20000 --cpu-period 50000: cpu.max" "20000 50000" "$(cgfile "$id" cpu.max)" "$err"

# pause / unpause through cgroup.freeze.
md pause "$id"
check "pause" "0 1 frozen 1" "$rc $(cgfile "$id" cgroup.freeze) $(grep frozen "$CG/$id/cgroup.events")" "$err"
md ps --format '{{.Status}}'
check_match "ps shows Paused" "*Paused*" "$out"
md unpause "$id"
check "unpause" "0 0 frozen 0" "$rc $(cgfile "$id" cgroup.freeze) $(grep frozen "$CG/$id/cgroup.events")" "$err"

md rm -f "$id"
check "rm -f a running container" 0 "$rc" "$err"
if [ -e "$CG/$id" ]; then fail "rm removes the cgroup" "$CG/$id is still there"; else pass "rm removes the cgroup"; fi
unblock

# --- block I/O throttles: io.max (the guest has one small virtio disk, scripts/vm/boot.sh) ------
disk=
for b in /sys/block/vd*; do [ -e "$b/dev" ] && disk=${b##*/} && break; done
if [ -z "$disk" ] || [ ! -b "/dev/$disk" ]; then
  fail "a virtio disk to throttle" "no /dev/vd* (virtio_blk not loaded?)"
else
  dev=$(cat "/sys/block/$disk/dev")
  md run -d --device-read-bps "/dev/$disk:1mb" --device-write-iops "/dev/$disk:100" busybox sleep 600
  started "run -d --device-read-bps --device-write-iops"
  check "io.max (--device-read-bps 1mb, --device-write-iops 100)" "$dev rbps=1048576 wbps=max riops=max wiops=100" \
    "$(cgfile "$id" io.max)"
  md rm -f "$id"
  unblock
fi

# --- pids limit against a fork bomb -----------------------------------------------------------
# The bomb runs in a shell of its own, which dies when a fork fails; the container's shell
# and its sleep stay, with the bomb's sleeps.
md run -d --pids-limit 10 busybox sh -c "sh -c 'for i in \$(seq 30); do sleep 600 & done' 2>/dev/null; sleep 600"
started "run -d --pids-limit 10"
wait_for '[ "$(grep -o "[0-9]*$" "$CG/$id/pids.events" 2>/dev/null)" -gt 0 ] 2>/dev/null' 100
n=$(cgfile "$id" pids.current)
events=$(grep -o '[0-9]*$' "$CG/$id/pids.events" 2>/dev/null)
if [ "$n" -le 10 ] 2>/dev/null && [ "$n" -ge 5 ] && [ "${events:-0}" -gt 0 ]; then
  pass "--pids-limit 10 holds a fork bomb"
else
  fail "--pids-limit 10 holds a fork bomb" "pids.current '$n', refused forks (pids.events max) '$events'"
fi
md rm -f "$id"
unblock

# --- the CPU quota holds a busy loop near half a CPU -----------------------------------------
# Measured in the guest's own time (cpu.stat against /proc/uptime), so the emulator's speed
# does not matter; the bounds are wide, as in Tests/CLITests/ResourceTests.swift.
md run -d --cpus 0.5 busybox sh -c 'while :; do :; done'
started "run -d --cpus 0.5 with a busy loop"
sleep 1
u0=$(grep '^usage_usec' "$CG/$id/cpu.stat" 2>/dev/null | cut -d' ' -f2)
t0=$(cut -d' ' -f1 /proc/uptime | tr -d .)
sleep 3
u1=$(grep '^usage_usec' "$CG/$id/cpu.stat" 2>/dev/null | cut -d' ' -f2)
t1=$(cut -d' ' -f1 /proc/uptime | tr -d .)
# usage in µs over elapsed hundredths of a second: the share in percent is du / dt / 100.
share=$(( (${u1:-0} - ${u0:-0}) / ((t1 - t0) * 100) ))
echo "# --cpus 0.5: the busy loop used ${share}% of a CPU"
if [ "$share" -ge 25 ] && [ "$share" -le 75 ]; then
  pass "--cpus 0.5 holds a busy loop near half a CPU"
else
  fail "--cpus 0.5 holds a busy loop near half a CPU" "it used ${share}% of a CPU"
fi
md rm -f "$id"
unblock

# --- volumes and mounts (docs/volumes.md) -------------------------------------------------
# On 5.10 a read-only bind has no mount_setattr (5.12): every submount is remounted.
md run --rm -v data:/data busybox sh -c 'echo kept > /data/f'
md run --rm -v data:/d busybox cat /d/f
check "a named volume outlives its container" "0 kept" "$rc $out" "$err"
mkdir -p /tmp/hostdir/sub && mount -t tmpfs tmpfs /tmp/hostdir/sub
md run --rm -v /tmp/hostdir:/h:ro busybox sh -c 'touch /h/sub/x 2>/dev/null || echo refused'
check ":ro holds in a submount of a bind" "0 refused" "$rc $out" "$err"
umount /tmp/hostdir/sub
md run --rm -v copied:/etc busybox cat /etc/group
check_match "copy-in of the image's content" "0 root:*" "$rc $out" "$err"
md run --rm -v devvol:/x busybox sh -c 'ln -s /proc/sys/kernel/core_pattern /x/null; mkdir /x/pts /x/shm /x/mqueue'
md run --rm -v devvol:/dev busybox stat -c '%t:%T' /proc/keys
check "masks take the real null device under a /dev volume" "0 1:3" "$rc $out" "$err"
md run --rm -v data:/proc busybox true
check "a volume over /proc is refused" 125 "$rc" "$err"
md run --rm --sysctl kernel.shmmax=1048576 busybox cat /proc/sys/kernel/shmmax
check "--sysctl in the container's namespace" "0 1048576" "$rc $out" "$err"
md run --rm -v /tmp/hostdir:/h:rshared busybox sh -c 'grep -c " /h .*shared:" /proc/self/mountinfo'
check "bind-propagation rshared" "0 1" "$rc $out" "$err"
md create --name vols -v /anon busybox true
md rm -v vols
md volume rm data copied devvol
md volume ls -q
check "rm -v and volume rm leave no volume" "" "$out" "$err"

# --- run -d, stop, rm ----------------------------------------------------------------------
md run -d --name web busybox sleep 600
started "run -d --name web"
md restart -t 1 web
md inspect -f '{{.State.Status}} {{.RestartCount}}' web
check_match "restart" "running *" "$out" "$err"
if [ -d "$CG/$id" ]; then pass "the restarted container has its cgroup"; else fail "the restarted container has its cgroup" "no $CG/$id"; fi
md stop -t 1 web
check "stop" 0 "$rc" "$err"
md inspect -f '{{.State.Status}}' web
check "inspect after stop" exited "$out" "$err"
md rm web
check "rm" 0 "$rc" "$err"
if [ ! -e "$CG/$id" ]; then pass "the cgroup is gone after stop and rm"; else fail "the cgroup is gone after stop and rm" "$CG/$id"; fi
unblock
md rm -f web
md ps -a -q
check "no container left" "" "$out"

# run.sh counts a suite without this line as one that stopped early (a syntax error, a crash).
echo "# end of suite"
