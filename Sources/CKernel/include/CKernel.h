// The kernel target: everything between the engine and the kernel (the container's
// clone-to-exec path, mounts, cgroup joins, seccomp, device filters, network namespaces,
// attach sockets, constants from the system headers). No Lua, no archives.
#include "mdl_constants.h"
#include "mdl_fs.h"
#include "mdl_container.h"
#include "mdl_seccomp.h"
#include "mdl_devices.h"
#include "mdl_attach.h"
#include "mdl_netns.h"
#include "mdl_loop.h"
#include <sys/xattr.h>   // the stashed exit of a container (ContainerStore.stashExit)
#include "mdl_rtnl.h"
#include "mdl_nft.h"
