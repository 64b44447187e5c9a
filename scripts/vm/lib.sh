# Shared by the scripts in scripts/vm/: paths and messages. Sourced, not run.
# Everything the VM layer downloads or builds lives under .build/vm/ (git ignores .build/),
# so a second run reuses the kernels and only rebuilds the initramfs.

VM_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VM_DIR=${MDLUA_VM_DIR:-$VM_REPO/.build/vm}
VM_SCRIPTS=$VM_REPO/scripts/vm

# The kernels the layer boots: NAME -> Debian suite. bookworm comes from the machine's own
# apt lists, the others from a private sources list (scripts/vm/fetch-kernel.sh).
declare -A VM_SUITES=([6.1]=bookworm [5.10]=bullseye [6.12]=bookworm-backports)

vm_log() { printf 'vm: %s\n' "$*" >&2; }
vm_die() { printf 'vm: error: %s\n' "$*" >&2; exit 1; }
