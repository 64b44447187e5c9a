// json.encode for Lua values, in C: the same output as stdlib/mdlua/json.lua's encoder
// (sorted object keys, json.array-marked or 1..n tables as arrays, json.null as null), which
// spends most of `run`'s Lua time on the container's spec otherwise.
#include "mdl_json.h"

#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ARG_VALUE = 1, ARG_ARRAY_MT = 2, ARG_NULL = 3, ARG_BUF = 4, MAX_DEPTH = 200 };

struct buffer { char *p; size_t n, cap; };

static int buffer_gc(lua_State *L) {
    struct buffer *b = lua_touserdata(L, 1);
    free(b->p);
    b->p = NULL;
    return 0;
}

static void put(lua_State *L, struct buffer *b, const char *s, size_t n) {
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->n + n) cap *= 2;
        char *p = realloc(b->p, cap);
        if (p == NULL) luaL_error(L, "not enough memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put_string(lua_State *L, struct buffer *b, const char *s, size_t n) {
    put(L, b, "\"", 1);
    size_t start = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c != 0x7f) continue;
        put(L, b, s + start, i - start);
        char esc[8];
        const char *e = NULL;
        switch (c) {
        case '"': e = "\\\""; break;
        case '\\': e = "\\\\"; break;
        case '\b': e = "\\b"; break;
        case '\f': e = "\\f"; break;
        case '\n': e = "\\n"; break;
        case '\r': e = "\\r"; break;
        case '\t': e = "\\t"; break;
        default: snprintf(esc, sizeof esc, "\\u%04x", c); e = esc;
        }
        put(L, b, e, strlen(e));
        start = i + 1;
    }
    put(L, b, s + start, n - start);
    put(L, b, "\"", 1);
}

struct key { const char *s; size_t n; };

static int key_order(const void *a, const void *b) {
    const struct key *x = a, *y = b;
    int c = memcmp(x->s, y->s, x->n < y->n ? x->n : y->n);
    return c ? c : (x->n < y->n ? -1 : x->n > y->n);
}

static int is_array(lua_State *L, int idx) {
    if (lua_getmetatable(L, idx)) {
        int marked = lua_rawequal(L, -1, ARG_ARRAY_MT);
        lua_pop(L, 1);
        if (marked) return 1;
    }
    lua_Integer count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < 1) { lua_pop(L, 1); return 0; }
        count++;
    }
    return count > 0 && (lua_Unsigned)count == lua_rawlen(L, idx);
}

static void encode(lua_State *L, int idx, struct buffer *b, int depth) {
    if (depth > MAX_DEPTH) luaL_error(L, "cannot encode: nested too deeply");
    luaL_checkstack(L, 4, "JSON nesting");
    int t = lua_type(L, idx);
    if (t == LUA_TNIL || lua_rawequal(L, idx, ARG_NULL)) { put(L, b, "null", 4); return; }
    if (t == LUA_TBOOLEAN) { lua_toboolean(L, idx) ? put(L, b, "true", 4) : put(L, b, "false", 5); return; }
    if (t == LUA_TNUMBER) {
        char num[64];
        if (lua_isinteger(L, idx)) {
            snprintf(num, sizeof num, LUA_INTEGER_FMT, (LUAI_UACINT)lua_tointeger(L, idx));
        } else {
            lua_Number v = lua_tonumber(L, idx);
            if (isnan(v) || isinf(v)) {
                luaL_tolstring(L, idx, NULL);
                luaL_error(L, "cannot encode %s as JSON", lua_tostring(L, -1));
            }
            if (v == floor(v) && v >= -1e15 && v <= 1e15) snprintf(num, sizeof num, "%lld", (long long)v);
            else snprintf(num, sizeof num, "%.17g", (double)v);
        }
        put(L, b, num, strlen(num));
        return;
    }
    if (t == LUA_TSTRING) {
        size_t n;
        const char *s = lua_tolstring(L, idx, &n);
        put_string(L, b, s, n);
        return;
    }
    if (t != LUA_TTABLE) luaL_error(L, "cannot encode a %s as JSON", lua_typename(L, t));
    idx = lua_absindex(L, idx);
    if (is_array(L, idx)) {
        lua_Unsigned n = lua_rawlen(L, idx);
        if (n == 0) { put(L, b, "[]", 2); return; }
        put(L, b, "[", 1);
        for (lua_Unsigned i = 1; i <= n; i++) {
            if (i > 1) put(L, b, ",", 1);
            lua_rawgeti(L, idx, (lua_Integer)i);
            encode(L, -1, b, depth + 1);
            lua_pop(L, 1);
        }
        put(L, b, "]", 1);
        return;
    }
    size_t count = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            luaL_error(L, "cannot encode a table with a %s key as a JSON object", luaL_typename(L, -1));
        }
        count++;
    }
    if (count == 0) { put(L, b, "{}", 2); return; }
    // The keys, in a userdata (collected if an error unwinds), pointing into the key strings
    // that the table keeps alive.
    struct key *keys = lua_newuserdatauv(L, count * sizeof *keys, 0);
    size_t k = 0;
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        lua_pop(L, 1);
        keys[k].s = lua_tolstring(L, -1, &keys[k].n);
        k++;
    }
    qsort(keys, count, sizeof *keys, key_order);
    put(L, b, "{", 1);
    for (size_t i = 0; i < count; i++) {
        if (i > 0) put(L, b, ",", 1);
        put_string(L, b, keys[i].s, keys[i].n);
        put(L, b, ":", 1);
        lua_pushlstring(L, keys[i].s, keys[i].n);
        lua_rawget(L, idx);
        encode(L, -1, b, depth + 1);
        lua_pop(L, 1);
    }
    put(L, b, "}", 1);
    lua_pop(L, 1);   // the keys
}

// (value, json.array's metatable, json.null) -> string
static int json_encode(lua_State *L) {
    lua_settop(L, 3);
    struct buffer *b = lua_newuserdatauv(L, sizeof *b, 0);
    memset(b, 0, sizeof *b);
    if (luaL_newmetatable(L, "mdlua.jsonbuffer")) {
        lua_pushcfunction(L, buffer_gc);
        lua_setfield(L, -2, "__gc");
    }
    lua_setmetatable(L, ARG_BUF);
    encode(L, ARG_VALUE, b, 0);
    lua_pushlstring(L, b->p ? b->p : "", b->n);
    return 1;
}

void mdl_push_json_encode(lua_State *L) { lua_pushcfunction(L, json_encode); }
