// Everything the Swift side imports from C.
#include "mdl_lua.h"
#include "mdl_readline.h"
#include "mdl_constants.h"
#include "mdl_fs.h"
#include "mdl_stream.h"
#include <archive.h>
#include <archive_entry.h>
#include "mdl_container.h"
#include "mdl_seccomp.h"
#include "mdl_devices.h"
#include "mdl_attach.h"
#include "mdl_json.h"
#include "mdl_netns.h"
#include <sys/xattr.h>   // the stashed exit of a container (ContainerStore.stashExit)
