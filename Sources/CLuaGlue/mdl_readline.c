#include "mdl_readline.h"

#include <errno.h>
#include <lauxlib.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
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

// Ctrl-C at the prompt cancels the line, as in `lua` and `python`. While readline() runs,
// SIGINT only sets a flag. libedit's own handler (EL_SIGNAL, kept for SIGWINCH and SIGTSTP)
// puts the terminal back in cooked mode and sends the signal again to the handler it found,
// ours; the read below is interrupted (no SA_RESTART) and ends the line with a newline,
// which readline() returns, and l_readline drops. Without this, libedit retries the read
// after a first EINTR and takes the second as the end of input.
static volatile sig_atomic_t g_interrupted;

// Input typed while the terminal was in cooked (canonical) mode, that is while a chunk ran or
// between two lines; libedit reads it before the terminal. In cooked mode the line discipline
// turns Ctrl-D into an end-of-file mark, which becomes a NUL byte (libedit's set-mark) once
// the terminal leaves cooked mode: a Ctrl-D typed ahead was lost and the REPL waited for more.
// libedit prints the prompt before it leaves cooked mode, so even a Ctrl-D typed right after
// the prompt showed could be. take_typed_ahead reads the complete lines and marks while the
// terminal is still cooked and keeps each mark as the terminal's EOF character, which libedit
// takes as the end of input on an empty line. What the next line does not use waits here for
// the lines after it (a chunk that reads the terminal itself does not see it). An interrupt
// discards it, as the kernel discards its own queue.
static unsigned char g_typed[16384];
static size_t g_typed_start, g_typed_end;
static volatile sig_atomic_t g_discard_typed;

static void on_interrupt(int signo) {
    (void)signo;
    g_interrupted = 1;
    g_discard_typed = 1;
}

static void forget_discarded_typed(void) {
    if (!g_discard_typed) return;
    g_discard_typed = 0;
    g_typed_start = g_typed_end = 0;
}

// Takes what was typed in cooked mode from the terminal `fd` into g_typed and leaves the
// terminal out of cooked mode, without echo, for libedit to make it raw. First the EOF
// character is switched off, so that a Ctrl-D typed from then on stays a character; then
// the lines already there are read (a read of 0 bytes is a mark, a line cut by a mark comes
// without its newline). Returns 1 with the terminal's settings in `cooked` to restore after
// readline(), or 0 when the terminal was not in cooked mode and nothing changed.
static int take_typed_ahead(int fd, struct termios *cooked) {
    if (tcgetattr(fd, cooked) != 0 || !(cooked->c_lflag & ICANON)) return 0;
    struct termios t = *cooked;
    t.c_cc[VEOF] = _POSIX_VDISABLE;
    if (tcsetattr(fd, TCSANOW, &t) != 0) return 0;
    forget_discarded_typed();
    if (g_typed_start > 0) {
        memmove(g_typed, g_typed + g_typed_start, g_typed_end - g_typed_start);
        g_typed_end -= g_typed_start;
        g_typed_start = 0;
    }
    // Room for a whole line (the line discipline holds at most 4095 bytes); a read never
    // splits one. Past that (lines typed far ahead) the rest stays in the kernel.
    while (sizeof g_typed - g_typed_end > 4096) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 0) != 1 || !(p.revents & POLLIN)) break;
        ssize_t n = read(fd, g_typed + g_typed_end, sizeof g_typed - g_typed_end);
        if (n < 0) break;
        if (n > 0) { g_typed_end += (size_t)n; continue; }
        if (cooked->c_cc[VEOF] != _POSIX_VDISABLE) g_typed[g_typed_end++] = cooked->c_cc[VEOF];
        if (p.revents & (POLLHUP | POLLERR)) break;
    }
    t.c_lflag &= ~(tcflag_t)(ICANON | ECHO | ECHONL);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (tcsetattr(fd, TCSANOW, &t) != 0) {
        tcsetattr(fd, TCSANOW, cooked);
        return 0;
    }
    return 1;
}

// One byte of input; -1 at the end, -2 after an interrupt.
static int read_byte(int fd) {
    unsigned char byte;
    for (;;) {
        if (g_interrupted) return -2;
        forget_discarded_typed();
        if (g_typed_start < g_typed_end) return g_typed[g_typed_start++];
        ssize_t n = read(fd, &byte, 1);
        if (n == 1) return byte;
        if (n == 0 || errno != EINTR) return -1;
    }
}

// libedit's character source while readline() runs: one character (a UTF-8 sequence
// decoded, as libedit's own reader does in a UTF-8 locale) until an interrupt.
static int interruptible_getc(FILE *stream) {
    int fd = fileno(stream);
    int c = read_byte(fd);
    int more = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
    if (more) c &= 0x3F >> more;
    while (c >= 0 && more-- > 0) {
        int next = read_byte(fd);
        if (next < 0) { c = next; break; }
        c = (c << 6) | (next & 0x3F);
    }
    if (c == -2) {
        // What the terminal would echo, then the end of the (dropped) line.
        (void)!write(fileno(rl_outstream ? rl_outstream : stdout), "^C", 2);
        return '\n';
    }
    return c;
}

// libedit reads and shows characters in the thread's locale, which is "C" (ASCII) unless
// set: it works in C.UTF-8, for the time of the call only.
static locale_t utf8_locale(void) {
    static locale_t loc;
    if (loc == (locale_t)0) loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
    return loc;
}

static int l_readline(lua_State *L) {
    const char *prompt = luaL_optstring(L, 1, "> ");
    g_state = L;
    rl_attempted_completion_function = attempt_completion;
    rl_completion_append_character = '\0';
    struct sigaction action, previous;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_interrupt;
    sigemptyset(&action.sa_mask);
    g_interrupted = 0;
    sigaction(SIGINT, &action, &previous);
    int fd = fileno(rl_instream ? rl_instream : stdin);
    struct termios cooked;
    int took = isatty(fd) && take_typed_ahead(fd, &cooked);
    locale_t loc = utf8_locale(), before = loc ? uselocale(loc) : (locale_t)0;
    char *line = readline(prompt);
    if (loc) uselocale(before);
    // Back to the settings a chunk runs with (libedit restores those it saw first).
    if (took) tcsetattr(fd, TCSADRAIN, &cooked);
    sigaction(SIGINT, &previous, NULL);
    int interrupted = g_interrupted;
    g_interrupted = 0;
    g_state = NULL;
    clear_candidates();
    if (interrupted) {
        // false: the line was cancelled (nil is the end of input).
        free(line);
        lua_pushboolean(L, 0);
        return 1;
    }
    if (line == NULL) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushstring(L, line);
    free(line);
    return 1;
}

// Ctrl-C while the REPL runs a chunk stops the chunk with an error ("interrupted!"), as in
// `lua`: the handler sets a hook, which raises the error at the chunk's next call, return
// or instruction (lua_sethook may be called from a signal handler). Between
// catch_interrupts(true) and catch_interrupts(false).
static lua_State *g_running;
static struct sigaction g_before_running;

static void stop_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    lua_sethook(L, NULL, 0, 0);
    luaL_error(L, "interrupted!");
}

static void on_interrupt_while_running(int signo) {
    (void)signo;
    g_discard_typed = 1;
    if (g_running) lua_sethook(g_running, stop_hook, LUA_MASKCALL | LUA_MASKRET | LUA_MASKCOUNT, 1);
}

static int l_catch_interrupts(lua_State *L) {
    int on = lua_toboolean(L, 1);
    if (on && g_running == NULL) {
        struct sigaction action;
        memset(&action, 0, sizeof action);
        action.sa_handler = on_interrupt_while_running;
        action.sa_flags = SA_RESTART;
        sigemptyset(&action.sa_mask);
        g_running = L;
        sigaction(SIGINT, &action, &g_before_running);
    } else if (!on && g_running != NULL) {
        sigaction(SIGINT, &g_before_running, NULL);
        // A hook set by an interrupt that came after the chunk's last instruction.
        if (lua_gethook(g_running) == stop_hook) lua_sethook(g_running, NULL, 0, 0);
        g_running = NULL;
    }
    return 0;
}

static int l_add_history(lua_State *L) {
    add_history(luaL_checkstring(L, 1));
    return 0;
}

static int l_read_history(lua_State *L) {
    // The REPL's first call into libedit, which sets itself up for the locale it finds.
    locale_t loc = utf8_locale(), before = loc ? uselocale(loc) : (locale_t)0;
    int rc = read_history(luaL_checkstring(L, 1));
    if (loc) uselocale(before);
    lua_pushboolean(L, rc == 0);
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
    // Read before libedit's first use (rl_initialize, on the first readline or history call).
    rl_getc_function = interruptible_getc;
    static const luaL_Reg fns[] = {
        {"readline", l_readline},
        {"add_history", l_add_history},
        {"read_history", l_read_history},
        {"write_history", l_write_history},
        {"set_completer", l_set_completer},
        {"catch_interrupts", l_catch_interrupts},
        {NULL, NULL},
    };
    lua_createtable(L, 0, 6);
    luaL_setfuncs(L, fns, 0);
}
