#include "mdl_lua.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

// Written by the Makefile (commit-header), not kept in git; a plain `swift build` says unknown.
#if __has_include("mdl_commit.h")
#include "mdl_commit.h"
#endif
#ifndef MDLUA_COMMIT
#define MDLUA_COMMIT "unknown"
#endif
#ifndef MDLUA_VERSION
#define MDLUA_VERSION "0.1.0-dev"
#endif

static mdl_dispatch_fn g_dispatch;
static mdl_release_fn g_release;

void mdl_set_callbacks(mdl_dispatch_fn dispatch, mdl_release_fn release) {
    g_dispatch = dispatch;
    g_release = release;
}

// Aborting on exhaustion turns every "m" error into a crash we can see, instead of a
// longjmp that could cross a Swift frame.
static void *abort_alloc(void *ud, void *ptr, size_t osize, size_t nsize) {
    (void)ud; (void)osize;
    if (nsize == 0) {
        free(ptr);
        return NULL;
    }
    void *p = realloc(ptr, nsize);
    if (p == NULL) {
        fputs("mdlua: out of memory in the Lua VM\n", stderr);
        abort();
    }
    return p;
}

static int panic(lua_State *L) {
    const char *msg = lua_tostring(L, -1);
    fprintf(stderr, "mdlua: unprotected Lua error: %s\n", msg ? msg : "(not a string)");
    abort();
    return 0;
}

// Warnings as lua.c prints them: off until "@on".
static void warn_off(void *ud, const char *msg, int tocont);
static void warn_on(void *ud, const char *msg, int tocont);
static void warn_cont(void *ud, const char *msg, int tocont);

static int warn_control(lua_State *L, const char *msg, int tocont) {
    if (tocont || *msg != '@') return 0;
    if (strcmp(msg, "@off") == 0) lua_setwarnf(L, warn_off, L);
    else if (strcmp(msg, "@on") == 0) lua_setwarnf(L, warn_on, L);
    return 1;
}
static void warn_off(void *ud, const char *msg, int tocont) { warn_control((lua_State *)ud, msg, tocont); }
static void warn_cont(void *ud, const char *msg, int tocont) {
    fputs(msg, stderr);
    if (tocont) lua_setwarnf((lua_State *)ud, warn_cont, ud);
    else { fputs("\n", stderr); lua_setwarnf((lua_State *)ud, warn_on, ud); }
}
static void warn_on(void *ud, const char *msg, int tocont) {
    if (warn_control((lua_State *)ud, msg, tocont)) return;
    fputs("Lua warning: ", stderr);
    warn_cont(ud, msg, tocont);
}

lua_State *mdl_newstate(void) {
    lua_State *L = lua_newstate(abort_alloc, NULL);
    if (L == NULL) return NULL;
    lua_atpanic(L, panic);
    lua_setwarnf(L, warn_off, L);
    return L;
}

static int openlibs(lua_State *L) {
    luaL_openlibs(L);
    return 0;
}

int mdl_openlibs(lua_State *L) {
    lua_pushcfunction(L, openlibs);
    return lua_pcall(L, 0, 0, 0);
}

void *mdl_getextra(lua_State *L) { return *(void **)lua_getextraspace(L); }
void mdl_setextra(lua_State *L, void *p) { *(void **)lua_getextraspace(L) = p; }

static int trampoline(lua_State *L) {
    lua_Integer id = lua_tointeger(L, lua_upvalueindex(1));
    int n = g_dispatch(L, id);
    if (n < 0) return lua_error(L);   // the Swift frame has returned: safe to longjmp
    return n;
}

void mdl_pushswiftfunction(lua_State *L, lua_Integer id) {
    lua_pushinteger(L, id);
    lua_pushcclosure(L, trampoline, 1);
}

static int object_gc(lua_State *L) {
    void **slot = (void **)lua_touserdata(L, 1);
    if (slot != NULL && *slot != NULL) {
        void *owner = *slot;
        *slot = NULL;
        g_release(owner);
    }
    return 0;
}

// Metatables live in the registry under "mdlua.type:<name>"; raw access only.
static void push_metatable_key(lua_State *L, const char *type_name) {
    lua_pushstring(L, "mdlua.type:");
    lua_pushstring(L, type_name);
    lua_concat(L, 2);   // two strings: no metamethod can run
}

int mdl_pushmetatable(lua_State *L, const char *type_name) {
    push_metatable_key(L, type_name);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_istable(L, -1)) return 0;
    lua_pop(L, 1);
    lua_createtable(L, 0, 4);
    lua_pushstring(L, type_name);
    lua_setfield(L, -2, "__name");          // plain table without metatable: raw in effect
    lua_pushcfunction(L, object_gc);
    lua_setfield(L, -2, "__gc");
    push_metatable_key(L, type_name);
    lua_pushvalue(L, -2);
    lua_rawset(L, LUA_REGISTRYINDEX);
    return 1;
}

void mdl_pushobject(lua_State *L, void *owner, const char *type_name) {
    void **slot = (void **)lua_newuserdatauv(L, sizeof(void *), 1);
    *slot = owner;
    mdl_pushmetatable(L, type_name);
    lua_setmetatable(L, -2);
}

void *mdl_toobject(lua_State *L, int idx, const char *type_name) {
    void **slot = (void **)lua_touserdata(L, idx);
    if (slot == NULL || !lua_getmetatable(L, idx)) return NULL;
    mdl_pushmetatable(L, type_name);
    int same = lua_rawequal(L, -1, -2);
    lua_pop(L, 2);
    return same ? *slot : NULL;
}

int mdl_loadbuffer(lua_State *L, const char *buf, size_t len, const char *chunkname) {
    return luaL_loadbufferx(L, buf, len, chunkname, "t");
}

struct base64_reader {
    const unsigned char *text, *end;
    uint32_t acc;   // bits read and not yet output (fewer than 8 between characters)
    int bits;
    unsigned char out[4095];   // a multiple of 3: whole groups fill it exactly
};

// The value of each base64 character plus one; 0 for anything else (padding).
static const unsigned char base64_values[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 63, 0, 0, 0, 64, 53, 54, 55, 56, 57, 58, 59, 60, 61, 62, 0, 0, 0, 0, 0, 0,
    0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 0, 0, 0, 0, 0,
    0, 27, 28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44, 45, 46, 47, 48, 49, 50, 51, 52, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

static const char *read_base64(lua_State *L, void *data, size_t *size) {
    (void)L;
    struct base64_reader *r = data;
    size_t n = 0;
    // Whole groups (four characters, three bytes); one character at a time only at the end
    // (padding).
    if (r->bits == 0) {
        while (r->end - r->text >= 4 && n + 3 <= sizeof r->out) {
            unsigned a = base64_values[r->text[0]], b = base64_values[r->text[1]];
            unsigned c = base64_values[r->text[2]], d = base64_values[r->text[3]];
            if (!a || !b || !c || !d) break;
            uint32_t v = (a - 1) << 18 | (b - 1) << 12 | (c - 1) << 6 | (d - 1);
            r->out[n] = (unsigned char)(v >> 16);
            r->out[n + 1] = (unsigned char)(v >> 8);
            r->out[n + 2] = (unsigned char)v;
            n += 3;
            r->text += 4;
        }
    }
    while (r->text < r->end && n < sizeof r->out) {
        int v = (int)base64_values[*r->text++] - 1;
        if (v < 0) continue;
        r->acc = (r->acc << 6 | (uint32_t)v) & 0x3fff;
        r->bits += 6;
        if (r->bits >= 8) {
            r->bits -= 8;
            r->out[n++] = (unsigned char)(r->acc >> r->bits);
        }
    }
    *size = n;
    return n ? (const char *)r->out : NULL;
}

int mdl_load_base64(lua_State *L, const char *text, size_t len, const char *chunkname) {
    struct base64_reader *r = malloc(sizeof *r);
    if (!r) {
        lua_pushliteral(L, "out of memory");
        return LUA_ERRMEM;
    }
    r->text = (const unsigned char *)text;
    r->end = r->text + len;
    r->acc = 0;
    r->bits = 0;
    int status = lua_load(L, read_base64, r, chunkname, "b");
    free(r);
    return status;
}

static int traceback_handler(lua_State *L) {
    const char *msg = lua_tostring(L, 1);
    if (msg == NULL) return 1;   // a non-string error value passes through unchanged
    luaL_traceback(L, L, msg, 1);
    return 1;
}

int mdl_pcall_traceback(lua_State *L, int nargs, int nresults) {
    int base = lua_gettop(L) - nargs;
    lua_pushcfunction(L, traceback_handler);
    lua_insert(L, base);
    int status = lua_pcall(L, nargs, nresults, base);
    lua_remove(L, base);
    return status;
}

int mdl_upvalueindex(int i) { return lua_upvalueindex(i); }
int mdl_registryindex(void) { return LUA_REGISTRYINDEX; }
void mdl_pop(lua_State *L, int n) { lua_pop(L, n); }
void mdl_newtable(lua_State *L) { lua_newtable(L); }
int mdl_isnoneornil(lua_State *L, int idx) { return lua_isnoneornil(L, idx); }
const char *mdl_tostring_raw(lua_State *L, int idx, size_t *len) { return lua_tolstring(L, idx, len); }
lua_Number mdl_tonumber(lua_State *L, int idx, int *isnum) { return lua_tonumberx(L, idx, isnum); }
lua_Integer mdl_tointeger(lua_State *L, int idx, int *isnum) { return lua_tointegerx(L, idx, isnum); }
int mdl_pcall(lua_State *L, int nargs, int nresults) { return lua_pcall(L, nargs, nresults, 0); }
void mdl_pushglobaltable(lua_State *L) { lua_pushglobaltable(L); }
void mdl_insert(lua_State *L, int idx) { lua_insert(L, idx); }
void mdl_remove(lua_State *L, int idx) { lua_remove(L, idx); }
int mdl_ref(lua_State *L) { return luaL_ref(L, LUA_REGISTRYINDEX); }
void mdl_unref(lua_State *L, int ref) { luaL_unref(L, LUA_REGISTRYINDEX, ref); }
void mdl_getref(lua_State *L, int ref) { lua_rawgeti(L, LUA_REGISTRYINDEX, ref); }

const char *mdl_commit(void) { return MDLUA_COMMIT; }
const char *mdl_version(void) { return MDLUA_VERSION; }
const char *mdl_lua_release(void) { return LUA_RELEASE; }
