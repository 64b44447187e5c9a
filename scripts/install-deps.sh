#!/usr/bin/env bash
# Installs what building and testing mdlua needs on Debian 12, as root. Idempotent: apt is
# only asked when a package is missing.
set -euo pipefail

packages=(
  pkg-config
  liblua5.4-dev      # the embedded Lua VM
  libedit-dev        # REPL line editing and history
  libarchive-dev     # reading layer and image tars
  nettle-dev         # SHA-256
  zlib1g-dev         # gzip layers (reading)
  libdeflate-dev     # gzip layers (writing: fast whole-buffer deflate; ships a static archive)
  libzstd-dev        # zstd layers
  libseccomp-dev     # the containers' seccomp filters
  libyaml-dev        # Compose files (stacks)
  lua5.4             # the benchmark's baseline
  hyperfine          # the benchmark's timer
  time               # the benchmark's peak-RSS meter (GNU time)
  python3            # the benchmark's driver
  busybox-static     # test images
  podman skopeo buildah crun runc   # peers: interoperability tests and the benchmark
  podman-compose     # the stack benchmark's peer
  debootstrap        # the debian base image (benchmark)
  zstd
  # registries (docs/registries.md): the tests' local registry, its TLS certificates and
  # htpasswd file, and the token server's signatures
  docker-registry openssl apache2-utils
  e2fsprogs          # mkfs.ext4 for volumes with a size limit (docs/volumes.md)
  # the VM test layer (scripts/vm/, docs/testing.md): Debian's kernels booted under qemu
  qemu-system-x86    # the emulator (TCG)
  cpio               # the guest's initramfs
  xz-utils           # compressed kernel modules
  kmod               # depmod: the downloaded kernels ship no modules.dep
  file binutils      # checks the binaries are static; strips mdlua for the guest
  # networking (docs/networking.md)
  aardvark-dns       # names on user networks
  nftables iproute2  # the network tests: leak checks, the outside namespaces
  fish zsh           # the completion scripts are run by the shells they are for (CompletionTests)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# From PyPI: the offline Kubernetes schema check of `mdlua kube`'s output (StackTests).
python3 -m kubernetes_validate --version >/dev/null 2>&1 || python3 -m pip install --quiet kubernetes-validate

if ! command -v swift >/dev/null; then
  echo "install-deps: swift is not on PATH (Swift 6 toolchain needed)" >&2
  exit 1
fi
