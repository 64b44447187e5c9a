#!/usr/bin/env bash
# Adds what scripts/vm/guest-bench.sh needs to an initramfs being staged:
#   scripts/vm/bench-files.sh STAGE_DIR
# crun is linked dynamically: it goes in at its own path with every library ldd names and
# the dynamic loader, at theirs, so that it runs in the guest as it does here.
set -euo pipefail
source "$(dirname "$0")/lib.sh"

stage=${1:?usage: bench-files.sh STAGE_DIR}
crun=$(command -v crun) || vm_die "crun is not installed (scripts/install-deps.sh installs it)"
crun=$(readlink -f "$crun")
copy() {   # copies a file to the same path under the stage, resolving the symlink
  mkdir -p "$stage$(dirname "$1")"
  cp -L "$1" "$stage$1"
}
copy "$crun"
[[ $crun == /usr/bin/crun ]] || { mkdir -p "$stage/usr/bin"; ln -sf "$crun" "$stage/usr/bin/crun"; }
# "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)"
for lib in $(ldd "$crun" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
  copy "$lib"
done
install -m 0644 "$VM_SCRIPTS/guest-bench.sh" "$stage/guest-bench.sh"
