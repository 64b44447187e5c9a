#!/bin/busybox sh
# /init of the test guest (busybox sh; scripts/vm/build-initramfs.sh puts it in the initramfs).
#
# Stage 1 runs on the initramfs itself. A container's set-up calls pivot_root, which the
# kernel refuses when the current root is the initramfs (rootfs cannot be unmounted), so
# stage 1 copies everything onto a tmpfs and switch_roots into it; stage 2 (this same file,
# found there with /.stage2 beside it) sets the system up and runs scripts/vm/guest-suite.sh.
#
# The results go to the second serial port (/dev/ttyS1, a file on the host), away from the
# console, where kernel messages could land in the middle of a line.
export PATH=/bin:/sbin:/usr/bin:/usr/sbin

if [ ! -e /.stage2 ]; then
  /bin/busybox mkdir -p /proc /newroot
  /bin/busybox mount -t proc proc /proc
  /bin/busybox mount -t tmpfs -o mode=0755 tmpfs /newroot
  for f in /*; do
    case $f in /newroot|/proc) ;; *) /bin/busybox cp -a "$f" /newroot/ ;; esac
  done
  /bin/busybox mkdir -p /newroot/proc
  /bin/busybox touch /newroot/.stage2
  /bin/busybox umount /proc
  exec /bin/busybox switch_root /newroot /init
fi

/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /run /var/lib
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /dev/shm
mount -t tmpfs tmpfs /run
# The unified hierarchy alone (cgroup v2), as Debian 11 and 12 boot by default.
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# Hand every controller the root has down to its children (mdlua enables them further down
# its own parent cgroup, see Sources/MDCore/Cgroup/CgroupV2Driver.swift).
for c in $(cat /sys/fs/cgroup/cgroup.controllers); do
  echo "+$c" > /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null
done
hostname mdlua-guest
ip link set lo up 2>/dev/null

exec 3>/dev/ttyS1
# The module list is written by build-initramfs.sh in load order (dependencies first).
# bridge.ko is left to the suite, which first checks what a run says without it.
for m in $(cat /lib/modules/load-order 2>/dev/null); do
  [ "$m" = bridge.ko ] && continue
  insmod "/lib/modules/$m" 2>/tmp/insmod.err || echo "# insmod $m: $(cat /tmp/insmod.err)" >&3
done

echo "# kernel $(uname -r), cgroup controllers: $(cat /sys/fs/cgroup/cgroup.subtree_control)" >&3
sh /guest-suite.sh >&3 2>&3
echo "# suite-exit $?" >&3
if [ -e /guest-bench.sh ]; then sh /guest-bench.sh >&3 2>&3; fi
echo "# done" >&3
sync
poweroff -f
# Not reached unless poweroff failed: the sysrq trigger turns the machine off as well.
echo o > /proc/sysrq-trigger
