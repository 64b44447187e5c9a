// A netlink message builder shared by mdl_rtnl.c (links, addresses, routes) and mdl_nft.c
// (nf_tables batches): attributes appended to a growing buffer, nests closed by offset,
// and a send that waits for the kernel's acknowledgement of every message. Our own small
// layer instead of libmnl/libnl, as the release binary is fully static and Debian ships no
// static libmnl (docs/networking.md).
#ifndef MDL_NETLINK_H
#define MDL_NETLINK_H

#include <stddef.h>
#include <stdint.h>

struct mdl_nlbuf {
    unsigned char *data;
    size_t len, cap;
    int failed;        // an allocation failed: the send refuses the buffer
    uint32_t seq;      // the next message's sequence number
    uint32_t acks;     // messages sent with NLM_F_ACK
};

void mdl_nlbuf_init(struct mdl_nlbuf *b);
void mdl_nlbuf_free(struct mdl_nlbuf *b);
// Starts a message; returns its offset (for mdl_nl_msg_end).
size_t mdl_nl_msg_begin(struct mdl_nlbuf *b, uint16_t type, uint16_t flags, const void *hdr, size_t hdrlen);
void mdl_nl_msg_end(struct mdl_nlbuf *b, size_t msg);
void mdl_nl_put(struct mdl_nlbuf *b, uint16_t type, const void *data, size_t len);
// Raw bytes, aligned (a header inside a nest).
void mdl_nl_put_raw(struct mdl_nlbuf *b, const void *data, size_t len);
void mdl_nl_put_str(struct mdl_nlbuf *b, uint16_t type, const char *s);
void mdl_nl_put_u32(struct mdl_nlbuf *b, uint16_t type, uint32_t v);
void mdl_nl_put_be32(struct mdl_nlbuf *b, uint16_t type, uint32_t v);
size_t mdl_nl_nest_begin(struct mdl_nlbuf *b, uint16_t type);
void mdl_nl_nest_end(struct mdl_nlbuf *b, size_t nest);

// Sends the buffer on `fd` and reads replies until every message with NLM_F_ACK was
// acknowledged or one failed: 0, or a negative errno (err says which message). `reply`,
// when given, receives the payload of the first non-error reply (for GET requests).
int mdl_nl_transact(int fd, struct mdl_nlbuf *b, char *err, size_t errlen,
                    void *reply, size_t replylen);

#endif
