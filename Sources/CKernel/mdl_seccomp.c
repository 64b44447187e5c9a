#define _GNU_SOURCE
#include "mdl_seccomp.h"

#include <errno.h>
#include <linux/filter.h>
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <unistd.h>

static uint32_t action(int a, uint32_t errno_ret) {
    switch (a) {
    case MDL_ACT_ALLOW: return SCMP_ACT_ALLOW;
    case MDL_ACT_ERRNO: return SCMP_ACT_ERRNO(errno_ret);
    case MDL_ACT_KILL_THREAD: return SCMP_ACT_KILL;
    case MDL_ACT_KILL_PROCESS: return SCMP_ACT_KILL_PROCESS;
    case MDL_ACT_TRAP: return SCMP_ACT_TRAP;
    case MDL_ACT_LOG: return SCMP_ACT_LOG;
    default: return SCMP_ACT_TRACE(errno_ret);
    }
}

static enum scmp_compare compare(int op) {
    switch (op) {
    case MDL_CMP_NE: return SCMP_CMP_NE;
    case MDL_CMP_LT: return SCMP_CMP_LT;
    case MDL_CMP_LE: return SCMP_CMP_LE;
    case MDL_CMP_EQ: return SCMP_CMP_EQ;
    case MDL_CMP_GE: return SCMP_CMP_GE;
    case MDL_CMP_GT: return SCMP_CMP_GT;
    default: return SCMP_CMP_MASKED_EQ;
    }
}

int mdl_seccomp_build(int default_action, uint32_t default_errno, const struct mdl_seccomp_rule *rules, int nrules,
                      void **prog, size_t *count, char *err, size_t errlen) {
    scmp_filter_ctx ctx = seccomp_init(action(default_action, default_errno));
    if (ctx == NULL) { snprintf(err, errlen, "seccomp_init failed"); return -1; }
    // The filter is loaded by the child itself, after no_new_privs where asked.
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
    for (int i = 0; i < nrules; i++) {
        const struct mdl_seccomp_rule *r = &rules[i];
        int nr = seccomp_syscall_resolve_name(r->name);
        if (nr == __NR_SCMP_ERROR) continue;
        uint32_t act = action(r->action, r->errno_ret);
        if (act == action(default_action, default_errno)) continue;   // libseccomp refuses no-op rules
        struct scmp_arg_cmp cmps[6];
        for (int j = 0; j < r->nargs && j < 6; j++) {
            cmps[j].arg = r->args[j].index;
            cmps[j].op = compare(r->args[j].op);
            cmps[j].datum_a = r->args[j].value;
            cmps[j].datum_b = r->args[j].value_two;
        }
        int rc = seccomp_rule_add_array(ctx, act, nr, (unsigned)r->nargs, cmps);
        if (rc < 0) {
            snprintf(err, errlen, "seccomp rule for %s: %s", r->name, strerror(-rc));
            seccomp_release(ctx);
            return -1;
        }
    }
    int fd = memfd_create("seccomp", MFD_CLOEXEC);
    int rc = fd < 0 ? -errno : seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    if (rc < 0) {
        snprintf(err, errlen, "seccomp export: %s", strerror(-rc));
        if (fd >= 0) close(fd);
        return -1;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    void *buf = malloc((size_t)size);
    if (buf == NULL || pread(fd, buf, (size_t)size, 0) != size) {
        snprintf(err, errlen, "seccomp export: short read");
        free(buf);
        close(fd);
        return -1;
    }
    close(fd);
    *prog = buf;
    *count = (size_t)size / sizeof(struct sock_filter);
    return 0;
}

const char *mdl_seccomp_version(void) {
    static char text[64];
    const struct scmp_version *v = seccomp_version();
    struct utsname u;
    if (uname(&u) != 0) strcpy(u.machine, "?");
    snprintf(text, sizeof text, "libseccomp %u.%u.%u %s", v->major, v->minor, v->micro, u.machine);
    return text;
}
