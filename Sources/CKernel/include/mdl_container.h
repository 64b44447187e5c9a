// The container's first process, from clone() to execve(), entirely in C: no Swift may run
// between clone and exec (docs/design.md, "Invariants"). The Swift side fills in a plain struct from the
// OCI config; this file does the rest.
#ifndef MDL_CONTAINER_H
#define MDL_CONTAINER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum { MDL_MOUNT_FS = 0, MDL_MOUNT_BIND = 1 };

struct mdl_mount {
    int kind;
    const char *source;        // a file system type (FS) or a host path (BIND)
    const char *destination;   // inside the container; resolved in its root, never outside
    const char *data;          // FS: comma-separated options ("mode=755,size=65536k,newinstance")
    uint64_t attrs;            // MOUNT_ATTR_* (read-only, nosuid, nodev, noexec)
    int recursive;             // BIND: rbind
    int file;                  // BIND: the destination is a file, not a directory
    unsigned long propagation; // BIND: MS_SHARED/MS_SLAVE/MS_PRIVATE (| MS_REC) set on it once attached; 0: keep
};

struct mdl_rlimit { int resource; uint64_t soft, hard; };

// The container's cgroup(s), which its process enters by itself, before anything else.
// v1: each hierarchy's `tasks` file, open for writing, to which the process writes "0" (the
// calling thread: a process of one thread moves whole, and the kernel then skips the global
// lock that a move by pid takes, whose first taker waits an RCU grace period, 4-20 ms here).
// v2: the cgroup's directory, which clone3(CLONE_INTO_CGROUP) creates the process in (no
// move at all); on a kernel without it the process writes "0" to the cgroup.procs there.
struct mdl_cgroup_join {
    const int *files;              // v1: `tasks` files
    const char *const *names;      // their paths, for errors
    int nfiles;
    int dir;                       // v2: the cgroup's directory; -1: none
    const char *dir_name;
};

struct mdl_container {
    const char *rootfs;                 // host path of the root file system
    int clone_flags;                    // CLONE_NEW* for the namespaces to create
    const char *hostname;               // NULL: keep
    const struct mdl_mount *mounts;
    int nmounts;
    const char *const *masked_paths;
    int nmasked;
    const char *const *readonly_paths;
    int nreadonly;
    int readonly_rootfs;
    int make_devices;                   // null, zero, full, random, urandom, tty in /dev
    const char *cwd;
    const char *const *argv;            // argv[0] is looked up in the container's PATH
    const char *const *envp;
    uint32_t uid, gid;
    const uint32_t *groups;
    int ngroups;
    uint64_t cap_bounding, cap_effective, cap_permitted, cap_inheritable, cap_ambient;
    int no_new_privs;
    const void *seccomp_filter;         // struct sock_filter[], NULL for none
    size_t seccomp_count;
    const struct mdl_rlimit *rlimits;
    int nrlimits;
    int stdio[3];                       // fds for 0, 1, 2 (-1: /dev/null)
    int tty_fd;                         // a pty slave: stdio and controlling terminal; -1: none
    int tty;                            // a new pty from the container's own devpts (its
                                        // /dev/pts/ptmx, opened inside after the mounts): stdio
                                        // and controlling terminal, also on /dev/console when
                                        // make_devices; the master goes to the parent (see
                                        // mdl_container_release_tty)
    int init;                           // a minimal init as pid 1 that runs argv as its child
    const int *netns;                   // a network namespace to enter (mdl_netns), NULL: keep
    int oom_score_adj_set, oom_score_adj;
    const char *const *sysctl_keys;     // "net.ipv4.ip_forward": written under the container's
    const char *const *sysctl_values;   // own /proc/sys before it is made read-only
    int nsysctls;
    const struct mdl_cgroup_join *cgroup;   // NULL: stay in the caller's cgroups
};

// Starts the container process, stopped at the sync point: returns its pid, and the
// parent's end of the sync socket in *sync_fd. -1 with err on failure.
pid_t mdl_container_spawn(const struct mdl_container *c, int *sync_fd, char *err, size_t errlen);

// Runs `c->argv` in the running container whose process is `target`: joins the namespaces in
// c->clone_flags (through a pidfd), after c->cgroup, and does the security setup of `c` (user,
// capabilities, no_new_privs, seccomp, cwd, stdio, tty). Returns the new process's pid (a
// child of the caller), stopped until mdl_container_release(*sync_fd, ...) lets it go on; -1
// with err on failure.
pid_t mdl_container_exec(pid_t target, const struct mdl_container *c, int *sync_fd, char *err, size_t errlen);

// After mdl_container_exec: waits until the process has called execve (0) or failed (-1).
int mdl_container_wait_exec(int sync_fd, char *err, size_t errlen, int *exec_errno);

// Lets the child go on past the sync point, then waits until it has called execve (0), or
// failed on the way (-1, err holds what failed; *exec_errno is set when execve itself
// failed: ENOENT means not found, others not executable).
int mdl_container_release(int sync_fd, char *err, size_t errlen, int *exec_errno);
// The same for a process started with `tty`: *master receives the master of its terminal,
// which the process sends over the sync socket (SCM_RIGHTS) before it execs (-1 on failure).
int mdl_container_release_tty(int sync_fd, char *err, size_t errlen, int *exec_errno, int *master);

// Waits for the container process, forwarding the signals a user sends to the caller, and
// relaying a pty (master_fd >= 0) to stdin/stdout in raw mode, restored on every path.
// Returns the wait status.
int mdl_container_supervise(pid_t pid, int master_fd);
// The same, and with a terminal on stdin the detach keys (as mdl_attach_relay takes them) end
// the relay: *detached is set and the process is left running (0 is returned). The caller
// keeps its terminal open for it with mdl_hold_pty.
int mdl_container_supervise_detach(pid_t pid, int master_fd, const unsigned char *keys, size_t nkeys, int *detached);

// After a detach from a process whose terminal this process relayed: a small process of its
// own (a fork that runs this C function only, in a new session) keeps the master open and
// drains it until the process's side closes, so that the process does not get a hangup.
int mdl_hold_pty(int master_fd);

// Blocks the signals mdl_container_supervise forwards (call before spawning, so that none
// is lost in between); the child unblocks them before exec.
void mdl_block_forwarded_signals(void);
void mdl_unblock_forwarded_signals(void);


int mdl_memfd(const char *name);

int mdl_wifexited(int status);
int mdl_wexitstatus(int status);
int mdl_wifsignaled(int status);
int mdl_wtermsig(int status);

#endif

// Starts `argv` (an absolute path first) as a daemon: double fork, new session, stdio on
// /dev/null, every fd closed but `keep_fd`. Returns 0 once the daemon is on its own.
int mdl_spawn_daemon(const char *const *argv, int keep_fd);

// For a monitor: blocks SIGCHLD and returns a signalfd that reports it.
int mdl_sigchld_fd(void);
// Ignores the signals a terminal or a session leader's exit would send.
void mdl_ignore_hangups(void);

// Asks the kernel to reclaim this process's clean file-backed pages (the engine binary's
// code, touched once at start-up): a long-lived monitor keeps only what it uses. Reclaim,
// not discard: a page needed again is read back, a written page is never lost.
void mdl_trim_resident(void);
