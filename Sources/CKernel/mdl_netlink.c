#define _GNU_SOURCE
#include "mdl_netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void mdl_nlbuf_init(struct mdl_nlbuf *b) {
    memset(b, 0, sizeof *b);
    b->seq = 1;
}

void mdl_nlbuf_free(struct mdl_nlbuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void *reserve(struct mdl_nlbuf *b, size_t n) {
    size_t need = b->len + NLMSG_ALIGN(n);
    if (b->failed) return NULL;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < need) cap *= 2;
        unsigned char *p = realloc(b->data, cap);
        if (!p) { b->failed = 1; return NULL; }
        b->data = p;
        b->cap = cap;
    }
    void *at = b->data + b->len;
    memset(at, 0, NLMSG_ALIGN(n));
    b->len = need;
    return at;
}

size_t mdl_nl_msg_begin(struct mdl_nlbuf *b, uint16_t type, uint16_t flags, const void *hdr, size_t hdrlen) {
    size_t off = b->len;
    struct nlmsghdr *h = reserve(b, sizeof *h);
    if (!h) return off;
    h->nlmsg_type = type;
    h->nlmsg_flags = NLM_F_REQUEST | flags;
    h->nlmsg_seq = b->seq++;
    if (flags & NLM_F_ACK) b->acks++;
    void *p = reserve(b, hdrlen);
    if (p && hdrlen) memcpy(p, hdr, hdrlen);
    return off;
}

void mdl_nl_msg_end(struct mdl_nlbuf *b, size_t msg) {
    if (b->failed) return;
    ((struct nlmsghdr *)(b->data + msg))->nlmsg_len = (uint32_t)(b->len - msg);
}

void mdl_nl_put(struct mdl_nlbuf *b, uint16_t type, const void *data, size_t len) {
    struct nlattr *a = reserve(b, NLA_HDRLEN + len);
    if (!a) return;
    a->nla_type = type;
    a->nla_len = (uint16_t)(NLA_HDRLEN + len);
    if (len) memcpy((unsigned char *)a + NLA_HDRLEN, data, len);
}

void mdl_nl_put_raw(struct mdl_nlbuf *b, const void *data, size_t len) {
    void *p = reserve(b, len);
    if (p) memcpy(p, data, len);
}

void mdl_nl_put_str(struct mdl_nlbuf *b, uint16_t type, const char *s) { mdl_nl_put(b, type, s, strlen(s) + 1); }
void mdl_nl_put_u32(struct mdl_nlbuf *b, uint16_t type, uint32_t v) { mdl_nl_put(b, type, &v, sizeof v); }
void mdl_nl_put_be32(struct mdl_nlbuf *b, uint16_t type, uint32_t v) {
    uint32_t be = __builtin_bswap32(v);
    mdl_nl_put(b, type, &be, sizeof be);
}

size_t mdl_nl_nest_begin(struct mdl_nlbuf *b, uint16_t type) {
    size_t off = b->len;
    struct nlattr *a = reserve(b, NLA_HDRLEN);
    if (a) a->nla_type = type | NLA_F_NESTED;
    return off;
}

void mdl_nl_nest_end(struct mdl_nlbuf *b, size_t nest) {
    if (b->failed) return;
    ((struct nlattr *)(b->data + nest))->nla_len = (uint16_t)(b->len - nest);
}

int mdl_nl_transact(int fd, struct mdl_nlbuf *b, char *err, size_t errlen, void *reply, size_t replylen) {
    if (b->failed) { snprintf(err, errlen, "netlink: out of memory"); return -ENOMEM; }
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    ssize_t n;
    do n = sendto(fd, b->data, b->len, 0, (struct sockaddr *)&kernel, sizeof kernel);
    while (n < 0 && errno == EINTR);
    if (n < 0) { int e = errno; snprintf(err, errlen, "netlink send: %s", strerror(e)); return -e; }
    uint32_t acked = 0;
    int got_reply = reply == NULL;
    static __thread unsigned char buf[65536];
    while (acked < b->acks || !got_reply) {
        do n = recv(fd, buf, sizeof buf, 0);
        while (n < 0 && errno == EINTR);
        if (n < 0) { int e = errno; snprintf(err, errlen, "netlink receive: %s", strerror(e)); return -e; }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_ERROR) {
                struct nlmsgerr *e = NLMSG_DATA(h);
                if (e->error != 0) {
                    snprintf(err, errlen, "%s", strerror(-e->error));
                    return e->error;
                }
                acked++;
            } else if (h->nlmsg_type == NLMSG_DONE) {
                got_reply = 1;
            } else if (!got_reply) {
                size_t len = h->nlmsg_len - NLMSG_HDRLEN;
                memcpy(reply, NLMSG_DATA(h), len < replylen ? len : replylen);
                got_reply = 1;
            }
        }
    }
    return 0;
}
