// nf_tables through netlink, in process: a batch of table, chain, set, element and rule
// messages that the kernel applies atomically (all or nothing). Only what mdlua's own
// table needs (docs/networking.md): rules are lists of typed expressions added one by one
// between mdl_nft_rule_begin and mdl_nft_rule_end. Every object lives in the IPv4 family.
#ifndef MDL_NFT_H
#define MDL_NFT_H

#include <stddef.h>
#include <stdint.h>

struct mdl_nft;

// The kernel's numbers the rules use, under names Swift can import (linux/netfilter.h
// cannot be imported beside glibc's netinet/in.h); mdl_nft.c checks each against it.
enum {
    MDL_NF_DROP = 0, MDL_NF_ACCEPT = 1,
    MDL_NF_INET_PRE_ROUTING = 0, MDL_NF_INET_FORWARD = 2, MDL_NF_INET_LOCAL_OUT = 3, MDL_NF_INET_POST_ROUTING = 4,
    MDL_NFT_CMP_EQ = 0, MDL_NFT_CMP_NEQ = 1,
    MDL_NFT_PAYLOAD_NETWORK_HEADER = 1, MDL_NFT_PAYLOAD_TRANSPORT_HEADER = 2,
    MDL_NFT_META_IIFNAME = 6, MDL_NFT_META_OIFNAME = 7, MDL_NFT_META_L4PROTO = 16,
    MDL_NFT_CT_STATUS = 2, MDL_IPS_DST_NAT = 1 << 5, MDL_RTN_LOCAL = 2,
    MDL_NFT_REG_VERDICT = 0, MDL_NFT_REG_1 = 1, MDL_NFT_REG32_00 = 8,
};

struct mdl_nft *mdl_nft_new(void);
void mdl_nft_free(struct mdl_nft *n);

// The table, made if missing.
void mdl_nft_table_add(struct mdl_nft *n, const char *table);
// Deletes the table and everything in it; a table that is not there is fine (it is added
// first, in the same batch).
void mdl_nft_table_delete(struct mdl_nft *n, const char *table);
// A base chain: type "nat" or "filter", a netfilter hook (NF_INET_*), a priority; policy accept.
void mdl_nft_chain_add(struct mdl_nft *n, const char *table, const char *chain, const char *type,
                       uint32_t hook, int32_t priority);
// A set (data_len 0) or a map: key and data types are nft's type numbers (for listings).
void mdl_nft_set_add(struct mdl_nft *n, const char *table, const char *set, uint32_t id,
                     uint32_t key_type, uint32_t key_len, uint32_t data_type, uint32_t data_len);
// An element added to (or deleted from) a set or a map (data NULL for a set).
void mdl_nft_element(struct mdl_nft *n, const char *table, const char *set, int add,
                     const void *key, size_t key_len, const void *data, size_t data_len);

void mdl_nft_rule_begin(struct mdl_nft *n, const char *table, const char *chain);
void mdl_nft_rule_end(struct mdl_nft *n);
// Expressions; registers are nf_tables' (NFT_REG_1, NFT_REG32_00, ...).
void mdl_nft_meta(struct mdl_nft *n, uint32_t key, uint32_t dreg);
void mdl_nft_payload(struct mdl_nft *n, uint32_t base, uint32_t offset, uint32_t len, uint32_t dreg);
void mdl_nft_cmp(struct mdl_nft *n, uint32_t sreg, uint32_t op, const void *data, size_t len);
void mdl_nft_bitwise(struct mdl_nft *n, uint32_t reg, const void *mask, const void *xor_, size_t len);
void mdl_nft_ct(struct mdl_nft *n, uint32_t key, uint32_t dreg);
void mdl_nft_fib_daddr_type(struct mdl_nft *n, uint32_t dreg);
void mdl_nft_lookup(struct mdl_nft *n, const char *set, uint32_t set_id, uint32_t sreg, int dreg, int invert);
void mdl_nft_verdict(struct mdl_nft *n, int32_t verdict);
void mdl_nft_masquerade(struct mdl_nft *n);
void mdl_nft_dnat(struct mdl_nft *n, uint32_t reg_addr, uint32_t reg_port);

// Sends the batch and waits for the kernel: 0, or a negative errno with err.
int mdl_nft_commit(struct mdl_nft *n, char *err, size_t errlen);

#endif
