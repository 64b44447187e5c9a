#!/usr/bin/env bash
# Downloads one of Debian's cloud kernels with apt-get download and unpacks it:
#   scripts/vm/fetch-kernel.sh 6.1|5.10|6.12
# leaves .build/vm/kernel-NAME/{vmlinuz,lib/modules/VERSION/...,version}. A second run
# finds the unpacked kernel and downloads nothing.
#
# The machine's apt configuration is never touched: every suite, bookworm included, is
# read through a sources list of its own in .build/vm/apt-SUITE, with apt's lists and cache
# there too (bookworm is the machine's own suite, but going through the same path for all
# keeps one code path and leaves /var/lib/apt/lists alone).
set -euo pipefail
source "$(dirname "$0")/lib.sh"

name=${1:?usage: fetch-kernel.sh 6.1|5.10|6.12}
suite=${VM_SUITES[$name]:-}
[[ -n $suite ]] || vm_die "unknown kernel $name (known: ${!VM_SUITES[*]})"
out=$VM_DIR/kernel-$name
if [[ -s $out/vmlinuz && -s $out/version ]]; then
  vm_log "kernel $name: cached ($(cat "$out/version"))"
  exit 0
fi

aptdir=$VM_DIR/apt-$suite
mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" "$aptdir/debs"
# bookworm-backports and bookworm-security are separate suites; the cloud kernel's
# metapackage is in the main suite (security updates of 6.1 land in -security).
case $suite in
  bookworm) printf '%s\n' 'deb http://deb.debian.org/debian bookworm main' \
                          'deb http://deb.debian.org/debian-security bookworm-security main' ;;
  *) printf 'deb http://deb.debian.org/debian %s main\n' "$suite" ;;
esac > "$aptdir/sources.list"
apt_opts=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o Dir::Etc::SourceParts=/dev/null
          -o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
          -o Dir::State::status=/dev/null -o APT::Sandbox::User=root -o Debug::NoLocking=1)

vm_log "kernel $name: apt-get update for $suite"
if ! apt-get "${apt_opts[@]}" update -qq >"$aptdir/update.log" 2>&1 \
   || grep -qE '^(E:|Err:)' "$aptdir/update.log"; then
  cat "$aptdir/update.log" >&2
  vm_die "the Debian mirror does not serve $suite (apt-get update failed, log above)"
fi

# The metapackage only depends on the versioned package that holds the kernel.
pkg=$(apt-cache "${apt_opts[@]}" depends linux-image-cloud-amd64 \
      | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-cloud-amd64\)$/\1/p' | head -n1)
[[ -n $pkg ]] || vm_die "$suite: linux-image-cloud-amd64 names no linux-image-*-cloud-amd64"
# The suite's point is the kernel series: a metapackage that moved on is an error, not a
# silent test of another kernel.
[[ $pkg == linux-image-$name.* ]] || vm_die "$suite's linux-image-cloud-amd64 is $pkg, not a $name kernel"
vm_log "kernel $name: $pkg"
(cd "$aptdir/debs" && ls "${pkg}"_*.deb >/dev/null 2>&1 || apt-get "${apt_opts[@]}" download -q "$pkg" >&2)
deb=$(ls -t "$aptdir/debs/${pkg}"_*.deb | head -n1)

rm -rf "$out.tmp" && mkdir -p "$out.tmp"
dpkg-deb -x "$deb" "$out.tmp/pkg"
version=${pkg#linux-image-}
mv "$out.tmp/pkg/boot/vmlinuz-$version" "$out.tmp/vmlinuz"
mv "$out.tmp/pkg/boot/config-$version" "$out.tmp/config"
mkdir -p "$out.tmp/lib/modules"
mv "$out.tmp/pkg/lib/modules/$version" "$out.tmp/lib/modules/$version"
rm -rf "$out.tmp/pkg"
# The package ships no modules.dep (its postinst runs depmod on the target system).
depmod -b "$out.tmp" "$version"
echo "$version" > "$out.tmp/version"
rm -rf "$out" && mv "$out.tmp" "$out"
vm_log "kernel $name: unpacked in ${out#"$VM_REPO"/}"
