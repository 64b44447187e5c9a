// The Lua glue: Lua's macros as functions, the error trampoline, the stdlib loader, JSON
// encoding of Lua values, YAML decoding (libyaml), and the libedit line reader for the REPL. Only MDLua imports it:
// the engine never sees a lua_State.
#include "mdl_lua.h"
#include "mdl_json.h"
#include "mdl_readline.h"
#include "mdl_yaml.h"
