#include "mdl_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <nettle/sha2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#define CHUNK (256 * 1024)

struct mdl_sha256 { struct sha256_ctx ctx; };

mdl_sha256 *mdl_sha256_new(void) {
    mdl_sha256 *h = malloc(sizeof *h);
    if (h) nettle_sha256_init(&h->ctx);
    return h;
}
void mdl_sha256_update(mdl_sha256 *h, const void *data, size_t len) {
    nettle_sha256_update(&h->ctx, len, data);
}
static void digest_hex(struct sha256_ctx *ctx, char *hex) {
    uint8_t d[SHA256_DIGEST_SIZE];
    nettle_sha256_digest(ctx, sizeof d, d);   // also resets the context
    for (int i = 0; i < SHA256_DIGEST_SIZE; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
}
void mdl_sha256_hex(mdl_sha256 *h, char *hex) { digest_hex(&h->ctx, hex); }
void mdl_sha256_free(mdl_sha256 *h) { free(h); }

struct mdl_stream {
    int fd;
    struct archive *outer;
    int copy_fd;
    int kind;
    int raw_eof;
    char error[256];

    // Raw input: what was read but not consumed yet.
    uint8_t *raw;
    size_t raw_len, raw_pos;
    uint64_t raw_total;
    struct sha256_ctx raw_hash;
    int raw_unhashed;

    // Decompressed output handed to libarchive.
    uint8_t *plain;
    uint64_t plain_total;
    struct sha256_ctx plain_hash;
    z_stream z;
    int z_live;
    // Zero bytes were met where a next gzip member would start (see next_plain).
    int z_padding;
    ZSTD_DStream *zstd;
    int plain_eof;

    struct archive *tar;
};

static void set_error(mdl_stream *s, const char *fmt, const char *detail) {
    if (s->error[0] == '\0') snprintf(s->error, sizeof s->error, fmt, detail ? detail : "");
}

static int write_all(int fd, const uint8_t *p, size_t n) {
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) { if (errno == EINTR) continue; return -1; }
        p += w; n -= (size_t)w;
    }
    return 0;
}

static mdl_stream *stream_new(void) {
    mdl_stream *s = calloc(1, sizeof *s);
    if (!s) return NULL;
    s->fd = -1;
    s->copy_fd = -1;
    s->kind = -2;
    s->raw = malloc(CHUNK);
    s->plain = malloc(CHUNK);
    if (!s->raw || !s->plain) { free(s->raw); free(s->plain); free(s); return NULL; }
    nettle_sha256_init(&s->raw_hash);
    nettle_sha256_init(&s->plain_hash);
    return s;
}

mdl_stream *mdl_stream_from_fd(int fd) {
    mdl_stream *s = stream_new();
    if (s) s->fd = fd;
    return s;
}

mdl_stream *mdl_stream_from_archive(struct archive *outer) {
    mdl_stream *s = stream_new();
    if (s) s->outer = outer;
    return s;
}

int mdl_stream_copy_to(mdl_stream *s, int copy_fd) {
    // Bytes already read (to tell the kind) are copied now; later ones as they come.
    s->copy_fd = copy_fd;
    if (copy_fd >= 0 && s->raw_len > 0 && write_all(copy_fd, s->raw, s->raw_len) < 0) {
        set_error(s, "writing the blob: %s", strerror(errno));
        return -1;
    }
    return 0;
}

void mdl_stream_free(mdl_stream *s) {
    if (!s) return;
    if (s->tar) archive_read_free(s->tar);
    if (s->z_live) inflateEnd(&s->z);
    if (s->zstd) ZSTD_freeDStream(s->zstd);
    free(s->raw);
    free(s->plain);
    free(s);
}

const char *mdl_stream_error(mdl_stream *s) { return s->error[0] ? s->error : "unknown error"; }

// Refills the raw buffer (after moving the unread tail to the front). 0 at EOF, -1 on error.
static ssize_t fill_raw(mdl_stream *s) {
    if (s->raw_eof) return 0;
    if (s->raw_pos > 0) {
        memmove(s->raw, s->raw + s->raw_pos, s->raw_len - s->raw_pos);
        s->raw_len -= s->raw_pos;
        s->raw_pos = 0;
    }
    if (s->raw_len == CHUNK) return (ssize_t)s->raw_len;
    ssize_t n;
    for (;;) {
        if (s->outer) {
            n = archive_read_data(s->outer, s->raw + s->raw_len, CHUNK - s->raw_len);
            if (n < 0) { set_error(s, "%s", archive_error_string(s->outer)); return -1; }
        } else {
            n = read(s->fd, s->raw + s->raw_len, CHUNK - s->raw_len);
            if (n < 0 && errno == EINTR) continue;
            if (n < 0) { set_error(s, "read: %s", strerror(errno)); return -1; }
        }
        break;
    }
    if (n == 0) { s->raw_eof = 1; return 0; }
    if (!s->raw_unhashed) nettle_sha256_update(&s->raw_hash, (size_t)n, s->raw + s->raw_len);
    if (s->copy_fd >= 0 && write_all(s->copy_fd, s->raw + s->raw_len, (size_t)n) < 0) {
        set_error(s, "writing the blob: %s", strerror(errno));
        return -1;
    }
    s->raw_len += (size_t)n;
    s->raw_total += (uint64_t)n;
    return n;
}

int mdl_stream_kind(mdl_stream *s) {
    if (s->kind != -2) return s->kind;
    while (s->raw_len < 512 && !s->raw_eof) {
        if (fill_raw(s) < 0) return -1;
    }
    const uint8_t *b = s->raw;
    size_t n = s->raw_len;
    if (n == 0) s->kind = MDL_KIND_EMPTY;
    else if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b) s->kind = MDL_KIND_GZIP;
    else if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd) s->kind = MDL_KIND_ZSTD;
    else if (n >= 262 && memcmp(b + 257, "ustar", 5) == 0) s->kind = MDL_KIND_TAR;
    else {
        // An empty tar (only zero blocks) is a valid, empty layer.
        int zero = n >= 512;
        for (size_t i = 0; zero && i < 512; i++) zero = b[i] == 0;
        s->kind = zero ? MDL_KIND_TAR : MDL_KIND_OTHER;
    }
    return s->kind;
}

ssize_t mdl_stream_read(mdl_stream *s, void *buf, size_t len) {
    if (s->raw_pos == s->raw_len) {
        s->raw_pos = s->raw_len = 0;
        ssize_t n = fill_raw(s);
        if (n <= 0) return n;
    }
    size_t avail = s->raw_len - s->raw_pos;
    if (len > avail) len = avail;
    memcpy(buf, s->raw + s->raw_pos, len);
    s->raw_pos += len;
    return (ssize_t)len;
}

// Produces the next block of decompressed bytes into s->plain. Returns its size, 0 at the end.
static ssize_t next_plain(mdl_stream *s) {
    if (s->plain_eof) return 0;
    if (s->kind == MDL_KIND_TAR || s->kind == MDL_KIND_EMPTY) {
        ssize_t n = mdl_stream_read(s, s->plain, CHUNK);
        if (n < 0) return -1;
        if (n == 0) { s->plain_eof = 1; return 0; }
        nettle_sha256_update(&s->plain_hash, (size_t)n, s->plain);
        s->plain_total += (uint64_t)n;
        return n;
    }
    for (;;) {
        if (s->raw_pos == s->raw_len) {
            s->raw_pos = s->raw_len = 0;
            ssize_t n = fill_raw(s);
            if (n < 0) return -1;
            if (n == 0) {
                // Input ended. A compressor that did not reach its end means truncation.
                int finished = s->kind == MDL_KIND_GZIP ? !s->z_live : s->zstd == NULL;
                if (!finished) {
                    set_error(s, "%s", s->kind == MDL_KIND_GZIP ? "truncated gzip stream"
                                                                : "truncated zstd stream");
                    return -1;
                }
                s->plain_eof = 1;
                return 0;
            }
        }
        size_t produced = 0;
        if (s->kind == MDL_KIND_GZIP) {
            if (!s->z_live && (s->z_padding || s->raw[s->raw_pos] == 0)) {
                // Zero bytes after the last member (a writer that filled the blob to a block
                // size): the end, as for GNU gzip and for Docker, whose tar reader stops at the
                // end-of-archive blocks. Anything but zeros after them is not a gzip stream.
                s->z_padding = 1;
                while (s->raw_pos < s->raw_len && s->raw[s->raw_pos] == 0) s->raw_pos++;
                if (s->raw_pos < s->raw_len) {
                    set_error(s, "%s", "corrupt gzip stream: data after the zero bytes that end it");
                    return -1;
                }
                continue;
            }
            if (!s->z_live) {
                memset(&s->z, 0, sizeof s->z);
                if (inflateInit2(&s->z, 15 + 16) != Z_OK) { set_error(s, "%s", "zlib init failed"); return -1; }
                // The caller checks these bytes against their digest (and the layer against
                // its diff ID): the gzip trailer's CRC-32 adds nothing and cost 6% of a pull's CPU.
                if (s->raw_unhashed) inflateValidate(&s->z, 0);
                s->z_live = 1;
            }
            s->z.next_in = s->raw + s->raw_pos;
            s->z.avail_in = (uInt)(s->raw_len - s->raw_pos);
            s->z.next_out = s->plain;
            s->z.avail_out = CHUNK;
            int rc = inflate(&s->z, Z_NO_FLUSH);
            s->raw_pos = s->raw_len - s->z.avail_in;
            produced = CHUNK - s->z.avail_out;
            if (rc == Z_STREAM_END) {
                inflateEnd(&s->z);   // a following gzip member starts a new stream
                s->z_live = 0;
            } else if (rc != Z_OK && rc != Z_BUF_ERROR) {
                set_error(s, "corrupt gzip stream: %s", s->z.msg ? s->z.msg : "inflate failed");
                return -1;
            }
        } else {
            if (s->zstd == NULL) {
                s->zstd = ZSTD_createDStream();
                if (!s->zstd || ZSTD_isError(ZSTD_initDStream(s->zstd))) { set_error(s, "%s", "zstd init failed"); return -1; }
            }
            ZSTD_inBuffer in = { s->raw + s->raw_pos, s->raw_len - s->raw_pos, 0 };
            ZSTD_outBuffer out = { s->plain, CHUNK, 0 };
            size_t rc = ZSTD_decompressStream(s->zstd, &out, &in);
            if (ZSTD_isError(rc)) { set_error(s, "corrupt zstd stream: %s", ZSTD_getErrorName(rc)); return -1; }
            s->raw_pos += in.pos;
            produced = out.pos;
            if (rc == 0) { ZSTD_freeDStream(s->zstd); s->zstd = NULL; }
        }
        if (produced > 0) {
            nettle_sha256_update(&s->plain_hash, produced, s->plain);
            s->plain_total += produced;
            return (ssize_t)produced;
        }
    }
}

ssize_t mdl_stream_read_plain(mdl_stream *s, const void **buf) {
    if (mdl_stream_kind(s) < 0) return -1;
    ssize_t n = next_plain(s);
    *buf = s->plain;
    return n;
}

static la_ssize_t tar_read(struct archive *a, void *ctx, const void **buf) {
    mdl_stream *s = ctx;
    ssize_t n = next_plain(s);
    if (n < 0) { archive_set_error(a, EIO, "%s", mdl_stream_error(s)); return -1; }
    *buf = s->plain;
    return n;
}

struct archive *mdl_stream_tar(mdl_stream *s) {
    if (mdl_stream_kind(s) < 0) return NULL;
    if (s->kind == MDL_KIND_OTHER) { set_error(s, "%s", "not a tar archive (nor gzip or zstd)"); return NULL; }
    s->tar = archive_read_new();
    archive_read_support_format_tar(s->tar);
    archive_read_support_format_empty(s->tar);
    archive_read_support_filter_none(s->tar);
    if (archive_read_open(s->tar, s, NULL, tar_read, NULL) != ARCHIVE_OK) {
        set_error(s, "%s", archive_error_string(s->tar));
        return NULL;
    }
    return s->tar;
}

int mdl_stream_finish(mdl_stream *s, char *raw_hex, char *plain_hex, uint64_t *raw_size, uint64_t *plain_size) {
    if (s->error[0]) return -1;
    if (s->tar != NULL || s->kind == MDL_KIND_TAR || s->kind == MDL_KIND_GZIP || s->kind == MDL_KIND_ZSTD) {
        for (;;) {
            ssize_t n = next_plain(s);
            if (n < 0) return -1;
            if (n == 0) break;
        }
    } else {
        uint8_t buf[8192];
        for (;;) {
            ssize_t n = mdl_stream_read(s, buf, sizeof buf);
            if (n < 0) return -1;
            if (n == 0) break;
        }
    }
    if (s->raw_unhashed) raw_hex[0] = '\0'; else digest_hex(&s->raw_hash, raw_hex);
    digest_hex(&s->plain_hash, plain_hex);
    *raw_size = s->raw_total;
    *plain_size = s->plain_total;
    return 0;
}

void mdl_stream_skip_raw_digest(mdl_stream *s) { s->raw_unhashed = 1; }

int mdl_stream_raw_digest(mdl_stream *s, char *raw_hex, uint64_t *raw_size) {
    if (s->raw_unhashed) return -1;
    s->copy_fd = -1;   // the copy is dropped with the failed layer
    for (;;) {
        s->raw_pos = s->raw_len = 0;   // already hashed when read
        ssize_t n = fill_raw(s);
        if (n < 0) return -1;
        if (n == 0) break;
    }
    digest_hex(&s->raw_hash, raw_hex);
    *raw_size = s->raw_total;
    return 0;
}
