#define _GNU_SOURCE
#include "mdl_devices.h"

#include <errno.h>
#include <linux/bpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// The program reads the access request into registers once:
//   r2 = device type (BPF_DEVCG_DEV_BLOCK 1, _CHAR 2), r3 = access (MKNOD 1, READ 2, WRITE 4),
//   r4 = major, r5 = minor
// then tries the rules from last to first; each rule is a block that jumps past itself when a
// field does not match, and returns its verdict when all do.

static struct bpf_insn insn(uint8_t code, uint8_t dst, uint8_t src, int16_t off, int32_t imm) {
    struct bpf_insn i = { .code = code, .dst_reg = dst, .src_reg = src, .off = off, .imm = imm };
    return i;
}

#define LDX_W(dst, off)     insn(BPF_LDX | BPF_MEM | BPF_W, dst, BPF_REG_1, off, 0)
#define AND32_K(dst, imm)   insn(BPF_ALU | BPF_AND | BPF_K, dst, 0, 0, imm)
#define RSH32_K(dst, imm)   insn(BPF_ALU | BPF_RSH | BPF_K, dst, 0, 0, imm)
#define MOV32_X(dst, src)   insn(BPF_ALU | BPF_MOV | BPF_X, dst, src, 0, 0)
#define MOV64_K(dst, imm)   insn(BPF_ALU64 | BPF_MOV | BPF_K, dst, 0, 0, imm)
#define JNE_K(dst, imm)     insn(BPF_JMP | BPF_JNE | BPF_K, dst, 0, 0, imm)
#define EXIT()              insn(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

// Appends one rule's block at `out`; returns its length. `*matches_all`: the block has no
// test, so nothing after it can run (the verifier refuses unreachable instructions).
static int rule_block(const struct mdl_device_rule *r, struct bpf_insn *out, int *matches_all) {
    int n = 0;
    int jumps[4], njumps = 0;
    if (r->type == 'b' || r->type == 'c') {
        jumps[njumps++] = n;
        out[n++] = JNE_K(BPF_REG_2, r->type == 'b' ? BPF_DEVCG_DEV_BLOCK : BPF_DEVCG_DEV_CHAR);
    }
    unsigned all = MDL_DEV_MKNOD | MDL_DEV_READ | MDL_DEV_WRITE;
    if ((r->access & all) != all) {
        // Every access asked for must be in the rule: (asked & ~rule) == 0.
        out[n++] = MOV32_X(BPF_REG_1, BPF_REG_3);
        out[n++] = AND32_K(BPF_REG_1, (int32_t)(~r->access & all));
        jumps[njumps++] = n;
        out[n++] = JNE_K(BPF_REG_1, 0);
    }
    if (r->major >= 0) {
        jumps[njumps++] = n;
        out[n++] = JNE_K(BPF_REG_4, (int32_t)r->major);
    }
    if (r->minor >= 0) {
        jumps[njumps++] = n;
        out[n++] = JNE_K(BPF_REG_5, (int32_t)r->minor);
    }
    out[n++] = MOV64_K(BPF_REG_0, r->allow ? 1 : 0);
    out[n++] = EXIT();
    for (int j = 0; j < njumps; j++) out[jumps[j]].off = (int16_t)(n - jumps[j] - 1);
    *matches_all = njumps == 0;
    return n;
}

static int load_program(const struct bpf_insn *prog, int n, char *log, size_t logsize) {
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
    attr.insns = (uint64_t)(uintptr_t)prog;
    attr.insn_cnt = (uint32_t)n;
    attr.license = (uint64_t)(uintptr_t)"Apache-2.0";
    if (log != NULL) {
        attr.log_buf = (uint64_t)(uintptr_t)log;
        attr.log_size = (uint32_t)logsize;
        attr.log_level = 1;
    }
    return (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof attr);
}

int mdl_device_filter_attach(int cgroup_fd, const struct mdl_device_rule *rules, int nrules, int default_allow,
                             char *err, size_t errlen) {
    if (err && errlen) err[0] = '\0';
    if (nrules < 0 || nrules > 4096) {
        snprintf(err, errlen, "too many device rules (%d)", nrules);
        errno = EINVAL;
        return -1;
    }
    struct bpf_insn *prog = calloc((size_t)nrules * 8 + 8, sizeof *prog);
    if (prog == NULL) return -1;
    int n = 0;
    prog[n++] = LDX_W(BPF_REG_2, 0);
    prog[n++] = AND32_K(BPF_REG_2, 0xffff);
    prog[n++] = LDX_W(BPF_REG_3, 0);
    prog[n++] = RSH32_K(BPF_REG_3, 16);
    prog[n++] = LDX_W(BPF_REG_4, 4);
    prog[n++] = LDX_W(BPF_REG_5, 8);
    int final = 0;
    for (int i = nrules - 1; i >= 0 && !final; i--) n += rule_block(&rules[i], prog + n, &final);
    if (!final) {
        prog[n++] = MOV64_K(BPF_REG_0, default_allow ? 1 : 0);
        prog[n++] = EXIT();
    }

    // Without a log first: the verifier fails a load whose log does not fit (ENOSPC).
    // A refused program is loaded again with the log, only for the reason.
    char log[4096];
    log[0] = '\0';
    int fd = load_program(prog, n, NULL, 0);
    int saved = errno;
    if (fd < 0) {
        int again = load_program(prog, n, log, sizeof log);
        if (again >= 0) close(again);
    }
    free(prog);
    if (fd < 0) {
        snprintf(err, errlen, "load the device filter: %s%s%s", strerror(saved), log[0] ? ": " : "", log);
        errno = saved;
        return -1;
    }
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.target_fd = (uint32_t)cgroup_fd;
    attr.attach_bpf_fd = (uint32_t)fd;
    attr.attach_type = BPF_CGROUP_DEVICE;
    // MULTI: a filter an ancestor has (systemd puts one on its units) still applies.
    attr.attach_flags = BPF_F_ALLOW_MULTI;
    int rc = (int)syscall(SYS_bpf, BPF_PROG_ATTACH, &attr, sizeof attr);
    saved = errno;
    close(fd);   // the cgroup holds the program now
    if (rc < 0) {
        snprintf(err, errlen, "attach the device filter: %s", strerror(saved));
        errno = saved;
        return -1;
    }
    return 0;
}
