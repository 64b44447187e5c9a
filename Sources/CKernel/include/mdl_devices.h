#ifndef MDL_DEVICES_H
#define MDL_DEVICES_H

#include <stddef.h>
#include <stdint.h>

// One device cgroup rule, as in the OCI spec's linux.resources.devices.
struct mdl_device_rule {
    char type;          // 'a' (any), 'b' or 'c'
    int64_t major;      // -1: any
    int64_t minor;      // -1: any
    unsigned access;    // MDL_DEV_MKNOD | MDL_DEV_READ | MDL_DEV_WRITE
    int allow;
};

enum { MDL_DEV_MKNOD = 1, MDL_DEV_READ = 2, MDL_DEV_WRITE = 4 };

// cgroup v2 has no devices files: access to device nodes is decided by a
// BPF_PROG_TYPE_CGROUP_DEVICE program attached to the cgroup. Builds one from `rules` (the
// last matching rule wins; none matching: `default_allow`) and attaches it to the cgroup
// directory `cgroup_fd`. Returns 0, or -1 with the kernel's reason in `err`.
int mdl_device_filter_attach(int cgroup_fd, const struct mdl_device_rule *rules, int nrules, int default_allow,
                             char *err, size_t errlen);

#endif
