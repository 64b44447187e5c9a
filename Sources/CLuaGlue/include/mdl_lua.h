// Lua C API pieces that Swift cannot import (macros, variadics) as plain functions,
// and the error trampoline that keeps lua_error's longjmp away from Swift frames.
#ifndef MDL_LUA_H
#define MDL_LUA_H

#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

// A Swift function called from Lua. Returns the number of results pushed, or -1 after
// pushing an error value: the C trampoline then raises it once the Swift frame is gone.
typedef int (*mdl_dispatch_fn)(lua_State *L, lua_Integer id);
// Releases the Swift object a userdata owns (called from __gc).
typedef void (*mdl_release_fn)(void *owner);

void mdl_set_callbacks(mdl_dispatch_fn dispatch, mdl_release_fn release);

// A state whose allocator aborts on exhaustion, so "m"-class API calls never raise.
lua_State *mdl_newstate(void);
// Opens the standard libraries inside a protected call. Returns a lua_pcall status.
int mdl_openlibs(lua_State *L);

// The per-state pointer slot (LUA_EXTRASPACE); coroutines inherit it.
void *mdl_getextra(lua_State *L);
void mdl_setextra(lua_State *L, void *p);

// Pushes a closure that calls the Swift function with this id.
void mdl_pushswiftfunction(lua_State *L, lua_Integer id);

// Full userdata holding one retained Swift object, with the metatable registered under
// `type_name`; the metatable's __gc releases the owner.
void mdl_pushobject(lua_State *L, void *owner, const char *type_name);
// The owner of the userdata at idx if its metatable is the one named, else NULL.
void *mdl_toobject(lua_State *L, int idx, const char *type_name);
// Pushes the metatable registered under type_name, creating it (with __gc and
// __name) when missing. Returns 1 when it was created.
int mdl_pushmetatable(lua_State *L, const char *type_name);

// Loads a chunk of source text (never bytecode); returns a lua_load status (never raises).
int mdl_loadbuffer(lua_State *L, const char *buf, size_t len, const char *chunkname);
// Loads a precompiled chunk given as base64 text (how the binary embeds its stdlib),
// decoding it as lua_load reads it: no decoded copy is made. Pushes the function, or an
// error message; returns a lua_load status.
int mdl_load_base64(lua_State *L, const char *text, size_t len, const char *chunkname);
// lua_pcall with a traceback message handler. Returns a lua_pcall status; on error the
// message (with traceback when it was a string) is on top.
int mdl_pcall_traceback(lua_State *L, int nargs, int nresults);

// Macros of lua.h as functions.
int mdl_upvalueindex(int i);
int mdl_registryindex(void);
void mdl_pop(lua_State *L, int n);
void mdl_newtable(lua_State *L);
int mdl_isnoneornil(lua_State *L, int idx);
const char *mdl_tostring_raw(lua_State *L, int idx, size_t *len);
lua_Number mdl_tonumber(lua_State *L, int idx, int *isnum);
lua_Integer mdl_tointeger(lua_State *L, int idx, int *isnum);
int mdl_pcall(lua_State *L, int nargs, int nresults);
void mdl_pushglobaltable(lua_State *L);
void mdl_insert(lua_State *L, int idx);
void mdl_remove(lua_State *L, int idx);
int mdl_ref(lua_State *L);
void mdl_unref(lua_State *L, int ref);
void mdl_getref(lua_State *L, int ref);

// The build's identity: the commit from the header the Makefile writes (mdl_lua.c), the version.
const char *mdl_commit(void);
const char *mdl_version(void);
const char *mdl_lua_release(void);

#endif
