#!/usr/bin/env bash
# Boots the test guest once under qemu and waits for it to power off:
#   scripts/vm/boot.sh KERNEL_NAME INITRAMFS OUTDIR [TIMEOUT_SECONDS]
# OUTDIR gets console.log (the kernel's console, ttyS0) and results.log (what the guest
# suite printed on ttyS1). Exit status:
#   0  the guest ran the suite to its end (results.log ends with "# done"), whatever it found
#   2  the emulator failed: a kernel oops or panic, a timeout, or no end line. These are not
#      mdlua's failures (qemu's TCG crashes now and then here); run.sh boots again.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

name=${1:?usage: boot.sh KERNEL_NAME INITRAMFS OUTDIR [TIMEOUT]}
initramfs=${2:?}
outdir=${3:?}
# A boot and the suite take 15-35 s here; each mdlua command in the guest has its own
# time limit (scripts/vm/guest-suite.sh), so this one only catches a hung emulator.
limit=${4:-${MDLUA_VM_TIMEOUT:-300}}
kernel=$VM_DIR/kernel-$name/vmlinuz
mkdir -p "$outdir"
rm -f "$outdir/console.log" "$outdir/results.log"

# TCG, one thread, a plain CPU model: nested KVM on this machine fails with an emulation
# error. No network device at all (-nic none): the guest's containers only use their own
# namespaces. oops=panic + panic=-1 + -no-reboot turn any kernel crash into qemu exiting
# at once, instead of a hung guest that waits out the timeout.
# One small disk, for the block I/O throttle checks (io.max needs a real block device).
truncate -s 8M "$outdir/disk.img"
qemu=(qemu-system-x86_64 -accel tcg,thread=single -cpu qemu64 -smp 1 -m 1024
      -drive "file=$outdir/disk.img,if=virtio,format=raw"
      -nographic -monitor none -nic none -no-reboot
      -serial "file:$outdir/console.log" -serial "file:$outdir/results.log"
      -kernel "$kernel" -initrd "$initramfs"
      -append "console=ttyS0 loglevel=4 panic=-1 oops=panic mitigations=off")
rc=0
# In the background with a trap, so that a boot.sh stopped from outside stops qemu too.
timeout --kill-after=10 "$limit" "${qemu[@]}" </dev/null >"$outdir/qemu.log" 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' INT TERM
wait "$pid" || rc=$?
trap - INT TERM

if [[ $rc == 124 || $rc == 137 ]]; then
  echo "timeout after ${limit}s" > "$outdir/failure"
elif grep -qE 'Kernel panic|Oops|BUG:|general protection fault|invalid opcode' "$outdir/console.log"; then
  grep -m1 -E 'Kernel panic|Oops|BUG:|general protection fault|invalid opcode' "$outdir/console.log" > "$outdir/failure"
elif ! grep -q '^# done' "$outdir/results.log" 2>/dev/null; then
  echo "the guest stopped before the end of the suite (qemu exit $rc: $(tail -c 200 "$outdir/qemu.log"))" > "$outdir/failure"
else
  rm -f "$outdir/failure"
  exit 0
fi
# How far the suite got, to tell a guest that always stops at the same check.
echo "after $(grep -c -E '^(ok|not ok) - ' "$outdir/results.log" 2>/dev/null || true) results" >> "$outdir/failure"
exit 2
