#ifndef MDL_JSON_H
#define MDL_JSON_H

#include <lua.h>

// Pushes the native JSON encoder: f(value, array_metatable, null_sentinel) -> string.
void mdl_push_json_encode(lua_State *L);

#endif
