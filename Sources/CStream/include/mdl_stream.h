// A blob read once: its bytes are hashed (the blob digest), optionally copied to a file
// (the store's copy), and — for a layer — decompressed (gzip, zstd or none), hashed again
// (the diff ID) and parsed as a tar by libarchive. One pass over the input, no temp files.
#ifndef MDL_STREAM_H
#define MDL_STREAM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct archive;
typedef struct mdl_stream mdl_stream;

enum {
    MDL_KIND_EMPTY = 0,
    MDL_KIND_TAR = 1,
    MDL_KIND_GZIP = 2,
    MDL_KIND_ZSTD = 3,
    MDL_KIND_OTHER = 4,   // not a layer: JSON, or garbage
};

// Reads from a file descriptor (not closed by the stream).
mdl_stream *mdl_stream_from_fd(int fd);
// Reads the current entry of an outer archive (a `docker save` or OCI archive).
mdl_stream *mdl_stream_from_archive(struct archive *outer);
// Every byte read from the input is also written to copy_fd (-1: none), including those
// already read to tell the kind. Returns -1 on a write error.
int mdl_stream_copy_to(mdl_stream *s, int copy_fd);
void mdl_stream_free(mdl_stream *s);

// Looks at the first bytes: what kind of blob this is. -1 on a read error.
int mdl_stream_kind(mdl_stream *s);
// Reads raw bytes (for a blob that is not a layer). Returns bytes read, 0 at the end, -1 on error.
ssize_t mdl_stream_read(mdl_stream *s, void *buf, size_t len);
// The next block of decompressed bytes (a layer blob saved as a plain tar). Returns its
// size, 0 at the end, -1 on error; *buf stays valid until the next call.
ssize_t mdl_stream_read_plain(mdl_stream *s, const void **buf);
// The tar inside the (decompressed) stream, as a libarchive reader; NULL on error.
// The stream owns it.
struct archive *mdl_stream_tar(mdl_stream *s);
// Reads what is left (tar padding, trailing data) and finishes both digests.
// hex buffers take 65 bytes. Returns 0, or -1 with mdl_stream_error set.
int mdl_stream_finish(mdl_stream *s, char *raw_hex, char *plain_hex, uint64_t *raw_size, uint64_t *plain_size);
// After a failure part way: reads the rest of the input only to finish the blob digest, so
// a caller can tell a blob that is not the one named from one that is corrupt as named.
// Returns 0, or -1 when the input itself cannot be read.
int mdl_stream_raw_digest(mdl_stream *s, char *raw_hex, uint64_t *raw_size);
// The raw input is not hashed (its bytes are still counted): for a caller that hashes the
// same bytes itself and checks them against their digest (a pull's download). Nor is a gzip
// member's CRC-32 computed: that digest covers it. mdl_stream_finish then gives an empty
// raw_hex, and mdl_stream_raw_digest fails at once. Call before the first read.
void mdl_stream_skip_raw_digest(mdl_stream *s);
const char *mdl_stream_error(mdl_stream *s);

// SHA-256 for blobs the engine writes itself.
typedef struct mdl_sha256 mdl_sha256;
mdl_sha256 *mdl_sha256_new(void);
void mdl_sha256_update(mdl_sha256 *h, const void *data, size_t len);
void mdl_sha256_hex(mdl_sha256 *h, char *hex);   // finishes and resets; 65 bytes
void mdl_sha256_free(mdl_sha256 *h);

#endif
