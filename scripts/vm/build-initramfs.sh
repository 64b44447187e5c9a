#!/usr/bin/env bash
# Builds the test guest's initramfs for one kernel:
#   scripts/vm/build-initramfs.sh KERNEL_NAME MDLUA_BINARY [OUT]
# (KERNEL_NAME as for fetch-kernel.sh, already fetched). Writes OUT (default
# .build/vm/initramfs-KERNEL_NAME.cpio.gz): a cpio newc archive, gzip'd, of
#   /init                 scripts/vm/guest-init.sh
#   /guest-suite.sh       scripts/vm/guest-suite.sh
#   /bin/busybox          the host's busybox-static (also what `mdlua image bootstrap busybox` copies)
#   /bin/mdlua            the static release binary
#   /lib/modules/...      overlay, veth, bridge, nf_tables, the nf_tables expressions and NAT
#                         the networks use (docs/networking.md) and what they depend on,
#                         uncompressed; load-order, the order to insmod them in (bridge.ko is
#                         last: the suite loads it itself after checking the error without it)
# plus, when MDLUA_VM_BENCH=1, /guest-bench.sh and crun with its libraries (scripts/vm/guest-bench.sh).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

name=${1:?usage: build-initramfs.sh KERNEL_NAME MDLUA_BINARY [OUT]}
mdlua=${2:?usage: build-initramfs.sh KERNEL_NAME MDLUA_BINARY [OUT]}
out=${3:-$VM_DIR/initramfs-$name.cpio.gz}
kdir=$VM_DIR/kernel-$name
version=$(cat "$kdir/version")
moddir=$kdir/lib/modules/$version
[[ -f $moddir/modules.dep ]] || vm_die "kernel $name is not fetched (scripts/vm/fetch-kernel.sh $name)"
[[ -x $mdlua ]] || vm_die "no mdlua binary at $mdlua (make build)"
# The guest has no dynamic loader or libraries for mdlua: it must be the static build.
if ! file -b "$mdlua" | grep -q 'statically linked'; then vm_die "$mdlua is not statically linked"; fi
[[ -x /bin/busybox ]] && file -b /bin/busybox | grep -q 'statically linked' \
  || vm_die "/bin/busybox is missing or not static (apt-get install busybox-static)"

stage=$(mktemp -d "$VM_DIR/initramfs-$name.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage"/{bin,dev,lib/modules,proc,sys}
# The kernel opens /dev/console for init's standard streams before any devtmpfs exists.
mknod -m 600 "$stage/dev/console" c 5 1
install -m 0755 "$VM_SCRIPTS/guest-init.sh" "$stage/init"
install -m 0644 "$VM_SCRIPTS/guest-suite.sh" "$stage/guest-suite.sh"
install -m 0755 /bin/busybox "$stage/bin/busybox"
# Stripped: 5 MB less to copy through the emulated CPU at every boot.
# The registry helper inside the binary (docs/registries.md) is not used in the guest.
strip --remove-section=.mdlua_registry -o "$stage/bin/mdlua" "$mdlua"

# The modules the guest needs, each after the modules it depends on (modules.dep lists a
# module's dependencies, deepest last, so reversing each line gives a load order).
# The networks' rules (Sources/MDCore/Network/Firewall.swift) use nat chains, ct, fib and
# masquerade; meta, payload, cmp, bitwise, lookup and immediate are in nf_tables itself.
wanted=(overlay veth nf_tables nft_chain_nat nft_nat nft_masq nft_ct nft_fib_ipv4 virtio_pci virtio_blk bridge)
declare -A seen=()
order=()
for m in "${wanted[@]}"; do
  line=$(grep -E "(^|/)$m\.ko(\.xz|\.zst|\.gz)?:" "$moddir/modules.dep") \
    || { vm_log "kernel $name: no module $m (built in?)"; continue; }
  read -r -a deps <<<"${line#*:}"
  chain=()
  for ((i = ${#deps[@]} - 1; i >= 0; i--)); do chain+=("${deps[i]}"); done
  chain+=("${line%%:*}")
  for f in "${chain[@]}"; do
    [[ -n ${seen[$f]:-} ]] && continue
    seen[$f]=1
    base=$(basename "$f")
    # busybox insmod reads the raw ELF only: compressed modules are unpacked here.
    case $base in
      *.ko.xz) xz -dc "$moddir/$f" > "$stage/lib/modules/${base%.xz}"; base=${base%.xz} ;;
      *.ko.zst) zstd -qdc "$moddir/$f" > "$stage/lib/modules/${base%.zst}"; base=${base%.zst} ;;
      *.ko.gz) gzip -dc "$moddir/$f" > "$stage/lib/modules/${base%.gz}"; base=${base%.gz} ;;
      *) cp "$moddir/$f" "$stage/lib/modules/$base" ;;
    esac
    order+=("$base")
  done
done
printf '%s\n' "${order[@]}" > "$stage/lib/modules/load-order"

if [[ ${MDLUA_VM_BENCH:-0} == 1 ]]; then
  "$VM_SCRIPTS/bench-files.sh" "$stage"
fi

mkdir -p "$(dirname "$out")"
(cd "$stage" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0) | gzip -1 > "$out.tmp"
mv "$out.tmp" "$out"
vm_log "initramfs $name: ${out#"$VM_REPO"/} ($(du -h "$out" | cut -f1); modules: ${order[*]})"
