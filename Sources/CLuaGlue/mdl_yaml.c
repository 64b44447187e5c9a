// YAML to Lua values, for Compose files (stdlib/mdlua/stack/compose.lua), through libyaml's
// document loader. Plain scalars are typed as YAML 1.2's core schema types them (null,
// true/false, integers, floats; everything else a string); quoted and block scalars are
// strings. Anchors and aliases are resolved, `<<` merge keys applied (explicit keys win).
// The output is bounded (depth and values), so an alias bomb is an error, not an OOM.
#include "mdl_yaml.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

enum { ARG_TEXT = 1, ARG_NULL = 2, MAX_DEPTH = 100, MAX_VALUES = 1000000 };

struct walk {
    lua_State *L;
    yaml_document_t *doc;
    long values;
    const char *error;
};

static int matches(const char *s, const char *const *words) {
    for (; *words; words++) if (strcmp(s, *words) == 0) return 1;
    return 0;
}

// Pushes a plain scalar typed by the core schema.
static void push_plain(lua_State *L, const char *s, size_t n) {
    static const char *const nulls[] = { "", "~", "null", "Null", "NULL", NULL };
    static const char *const trues[] = { "true", "True", "TRUE", NULL };
    static const char *const falses[] = { "false", "False", "FALSE", NULL };
    if (matches(s, nulls)) { lua_pushvalue(L, ARG_NULL); return; }
    if (matches(s, trues)) { lua_pushboolean(L, 1); return; }
    if (matches(s, falses)) { lua_pushboolean(L, 0); return; }
    char *end = NULL;
    if (n > 0 && (s[0] == '-' || s[0] == '+' || (s[0] >= '0' && s[0] <= '9'))) {
        int base = 10;
        const char *digits = s;
        if (n > 2 && s[0] == '0' && s[1] == 'o') { base = 8; digits = s + 2; }
        else if (n > 2 && s[0] == '0' && s[1] == 'x') { base = 16; digits = s + 2; }
        long long v = strtoll(digits, &end, base);
        if (end != digits && *end == '\0') { lua_pushinteger(L, (lua_Integer)v); return; }
    }
    if (strcmp(s, ".inf") == 0 || strcmp(s, "+.inf") == 0 || strcmp(s, ".Inf") == 0) { lua_pushnumber(L, HUGE_VAL); return; }
    if (strcmp(s, "-.inf") == 0 || strcmp(s, "-.Inf") == 0) { lua_pushnumber(L, -HUGE_VAL); return; }
    if (strcmp(s, ".nan") == 0 || strcmp(s, ".NaN") == 0) { lua_pushnumber(L, 0.0 / 0.0); return; }
    // A float needs a digit and only float characters (strtod alone takes "inf", "0x1p3").
    int digit = 0, ok = n > 0;
    for (size_t i = 0; i < n && ok; i++) {
        char c = s[i];
        if (c >= '0' && c <= '9') digit = 1;
        else if (!strchr("+-.eE", c)) ok = 0;
    }
    if (ok && digit) {
        double d = strtod(s, &end);
        if (end != s && *end == '\0') { lua_pushnumber(L, d); return; }
    }
    lua_pushlstring(L, s, n);
}

static int push_node(struct walk *w, yaml_node_t *node, int depth);

// Sets the pairs of mapping `node` into the table on the top of the stack; `merged`: only
// keys not there yet (what a `<<` brings).
static int set_pairs(struct walk *w, yaml_node_t *node, int depth, int merged) {
    lua_State *L = w->L;
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        if (!k || !v) { w->error = "a broken document"; return 0; }
        int is_merge = k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                       strcmp((const char *)k->data.scalar.value, "<<") == 0;
        if (is_merge) continue;   // applied after the explicit keys (merge_into), which win
        if (!push_node(w, k, depth + 1)) return 0;
        if (merged) {
            lua_pushvalue(L, -1);
            lua_rawget(L, -3);
            int present = !lua_isnil(L, -1);
            lua_pop(L, 1);
            if (present) { lua_pop(L, 1); continue; }
        }
        if (!push_node(w, v, depth + 1)) return 0;
        lua_rawset(L, -3);
    }
    return 1;
}

static int merge_into(struct walk *w, yaml_node_t *node, int depth) {
    for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
        yaml_node_t *k = yaml_document_get_node(w->doc, p->key);
        yaml_node_t *v = yaml_document_get_node(w->doc, p->value);
        if (!(k && k->type == YAML_SCALAR_NODE && k->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
              strcmp((const char *)k->data.scalar.value, "<<") == 0) || !v) continue;
        if (v->type == YAML_MAPPING_NODE) {
            if (!set_pairs(w, v, depth + 1, 1) || !merge_into(w, v, depth + 1)) return 0;
        } else if (v->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *i = v->data.sequence.items.start; i < v->data.sequence.items.top; i++) {
                yaml_node_t *m = yaml_document_get_node(w->doc, *i);
                if (!m || m->type != YAML_MAPPING_NODE) { w->error = "a << merge of something that is not a mapping"; return 0; }
                if (!set_pairs(w, m, depth + 1, 1) || !merge_into(w, m, depth + 1)) return 0;
            }
        } else {
            w->error = "a << merge of something that is not a mapping";
            return 0;
        }
    }
    return 1;
}

static int push_node(struct walk *w, yaml_node_t *node, int depth) {
    lua_State *L = w->L;
    if (depth > MAX_DEPTH) { w->error = "nested too deeply"; return 0; }
    if (++w->values > MAX_VALUES) { w->error = "too many values (an alias bomb?)"; return 0; }
    luaL_checkstack(L, 4, "yaml");
    switch (node->type) {
    case YAML_SCALAR_NODE: {
        const char *s = (const char *)node->data.scalar.value;
        size_t n = node->data.scalar.length;
        // (The loader tags every scalar !!str unless told otherwise: the style decides.)
        if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) push_plain(L, s, n);
        else lua_pushlstring(L, s, n);
        return 1;
    }
    case YAML_SEQUENCE_NODE: {
        lua_createtable(L, (int)(node->data.sequence.items.top - node->data.sequence.items.start), 0);
        lua_Integer i = 1;
        for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
            yaml_node_t *item = yaml_document_get_node(w->doc, *it);
            if (!item) { w->error = "a broken document"; return 0; }
            if (!push_node(w, item, depth + 1)) return 0;
            lua_rawseti(L, -2, i++);
        }
        return 1;
    }
    case YAML_MAPPING_NODE:
        lua_newtable(L);
        return set_pairs(w, node, depth, 0) && merge_into(w, node, depth);
    default:
        w->error = "an empty node";
        return 0;
    }
}

// decode(text, null) -> the first document's value (nil for none), `null` standing for YAML's nulls.
static int decode(lua_State *L) {
    size_t n;
    const char *text = luaL_checklstring(L, ARG_TEXT, &n);
    luaL_checkany(L, ARG_NULL);
    yaml_parser_t parser;
    yaml_document_t doc;
    if (!yaml_parser_initialize(&parser)) return luaL_error(L, "yaml: not enough memory");
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, n);
    if (!yaml_parser_load(&parser, &doc)) {
        lua_pushfstring(L, "yaml: line %d column %d: %s%s%s", (int)parser.problem_mark.line + 1,
                        (int)parser.problem_mark.column + 1, parser.problem ? parser.problem : "invalid YAML",
                        parser.context ? " " : "", parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        return lua_error(L);
    }
    yaml_parser_delete(&parser);
    yaml_node_t *root = yaml_document_get_root_node(&doc);
    if (!root) {
        yaml_document_delete(&doc);
        lua_pushnil(L);
        return 1;
    }
    struct walk w = { L, &doc, 0, NULL };
    int top = lua_gettop(L);
    int ok = push_node(&w, root, 0);
    yaml_document_delete(&doc);
    if (!ok) {
        lua_settop(L, top);
        return luaL_error(L, "yaml: %s", w.error ? w.error : "cannot read the document");
    }
    return 1;
}

void mdl_push_yaml_decode(lua_State *L) { lua_pushcfunction(L, decode); }
