// A seccomp filter from OCI-style rules, compiled to BPF with libseccomp in the parent, so
// the child only has to load it.
#ifndef MDL_SECCOMP_H
#define MDL_SECCOMP_H

#include <stddef.h>
#include <stdint.h>

enum { MDL_ACT_ALLOW, MDL_ACT_ERRNO, MDL_ACT_KILL_THREAD, MDL_ACT_KILL_PROCESS, MDL_ACT_TRAP, MDL_ACT_LOG, MDL_ACT_TRACE };
enum { MDL_CMP_NE = 1, MDL_CMP_LT, MDL_CMP_LE, MDL_CMP_EQ, MDL_CMP_GE, MDL_CMP_GT, MDL_CMP_MASKED_EQ };

struct mdl_seccomp_arg { unsigned index; int op; uint64_t value, value_two; };

struct mdl_seccomp_rule {
    const char *name;
    int action;
    uint32_t errno_ret;
    int nargs;
    struct mdl_seccomp_arg args[6];
};

// Builds the filter; *prog (a struct sock_filter array, free() it) and *count on success.
// Syscalls unknown on this architecture are skipped, as runc does.
int mdl_seccomp_build(int default_action, uint32_t default_errno, const struct mdl_seccomp_rule *rules, int nrules,
                      void **prog, size_t *count, char *err, size_t errlen);

// "libseccomp 2.5.4 x86_64": what a compiled program depends on besides the profile.
const char *mdl_seccomp_version(void);

#endif
