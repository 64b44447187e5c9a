// Kernel and libc constants for Swift, taken from the system headers in mdl_constants.c
// (GNU-only or function-like there, so the Swift importer cannot see them): never retyped.
#ifndef MDL_CONSTANTS_H
#define MDL_CONSTANTS_H

#include <stdint.h>

extern const int MDL_O_PATH;
extern const int MDL_AT_EMPTY_PATH;

extern const uint64_t MDL_RESOLVE_NO_XDEV;
extern const uint64_t MDL_RESOLVE_NO_MAGICLINKS;
extern const uint64_t MDL_RESOLVE_NO_SYMLINKS;
extern const uint64_t MDL_RESOLVE_BENEATH;
extern const uint64_t MDL_RESOLVE_IN_ROOT;

// Namespaces, by the names the OCI spec gives them.
extern const int MDL_CLONE_NEWPID;
extern const int MDL_CLONE_NEWNET;
extern const int MDL_CLONE_NEWNS;
extern const int MDL_CLONE_NEWIPC;
extern const int MDL_CLONE_NEWUTS;
extern const int MDL_CLONE_NEWCGROUP;

// Mount attributes (mount_setattr), as struct mdl_mount's attrs carries them.
extern const uint64_t MDL_MOUNT_ATTR_RDONLY;
extern const uint64_t MDL_MOUNT_ATTR_NOSUID;
extern const uint64_t MDL_MOUNT_ATTR_NODEV;
extern const uint64_t MDL_MOUNT_ATTR_NOEXEC;

// The resource number of an OCI rlimit name ("RLIMIT_NOFILE"), or -1.
int mdl_rlimit_resource(const char *name);

// File system magic numbers (statfs f_type), from <linux/magic.h>.
extern const long MDL_EXT4_SUPER_MAGIC;
extern const long MDL_XFS_SUPER_MAGIC;
extern const long MDL_BTRFS_SUPER_MAGIC;
extern const long MDL_TMPFS_MAGIC;
extern const long MDL_OVERLAYFS_SUPER_MAGIC;
extern const long MDL_CGROUP_SUPER_MAGIC;
extern const long MDL_CGROUP2_SUPER_MAGIC;

// The name of capability number n ("CAP_CHOWN" for 0), as <linux/capability.h> numbers
// them, up to CAP_LAST_CAP; NULL past it. The one list of capabilities mdlua knows.
const char *mdl_capability_name(int n);

#endif
