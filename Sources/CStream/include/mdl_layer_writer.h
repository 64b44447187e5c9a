// A layer blob written as its tar is produced: the tar bytes are hashed (the diff ID) and
// cut into chunks of MDL_LAYER_CHUNK bytes, which worker threads (up to one per CPU, at
// most 4) compress independently, each into a complete gzip member (libdeflate) or zstd
// frame; the members are hashed (the blob digest) and written to the blob file in order.
// A gzip file is a series of members (RFC 1952 2.2) and a zstd stream a series of frames,
// and every reader of layers reads them to the end. The cut falls at fixed offsets, so the
// same tar always gives the same blob. The producer waits only when every slot is in flight.
#ifndef MDL_LAYER_WRITER_H
#define MDL_LAYER_WRITER_H

#include <stddef.h>
#include <stdint.h>

// Tar bytes per member. Part of the output: changing it changes every created layer's digest.
#define MDL_LAYER_CHUNK (1024 * 1024)

typedef struct mdl_layer_writer mdl_layer_writer;

// blob_fd stays the caller's. kind: MDL_KIND_GZIP or MDL_KIND_ZSTD (mdl_stream.h); level:
// that compressor's level (libdeflate's 0-12 for gzip). NULL when out of memory, for
// another kind or an invalid level. No thread starts before the first full chunk: a layer
// smaller than one chunk is compressed in `finish`, on the caller's thread.
mdl_layer_writer *mdl_layer_writer_new(int blob_fd, int kind, int level);
// Appends tar bytes. 0, or -1 with mdl_layer_writer_error set (a failed write, say).
int mdl_layer_writer_write(mdl_layer_writer *w, const void *data, size_t len);
// Ends the stream, waits for the workers and gives both digests (65-byte hex buffers)
// and sizes. 0, or -1 with the error set.
int mdl_layer_writer_finish(mdl_layer_writer *w, char *blob_hex, char *diff_hex,
                            uint64_t *blob_size, uint64_t *tar_size);
const char *mdl_layer_writer_error(mdl_layer_writer *w);
// Stops the threads if finish was not called, and frees everything.
void mdl_layer_writer_free(mdl_layer_writer *w);

#endif
