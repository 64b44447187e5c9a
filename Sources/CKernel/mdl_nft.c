#define _GNU_SOURCE
#include "mdl_nft.h"
#include "mdl_netlink.h"

#include <errno.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/netfilter/nf_conntrack_common.h>
#include <linux/rtnetlink.h>

_Static_assert(MDL_NF_DROP == NF_DROP && MDL_NF_ACCEPT == NF_ACCEPT, "verdicts");
_Static_assert(MDL_NF_INET_PRE_ROUTING == NF_INET_PRE_ROUTING && MDL_NF_INET_FORWARD == NF_INET_FORWARD &&
               MDL_NF_INET_LOCAL_OUT == NF_INET_LOCAL_OUT && MDL_NF_INET_POST_ROUTING == NF_INET_POST_ROUTING, "hooks");
_Static_assert(MDL_NFT_CMP_EQ == NFT_CMP_EQ && MDL_NFT_CMP_NEQ == NFT_CMP_NEQ, "cmp");
_Static_assert(MDL_NFT_PAYLOAD_NETWORK_HEADER == NFT_PAYLOAD_NETWORK_HEADER &&
               MDL_NFT_PAYLOAD_TRANSPORT_HEADER == NFT_PAYLOAD_TRANSPORT_HEADER, "payload bases");
_Static_assert(MDL_NFT_META_IIFNAME == NFT_META_IIFNAME && MDL_NFT_META_OIFNAME == NFT_META_OIFNAME &&
               MDL_NFT_META_L4PROTO == NFT_META_L4PROTO, "meta keys");
_Static_assert(MDL_NFT_CT_STATUS == NFT_CT_STATUS && MDL_IPS_DST_NAT == IPS_DST_NAT && MDL_RTN_LOCAL == RTN_LOCAL, "ct, rtn");
_Static_assert(MDL_NFT_REG_VERDICT == NFT_REG_VERDICT && MDL_NFT_REG_1 == NFT_REG_1 && MDL_NFT_REG32_00 == NFT_REG32_00, "registers");

struct mdl_nft {
    struct mdl_nlbuf b;
    size_t rule_msg, rule_exprs, expr, expr_data;
};

static void batch_marker(struct mdl_nft *n, uint16_t type) {
    struct nfgenmsg g = { .nfgen_family = AF_UNSPEC, .version = NFNETLINK_V0,
                          .res_id = __builtin_bswap16(NFNL_SUBSYS_NFTABLES) };
    size_t m = mdl_nl_msg_begin(&n->b, type, 0, &g, sizeof g);
    mdl_nl_msg_end(&n->b, m);
}

struct mdl_nft *mdl_nft_new(void) {
    struct mdl_nft *n = calloc(1, sizeof *n);
    if (!n) return NULL;
    mdl_nlbuf_init(&n->b);
    batch_marker(n, NFNL_MSG_BATCH_BEGIN);
    return n;
}

void mdl_nft_free(struct mdl_nft *n) {
    if (!n) return;
    mdl_nlbuf_free(&n->b);
    free(n);
}

static size_t begin(struct mdl_nft *n, uint16_t msg, uint16_t flags) {
    struct nfgenmsg g = { .nfgen_family = NFPROTO_IPV4, .version = NFNETLINK_V0 };
    return mdl_nl_msg_begin(&n->b, (uint16_t)((NFNL_SUBSYS_NFTABLES << 8) | msg), NLM_F_ACK | flags, &g, sizeof g);
}

void mdl_nft_table_add(struct mdl_nft *n, const char *table) {
    size_t m = begin(n, NFT_MSG_NEWTABLE, NLM_F_CREATE);
    mdl_nl_put_str(&n->b, NFTA_TABLE_NAME, table);
    mdl_nl_msg_end(&n->b, m);
}

void mdl_nft_table_delete(struct mdl_nft *n, const char *table) {
    mdl_nft_table_add(n, table);
    size_t m = begin(n, NFT_MSG_DELTABLE, 0);
    mdl_nl_put_str(&n->b, NFTA_TABLE_NAME, table);
    mdl_nl_msg_end(&n->b, m);
}

void mdl_nft_chain_add(struct mdl_nft *n, const char *table, const char *chain, const char *type,
                       uint32_t hook, int32_t priority) {
    size_t m = begin(n, NFT_MSG_NEWCHAIN, NLM_F_CREATE);
    mdl_nl_put_str(&n->b, NFTA_CHAIN_TABLE, table);
    mdl_nl_put_str(&n->b, NFTA_CHAIN_NAME, chain);
    size_t h = mdl_nl_nest_begin(&n->b, NFTA_CHAIN_HOOK);
    mdl_nl_put_be32(&n->b, NFTA_HOOK_HOOKNUM, hook);
    mdl_nl_put_be32(&n->b, NFTA_HOOK_PRIORITY, (uint32_t)priority);
    mdl_nl_nest_end(&n->b, h);
    mdl_nl_put_be32(&n->b, NFTA_CHAIN_POLICY, NF_ACCEPT);
    mdl_nl_put_str(&n->b, NFTA_CHAIN_TYPE, type);
    mdl_nl_msg_end(&n->b, m);
}

void mdl_nft_set_add(struct mdl_nft *n, const char *table, const char *set, uint32_t id,
                     uint32_t key_type, uint32_t key_len, uint32_t data_type, uint32_t data_len) {
    size_t m = begin(n, NFT_MSG_NEWSET, NLM_F_CREATE);
    mdl_nl_put_str(&n->b, NFTA_SET_TABLE, table);
    mdl_nl_put_str(&n->b, NFTA_SET_NAME, set);
    mdl_nl_put_be32(&n->b, NFTA_SET_FLAGS, data_len ? NFT_SET_MAP : 0);
    mdl_nl_put_be32(&n->b, NFTA_SET_KEY_TYPE, key_type);
    mdl_nl_put_be32(&n->b, NFTA_SET_KEY_LEN, key_len);
    if (data_len) {
        mdl_nl_put_be32(&n->b, NFTA_SET_DATA_TYPE, data_type);
        mdl_nl_put_be32(&n->b, NFTA_SET_DATA_LEN, data_len);
    }
    mdl_nl_put_be32(&n->b, NFTA_SET_ID, id);
    mdl_nl_msg_end(&n->b, m);
}

static void put_data(struct mdl_nlbuf *b, uint16_t type, const void *data, size_t len) {
    size_t d = mdl_nl_nest_begin(b, type);
    mdl_nl_put(b, NFTA_DATA_VALUE, data, len);
    mdl_nl_nest_end(b, d);
}

void mdl_nft_element(struct mdl_nft *n, const char *table, const char *set, int add,
                     const void *key, size_t key_len, const void *data, size_t data_len) {
    size_t m = begin(n, add ? NFT_MSG_NEWSETELEM : NFT_MSG_DELSETELEM, add ? NLM_F_CREATE : 0);
    mdl_nl_put_str(&n->b, NFTA_SET_ELEM_LIST_TABLE, table);
    mdl_nl_put_str(&n->b, NFTA_SET_ELEM_LIST_SET, set);
    size_t list = mdl_nl_nest_begin(&n->b, NFTA_SET_ELEM_LIST_ELEMENTS);
    size_t e = mdl_nl_nest_begin(&n->b, NFTA_LIST_ELEM);
    put_data(&n->b, NFTA_SET_ELEM_KEY, key, key_len);
    if (data) put_data(&n->b, NFTA_SET_ELEM_DATA, data, data_len);
    mdl_nl_nest_end(&n->b, e);
    mdl_nl_nest_end(&n->b, list);
    mdl_nl_msg_end(&n->b, m);
}

void mdl_nft_rule_begin(struct mdl_nft *n, const char *table, const char *chain) {
    n->rule_msg = begin(n, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND);
    mdl_nl_put_str(&n->b, NFTA_RULE_TABLE, table);
    mdl_nl_put_str(&n->b, NFTA_RULE_CHAIN, chain);
    n->rule_exprs = mdl_nl_nest_begin(&n->b, NFTA_RULE_EXPRESSIONS);
}

void mdl_nft_rule_end(struct mdl_nft *n) {
    mdl_nl_nest_end(&n->b, n->rule_exprs);
    mdl_nl_msg_end(&n->b, n->rule_msg);
}

static void expr_begin(struct mdl_nft *n, const char *name) {
    n->expr = mdl_nl_nest_begin(&n->b, NFTA_LIST_ELEM);
    mdl_nl_put_str(&n->b, NFTA_EXPR_NAME, name);
    n->expr_data = mdl_nl_nest_begin(&n->b, NFTA_EXPR_DATA);
}

static void expr_end(struct mdl_nft *n) {
    mdl_nl_nest_end(&n->b, n->expr_data);
    mdl_nl_nest_end(&n->b, n->expr);
}

void mdl_nft_meta(struct mdl_nft *n, uint32_t key, uint32_t dreg) {
    expr_begin(n, "meta");
    mdl_nl_put_be32(&n->b, NFTA_META_KEY, key);
    mdl_nl_put_be32(&n->b, NFTA_META_DREG, dreg);
    expr_end(n);
}

void mdl_nft_payload(struct mdl_nft *n, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg) {
    expr_begin(n, "payload");
    mdl_nl_put_be32(&n->b, NFTA_PAYLOAD_DREG, dreg);
    mdl_nl_put_be32(&n->b, NFTA_PAYLOAD_BASE, base);
    mdl_nl_put_be32(&n->b, NFTA_PAYLOAD_OFFSET, offset);
    mdl_nl_put_be32(&n->b, NFTA_PAYLOAD_LEN, len);
    expr_end(n);
}

void mdl_nft_cmp(struct mdl_nft *n, uint32_t sreg, uint32_t op, const void *data, size_t len) {
    expr_begin(n, "cmp");
    mdl_nl_put_be32(&n->b, NFTA_CMP_SREG, sreg);
    mdl_nl_put_be32(&n->b, NFTA_CMP_OP, op);
    put_data(&n->b, NFTA_CMP_DATA, data, len);
    expr_end(n);
}

void mdl_nft_bitwise(struct mdl_nft *n, uint32_t reg, const void *mask, const void *xor_, size_t len) {
    expr_begin(n, "bitwise");
    mdl_nl_put_be32(&n->b, NFTA_BITWISE_SREG, reg);
    mdl_nl_put_be32(&n->b, NFTA_BITWISE_DREG, reg);
    mdl_nl_put_be32(&n->b, NFTA_BITWISE_LEN, (uint32_t)len);
    put_data(&n->b, NFTA_BITWISE_MASK, mask, len);
    put_data(&n->b, NFTA_BITWISE_XOR, xor_, len);
    expr_end(n);
}

void mdl_nft_ct(struct mdl_nft *n, uint32_t key, uint32_t dreg) {
    expr_begin(n, "ct");
    mdl_nl_put_be32(&n->b, NFTA_CT_KEY, key);
    mdl_nl_put_be32(&n->b, NFTA_CT_DREG, dreg);
    expr_end(n);
}

void mdl_nft_fib_daddr_type(struct mdl_nft *n, uint32_t dreg) {
    expr_begin(n, "fib");
    mdl_nl_put_be32(&n->b, NFTA_FIB_DREG, dreg);
    mdl_nl_put_be32(&n->b, NFTA_FIB_RESULT, NFT_FIB_RESULT_ADDRTYPE);
    mdl_nl_put_be32(&n->b, NFTA_FIB_FLAGS, NFTA_FIB_F_DADDR);
    expr_end(n);
}

void mdl_nft_lookup(struct mdl_nft *n, const char *set, uint32_t set_id, uint32_t sreg, int dreg, int invert) {
    expr_begin(n, "lookup");
    mdl_nl_put_str(&n->b, NFTA_LOOKUP_SET, set);
    mdl_nl_put_be32(&n->b, NFTA_LOOKUP_SET_ID, set_id);
    mdl_nl_put_be32(&n->b, NFTA_LOOKUP_SREG, sreg);
    if (dreg >= 0) mdl_nl_put_be32(&n->b, NFTA_LOOKUP_DREG, (uint32_t)dreg);
    if (invert) mdl_nl_put_be32(&n->b, NFTA_LOOKUP_FLAGS, NFT_LOOKUP_F_INV);
    expr_end(n);
}

void mdl_nft_verdict(struct mdl_nft *n, int32_t verdict) {
    expr_begin(n, "immediate");
    mdl_nl_put_be32(&n->b, NFTA_IMMEDIATE_DREG, NFT_REG_VERDICT);
    size_t d = mdl_nl_nest_begin(&n->b, NFTA_IMMEDIATE_DATA);
    size_t v = mdl_nl_nest_begin(&n->b, NFTA_DATA_VERDICT);
    mdl_nl_put_be32(&n->b, NFTA_VERDICT_CODE, (uint32_t)verdict);
    mdl_nl_nest_end(&n->b, v);
    mdl_nl_nest_end(&n->b, d);
    expr_end(n);
}

void mdl_nft_masquerade(struct mdl_nft *n) {
    expr_begin(n, "masq");
    expr_end(n);
}

void mdl_nft_dnat(struct mdl_nft *n, uint32_t reg_addr, uint32_t reg_port) {
    expr_begin(n, "nat");
    mdl_nl_put_be32(&n->b, NFTA_NAT_TYPE, NFT_NAT_DNAT);
    mdl_nl_put_be32(&n->b, NFTA_NAT_FAMILY, NFPROTO_IPV4);
    mdl_nl_put_be32(&n->b, NFTA_NAT_REG_ADDR_MIN, reg_addr);
    mdl_nl_put_be32(&n->b, NFTA_NAT_REG_PROTO_MIN, reg_port);
    expr_end(n);
}

int mdl_nft_commit(struct mdl_nft *n, char *err, size_t errlen) {
    batch_marker(n, NFNL_MSG_BATCH_END);
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "nf_tables: netlink socket: %s", strerror(e));
        return -e;
    }
    char why[160];
    int rc = mdl_nl_transact(fd, &n->b, why, sizeof why, NULL, 0);
    close(fd);
    if (rc < 0) snprintf(err, errlen, "nf_tables: %s", why);
    return rc;
}
