#define _GNU_SOURCE
#include "mdl_constants.h"

#include <fcntl.h>
#include <linux/capability.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <sched.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/resource.h>

const int MDL_O_PATH = O_PATH;
const int MDL_AT_EMPTY_PATH = AT_EMPTY_PATH;

const uint64_t MDL_RESOLVE_NO_XDEV = RESOLVE_NO_XDEV;
const uint64_t MDL_RESOLVE_NO_MAGICLINKS = RESOLVE_NO_MAGICLINKS;
const uint64_t MDL_RESOLVE_NO_SYMLINKS = RESOLVE_NO_SYMLINKS;
const uint64_t MDL_RESOLVE_BENEATH = RESOLVE_BENEATH;
const uint64_t MDL_RESOLVE_IN_ROOT = RESOLVE_IN_ROOT;

const int MDL_CLONE_NEWPID = CLONE_NEWPID;
const int MDL_CLONE_NEWNET = CLONE_NEWNET;
const int MDL_CLONE_NEWNS = CLONE_NEWNS;
const int MDL_CLONE_NEWIPC = CLONE_NEWIPC;
const int MDL_CLONE_NEWUTS = CLONE_NEWUTS;
const int MDL_CLONE_NEWCGROUP = CLONE_NEWCGROUP;

const uint64_t MDL_MOUNT_ATTR_RDONLY = MOUNT_ATTR_RDONLY;
const uint64_t MDL_MOUNT_ATTR_NOSUID = MOUNT_ATTR_NOSUID;
const uint64_t MDL_MOUNT_ATTR_NODEV = MOUNT_ATTR_NODEV;
const uint64_t MDL_MOUNT_ATTR_NOEXEC = MOUNT_ATTR_NOEXEC;

int mdl_rlimit_resource(const char *name) {
    static const struct { const char *name; int resource; } table[] = {
        {"RLIMIT_CPU", RLIMIT_CPU}, {"RLIMIT_FSIZE", RLIMIT_FSIZE}, {"RLIMIT_DATA", RLIMIT_DATA},
        {"RLIMIT_STACK", RLIMIT_STACK}, {"RLIMIT_CORE", RLIMIT_CORE}, {"RLIMIT_RSS", RLIMIT_RSS},
        {"RLIMIT_NPROC", RLIMIT_NPROC}, {"RLIMIT_NOFILE", RLIMIT_NOFILE}, {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
        {"RLIMIT_AS", RLIMIT_AS}, {"RLIMIT_LOCKS", RLIMIT_LOCKS}, {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
        {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE}, {"RLIMIT_NICE", RLIMIT_NICE}, {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
        {"RLIMIT_RTTIME", RLIMIT_RTTIME},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strcmp(table[i].name, name) == 0) return table[i].resource;
    return -1;
}

const long MDL_EXT4_SUPER_MAGIC = EXT4_SUPER_MAGIC;
const long MDL_XFS_SUPER_MAGIC = XFS_SUPER_MAGIC;
const long MDL_BTRFS_SUPER_MAGIC = BTRFS_SUPER_MAGIC;
const long MDL_TMPFS_MAGIC = TMPFS_MAGIC;
const long MDL_OVERLAYFS_SUPER_MAGIC = OVERLAYFS_SUPER_MAGIC;
const long MDL_CGROUP_SUPER_MAGIC = CGROUP_SUPER_MAGIC;
const long MDL_CGROUP2_SUPER_MAGIC = CGROUP2_SUPER_MAGIC;

#define CAP(x) [x] = #x
static const char *const capability_names[] = {
    CAP(CAP_CHOWN), CAP(CAP_DAC_OVERRIDE), CAP(CAP_DAC_READ_SEARCH), CAP(CAP_FOWNER), CAP(CAP_FSETID),
    CAP(CAP_KILL), CAP(CAP_SETGID), CAP(CAP_SETUID), CAP(CAP_SETPCAP), CAP(CAP_LINUX_IMMUTABLE),
    CAP(CAP_NET_BIND_SERVICE), CAP(CAP_NET_BROADCAST), CAP(CAP_NET_ADMIN), CAP(CAP_NET_RAW), CAP(CAP_IPC_LOCK),
    CAP(CAP_IPC_OWNER), CAP(CAP_SYS_MODULE), CAP(CAP_SYS_RAWIO), CAP(CAP_SYS_CHROOT), CAP(CAP_SYS_PTRACE),
    CAP(CAP_SYS_PACCT), CAP(CAP_SYS_ADMIN), CAP(CAP_SYS_BOOT), CAP(CAP_SYS_NICE), CAP(CAP_SYS_RESOURCE),
    CAP(CAP_SYS_TIME), CAP(CAP_SYS_TTY_CONFIG), CAP(CAP_MKNOD), CAP(CAP_LEASE), CAP(CAP_AUDIT_WRITE),
    CAP(CAP_AUDIT_CONTROL), CAP(CAP_SETFCAP), CAP(CAP_MAC_OVERRIDE), CAP(CAP_MAC_ADMIN), CAP(CAP_SYSLOG),
    CAP(CAP_WAKE_ALARM), CAP(CAP_BLOCK_SUSPEND), CAP(CAP_AUDIT_READ), CAP(CAP_PERFMON), CAP(CAP_BPF),
    CAP(CAP_CHECKPOINT_RESTORE),
};

const char *mdl_capability_name(int n) {
    if (n < 0 || n > CAP_LAST_CAP || n >= (int)(sizeof capability_names / sizeof capability_names[0])) return NULL;
    return capability_names[n];
}
