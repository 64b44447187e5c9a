// Loop devices, for volumes with a size limit: a file system image attached to a free loop
// device (LOOP_CTL_GET_FREE, then LOOP_CONFIGURE, or LOOP_SET_FD before 5.8), with
// autoclear, so that the device is released when its last mount goes.
#ifndef MDL_LOOP_H
#define MDL_LOOP_H

#include <stddef.h>

// Attaches the image at `path` to a free loop device. Returns an open fd of the device
// (the caller mounts it through /dev/loopN, written to `dev`, then closes the fd: with
// autoclear the device is freed once it is neither open nor mounted); -1 with errno.
int mdl_loop_attach(const char *path, char *dev, size_t devlen);

#endif
