// A layer blob written as its tar is produced: the tar bytes are hashed (the diff ID) and
// handed to a thread of their own that compresses them (gzip or zstd), hashes the compressed
// bytes (the blob digest) and writes them to the blob file. The producer never waits for
// the compressor unless every buffer is in flight.
#ifndef MDL_LAYER_WRITER_H
#define MDL_LAYER_WRITER_H

#include <stddef.h>
#include <stdint.h>

typedef struct mdl_layer_writer mdl_layer_writer;

// blob_fd stays the caller's. kind: MDL_KIND_GZIP or MDL_KIND_ZSTD (mdl_stream.h); level:
// that compressor's level. NULL when out of memory, for another kind, or when the thread
// could not start.
mdl_layer_writer *mdl_layer_writer_new(int blob_fd, int kind, int level);
// Appends tar bytes. 0, or -1 with mdl_layer_writer_error set (a failed write, say).
int mdl_layer_writer_write(mdl_layer_writer *w, const void *data, size_t len);
// Ends the stream, waits for the compressor and gives both digests (65-byte hex buffers)
// and sizes. 0, or -1 with the error set.
int mdl_layer_writer_finish(mdl_layer_writer *w, char *blob_hex, char *diff_hex,
                            uint64_t *blob_size, uint64_t *tar_size);
const char *mdl_layer_writer_error(mdl_layer_writer *w);
// Stops the thread if finish was not called, and frees everything.
void mdl_layer_writer_free(mdl_layer_writer *w);

#endif
