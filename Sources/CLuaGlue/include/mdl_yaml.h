#ifndef MDL_YAML_H
#define MDL_YAML_H

#include <lua.h>

// Pushes the YAML decoder: f(text, null_sentinel) -> the first document as Lua values.
void mdl_push_yaml_decode(lua_State *L);

#endif
