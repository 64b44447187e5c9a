#!/usr/bin/env bash
# The test images that come from outside this machine, made once before the test suite runs
# (the tests themselves reach only 127.0.0.0/8 and namespaces they make): a Debian image
# with gcc, by debootstrap from the Debian mirror, for BuildDebianTests. Kept as a docker
# archive in MDLUA_TEST_CACHE (default /var/tmp/mdlua-test-cache); each test loads it into
# its own state root. Usage: scripts/test-images.sh [MDLUA_BINARY]
set -euo pipefail
bin=${1:-.build/debug/mdlua}
cache=${MDLUA_TEST_CACHE:-/var/tmp/mdlua-test-cache}
archive=$cache/debian-gcc-bookworm.tar
[ -s "$archive" ] && exit 0
mkdir -p "$cache"
work=$(mktemp -d "$cache/make.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "making $archive (debootstrap with gcc: a few minutes, once)"
"$bin" --root "$work/root" image bootstrap debian --include gcc,libc6-dev debian-gcc:bookworm >/dev/null
"$bin" --root "$work/root" save -o "$work/debian-gcc.tar" debian-gcc:bookworm
# Whole or not at all: the archive has its name only once written.
mv "$work/debian-gcc.tar" "$archive"
