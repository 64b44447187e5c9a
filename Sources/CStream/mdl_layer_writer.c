#include "mdl_layer_writer.h"

#include <errno.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "mdl_stream.h"

#define SLOTS 4
#define SLOT_SIZE (1024 * 1024)

struct slot {
    uint8_t *data;
    size_t len;
    int full;   // filled by the producer, not yet compressed
};

struct mdl_layer_writer {
    int blob_fd;
    int kind;          // MDL_KIND_GZIP or MDL_KIND_ZSTD
    ZSTD_CCtx *zstd;
    z_stream z;
    int z_live;
    uint8_t *out;
    size_t out_cap;

    pthread_t thread;
    int thread_live;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct slot slots[SLOTS];
    int fill;        // the slot the producer writes into (producer's only)
    int drain;       // the next slot the compressor takes (compressor's only)
    int ending;      // no more slots will be filled
    int failed;      // the compressor stopped on an error

    struct sha256_ctx tar_hash;    // producer's
    uint64_t tar_size;
    struct sha256_ctx blob_hash;   // compressor's
    uint64_t blob_size;
    char error[256];
};

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

static int emit(mdl_layer_writer *w, size_t n) {
    if (n == 0) return 0;
    nettle_sha256_update(&w->blob_hash, n, w->out);
    w->blob_size += n;
    if (write_all(w->blob_fd, w->out, n) < 0) {
        snprintf(w->error, sizeof w->error, "writing the blob: %s", strerror(errno));
        return -1;
    }
    return 0;
}

static int deflate_block(mdl_layer_writer *w, const uint8_t *data, size_t len, int end) {
    w->z.next_in = (Bytef *)data;
    w->z.avail_in = (uInt)len;
    for (;;) {
        w->z.next_out = w->out;
        w->z.avail_out = (uInt)w->out_cap;
        int rc = deflate(&w->z, end ? Z_FINISH : Z_NO_FLUSH);
        if (rc == Z_STREAM_ERROR) {
            snprintf(w->error, sizeof w->error, "gzip: %s", w->z.msg ? w->z.msg : "deflate failed");
            return -1;
        }
        if (emit(w, w->out_cap - w->z.avail_out) < 0) return -1;
        if (end ? rc == Z_STREAM_END : (w->z.avail_in == 0 && w->z.avail_out != 0)) return 0;
    }
}

// Compresses one block (or, with end, flushes the frame) and writes what came out.
static int compress_block(mdl_layer_writer *w, const uint8_t *data, size_t len, int end) {
    if (w->kind == MDL_KIND_GZIP) return deflate_block(w, data, len, end);
    ZSTD_inBuffer in = { data, len, 0 };
    for (;;) {
        ZSTD_outBuffer out = { w->out, w->out_cap, 0 };
        size_t left = ZSTD_compressStream2(w->zstd, &out, &in, end ? ZSTD_e_end : ZSTD_e_continue);
        if (ZSTD_isError(left)) {
            snprintf(w->error, sizeof w->error, "zstd: %s", ZSTD_getErrorName(left));
            return -1;
        }
        if (emit(w, out.pos) < 0) return -1;
        if (end ? left == 0 : in.pos == in.size) return 0;
    }
}

static void *compressor(void *arg) {
    mdl_layer_writer *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->lock);
        struct slot *s = &w->slots[w->drain];
        while (!s->full && !w->ending) pthread_cond_wait(&w->changed, &w->lock);
        int last = !s->full;   // ending, and nothing left to compress
        pthread_mutex_unlock(&w->lock);
        if (last) {
            int rc = compress_block(w, NULL, 0, 1);
            pthread_mutex_lock(&w->lock);
            if (rc < 0) w->failed = 1;
            pthread_mutex_unlock(&w->lock);
            return NULL;
        }
        int rc = compress_block(w, s->data, s->len, 0);
        pthread_mutex_lock(&w->lock);
        s->full = 0;
        s->len = 0;
        if (rc < 0) w->failed = 1;
        w->drain = (w->drain + 1) % SLOTS;
        pthread_cond_broadcast(&w->changed);
        pthread_mutex_unlock(&w->lock);
        if (rc < 0) return NULL;
    }
}

mdl_layer_writer *mdl_layer_writer_new(int blob_fd, int kind, int level) {
    mdl_layer_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->blob_fd = blob_fd;
    w->kind = kind;
    w->out_cap = 256 * 1024;
    w->out = malloc(w->out_cap);
    int ok = w->out != NULL;
    if (ok && kind == MDL_KIND_ZSTD) {
        w->zstd = ZSTD_createCCtx();
        ok = w->zstd && !ZSTD_isError(ZSTD_CCtx_setParameter(w->zstd, ZSTD_c_compressionLevel, level));
    } else if (ok && kind == MDL_KIND_GZIP) {
        // 15 + 16: a gzip wrapper, as layers are.
        ok = deflateInit2(&w->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
        w->z_live = ok;
    } else {
        ok = 0;
    }
    for (int i = 0; ok && i < SLOTS; i++) ok = (w->slots[i].data = malloc(SLOT_SIZE)) != NULL;
    nettle_sha256_init(&w->tar_hash);
    nettle_sha256_init(&w->blob_hash);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->changed, NULL);
    if (ok && pthread_create(&w->thread, NULL, compressor, w) == 0) {
        w->thread_live = 1;
        return w;
    }
    mdl_layer_writer_free(w);
    return NULL;
}

const char *mdl_layer_writer_error(mdl_layer_writer *w) { return w->error[0] ? w->error : "unknown error"; }

// Hands the producer's slot to the compressor and waits for the next one to be free.
static int submit(mdl_layer_writer *w) {
    pthread_mutex_lock(&w->lock);
    w->slots[w->fill].full = 1;
    pthread_cond_broadcast(&w->changed);
    w->fill = (w->fill + 1) % SLOTS;
    while (w->slots[w->fill].full && !w->failed) pthread_cond_wait(&w->changed, &w->lock);
    int failed = w->failed;
    pthread_mutex_unlock(&w->lock);
    return failed ? -1 : 0;
}

int mdl_layer_writer_write(mdl_layer_writer *w, const void *data, size_t len) {
    const uint8_t *p = data;
    nettle_sha256_update(&w->tar_hash, len, p);
    w->tar_size += len;
    while (len > 0) {
        struct slot *s = &w->slots[w->fill];
        size_t n = SLOT_SIZE - s->len;
        if (n > len) n = len;
        memcpy(s->data + s->len, p, n);
        s->len += n;
        p += n;
        len -= n;
        if (s->len == SLOT_SIZE && submit(w) < 0) return -1;
    }
    return 0;
}

static void digest_hex(struct sha256_ctx *ctx, char *hex) {
    uint8_t d[SHA256_DIGEST_SIZE];
    nettle_sha256_digest(ctx, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static void stop(mdl_layer_writer *w) {
    if (!w->thread_live) return;
    pthread_mutex_lock(&w->lock);
    w->ending = 1;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    w->thread_live = 0;
}

int mdl_layer_writer_finish(mdl_layer_writer *w, char *blob_hex, char *diff_hex,
                            uint64_t *blob_size, uint64_t *tar_size) {
    if (w->slots[w->fill].len > 0 && submit(w) < 0) { stop(w); return -1; }
    stop(w);
    if (w->failed) return -1;
    digest_hex(&w->blob_hash, blob_hex);
    digest_hex(&w->tar_hash, diff_hex);
    *blob_size = w->blob_size;
    *tar_size = w->tar_size;
    return 0;
}

void mdl_layer_writer_free(mdl_layer_writer *w) {
    if (!w) return;
    stop(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->changed);
    for (int i = 0; i < SLOTS; i++) free(w->slots[i].data);
    if (w->zstd) ZSTD_freeCCtx(w->zstd);
    if (w->z_live) deflateEnd(&w->z);
    free(w->out);
    free(w);
}
