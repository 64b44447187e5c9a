// File-system calls Swift cannot reach: openat2, the new mount API, xattrs, mknod.
#ifndef MDL_FS_H
#define MDL_FS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mdl_constants.h"

// openat2(2). Returns an fd or -1 with errno set.
int mdl_openat2(int dirfd, const char *path, int flags, mode_t mode, uint64_t resolve);

// Mounts an overlay with the new mount API, one `lowerdir+` per layer (topmost first), so
// the number of layers is not bounded by the size of one option string. upper/work may be
// NULL for a read-only overlay. The mount lands on the directory `target_fd` (opened with
// O_PATH), never on a path resolved again. On failure returns -1 with errno set and the
// kernel's own message (if any) in err; -2 when the kernel does not know `lowerdir+`.
int mdl_overlay_mount(const char *const *lowers, int nlowers, const char *upper, const char *work, int volatile_,
                      int target_fd, char *err, size_t errlen);

// The same for kernels before 6.8, which lack `lowerdir+`: one mount(2) with the classic
// option string `options` (lowerdir=a:b,upperdir=...,workdir=...), whose lower dirs are
// relative to the directory `dirfd` so that many fit in the one page the kernel copies.
int mdl_overlay_mount_classic(int dirfd, const char *options, int target_fd);

int mdl_umount(const char *target, int flags);
int mdl_syncfs(int fd);
// Starts writing the dirty pages of a file range (length 0: to its end) to disk and returns
// at once; a later syncfs or fsync then waits for less (FileSystem.startWriteback).
int mdl_start_writeback(int fd, off_t offset, off_t length);
int mdl_pipe_cloexec(int fds[2]);

int mdl_fsetxattr(int fd, const char *name, const void *value, size_t size);
ssize_t mdl_fgetxattr(int fd, const char *name, void *value, size_t size);
ssize_t mdl_flistxattr(int fd, char *list, size_t size);
// On the entry `name` of directory `dirfd` without following a symlink.
int mdl_lsetxattrat(int dirfd, const char *name, const char *key, const void *value, size_t size);
ssize_t mdl_lgetxattrat(int dirfd, const char *name, const char *key, void *value, size_t size);
ssize_t mdl_llistxattrat(int dirfd, const char *name, char *list, size_t size);

int mdl_mknodat(int dirfd, const char *name, mode_t mode, unsigned int major, unsigned int minor);
unsigned int mdl_major(dev_t dev);
unsigned int mdl_minor(dev_t dev);

// The type of the file system at path (statfs f_type), or -1.
long mdl_fs_type(const char *path);

// Swaps two existing paths atomically (renameat2 RENAME_EXCHANGE).
int mdl_rename_exchange(const char *a, const char *b);

// copy_file_range(2) from the current offsets.
ssize_t mdl_copy_file_range(int in, int out, size_t len);
// A new link `name` in dirfd to the file open as `fd` (linkat with AT_EMPTY_PATH).
int mdl_link_fd(int fd, int dirfd, const char *name);

#endif
