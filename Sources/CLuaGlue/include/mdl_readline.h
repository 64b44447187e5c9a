// libedit line editing for the REPL, as a table of Lua C functions.
#ifndef MDL_READLINE_H
#define MDL_READLINE_H

#include <lua.h>

// Pushes {readline, add_history, read_history, write_history, set_completer,
// catch_interrupts}.
// These are called from Lua only, so they may raise as any C library function does.
void mdl_push_readline_lib(lua_State *L);

#endif
