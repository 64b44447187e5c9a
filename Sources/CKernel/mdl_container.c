#define _GNU_SOURCE
#include "mdl_container.h"
#include "mdl_fs.h"
#include "mdl_attach.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/magic.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

// What the child reports when it cannot get to execve.
struct child_error {
    int32_t exec_errno;   // non-zero: execve itself failed
    int32_t sys_errno;
    char message[480];
};

static const int forwarded_signals[] = {
    SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH, SIGCHLD, SIGCONT, SIGTSTP, SIGTTIN, SIGTTOU,
};

static sigset_t forwarded_set(void) {
    sigset_t set;
    sigemptyset(&set);
    for (size_t i = 0; i < sizeof forwarded_signals / sizeof forwarded_signals[0]; i++)
        sigaddset(&set, forwarded_signals[i]);
    return set;
}

void mdl_block_forwarded_signals(void) {
    sigset_t set = forwarded_set();
    sigprocmask(SIG_BLOCK, &set, NULL);
}

void mdl_unblock_forwarded_signals(void) {
    sigset_t set = forwarded_set();
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

// ---------------------------------------------------------------- the child side

static int g_sync = -1;
static int g_sync_parent_end = -1;   // the parent's end, which the child must not keep
static int g_pdeathsig = 0;          // a container's first process: it dies with its monitor
static int g_null_fd = -1;           // the null device the engine made in /dev (make_devices)
static int g_proc_fd = -1;           // the container's /proc, checked to be procfs (after pivot_root)

static void __attribute__((noreturn)) child_fail(int exec_errno, const char *fmt, ...) {
    struct child_error e;
    memset(&e, 0, sizeof e);
    e.exec_errno = exec_errno;
    e.sys_errno = errno;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    if (errno != 0 && !exec_errno && n >= 0 && (size_t)n < sizeof e.message - 2)
        snprintf(e.message + n, sizeof e.message - (size_t)n, ": %s", strerror(e.sys_errno));
    if (g_sync >= 0) {
        ssize_t w = write(g_sync, &e, sizeof e);
        (void)w;
    }
    _exit(exec_errno == ENOENT ? 127 : exec_errno ? 126 : 125);
}

// Opens `path` inside the root (O_PATH), creating missing directories (and the last
// component as an empty file when `file`). Every prefix is resolved from the root with
// RESOLVE_IN_ROOT, so a symlink on the way leads where it would inside the root (`..` stops
// at the root), and what is created is created in the directory reached.
static int open_in_root(int rootfd, const char *path, int file) {
    static const uint64_t how = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", path);
    char *p = buf;
    while (*p == '/') p++;
    if (*p == '\0') return (int)mdl_openat2(rootfd, ".", O_PATH | O_CLOEXEC, 0, how);
    int fd = (int)mdl_openat2(rootfd, p, O_PATH | O_CLOEXEC, 0, how);
    if (fd >= 0 || errno != ENOENT) return fd;
    int parent = (int)mdl_openat2(rootfd, ".", O_PATH | O_CLOEXEC, 0, how);
    if (parent < 0) return -1;
    for (char *end = p;;) {
        while (*end == '/') end++;
        char *name = end;
        while (*end && *end != '/') end++;
        if (end == name) return parent;   // a trailing slash
        char saved = *end;
        *end = '\0';
        int last = saved == '\0';
        if (!last) { char *q = end + 1; while (*q == '/') q++; last = *q == '\0'; }
        fd = (int)mdl_openat2(rootfd, p, O_PATH | O_CLOEXEC, 0, how);
        if (fd < 0 && errno == ENOENT) {
            // A dangling symlink makes these fail with EEXIST: refused, not followed.
            if (last && file) {
                int f = openat(parent, name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0644);
                if (f >= 0) close(f);
            } else {
                mkdirat(parent, name, 0755);
            }
            fd = (int)mdl_openat2(rootfd, p, O_PATH | O_CLOEXEC, 0, how);
        }
        close(parent);
        if (fd < 0) return -1;
        if (last) return fd;
        parent = fd;
        *end = saved;
    }
}

static unsigned long attrs_to_flags(uint64_t attrs) {
    unsigned long flags = 0;
    if (attrs & MOUNT_ATTR_RDONLY) flags |= MS_RDONLY;
    if (attrs & MOUNT_ATTR_NOSUID) flags |= MS_NOSUID;
    if (attrs & MOUNT_ATTR_NODEV) flags |= MS_NODEV;
    if (attrs & MOUNT_ATTR_NOEXEC) flags |= MS_NOEXEC;
    return flags;
}

// Sets attributes on the mount (tree) `fd` with mount_setattr (Linux 5.12). Returns 0, or -1
// when the kernel lacks the call: the caller then remounts once the tree is attached.
static int set_mount_attrs(int fd, uint64_t attrs, int recursive) {
    if (attrs == 0) return 0;
    struct mount_attr a;
    memset(&a, 0, sizeof a);
    a.attr_set = attrs;
    if (mount_setattr(fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a) == 0) return 0;
    if (errno == ENOSYS) return -1;
    child_fail(0, "set mount attributes");
}

// One remount of the mount at `path` with `add` on top of the flags it has: a bind remount
// replaces all of them, and nosuid/nodev/noexec set by someone else must stay.
static void remount_adding(const char *path, unsigned long add, const char *what) {
    struct statvfs st;
    if (statvfs(path, &st) < 0) child_fail(0, "%s: statvfs", what);
    unsigned long keep = 0;
    if (st.f_flag & ST_RDONLY) keep |= MS_RDONLY;
    if (st.f_flag & ST_NOSUID) keep |= MS_NOSUID;
    if (st.f_flag & ST_NODEV) keep |= MS_NODEV;
    if (st.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
    if (st.f_flag & ST_NOATIME) keep |= MS_NOATIME;
    if (st.f_flag & ST_NODIRATIME) keep |= MS_NODIRATIME;
    if (st.f_flag & ST_RELATIME) keep |= MS_RELATIME;
    if (mount(NULL, path, NULL, MS_REMOUNT | MS_BIND | keep | add, NULL) < 0) child_fail(0, "%s", what);
}

// The mount ID of the mount `fd` is on (its fdinfo's mnt_id, there since 3.15).
static long mount_id_of(int fd) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", fd);
    int f = open(path, O_RDONLY | O_CLOEXEC);
    if (f < 0) return -1;
    ssize_t n = read(f, buf, sizeof buf - 1);
    close(f);
    if (n <= 0) return -1;
    buf[n] = '\0';
    const char *p = strstr(buf, "mnt_id:");
    return p ? strtol(p + 7, NULL, 10) : -1;
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
static void unescape_mountinfo(char *s) {
    char *out = s;
    for (char *p = s; *p; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' && p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
            *out++ = (char)((p[1] - '0') * 64 + (p[2] - '0') * 8 + (p[3] - '0'));
            p += 3;
        } else {
            *out++ = *p;
        }
    }
    *out = '\0';
}

// Without mount_setattr: the attributes of an attached tree, whose top is open as `fd`, set
// by remounting its top and, when recursive, every mount below it (found in mountinfo by
// parent IDs), as runc does on such kernels. The buffer is static: the child has one thread
// and the engine's heap may not be in a usable state after clone.
static void remount_tree(int fd, uint64_t attrs, int recursive, const char *what) {
    unsigned long add = attrs_to_flags(attrs);
    char top[64];
    snprintf(top, sizeof top, "/proc/self/fd/%d", fd);
    remount_adding(top, add, what);
    if (!recursive) return;
    long root_id = mount_id_of(fd);
    if (root_id < 0) child_fail(0, "%s: the mount's ID", what);
    static char info[1 << 20];
    int f = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (f < 0) child_fail(0, "%s: read mountinfo", what);
    size_t len = 0;
    ssize_t n;
    while (len < sizeof info - 1 && (n = read(f, info + len, sizeof info - 1 - len)) > 0) len += (size_t)n;
    close(f);
    info[len] = '\0';
    // Mounts in mountinfo come after their parents: one pass in order finds the subtree,
    // its members' IDs kept in a small set.
    static long ids[4096];
    int nids = 0;
    ids[nids++] = root_id;
    for (char *line = info; line && *line;) {
        char *next = strchr(line, '\n');
        if (next) *next++ = '\0';
        long id, parent;
        char mountpoint[4096];
        if (sscanf(line, "%ld %ld %*s %*s %4095s", &id, &parent, mountpoint) == 3 && id != root_id) {
            for (int i = 0; i < nids; i++) {
                if (ids[i] != parent) continue;
                if (nids < (int)(sizeof ids / sizeof ids[0])) ids[nids++] = id;
                unescape_mountinfo(mountpoint);
                remount_adding(mountpoint, add, what);
                break;
            }
        }
        line = next;
    }
}

// Whether `fd` is on a file system of type `magic` (statfs f_type).
static int fd_on_fs(int fd, long magic) {
    struct statfs sf;
    return fstatfs(fd, &sf) == 0 && (long)sf.f_type == magic;
}

static void do_mount(int rootfd, const struct mdl_mount *m) {
    int target = open_in_root(rootfd, m->destination, m->kind == MDL_MOUNT_BIND && m->file);
    if (target < 0) child_fail(0, "open mount point %s", m->destination);
    // Nothing but proc goes on /proc: a volume there (or on a path whose symlinks lead
    // there) would hide the files the engine masks and writes (sysctls, oom_score_adj).
    // Nothing goes over the root itself either.
    int is_proc = m->kind == MDL_MOUNT_FS && strcmp(m->source, "proc") == 0;
    if (!is_proc && fd_on_fs(target, PROC_SUPER_MAGIC)) {
        errno = 0;
        child_fail(0, "mount point %s: it is inside /proc, where nothing but proc may be mounted", m->destination);
    }
    struct stat ts, rs;
    if (fstat(target, &ts) == 0 && fstat(rootfd, &rs) == 0 && ts.st_dev == rs.st_dev && ts.st_ino == rs.st_ino) {
        errno = 0;
        child_fail(0, "mount point %s: it is the container's root", m->destination);
    }
    int tree, late_attrs = 0;
    if (m->kind == MDL_MOUNT_BIND) {
        tree = open_tree(AT_FDCWD, m->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (m->recursive ? AT_RECURSIVE : 0));
        if (tree < 0) child_fail(0, "bind %s on %s", m->source, m->destination);
        late_attrs = set_mount_attrs(tree, m->attrs, m->recursive) < 0;
    } else {
        // One mount(2) on the opened target through its /proc/self/fd link: the target was
        // resolved in the root, and this path names that very directory.
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", target);
        if (mount(m->source, path, m->source, attrs_to_flags(m->attrs), m->data) < 0)
            child_fail(0, "mount %s on %s", m->source, m->destination);
        close(target);
        return;
    }
    if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
        child_fail(0, "attach mount on %s", m->destination);
    // `tree` now names the attached mount.
    if (late_attrs) remount_tree(tree, m->attrs, m->recursive, m->destination);
    if (m->propagation) {
        char path[64];
        snprintf(path, sizeof path, "/proc/self/fd/%d", tree);
        if (mount(NULL, path, NULL, m->propagation, NULL) < 0) child_fail(0, "set the propagation of %s", m->destination);
    }
    close(tree);
    close(target);
}

static void make_devices(int rootfd) {
    int dev = open_in_root(rootfd, "/dev", 0);
    if (dev < 0) child_fail(0, "open /dev");
    // O_PATH fds cannot be used with *at for creation on all kernels: reopen as a directory.
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", dev);
    int d = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    close(dev);
    if (d < 0) child_fail(0, "open /dev");
    static const struct { const char *name; unsigned maj, min; } nodes[] = {
        {"null", 1, 3}, {"zero", 1, 5}, {"full", 1, 7}, {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
    };
    for (size_t i = 0; i < sizeof nodes / sizeof nodes[0]; i++) {
        if (mknodat(d, nodes[i].name, S_IFCHR | 0666, makedev(nodes[i].maj, nodes[i].min)) < 0 && errno != EEXIST)
            child_fail(0, "mknod /dev/%s", nodes[i].name);
        fchmodat(d, nodes[i].name, 0666, 0);
    }
    // The source of the masks over /proc files, taken now, before any mount of the user's
    // can shadow /dev (mask_paths checks it again).
    if (g_null_fd < 0) g_null_fd = openat(d, "null", O_PATH | O_NOFOLLOW | O_CLOEXEC);
    static const struct { const char *name, *target; } links[] = {
        {"fd", "/proc/self/fd"}, {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
        {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"}, {"core", "/proc/kcore"},
    };
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        if (symlinkat(links[i].target, d, links[i].name) < 0 && errno != EEXIST)
            child_fail(0, "symlink /dev/%s", links[i].name);
    }
    close(d);
}

// The container's /proc (after pivot_root), opened without following symlinks and checked
// to be the root of a procfs: what the engine writes or mounts under /proc goes through it,
// never through a path a volume could have shadowed (the CVE-2025-52881 pattern).
static int proc_dir(void) {
    if (g_proc_fd >= 0) return g_proc_fd;
    int fd = (int)mdl_openat2(AT_FDCWD, "/proc", O_PATH | O_DIRECTORY | O_CLOEXEC, 0,
                              RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    struct stat st;
    if (fd < 0) child_fail(0, "open /proc");
    if (!fd_on_fs(fd, PROC_SUPER_MAGIC) || fstat(fd, &st) < 0 || st.st_ino != 1) {
        errno = 0;
        child_fail(0, "/proc is not the container's procfs");
    }
    g_proc_fd = fd;
    return fd;
}

// Opens `rel` (under /proc) for writing through the checked /proc, refusing symlinks, other
// file systems and anything not on procfs.
static int open_proc_file(const char *rel) {
    int fd = (int)mdl_openat2(proc_dir(), rel, O_WRONLY | O_CLOEXEC, 0,
                              RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV);
    if (fd < 0) return -1;
    if (!fd_on_fs(fd, PROC_SUPER_MAGIC)) {
        close(fd);
        errno = EXDEV;
        return -1;
    }
    return fd;
}

// The null device to bind over masked files: the one make_devices made, or /dev/null
// opened without following symlinks; either way checked to be the character device 1:3,
// so a /dev a volume shadows cannot turn a mask into a bind of something else (the
// CVE-2025-31133 pattern).
static int null_device(void) {
    if (g_null_fd < 0)
        g_null_fd = (int)mdl_openat2(AT_FDCWD, "/dev/null", O_PATH | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
    struct stat st;
    if (g_null_fd < 0 || fstat(g_null_fd, &st) < 0 || !S_ISCHR(st.st_mode) || major(st.st_rdev) != 1 || minor(st.st_rdev) != 3) {
        errno = 0;
        child_fail(0, "mask paths: /dev/null is not the null device (character device 1:3)");
    }
    return g_null_fd;
}

// Sysctls, as "a.b.c" = value: written to /proc/sys/a/b/c of the container's own procfs
// (its namespaces), before /proc/sys is made read-only.
static void write_sysctls(const struct mdl_container *c) {
    for (int i = 0; i < c->nsysctls; i++) {
        char rel[512];
        int n = snprintf(rel, sizeof rel, "sys/%s", c->sysctl_keys[i]);
        if (n < 0 || (size_t)n >= sizeof rel) { errno = 0; child_fail(0, "sysctl %s: name too long", c->sysctl_keys[i]); }
        for (char *p = rel + 4; *p; p++) if (*p == '.') *p = '/';
        int fd = open_proc_file(rel);
        if (fd < 0) child_fail(0, "sysctl %s", c->sysctl_keys[i]);
        size_t len = strlen(c->sysctl_values[i]);
        if (write(fd, c->sysctl_values[i], len) != (ssize_t)len) child_fail(0, "sysctl %s=%s", c->sysctl_keys[i], c->sysctl_values[i]);
        close(fd);
    }
}

// Opens a masked or read-only path (absolute, after pivot_root) without following
// symlinks: -1 with ENOENT when it is not there.
static int open_no_symlinks(const char *p) {
    return (int)mdl_openat2(AT_FDCWD, p, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS);
}

static void mask_paths(const struct mdl_container *c) {
    for (int i = 0; i < c->nmasked; i++) {
        const char *p = c->masked_paths[i];
        int target = open_no_symlinks(p);
        if (target < 0) {
            if (errno == ENOENT) continue;
            child_fail(0, "mask %s", p);
        }
        struct stat st;
        if (fstat(target, &st) < 0) child_fail(0, "mask %s", p);
        if (S_ISDIR(st.st_mode)) {
            char path[64];
            snprintf(path, sizeof path, "/proc/self/fd/%d", target);
            proc_dir();   // the link below is the checked procfs's
            if (mount("tmpfs", path, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0") < 0)
                child_fail(0, "mask %s", p);
        } else {
            int tree = open_tree(null_device(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
            if (tree < 0 || move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
                child_fail(0, "mask %s", p);
            close(tree);
        }
        close(target);
    }
    for (int i = 0; i < c->nreadonly; i++) {
        const char *p = c->readonly_paths[i];
        int target = open_no_symlinks(p);
        if (target < 0) {
            if (errno == ENOENT) continue;
            child_fail(0, "read-only %s", p);
        }
        int tree = open_tree(target, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE | AT_EMPTY_PATH);
        if (tree < 0) child_fail(0, "read-only %s", p);
        int late = set_mount_attrs(tree, MOUNT_ATTR_RDONLY, 1) < 0;
        if (move_mount(tree, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) child_fail(0, "read-only %s", p);
        if (late) { proc_dir(); remount_tree(tree, MOUNT_ATTR_RDONLY, 1, p); }
        close(tree);
        close(target);
    }
}

static void set_capabilities(const struct mdl_container *c) {
    // Capabilities are numbered 0..cap_last_cap: the first EINVAL ends the kernel's list.
    for (int cap = 0; cap <= 63; cap++) {
        if (c->cap_bounding & (1ULL << cap)) continue;
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL) break;
            child_fail(0, "drop capability %d from the bounding set", cap);
        }
    }
}

// The capabilities this process holds: a container cannot be given more (--privileged on a
// host whose root lacks some, as CAP_SYS_RESOURCE here, gets the rest).
static uint64_t own_permitted(void) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0) return ~0ULL;
    return (uint64_t)d[0].permitted | ((uint64_t)d[1].permitted << 32);
}

static void apply_capsets(const struct mdl_container *c, uint64_t held) {
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof d);
    for (int i = 0; i < 2; i++) {
        d[i].effective = (uint32_t)((c->cap_effective & held) >> (32 * i));
        d[i].permitted = (uint32_t)((c->cap_permitted & held) >> (32 * i));
        d[i].inheritable = (uint32_t)((c->cap_inheritable & held) >> (32 * i));
    }
    if (syscall(SYS_capset, &h, d) < 0) child_fail(0, "set capabilities");
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    for (int cap = 0; cap <= 63; cap++) {
        if ((c->cap_ambient & held & (1ULL << cap)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) < 0)
            child_fail(0, "raise ambient capability %d", cap);
    }
}

static void load_seccomp(const struct mdl_container *c) {
    if (c->seccomp_filter == NULL) return;
    struct sock_fprog prog = {(unsigned short)c->seccomp_count, (struct sock_filter *)c->seccomp_filter};
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) < 0) child_fail(0, "load the seccomp filter");
}

static const char *env_path(const struct mdl_container *c) {
    for (int i = 0; c->envp[i]; i++)
        if (strncmp(c->envp[i], "PATH=", 5) == 0) return c->envp[i] + 5;
    return "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
}

// execve through the container's own PATH (not the engine's).
static void __attribute__((noreturn)) exec_command(const struct mdl_container *c) {
    const char *cmd = c->argv[0];
    if (strchr(cmd, '/')) {
        execve(cmd, (char *const *)c->argv, (char *const *)c->envp);
        child_fail(errno, "exec %s: %s", cmd, strerror(errno));
    }
    int seen_eacces = 0;
    const char *path = env_path(c);
    char buf[4096];
    while (*path) {
        const char *end = strchr(path, ':');
        size_t len = end ? (size_t)(end - path) : strlen(path);
        snprintf(buf, sizeof buf, "%.*s/%s", (int)(len ? len : 1), len ? path : ".", cmd);
        execve(buf, (char *const *)c->argv, (char *const *)c->envp);
        if (errno == EACCES) seen_eacces = 1;
        else if (errno != ENOENT && errno != ENOTDIR) child_fail(errno, "exec %s: %s", buf, strerror(errno));
        path = end ? end + 1 : path + len;
    }
    if (seen_eacces) child_fail(EACCES, "exec %s: permission denied", cmd);
    child_fail(ENOENT, "exec: \"%s\": executable file not found in $PATH", cmd);
}

// The memory of the engine's argument and environment strings, as the kernel set it up:
// /proc/PID/cmdline and /proc/PID/environ show it. glibc hands argc/argv/envp to
// constructors in static and dynamic executables alike.
static char *g_args_start, *g_args_end, *g_env_start, *g_env_end;

__attribute__((constructor)) static void capture_process_strings(int argc, char **argv, char **envp) {
    if (argc > 0 && argv && argv[0]) {
        g_args_start = argv[0];
        g_args_end = argv[argc - 1] + strlen(argv[argc - 1]) + 1;
    }
    if (envp && envp[0]) {
        int n = 0;
        while (envp[n]) n++;
        g_env_start = envp[0];
        g_env_end = envp[n - 1] + strlen(envp[n - 1]) + 1;
    }
}

// --init's pid 1 is a copy of the engine that never execs: without this, every process in
// the container would read the host's command line (every -e NAME=value given to run) in
// /proc/1/cmdline. It reads as `mdlua-init -- COMMAND ARGS` instead, cut to the room the
// engine's own arguments had; the engine's environment strings are wiped too.
static void set_init_cmdline(const struct mdl_container *c) {
    if (g_env_start && g_env_end > g_env_start) memset(g_env_start, 0, (size_t)(g_env_end - g_env_start));
    if (!g_args_start || g_args_end <= g_args_start) return;
    size_t room = (size_t)(g_args_end - g_args_start), off = 0;
    memset(g_args_start, 0, room);
    const char *head[] = {"mdlua-init", "--"};
    for (int i = 0; (i < 2 || c->argv[i - 2]) && off + 1 < room; i++) {
        const char *a = i < 2 ? head[i] : c->argv[i - 2];
        size_t n = strlen(a);
        if (n > room - off - 1) n = room - off - 1;
        memcpy(g_args_start + off, a, n);
        off += n + 1;   // the NUL is there from the memset
    }
}

// pid 1 with --init: runs the command as its child, forwards signals to it, reaps every
// zombie, and exits as the command did.
static void __attribute__((noreturn)) run_init(const struct mdl_container *c) {
    sigset_t all;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    pid_t child = fork();
    if (child < 0) child_fail(0, "fork the command");
    if (child == 0) {
        // The command's own group in the foreground of the terminal; with SIGTTOU still
        // blocked, or tcsetpgrp from this background group would stop it.
        setpgid(0, 0);
        if (c->tty_fd >= 0 || c->tty) tcsetpgrp(0, getpid());
        sigprocmask(SIG_UNBLOCK, &all, NULL);
        exec_command(c);
    }
    close(g_sync);   // the command's exec closes its copy: that is the parent's signal
    g_sync = -1;
    // The init never execs: close what close-on-exec would have closed (the engine's fds).
    if (syscall(SYS_close_range, 3, ~0U, 0) < 0) {   // close_range: 5.9
        for (int fd = 3; fd < 65536; fd++) close(fd);
    }
    // This process is a copy of the engine, not an exec of anything in the container: keep
    // the container from reaching it (and through /proc/1/exe the engine binary, the
    // CVE-2019-5736 class) by making it non-dumpable.
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    prctl(PR_SET_NAME, "init", 0, 0, 0);
    set_init_cmdline(c);
    for (;;) {
        siginfo_t info;
        int sig = sigwaitinfo(&all, &info);
        if (sig < 0) continue;
        if (sig == SIGCHLD) {
            int status;
            pid_t p;
            while ((p = waitpid(-1, &status, WNOHANG)) > 0) {
                if (p == child) {
                    if (WIFEXITED(status)) _exit(WEXITSTATUS(status));
                    _exit(128 + WTERMSIG(status));
                }
            }
        } else {
            kill(child, sig);
        }
    }
}

// Marks every open fd above stdio close-on-exec, for kernels without CLOSE_RANGE_CLOEXEC
// (5.11): the fds listed in /proc/self/fd (the container's own /proc by now; getdents64
// into a stack buffer, no allocation), or, without /proc, every number below the fd limit.
static void cloexec_open_fds(void) {
    int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0) {
        struct rlimit r;
        rlim_t limit = getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < (1 << 20) ? r.rlim_cur : (1 << 20);
        for (int fd = 3; fd < (int)limit; fd++) fcntl(fd, F_SETFD, FD_CLOEXEC);
        return;
    }
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct linux_dirent64 { uint64_t ino; int64_t off; unsigned short reclen; unsigned char type; char name[]; };
            struct linux_dirent64 *e = (struct linux_dirent64 *)(buf + off);
            int fd = atoi(e->name);
            if (e->name[0] != '.' && fd >= 3 && fd != dir) fcntl(fd, F_SETFD, FD_CLOEXEC);
            off += e->reclen;
        }
    }
    close(dir);
}

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO('T', 0x41)
#endif

// A terminal from the container's own devpts (the spec mounts /dev/pts with newinstance and
// ptmxmode=0666, stdlib/mdlua/spec.lua), opened in here after the mounts, so that the
// process sees its terminal as /dev/pts/N of its own /dev/pts (`tty` in an exec included).
// The master goes to the parent over the sync socket (SCM_RIGHTS) for it to relay; the
// peer is returned, owned by the process's user.
static int container_pty(const struct mdl_container *c) {
    int master = open("/dev/pts/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (master < 0) child_fail(0, "open the container's /dev/pts/ptmx");
    int unlock = 0;
    unsigned int number = 0;
    if (ioctl(master, TIOCSPTLCK, &unlock) < 0 || ioctl(master, TIOCGPTN, &number) < 0)
        child_fail(0, "unlock the container's terminal");
    char path[64];
    snprintf(path, sizeof path, "/dev/pts/%u", number);
    int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);   // 4.13
    if (peer < 0) peer = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (peer < 0) child_fail(0, "open %s", path);
    if (fchown(peer, c->uid, (gid_t)-1) < 0) child_fail(0, "give %s to uid %u", path, c->uid);
    if (c->make_devices) {
        // The first process's terminal is the container's console too.
        int f = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (f < 0 || mount(path, "/dev/console", NULL, MS_BIND, NULL) < 0) child_fail(0, "bind %s on /dev/console", path);
        close(f);
    }
    char kind = 'T';
    struct iovec iov = {&kind, 1};
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    cm->cmsg_level = SOL_SOCKET;
    cm->cmsg_type = SCM_RIGHTS;
    cm->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cm), &master, sizeof master);
    if (sendmsg(g_sync, &msg, MSG_NOSIGNAL) != 1) child_fail(0, "send the terminal");
    close(master);
    return peer;
}

// The last steps, shared by a container's first process and `exec`: stdio, working
// directory, capabilities, user, no_new_privs, seccomp, closing fds, execve.
static void __attribute__((noreturn)) finish_and_exec(const struct mdl_container *c) {
    // stdio: a terminal, or the fds given.
    setsid();
    int tty = c->tty ? container_pty(c) : c->tty_fd;
    if (tty >= 0) {
        if (ioctl(tty, TIOCSCTTY, 0) < 0) child_fail(0, "set the controlling terminal");
        for (int i = 0; i < 3; i++) dup2(tty, i);
    } else {
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        for (int i = 0; i < 3; i++) {
            int fd = c->stdio[i] >= 0 ? c->stdio[i] : null;
            if (fd >= 0 && fd != i && dup2(fd, i) < 0) child_fail(0, "set up stdio");
            if (fd == i) fcntl(i, F_SETFD, 0);
        }
    }

    if (c->cwd && chdir(c->cwd) < 0) child_fail(0, "chdir %s", c->cwd);

    uint64_t held = own_permitted();
    set_capabilities(c);
    if (c->no_new_privs && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) child_fail(0, "set no_new_privs");
    // Without no_new_privs, the filter needs CAP_SYS_ADMIN: load it before dropping it.
    if (!c->no_new_privs) load_seccomp(c);
    if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) child_fail(0, "keep capabilities");
    if (setgroups((size_t)c->ngroups, (const gid_t *)c->groups) < 0) child_fail(0, "set groups");
    if (setresgid(c->gid, c->gid, c->gid) < 0) child_fail(0, "set gid %u", c->gid);
    if (setresuid(c->uid, c->uid, c->uid) < 0) child_fail(0, "set uid %u", c->uid);
    prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    apply_capsets(c, held);
    // A change of uid cleared the parent-death signal: set it again, and if the monitor
    // died meanwhile (its end of the sync socket reads as closed), die now.
    if (g_pdeathsig) {
        char b;
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        if (recv(g_sync, &b, 1, MSG_PEEK | MSG_DONTWAIT) == 0) _exit(125);
    }

    // Nothing of the engine's may reach the container (the CVE-2024-21626 class): every fd
    // above stdio closes on exec; the sync socket too, which tells the parent exec happened.
    if (syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC) < 0) cloexec_open_fds();   // before 5.11
    // Dispositions the engine ignored (a monitor ignores hangups) must not leak in.
    signal(SIGPIPE, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    if (c->no_new_privs) load_seccomp(c);
    if (c->init) run_init(c);
    mdl_unblock_forwarded_signals();
    exec_command(c);
}

// A new process, fork-style (it goes on from here in a copy of this address space, as
// after fork(), on the same stack), with `flags` (CLONE_NEW*). With a v2 cgroup it is
// created in it where the kernel can (clone3, CLONE_INTO_CGROUP since 5.7): *in_cgroup is
// set for the child then.
static pid_t clone_into_cgroup(int flags, const struct mdl_cgroup_join *cg, int *in_cgroup) {
    *in_cgroup = 0;
    if (cg && cg->dir >= 0) {
        // struct clone_args of <linux/sched.h>, which clashes with glibc's <sched.h>.
        uint64_t a[11];
        memset(a, 0, sizeof a);
        a[0] = (uint64_t)(unsigned)flags | 0x200000000ULL;   // flags | CLONE_INTO_CGROUP
        a[4] = SIGCHLD;                                        // exit_signal
        a[10] = (uint64_t)cg->dir;                             // cgroup
        pid_t p = (pid_t)syscall(SYS_clone3, a, sizeof a);
        if (p >= 0) {
            *in_cgroup = 1;
            return p;
        }
        // An older kernel (no clone3, or not this flag), or the cgroup refused: the plain
        // way, where the write in join_cgroup moves the process or says what was wrong.
    }
    return (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, 0, 0, 0, 0);
}

// Puts the calling process, which has one thread, in the cgroup(s) (see mdl_cgroup_join).
static void join_cgroup(const struct mdl_cgroup_join *cg, int in_cgroup) {
    if (!cg) return;
    for (int i = 0; i < cg->nfiles; i++) {
        errno = 0;
        if (write(cg->files[i], "0", 1) != 1) child_fail(0, "join the cgroup %s", cg->names[i]);
    }
    if (cg->dir >= 0 && !in_cgroup) {
        errno = 0;
        int fd = openat(cg->dir, "cgroup.procs", O_WRONLY | O_CLOEXEC);
        if (fd < 0 || write(fd, "0", 1) != 1) child_fail(0, "join the cgroup %s", cg->dir_name);
        close(fd);
    }
}

static void __attribute__((noreturn)) child_main(const struct mdl_container *c, int in_cgroup) {
    // Without this, a parent killed before the sync point would leave the child waiting
    // forever on a socket whose other end it holds itself.
    close(g_sync_parent_end);
    // The container dies with its monitor (docs/containers.md, "Supervision"): SIGKILL when
    // the thread that cloned it ends. A monitor that died before this line leaves the sync
    // socket closed, and the read of the go byte below ends the child.
    g_pdeathsig = 1;
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    // First, so that all the rest is charged to the container and limited by it.
    join_cgroup(c->cgroup, in_cgroup);
    // Before /sys is mounted: sysfs shows the network namespace of the process that mounts it.
    if (c->netns && setns(*c->netns, CLONE_NEWNET) < 0) child_fail(0, "enter the network namespace");
    // The sync point is after the file system's set-up, before anything the parent's work
    // (recording the pid) must come first for.
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) < 0) child_fail(0, "make / a slave mount");
    // pivot_root wants a mount point: bind the root on itself.
    if (mount(c->rootfs, c->rootfs, NULL, MS_BIND | MS_REC, NULL) < 0) child_fail(0, "bind the root %s", c->rootfs);
    int rootfd = open(c->rootfs, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (rootfd < 0) child_fail(0, "open the root %s", c->rootfs);

    for (int i = 0; i < c->nmounts; i++) {
        do_mount(rootfd, &c->mounts[i]);
        if (c->make_devices && strcmp(c->mounts[i].destination, "/dev") == 0) make_devices(rootfd);
    }

    if (fchdir(rootfd) < 0) child_fail(0, "enter the root");
    if (syscall(SYS_pivot_root, ".", ".") < 0) child_fail(0, "pivot_root");
    if (umount2(".", MNT_DETACH) < 0) child_fail(0, "detach the old root");
    if (chdir("/") < 0) child_fail(0, "chdir /");
    close(rootfd);

    if (c->nsysctls > 0) write_sysctls(c);
    mask_paths(c);

    char go;
    if (read(g_sync, &go, 1) != 1) _exit(125);   // the parent went away
    // The cgroup namespace is made after the process is in its cgroup, which becomes the
    // namespace's root.
    if ((c->clone_flags & CLONE_NEWCGROUP) && unshare(CLONE_NEWCGROUP) < 0) child_fail(0, "new cgroup namespace");

    if (c->readonly_rootfs) {
        struct mount_attr a;
        memset(&a, 0, sizeof a);
        a.attr_set = MOUNT_ATTR_RDONLY;
        if (mount_setattr(AT_FDCWD, "/", 0, &a, sizeof a) < 0) {
            if (errno != ENOSYS) child_fail(0, "make the root read-only");
            remount_adding("/", MS_RDONLY, "make the root read-only");   // before 5.12
        }
    }
    if (c->hostname && sethostname(c->hostname, strlen(c->hostname)) < 0) child_fail(0, "set the hostname");
    for (int i = 0; i < c->nrlimits; i++) {
        struct rlimit r = {(rlim_t)c->rlimits[i].soft, (rlim_t)c->rlimits[i].hard};
        if (setrlimit(c->rlimits[i].resource, &r) < 0) child_fail(0, "set rlimit %d", c->rlimits[i].resource);
    }
    if (c->oom_score_adj_set) {
        // A value below the current one needs CAP_SYS_RESOURCE: a refused write is not fatal,
        // a /proc that is not the container's procfs is.
        int fd = open_proc_file("self/oom_score_adj");
        if (fd < 0) child_fail(0, "open /proc/self/oom_score_adj");
        dprintf(fd, "%d", c->oom_score_adj);
        close(fd);
    }

    finish_and_exec(c);
}

pid_t mdl_container_spawn(const struct mdl_container *c, int *sync_fd, char *err, size_t errlen) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        return -1;
    }
    g_sync = sv[1];
    g_sync_parent_end = sv[0];
    int in_cgroup = 0;
    pid_t pid = clone_into_cgroup(c->clone_flags & ~CLONE_NEWCGROUP, c->cgroup, &in_cgroup);
    if (pid == 0) child_main(c, in_cgroup);
    int saved = errno;
    g_sync = -1;
    close(sv[1]);
    if (pid < 0) {
        snprintf(err, errlen, "clone: %s", strerror(saved));
        close(sv[0]);
        return -1;
    }
    *sync_fd = sv[0];
    return pid;
}

static int wait_exec(int sync_fd, char *err, size_t errlen, int *exec_errno, int *master);

int mdl_container_release(int sync_fd, char *err, size_t errlen, int *exec_errno) {
    return mdl_container_release_tty(sync_fd, err, errlen, exec_errno, NULL);
}

int mdl_container_release_tty(int sync_fd, char *err, size_t errlen, int *exec_errno, int *master) {
    // The child may have failed already (its report waits in the socket): no SIGPIPE.
    char go = 'g';
    ssize_t sent = send(sync_fd, &go, 1, MSG_NOSIGNAL);
    (void)sent;
    if (master) *master = -1;
    int rc = wait_exec(sync_fd, err, errlen, exec_errno, master);
    if (rc != 0 && master && *master >= 0) { close(*master); *master = -1; }
    return rc;
}

int mdl_container_wait_exec(int sync_fd, char *err, size_t errlen, int *exec_errno) {
    return wait_exec(sync_fd, err, errlen, exec_errno, NULL);
}

static int wait_exec(int sync_fd, char *err, size_t errlen, int *exec_errno, int *master) {
    *exec_errno = 0;
    struct child_error e;
    ssize_t n;
    // A child that ended before it read the parent's go (so before exec) left that byte
    // unread: the kernel then reports ECONNRESET once, ahead of the error record the child
    // queued for us. Read again to get the record; no record then means it died.
    // A process with a terminal of its own sends its master first (container_pty).
    int reset = 0;
    for (;;) {
        union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } control;
        struct iovec iov = {&e, sizeof e};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                             .msg_controllen = sizeof control.buf};
        n = recvmsg(sync_fd, &msg, MSG_CMSG_CLOEXEC);
        int fd = -1;
        if (n >= 0) {
            for (struct cmsghdr *cm = CMSG_FIRSTHDR(&msg); cm != NULL; cm = CMSG_NXTHDR(&msg, cm))
                if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) memcpy(&fd, CMSG_DATA(cm), sizeof fd);
        }
        if (fd >= 0) {
            if (master && *master < 0 && n == 1) *master = fd;
            else close(fd);
            continue;
        }
        if (n >= 0 || (errno != EINTR && errno != ECONNRESET)) break;
        if (errno == ECONNRESET) reset = 1;
    }
    if (n == 0 && !reset) return 0;   // closed on exec
    if (n != (ssize_t)sizeof e) {
        snprintf(err, errlen, "the container process died while it started");
        return -1;
    }
    e.message[sizeof e.message - 1] = '\0';
    snprintf(err, errlen, "%s", e.message);
    *exec_errno = e.exec_errno;
    return -1;
}

// ---------------------------------------------------------------- the parent side

static int copy_winsize(int from, int to) {
    struct winsize ws;
    if (ioctl(from, TIOCGWINSZ, &ws) < 0) return -1;
    return ioctl(to, TIOCSWINSZ, &ws);
}

static int write_all_fd(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

int mdl_container_supervise(pid_t pid, int master_fd) {
    int detached;
    return mdl_container_supervise_detach(pid, master_fd, NULL, 0, &detached);
}

int mdl_container_supervise_detach(pid_t pid, int master_fd, const unsigned char *keys, size_t nkeys, int *detached) {
    *detached = 0;
    size_t matched = 0;
    unsigned char pass[65536 + 64];
    sigset_t set = forwarded_set();
    int sfd = signalfd(-1, &set, SFD_CLOEXEC);
    struct termios saved;
    int raw = 0;
    if (master_fd >= 0) {
        if (isatty(0) && tcgetattr(0, &saved) == 0) {
            struct termios t = saved;
            cfmakeraw(&t);
            if (tcsetattr(0, TCSANOW, &t) == 0) raw = 1;
        }
        copy_winsize(0, master_fd);
    }
    int status = 0, exited = 0, stdin_open = master_fd >= 0;
    char buf[65536];
    while (!exited) {
        struct pollfd fds[3] = {{sfd, POLLIN, 0}, {master_fd, POLLIN, 0}, {stdin_open ? 0 : -1, POLLIN, 0}};
        if (poll(fds, 3, -1) < 0) { if (errno == EINTR) continue; break; }
        if (fds[0].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(sfd, &si, sizeof si) == sizeof si) {
                if (si.ssi_signo == SIGCHLD) {
                    pid_t p = waitpid(pid, &status, WNOHANG);
                    if (p == pid) exited = 1;
                } else if (si.ssi_signo == SIGWINCH) {
                    if (master_fd >= 0) copy_winsize(0, master_fd);
                } else {
                    kill(pid, (int)si.ssi_signo);
                }
            }
        }
        if (master_fd >= 0 && (fds[1].revents & (POLLIN | POLLHUP))) {
            ssize_t n = read(master_fd, buf, sizeof buf);
            if (n > 0) write_all_fd(1, buf, (size_t)n);
        }
        if (stdin_open && (fds[2].revents & (POLLIN | POLLHUP))) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n > 0 && raw && keys && nkeys > 0 && nkeys <= 64) {
                // The detach keys leave the process running (mdl_attach_relay does the same).
                size_t m = mdl_detach_filter(keys, nkeys, &matched, (const unsigned char *)buf, (size_t)n, pass, detached);
                if (m > 0) write_all_fd(master_fd, (const char *)pass, m);
                if (*detached) break;
            } else if (n > 0) {
                write_all_fd(master_fd, buf, (size_t)n);
            } else {
                stdin_open = 0;   // EOF: keep relaying output
            }
        }
    }
    if (*detached) {
        if (raw) tcsetattr(0, TCSANOW, &saved);
        close(sfd);
        return 0;
    }
    if (!exited) waitpid(pid, &status, 0);
    if (master_fd >= 0) {
        // What the container wrote last is still in the pty.
        for (;;) {
            struct pollfd pf = {master_fd, POLLIN, 0};
            if (poll(&pf, 1, 0) <= 0) break;
            ssize_t n = read(master_fd, buf, sizeof buf);
            if (n <= 0) break;
            write_all_fd(1, buf, (size_t)n);
        }
    }
    if (raw) tcsetattr(0, TCSANOW, &saved);
    close(sfd);
    return status;
}

int mdl_hold_pty(int master_fd) {
    pid_t p = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);   // no atfork handlers
    if (p < 0) return -1;
    if (p > 0) return 0;
    // The fork of a process that may have threads: plain system calls only from here.
    setsid();
    signal(SIGHUP, SIG_IGN);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    for (int i = 0; i < 3; i++) if (null >= 0) dup2(null, i);
    for (int fd = 3; fd < 1024; fd++) if (fd != master_fd) close(fd);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    char buf[4096];
    for (;;) {
        ssize_t n = read(master_fd, buf, sizeof buf);
        if (n > 0) continue;
        if (n < 0 && errno == EINTR) continue;
        _exit(0);   // EIO: every process on the terminal's side has closed it
    }
}

int mdl_memfd(const char *name) { return memfd_create(name, MFD_CLOEXEC); }

int mdl_wifexited(int status) { return WIFEXITED(status); }
int mdl_wexitstatus(int status) { return WEXITSTATUS(status); }
int mdl_wifsignaled(int status) { return WIFSIGNALED(status); }
int mdl_wtermsig(int status) { return WTERMSIG(status); }

int mdl_spawn_daemon(const char *const *argv, int keep_fd) {
    pid_t first = fork();
    if (first < 0) return -1;
    if (first == 0) {
        setsid();
        pid_t second = fork();
        if (second != 0) _exit(second < 0 ? 1 : 0);
        int null = open("/dev/null", O_RDWR);
        for (int i = 0; i < 3; i++) dup2(null, i);
        for (int fd = 3; fd < 1024; fd++) if (fd != keep_fd) close(fd);
        if (keep_fd >= 0) fcntl(keep_fd, F_SETFD, 0);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status;
    while (waitpid(first, &status, 0) < 0 && errno == EINTR) {}
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

int mdl_sigchld_fd(void) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    return signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
}

void mdl_ignore_hangups(void) {
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
}

// ---------------------------------------------------------------- exec

pid_t mdl_container_exec(pid_t target, const struct mdl_container *c, int *sync_fd, char *err, size_t errlen) {
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        snprintf(err, errlen, "socketpair: %s", strerror(errno));
        return -1;
    }
    int pidfd = (int)syscall(SYS_pidfd_open, target, 0);
    if (pidfd < 0) {
        snprintf(err, errlen, "the container's process is gone: %s", strerror(errno));
        close(sv[0]); close(sv[1]);
        return -1;
    }
    int in_cgroup = 0;
    pid_t helper = clone_into_cgroup(0, c->cgroup, &in_cgroup);
    if (helper < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        close(sv[0]); close(sv[1]); close(pidfd);
        return -1;
    }
    if (helper == 0) {
        // Joins the container's cgroup (while the host's cgroups are still the ones it sees:
        // a cgroup2 mounted with nsdelegate refuses a move from outside the namespace) and
        // namespaces, then forks the process that runs the command: a pid namespace applies
        // to children only. CLONE_PARENT makes it the caller's child.
        close(sv[0]);
        g_sync = sv[1];
        join_cgroup(c->cgroup, in_cgroup);
        if (setns(pidfd, c->clone_flags) < 0) child_fail(0, "join the container's namespaces");
        pid_t p = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, 0, 0, 0);
        if (p < 0) child_fail(0, "clone");
        if (p > 0) {
            int32_t v = p;
            if (write(g_sync, &v, sizeof v) != sizeof v) _exit(1);
            _exit(0);
        }
        for (int i = 0; i < c->nrlimits; i++) {
            struct rlimit r = {(rlim_t)c->rlimits[i].soft, (rlim_t)c->rlimits[i].hard};
            setrlimit(c->rlimits[i].resource, &r);
        }
        // Wait for the caller's go (mdl_container_release).
        char go;
        if (read(g_sync, &go, 1) != 1) _exit(125);
        finish_and_exec(c);
    }
    close(sv[1]);
    close(pidfd);
    int status;
    while (waitpid(helper, &status, 0) < 0 && errno == EINTR) {}
    // One packet: the pid (4 bytes), or the helper's error record.
    struct child_error e;
    memset(&e, 0, sizeof e);
    ssize_t n = read(sv[0], &e, sizeof e);
    int32_t pid = -1;
    if (n == (ssize_t)sizeof pid) memcpy(&pid, &e, sizeof pid);
    if (pid <= 0) {
        e.message[sizeof e.message - 1] = '\0';
        snprintf(err, errlen, "%s", n == (ssize_t)sizeof e ? e.message : "cannot join the container");
        close(sv[0]);
        return -1;
    }
    *sync_fd = sv[0];
    return pid;
}

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

static void pageout_file_mappings(void) {
    FILE *f = fopen("/proc/self/maps", "re");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned long start, end;
        char perms[8];
        unsigned long long offset;
        char dev[16];
        unsigned long inode;
        if (sscanf(line, "%lx-%lx %7s %llx %15s %lu", &start, &end, perms, &offset, dev, &inode) != 6) continue;
        if (inode == 0) continue;   // anonymous memory: nothing to read back
        madvise((void *)start, end - start, MADV_PAGEOUT);
    }
    fclose(f);
}

void mdl_trim_resident(void) {
    // A page faulted in recently may still wait in the per-CPU batch of the CPU that
    // faulted it, off the LRU lists, and MADV_PAGEOUT skips what it cannot take off them;
    // it drains only the batch of the CPU it runs on. So it runs once on each CPU this
    // process may use (which of them ran the start-up varies: the benchmark saw 1.5 MiB or
    // 5.4 MiB kept), and affinity is restored after.
    cpu_set_t mine;
    if (sched_getaffinity(0, sizeof mine, &mine) != 0) { pageout_file_mappings(); return; }
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &mine)) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (sched_setaffinity(0, sizeof one, &one) == 0) pageout_file_mappings();
    }
    sched_setaffinity(0, sizeof mine, &mine);
    pageout_file_mappings();
}
