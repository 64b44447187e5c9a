#define _GNU_SOURCE   // sched_getaffinity, CPU_COUNT
#include "mdl_layer_writer.h"

#include <errno.h>
#include <libdeflate.h>
#include <nettle/sha2.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "mdl_stream.h"

#define MAX_WORKERS 4

enum { FREE, FILLED, WORKING, DONE };

struct slot {
    uint8_t *in;       // tar bytes (MDL_LAYER_CHUNK at most)
    size_t in_len;
    uint8_t *out;      // their member or frame
    size_t out_len;
    int state;
};

struct worker {
    mdl_layer_writer *w;
    pthread_t thread;
    int live;
    struct libdeflate_compressor *deflate;
    ZSTD_CCtx *zstd;
};

struct mdl_layer_writer {
    int blob_fd;
    int kind;          // MDL_KIND_GZIP or MDL_KIND_ZSTD
    int level;
    size_t out_cap;

    pthread_mutex_t lock;
    pthread_cond_t changed;
    struct slot *slots;
    int nslots;
    int fill;          // the slot the producer writes into (producer's only)
    int take;          // the next slot a worker compresses
    int emit;          // the next slot to be written to the blob, in order
    int emitting;      // a worker is writing slots out (the lock is not held meanwhile)
    int ending;        // no more slots will be filled
    int failed;        // a worker stopped on an error
    uint64_t submitted;

    struct worker workers[MAX_WORKERS];
    int nworkers;      // how many may run
    int started;

    struct sha256_ctx tar_hash;    // producer's
    uint64_t tar_size;
    struct sha256_ctx blob_hash;   // the emitting worker's
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

// With the lock held: the first error is the one reported.
static void fail(mdl_layer_writer *w, const char *fmt, const char *detail) {
    if (!w->failed) snprintf(w->error, sizeof w->error, fmt, detail);
    w->failed = 1;
    pthread_cond_broadcast(&w->changed);
}

// One chunk into one complete gzip member or zstd frame, with the worker's own state.
static int compress_slot(mdl_layer_writer *w, struct worker *k, struct slot *s) {
    if (w->kind == MDL_KIND_GZIP) {
        if (!k->deflate && !(k->deflate = libdeflate_alloc_compressor(w->level))) return -1;
        s->out_len = libdeflate_gzip_compress(k->deflate, s->in, s->in_len, s->out, w->out_cap);
        return s->out_len == 0 ? -1 : 0;
    }
    if (!k->zstd && !(k->zstd = ZSTD_createCCtx())) return -1;
    size_t n = ZSTD_compressCCtx(k->zstd, s->out, w->out_cap, s->in, s->in_len, w->level);
    if (ZSTD_isError(n)) return -1;
    s->out_len = n;
    return 0;
}

static const char *compress_failed(mdl_layer_writer *w) {
    return w->kind == MDL_KIND_GZIP ? "gzip: compression failed" : "zstd: compression failed";
}

// With the lock held: writes out, in order, every compressed slot that is next, unless
// another worker is doing that already (it will see this one too).
static void emit_ready(mdl_layer_writer *w) {
    if (w->emitting) return;
    w->emitting = 1;
    while (!w->failed && w->slots[w->emit].state == DONE) {
        struct slot *s = &w->slots[w->emit];
        pthread_mutex_unlock(&w->lock);
        nettle_sha256_update(&w->blob_hash, s->out_len, s->out);
        int rc = write_all(w->blob_fd, s->out, s->out_len);
        int err = errno;
        pthread_mutex_lock(&w->lock);
        if (rc < 0) { fail(w, "writing the blob: %s", strerror(err)); break; }
        w->blob_size += s->out_len;
        s->state = FREE;
        s->in_len = 0;
        w->emit = (w->emit + 1) % w->nslots;
        pthread_cond_broadcast(&w->changed);
    }
    w->emitting = 0;
}

static void *work(void *arg) {
    struct worker *k = arg;
    mdl_layer_writer *w = k->w;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        // Another worker may take the slot while this one waits: look again after each wake.
        while (w->slots[w->take].state != FILLED && !w->ending && !w->failed) pthread_cond_wait(&w->changed, &w->lock);
        struct slot *s = &w->slots[w->take];
        if (w->failed || s->state != FILLED) break;   // failed, or ending with nothing left
        s->state = WORKING;
        w->take = (w->take + 1) % w->nslots;
        pthread_mutex_unlock(&w->lock);
        int rc = compress_slot(w, k, s);
        pthread_mutex_lock(&w->lock);
        if (rc < 0) { fail(w, "%s", compress_failed(w)); break; }
        s->state = DONE;
        emit_ready(w);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

static int usable_cpus(void) {
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) return CPU_COUNT(&set);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

mdl_layer_writer *mdl_layer_writer_new(int blob_fd, int kind, int level) {
    if (kind != MDL_KIND_GZIP && kind != MDL_KIND_ZSTD) return NULL;
    if (kind == MDL_KIND_GZIP && (level < 0 || level > 12)) return NULL;
    mdl_layer_writer *w = calloc(1, sizeof *w);
    if (!w) return NULL;
    w->blob_fd = blob_fd;
    w->kind = kind;
    w->level = level;
    int cpus = usable_cpus();
    w->nworkers = cpus < 1 ? 1 : cpus > MAX_WORKERS ? MAX_WORKERS : cpus;
    // Each worker holds one slot, the producer fills one, and one more lets a worker go
    // on while the slot before it still waits to be written out.
    w->nslots = w->nworkers + 2;
    if (kind == MDL_KIND_GZIP) {
        struct libdeflate_compressor *c = libdeflate_alloc_compressor(level);
        if (!c) { free(w); return NULL; }
        w->out_cap = libdeflate_gzip_compress_bound(c, MDL_LAYER_CHUNK);
        w->workers[0].deflate = c;   // worker 0 (or the producer, for a small layer) uses it
    } else {
        w->out_cap = ZSTD_compressBound(MDL_LAYER_CHUNK);
    }
    for (int i = 0; i < MAX_WORKERS; i++) w->workers[i].w = w;
    w->slots = calloc((size_t)w->nslots, sizeof *w->slots);
    nettle_sha256_init(&w->tar_hash);
    nettle_sha256_init(&w->blob_hash);
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->changed, NULL);
    if (!w->slots) { mdl_layer_writer_free(w); return NULL; }
    return w;
}

const char *mdl_layer_writer_error(mdl_layer_writer *w) { return w->error[0] ? w->error : "unknown error"; }

// Slots' buffers are allocated when first used: a small layer needs one.
static int ready(mdl_layer_writer *w, struct slot *s) {
    if (s->in) return 0;
    s->in = malloc(MDL_LAYER_CHUNK);
    s->out = malloc(w->out_cap);
    if (s->in && s->out) return 0;
    pthread_mutex_lock(&w->lock);
    fail(w, "%s", "out of memory");
    pthread_mutex_unlock(&w->lock);
    return -1;
}

// Hands the producer's slot to the workers (starting one more while fewer run than there
// are chunks in flight) and waits for the next slot to be free.
static int submit(mdl_layer_writer *w) {
    pthread_mutex_lock(&w->lock);
    w->slots[w->fill].state = FILLED;
    w->submitted++;
    pthread_cond_broadcast(&w->changed);
    if (w->started < w->nworkers && (uint64_t)w->started < w->submitted) {
        struct worker *k = &w->workers[w->started];
        if (pthread_create(&k->thread, NULL, work, k) == 0) {
            k->live = 1;
            w->started++;
        } else if (w->started == 0) {
            fail(w, "%s", "cannot start the compressor");
        }
    }
    w->fill = (w->fill + 1) % w->nslots;
    while (w->slots[w->fill].state != FREE && !w->failed) pthread_cond_wait(&w->changed, &w->lock);
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
        if (ready(w, s) < 0) return -1;
        size_t n = MDL_LAYER_CHUNK - s->in_len;
        if (n > len) n = len;
        memcpy(s->in + s->in_len, p, n);
        s->in_len += n;
        p += n;
        len -= n;
        if (s->in_len == MDL_LAYER_CHUNK && submit(w) < 0) return -1;
    }
    return 0;
}

static void digest_hex(struct sha256_ctx *ctx, char *hex) {
    uint8_t d[SHA256_DIGEST_SIZE];
    nettle_sha256_digest(ctx, sizeof d, d);
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}

static void stop(mdl_layer_writer *w) {
    pthread_mutex_lock(&w->lock);
    w->ending = 1;
    pthread_cond_broadcast(&w->changed);
    pthread_mutex_unlock(&w->lock);
    for (int i = 0; i < w->started; i++) {
        if (w->workers[i].live) pthread_join(w->workers[i].thread, NULL);
        w->workers[i].live = 0;
    }
}

int mdl_layer_writer_finish(mdl_layer_writer *w, char *blob_hex, char *diff_hex,
                            uint64_t *blob_size, uint64_t *tar_size) {
    struct slot *s = &w->slots[w->fill];
    // An empty stream is still one (empty) member, so the blob is valid gzip or zstd.
    int last = s->in_len > 0 || w->submitted == 0;
    if (last && w->started == 0 && !w->failed) {
        // The whole layer is this one chunk: compressed here, no thread started.
        if (ready(w, s) < 0) return -1;
        pthread_mutex_lock(&w->lock);
        if (compress_slot(w, &w->workers[0], s) < 0) fail(w, "%s", compress_failed(w));
        else { s->state = DONE; emit_ready(w); }
        pthread_mutex_unlock(&w->lock);
    } else if (last) {
        if (ready(w, s) < 0 || submit(w) < 0) { stop(w); return -1; }
    }
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
    // Without finish the blob is dropped: the workers stop without compressing the rest.
    pthread_mutex_lock(&w->lock);
    w->failed = 1;
    pthread_mutex_unlock(&w->lock);
    stop(w);
    pthread_mutex_destroy(&w->lock);
    pthread_cond_destroy(&w->changed);
    for (int i = 0; w->slots && i < w->nslots; i++) { free(w->slots[i].in); free(w->slots[i].out); }
    free(w->slots);
    for (int i = 0; i < MAX_WORKERS; i++) {
        libdeflate_free_compressor(w->workers[i].deflate);
        if (w->workers[i].zstd) ZSTD_freeCCtx(w->workers[i].zstd);
    }
    free(w);
}
