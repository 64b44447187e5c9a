#include "mdl_readline.h"

#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <editline/readline.h>

static const char *COMPLETER_KEY = "mdlua.repl.completer";

// The state readline() was called with; completion runs while readline() is on the stack.
static lua_State *g_state;
static char **g_candidates;
static size_t g_count;

static void clear_candidates(void) {
    for (size_t i = 0; i < g_count; i++) free(g_candidates[i]);
    free(g_candidates);
    g_candidates = NULL;
    g_count = 0;
}

static char *next_candidate(const char *text, int state) {
    static size_t next;
    (void)text;
    if (state == 0) next = 0;
    if (next >= g_count) return NULL;
    return strdup(g_candidates[next++]);
}

// Asks the Lua completer (text, whole line) for a list of full replacements for `text`.
static char **attempt_completion(const char *text, int start, int end) {
    (void)start; (void)end;
    rl_attempted_completion_over = 1;
    lua_State *L = g_state;
    if (L == NULL || !lua_checkstack(L, 4)) return NULL;
    clear_candidates();
    lua_getfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY);
    if (!lua_isfunction(L, -1)) { lua_pop(L, 1); return NULL; }
    lua_pushstring(L, text);
    lua_pushstring(L, rl_line_buffer ? rl_line_buffer : "");
    if (lua_pcall(L, 2, 1, 0) != LUA_OK || !lua_istable(L, -1)) { lua_pop(L, 1); return NULL; }
    lua_Integer n = (lua_Integer)lua_rawlen(L, -1);
    g_candidates = calloc((size_t)n + 1, sizeof(char *));
    for (lua_Integer i = 1; g_candidates != NULL && i <= n; i++) {
        lua_rawgeti(L, -1, i);
        const char *s = lua_tostring(L, -1);
        if (s != NULL) g_candidates[g_count++] = strdup(s);
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    if (g_count == 0) return NULL;
    return rl_completion_matches(text, next_candidate);
}

static int l_readline(lua_State *L) {
    const char *prompt = luaL_optstring(L, 1, "> ");
    g_state = L;
    rl_attempted_completion_function = attempt_completion;
    rl_completion_append_character = '\0';
    char *line = readline(prompt);
    g_state = NULL;
    clear_candidates();
    if (line == NULL) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushstring(L, line);
    free(line);
    return 1;
}

static int l_add_history(lua_State *L) {
    add_history(luaL_checkstring(L, 1));
    return 0;
}

static int l_read_history(lua_State *L) {
    lua_pushboolean(L, read_history(luaL_checkstring(L, 1)) == 0);
    return 1;
}

static int l_write_history(lua_State *L) {
    const char *path = luaL_checkstring(L, 1);
    int rc = write_history(path);
    if (rc != 0) {
        lua_pushnil(L);
        lua_pushfstring(L, "cannot write history to %s", path);
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

static int l_set_completer(lua_State *L) {
    if (!lua_isnoneornil(L, 1)) luaL_checktype(L, 1, LUA_TFUNCTION);
    lua_settop(L, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY);
    return 0;
}

void mdl_push_readline_lib(lua_State *L) {
    static const luaL_Reg fns[] = {
        {"readline", l_readline},
        {"add_history", l_add_history},
        {"read_history", l_read_history},
        {"write_history", l_write_history},
        {"set_completer", l_set_completer},
        {NULL, NULL},
    };
    lua_createtable(L, 0, 5);
    luaL_setfuncs(L, fns, 0);
}
