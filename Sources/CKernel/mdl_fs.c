#define _GNU_SOURCE
#include "mdl_fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/vfs.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

int mdl_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = (uint64_t)flags;
    how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
    how.resolve = resolve;
    // With RESOLVE_IN_ROOT or RESOLVE_BENEATH the kernel answers EAGAIN when a rename or a
    // mount anywhere on the host raced its walk over `..` (openat2(2)): the lookup is safe
    // to repeat, and a busy host (containers starting, builds renaming) makes it happen.
    for (int attempt = 0;; attempt++) {
        int fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN || attempt == 127) return fd;
    }
}

// The fs context's log holds the kernel's reason ("overlayfs: ..."); keep the last line.
static void read_fs_log(int fsfd, char *err, size_t errlen) {
    if (err == NULL || errlen == 0) return;
    err[0] = '\0';
    char line[512];
    for (;;) {
        ssize_t n = read(fsfd, line, sizeof line - 1);
        if (n <= 0) break;
        line[n] = '\0';
        const char *msg = (n > 2 && line[1] == ' ') ? line + 2 : line;
        snprintf(err, errlen, "%s", msg);
    }
}

int mdl_overlay_mount(const char *const *lowers, int nlowers, const char *upper, const char *work, int volatile_,
                      int target_fd, char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    int fsfd = fsopen("overlay", FSOPEN_CLOEXEC);
    if (fsfd < 0) return -1;
    int saved;
    for (int i = 0; i < nlowers; i++) {
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) < 0) {
            if (i == 0 && errno == EINVAL) {   // an overlay without lowerdir+ (before 6.8)
                close(fsfd);
                errno = EINVAL;
                return -2;
            }
            goto fail;
        }
    }
    if (upper != NULL) {
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "upperdir", upper, 0) < 0) goto fail;
        if (fsconfig(fsfd, FSCONFIG_SET_STRING, "workdir", work, 0) < 0) goto fail;
        if (volatile_ && fsconfig(fsfd, FSCONFIG_SET_FLAG, "volatile", NULL, 0) < 0) goto fail;
    }
    if (fsconfig(fsfd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) goto fail;
    int mfd = fsmount(fsfd, FSMOUNT_CLOEXEC, 0);
    if (mfd < 0) goto fail;
    if (move_mount(mfd, "", target_fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0) {
        saved = errno;
        close(mfd);
        errno = saved;
        goto fail;
    }
    close(mfd);
    close(fsfd);
    return 0;
fail:
    saved = errno;
    read_fs_log(fsfd, err, errlen);
    close(fsfd);
    errno = saved;
    return -1;
}

int mdl_overlay_mount_classic(int dirfd, const char *options, int target_fd) {
    // The lower dirs are paths relative to dirfd: the kernel resolves them against the
    // working directory of the process that mounts. The engine has one thread here that
    // uses relative paths (this one), so the change of directory is undone before return.
    int cwd = open(".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (cwd < 0) return -1;
    if (fchdir(dirfd) < 0) {
        int saved = errno;
        close(cwd);
        errno = saved;
        return -1;
    }
    char target[64];
    snprintf(target, sizeof target, "/proc/self/fd/%d", target_fd);
    int rc = mount("overlay", target, "overlay", 0, options);
    int saved = errno;
    if (fchdir(cwd) < 0) { /* the old directory went away: nothing relies on it */ }
    close(cwd);
    errno = saved;
    return rc;
}

int mdl_umount(const char *target, int flags) { return umount2(target, flags); }
int mdl_syncfs(int fd) { return syncfs(fd); }
int mdl_start_writeback(int fd, off_t offset, off_t length) {
    return sync_file_range(fd, offset, length, SYNC_FILE_RANGE_WRITE);
}
int mdl_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }

int mdl_fsetxattr(int fd, const char *name, const void *value, size_t size) {
    return fsetxattr(fd, name, value, size, 0);
}
ssize_t mdl_fgetxattr(int fd, const char *name, void *value, size_t size) {
    return fgetxattr(fd, name, value, size);
}
ssize_t mdl_flistxattr(int fd, char *list, size_t size) { return flistxattr(fd, list, size); }

// The directory fd was resolved safely and `name` is one component, so going through its
// /proc/self/fd link cannot leave the tree.
static int entry_path(int dirfd, const char *name, char *out, size_t len) {
    if (strchr(name, '/') != NULL) { errno = EINVAL; return -1; }
    int n = snprintf(out, len, "/proc/self/fd/%d/%s", dirfd, name);
    if (n < 0 || (size_t)n >= len) { errno = ENAMETOOLONG; return -1; }
    return 0;
}

int mdl_lsetxattrat(int dirfd, const char *name, const char *key, const void *value, size_t size) {
    char path[4200];
    if (entry_path(dirfd, name, path, sizeof path) < 0) return -1;
    return lsetxattr(path, key, value, size, 0);
}

ssize_t mdl_lgetxattrat(int dirfd, const char *name, const char *key, void *value, size_t size) {
    char path[4200];
    if (entry_path(dirfd, name, path, sizeof path) < 0) return -1;
    return lgetxattr(path, key, value, size);
}

ssize_t mdl_llistxattrat(int dirfd, const char *name, char *list, size_t size) {
    char path[4200];
    if (entry_path(dirfd, name, path, sizeof path) < 0) return -1;
    return llistxattr(path, list, size);
}

int mdl_mknodat(int dirfd, const char *name, mode_t mode, unsigned int major, unsigned int minor) {
    return mknodat(dirfd, name, mode, makedev(major, minor));
}
unsigned int mdl_major(dev_t dev) { return major(dev); }
unsigned int mdl_minor(dev_t dev) { return minor(dev); }

long mdl_fs_type(const char *path) {
    struct statfs s;
    return statfs(path, &s) == 0 ? (long)s.f_type : -1;
}

int mdl_rename_exchange(const char *a, const char *b) {
    return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
}

ssize_t mdl_copy_file_range(int in, int out, size_t len) { return copy_file_range(in, NULL, out, NULL, len, 0); }

int mdl_link_fd(int fd, int dirfd, const char *name) { return linkat(fd, "", dirfd, name, AT_EMPTY_PATH); }
