#define _GNU_SOURCE
#include "mdl_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#ifndef LOOP_CONFIGURE
#define LOOP_CONFIGURE 0x4C0A
struct loop_config {
    unsigned int fd;
    unsigned int block_size;
    struct loop_info64 info;
    unsigned long long reserved[8];
};
#endif

int mdl_loop_attach(const char *path, char *dev, size_t devlen) {
    int file = open(path, O_RDWR | O_CLOEXEC);
    if (file < 0) return -1;
    int control = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) { int e = errno; close(file); errno = e; return -1; }
    // Another process may take the free device between the two calls: EBUSY, try again.
    for (int attempt = 0; attempt < 16; attempt++) {
        int n = ioctl(control, LOOP_CTL_GET_FREE);
        if (n < 0) break;
        snprintf(dev, devlen, "/dev/loop%d", n);
        int loop = open(dev, O_RDWR | O_CLOEXEC);
        if (loop < 0) break;
        struct loop_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.fd = (unsigned int)file;
        cfg.info.lo_flags = LO_FLAGS_AUTOCLEAR;
        int rc = ioctl(loop, LOOP_CONFIGURE, &cfg);
        if (rc < 0 && errno == EINVAL) {
            // Before 5.8: attach, then set autoclear.
            rc = ioctl(loop, LOOP_SET_FD, file);
            if (rc == 0) {
                struct loop_info64 info;
                memset(&info, 0, sizeof info);
                info.lo_flags = LO_FLAGS_AUTOCLEAR;
                if (ioctl(loop, LOOP_SET_STATUS64, &info) < 0) {
                    int e = errno;
                    ioctl(loop, LOOP_CLR_FD, 0);
                    close(loop); close(control); close(file);
                    errno = e;
                    return -1;
                }
            }
        }
        if (rc == 0) {
            close(control);
            close(file);
            return loop;
        }
        int e = errno;
        close(loop);
        if (e != EBUSY) { errno = e; break; }
    }
    int e = errno;
    close(control);
    close(file);
    errno = e;
    return -1;
}
