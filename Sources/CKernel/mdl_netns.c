#define _GNU_SOURCE
#include "mdl_netns.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

struct mdl_netns {
    pthread_t thread;
    int fd;
    char err[256];
};

static int loopback_up(char *err, size_t errlen) {
    int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (s < 0) { snprintf(err, errlen, "socket: %s", strerror(errno)); return -1; }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "lo");
    int rc = ioctl(s, SIOCGIFFLAGS, &ifr);
    if (rc == 0) {
        ifr.ifr_flags |= IFF_UP;
        rc = ioctl(s, SIOCSIFFLAGS, &ifr);
    }
    if (rc < 0) snprintf(err, errlen, "bring lo up: %s", strerror(errno));
    close(s);
    return rc;
}

// unshare() moves only the calling thread: this thread enters the new namespace, keeps an
// fd of it, and ends. The process's other threads never leave their own.
static void *make_namespace(void *arg) {
    struct mdl_netns *n = arg;
    if (unshare(CLONE_NEWNET) < 0) {
        snprintf(n->err, sizeof n->err, "new network namespace: %s", strerror(errno));
        return NULL;
    }
    if (loopback_up(n->err, sizeof n->err) < 0) return NULL;
    n->fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    if (n->fd < 0) snprintf(n->err, sizeof n->err, "open the network namespace: %s", strerror(errno));
    return NULL;
}

struct mdl_netns *mdl_netns_start(void) {
    struct mdl_netns *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    n->fd = -1;
    // With every signal blocked: a signal for the process (one the foreground run
    // forwards to the container) must never land on this thread.
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&n->thread, NULL, make_namespace, n);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        free(n);
        errno = rc;
        return NULL;
    }
    return n;
}

int mdl_netns_finish(struct mdl_netns *n, char *err, size_t errlen) {
    pthread_join(n->thread, NULL);
    int fd = n->fd;
    if (fd < 0) snprintf(err, errlen, "%s", n->err);
    free(n);
    return fd;
}
