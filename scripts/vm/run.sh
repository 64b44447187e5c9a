#!/usr/bin/env bash
# The VM test layer (make test-vm): boots Debian's own kernels under qemu and runs
# scripts/vm/guest-suite.sh inside each, with the static release binary.
#   MDLUA_BIN=PATH scripts/vm/run.sh [KERNEL...]     (default kernels: $MDLUA_VM_KERNELS or "6.1 5.10")
# Prints each guest's result lines prefixed with its kernel, the timings, and ends with
# "N passed, M failed"; exits 1 when a check failed, a kernel could not be fetched, or the
# emulator never got through a kernel's suite.
#
# The retry rule: a boot that ends in a kernel oops or panic, a timeout, or without the
# suite's end line is the emulator's failure (qemu's TCG on this machine crashes now and
# then), not mdlua's: it is booted again, up to 3 times, and its partial results are
# dropped. A kernel that fails 3 times is reported and counted in neither number, and
# fails the run: no verdict is not a pass.
# docs/testing.md has the rest.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

bin=${MDLUA_BIN:?MDLUA_BIN: the path of the static release binary (make test-vm sets it)}
read -r -a kernels <<<"${*:-${MDLUA_VM_KERNELS:-6.1 5.10}}"
tries=${MDLUA_VM_TRIES:-3}
mkdir -p "$VM_DIR"

passed=0 failed=0 notrun=0
summary=()
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

for k in "${kernels[@]}"; do
  t0=$(now)
  if ! "$VM_SCRIPTS/fetch-kernel.sh" "$k"; then
    echo "not ok - [$k] fetching the kernel failed (see above)"
    failed=$((failed + 1))
    summary+=("$k: kernel not fetched")
    continue
  fi
  t1=$(now)
  initramfs=$VM_DIR/initramfs-$k.cpio.gz
  # The benchmark row (scripts/vm/guest-bench.sh) runs in the 6.1 guest only.
  bench=0
  [[ ${MDLUA_VM_BENCH:-0} == 1 && $k == 6.1 ]] && bench=1
  MDLUA_VM_BENCH=$bench "$VM_SCRIPTS/build-initramfs.sh" "$k" "$bin" "$initramfs"
  t2=$(now)
  out=$VM_DIR/run-$k
  done=no
  for ((try = 1; try <= tries; try++)); do
    tb=$(now)
    rc=0
    "$VM_SCRIPTS/boot.sh" "$k" "$initramfs" "$out" || rc=$?
    te=$(now)
    if [[ $rc == 0 ]]; then done=yes; break; fi
    echo "# [$k] boot $try/$tries: emulator failure, not counted against mdlua: $(tr "\n" " " < "$out/failure" 2>/dev/null) ($(secs "$tb" "$te") s; console: ${out#"$VM_REPO"/}/console.log)"
    cp "$out/console.log" "$out/console-failed-$try.log" 2>/dev/null || true
  done
  if [[ $done != yes ]]; then
    summary+=("$k: NOT RUN, the emulator failed $tries times (not counted)")
    notrun=$((notrun + 1))
    continue
  fi
  kp=0 kf=0 benchline=
  # Result lines only; the guest's notes (# ...) are shown too, results are counted.
  while IFS= read -r line; do
    line=${line%$'\r'}
    case $line in
      "ok - "*) kp=$((kp + 1)); echo "ok - [$k] ${line#ok - }" ;;
      "not ok - "*) kf=$((kf + 1)); echo "not ok - [$k] ${line#not ok - }" ;;
      "#"*) echo "# [$k] ${line#\# }"
            case $line in "# bench: "*) benchline="$k ${line#\# }" ;; esac ;;
    esac
  done < "$out/results.log"
  if ! grep -q '^# end of suite' "$out/results.log"; then
    echo "not ok - [$k] the guest suite stopped before its end (results: ${out#"$VM_REPO"/}/results.log)"
    kf=$((kf + 1))
  fi
  passed=$((passed + kp)) failed=$((failed + kf))
  summary+=("$k ($(cat "$VM_DIR/kernel-$k/version")): $kp passed, $kf failed; fetch $(secs "$t0" "$t1") s, initramfs $(secs "$t1" "$t2") s, boot+suite $(secs "$tb" "$te") s (try $try)")
  [[ -z $benchline ]] || summary+=("$benchline")
done

echo
echo "VM layer summary:"
printf '  %s\n' "${summary[@]}"
# A kernel the emulator never got through is no verdict on mdlua, and no pass either: the
# run fails, saying so, rather than going green with checks that never ran.
if ((notrun > 0)); then echo "# $notrun kernel(s) NOT RUN: the emulator failed every try; this run proves nothing for them"; fi
echo "$passed passed, $failed failed"
((failed == 0 && notrun == 0))
