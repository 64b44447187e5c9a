#define _GNU_SOURCE
#include "mdl_attach.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static int socket_address(int dirfd, const char *name, struct sockaddr_un *sa) {
    memset(sa, 0, sizeof *sa);
    sa->sun_family = AF_UNIX;
    int n = snprintf(sa->sun_path, sizeof sa->sun_path, "/proc/self/fd/%d/%s", dirfd, name);
    if (n < 0 || (size_t)n >= sizeof sa->sun_path) { errno = ENAMETOOLONG; return -1; }
    return 0;
}

int mdl_unix_listen(int dirfd, const char *name) {
    struct sockaddr_un sa;
    if (socket_address(dirfd, name, &sa) < 0) return -1;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s < 0) return -1;
    unlinkat(dirfd, name, 0);
    // Only root may connect: the socket is the container's stdin.
    mode_t old = umask(077);
    int rc = bind(s, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || listen(s, 16) < 0) { int e = errno; close(s); errno = e; return -1; }
    return s;
}

int mdl_unix_connect(int dirfd, const char *name) {
    struct sockaddr_un sa;
    if (socket_address(dirfd, name, &sa) < 0) return -1;
    int s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (s < 0) return -1;
    if (connect(s, (struct sockaddr *)&sa, sizeof sa) < 0) { int e = errno; close(s); errno = e; return -1; }
    return s;
}

int mdl_attach_accept(int listener) { return accept4(listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC); }

int mdl_attach_greet(int sock, char kind, int fd) {
    struct iovec iov = { &kind, 1 };
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } control;
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof fd);
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static int send_all(int sock, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = send(sock, p, n, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR) continue;
            return -1;   // EAGAIN included: the client is too slow
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int mdl_attach_send(int sock, int stream, const void *data, size_t len) {
    if (stream != 0) {
        unsigned char h[8] = { (unsigned char)stream, 0, 0, 0, (unsigned char)(len >> 24), (unsigned char)(len >> 16),
                               (unsigned char)(len >> 8), (unsigned char)len };
        if (send_all(sock, (const char *)h, sizeof h) < 0) return -1;
    }
    return send_all(sock, data, len);
}

static int write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

static int receive_greeting(int sock, char *kind, int *fd) {
    union { struct cmsghdr h; char buf[CMSG_SPACE(sizeof(int))]; } control;
    struct iovec iov = { kind, 1 };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                          .msg_controllen = sizeof control.buf };
    *fd = -1;
    if (recvmsg(sock, &msg, MSG_CMSG_CLOEXEC) != 1) return -1;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) memcpy(fd, CMSG_DATA(c), sizeof *fd);
    }
    return 0;
}

static const unsigned char default_detach_keys[] = { 0x10, 0x11 };   // Ctrl-P Ctrl-Q

size_t mdl_detach_filter(const unsigned char *keys, size_t nkeys, size_t *matched, const unsigned char *in, size_t n,
                         unsigned char *out, int *detached) {
    size_t o = 0;
    *detached = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char b = in[i];
        if (nkeys == 0) { out[o++] = b; continue; }
        if (b == keys[*matched]) {
            if (++*matched == nkeys) { *matched = 0; *detached = 1; return o; }
            continue;
        }
        // A sequence that failed: what it held goes on, and this byte may start a new one.
        memcpy(out + o, keys, *matched);
        o += *matched;
        *matched = 0;
        if (b == keys[0]) {
            if (nkeys == 1) { *detached = 1; return o; }
            *matched = 1;
        } else {
            out[o++] = b;
        }
    }
    return o;
}

int mdl_attach_relay(int sock, int with_stdin, const unsigned char *keys, size_t nkeys) {
    if (keys == NULL) { keys = default_detach_keys; nkeys = sizeof default_detach_keys; }
    char kind;
    int master = -1;
    if (receive_greeting(sock, &kind, &master) < 0 || (kind != 'T' && kind != 'M')) {
        if (master >= 0) close(master);
        return -1;
    }
    int terminal = kind == 'T';
    struct termios saved;
    int raw = 0;
    if (terminal && with_stdin && isatty(0) && tcgetattr(0, &saved) == 0) {
        struct termios t = saved;
        cfmakeraw(&t);
        if (tcsetattr(0, TCSANOW, &t) == 0) raw = 1;
    }
    struct winsize ws;
    if (master >= 0 && isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
    sigset_t winch, old;
    sigemptyset(&winch);
    sigaddset(&winch, SIGWINCH);
    sigprocmask(SIG_BLOCK, &winch, &old);
    int wfd = signalfd(-1, &winch, SFD_CLOEXEC);

    int result = 0, stdin_open = with_stdin;
    size_t matched = 0;
    unsigned char pass[65536 + 64];
    unsigned char header[8];
    size_t have = 0, frame_left = 0;
    int frame_fd = 1;
    char buf[65536];
    for (;;) {
        struct pollfd fds[3] = { { sock, POLLIN, 0 }, { stdin_open ? 0 : -1, POLLIN, 0 }, { wfd, POLLIN, 0 } };
        if (poll(fds, 3, -1) < 0) { if (errno == EINTR) continue; result = -1; break; }
        if (fds[2].revents & POLLIN) {
            struct signalfd_siginfo si;
            if (read(wfd, &si, sizeof si) > 0 && master >= 0 && ioctl(1, TIOCGWINSZ, &ws) == 0) ioctl(master, TIOCSWINSZ, &ws);
        }
        if (fds[1].revents & (POLLIN | POLLHUP)) {
            ssize_t n = read(0, buf, sizeof buf);
            if (n <= 0) {
                stdin_open = 0;
            } else {
                size_t m = (size_t)n;
                const char *out = buf;
                if (raw && nkeys <= 64) {
                    // The detach keys (Ctrl-P Ctrl-Q): leave the container running.
                    int detached = 0;
                    m = mdl_detach_filter(keys, nkeys, &matched, (const unsigned char *)buf, (size_t)n, pass, &detached);
                    out = (const char *)pass;
                    if (detached) {
                        if (m > 0) send_all(sock, out, m);
                        result = 1;
                        break;
                    }
                }
                if (m > 0 && send_all(sock, out, m) < 0) stdin_open = 0;
            }
        }
        if (fds[0].revents & (POLLIN | POLLHUP)) {
            ssize_t n = recv(sock, buf, sizeof buf, 0);
            if (n < 0 && errno == EINTR) continue;
            if (n <= 0) break;   // the container stopped
            if (terminal) { write_all(1, buf, (size_t)n); continue; }
            for (ssize_t i = 0; i < n;) {
                if (frame_left == 0) {
                    header[have++] = (unsigned char)buf[i++];
                    if (have == 8) {
                        frame_fd = header[0] == 2 ? 2 : 1;
                        frame_left = ((size_t)header[4] << 24) | ((size_t)header[5] << 16) | ((size_t)header[6] << 8) | header[7];
                        have = 0;
                    }
                    continue;
                }
                size_t take = (size_t)(n - i) < frame_left ? (size_t)(n - i) : frame_left;
                write_all(frame_fd, buf + i, take);
                i += (ssize_t)take;
                frame_left -= take;
            }
        }
    }
    if (raw) tcsetattr(0, TCSANOW, &saved);
    close(wfd);
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (master >= 0) close(master);
    return result;
}
