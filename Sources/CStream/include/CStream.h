// The stream target: layer and blob streams (libarchive, zlib, zstd) and SHA-256 (nettle),
// for the engine. Nothing here knows containers or Lua.
#include "mdl_stream.h"
#include "mdl_layer_writer.h"
#include <archive.h>
#include <archive_entry.h>
