// A container's network namespace, made before its process by the engine (as Podman and
// CNI make one and the runtime joins it), on a thread of its own so that the caller goes
// on meanwhile: the kernel's set-up of a network namespace takes ~0.5 ms of CPU here.
#ifndef MDL_NETNS_H
#define MDL_NETNS_H

#include <stddef.h>

struct mdl_netns;

// Starts making a new network namespace with `lo` up. NULL if no thread could be made
// (errno says why).
struct mdl_netns *mdl_netns_start(void);

// Waits for it and frees `n`: an fd of the namespace (close-on-exec), or -1 with err.
int mdl_netns_finish(struct mdl_netns *n, char *err, size_t errlen);

#endif
