#ifndef MDL_ATTACH_H
#define MDL_ATTACH_H

#include <stddef.h>

// The attach socket of a detached container: its monitor listens on
// <container dir>/attach.sock; `mdlua attach` connects.
//
// Protocol. On connecting, the monitor sends one byte: 'T' for a container with a terminal
// (the pty master's fd comes with it, SCM_RIGHTS, so the client can set the window size), or
// 'M' for one without. Then the monitor sends what the container writes from then on: raw
// bytes with a terminal; without one, frames as Docker's attach stream has them: a header
// [stream (1 stdout, 2 stderr), 0, 0, 0, length as 4 bytes big-endian] and the bytes. What
// the client sends is the container's input. The monitor closes the connection when the
// container stops.

// Paths are reached through the directory's fd (/proc/self/fd/N/name): a socket path is
// limited to 107 bytes, a state root's is not.
int mdl_unix_listen(int dirfd, const char *name);
int mdl_unix_connect(int dirfd, const char *name);

// Monitor side: a new client (non-blocking), or -1;
int mdl_attach_accept(int listener);
// the greeting byte with an optional fd (-1: none); a frame of output
// (stream 0: raw). Non-blocking sockets: -1 when the client cannot take it now (it is
// dropped: a slow client never stalls the container).
int mdl_attach_greet(int sock, char kind, int fd);
int mdl_attach_send(int sock, int stream, const void *data, size_t len);

// Client side: relays until the monitor closes the connection, or the user types the
// detach keys (`keys`, `nkeys` bytes; Ctrl-P Ctrl-Q when NULL; none when nkeys is 0 and keys
// is not NULL) on a terminal. stdin is relayed when `with_stdin`; a terminal on stdin is put
// in raw mode for a container with one and restored on return. Returns 0 when the
// container's stream ended, 1 when detached, -1 on a protocol error.
int mdl_attach_relay(int sock, int with_stdin, const unsigned char *keys, size_t nkeys);

// The detach keys in a stream of input, as Docker matches them: the bytes of a partial match
// are held back until the sequence completes (then *detached is set and nothing more is
// taken) or fails (then they are passed on). `matched` keeps the state between calls, 0 at
// first. Writes what is to be passed on to `out` (room for n + nkeys bytes), returns its
// length.
size_t mdl_detach_filter(const unsigned char *keys, size_t nkeys, size_t *matched, const unsigned char *in, size_t n,
                         unsigned char *out, int *detached);

#endif
