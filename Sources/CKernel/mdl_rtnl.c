#define _GNU_SOURCE
#include "mdl_rtnl.h"
#include "mdl_netlink.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

// No IPv6 on a link of a container, set before it comes up (mdlua gives containers no IPv6;
// Docker does the same on networks without it): no link-local address, no duplicate address
// detection, no multicast reports flooded over the bridge to every other container. The
// file is the one of the namespace its opener is in. (A kernel without IPv6 has none.)
static void ipv6_off(const char *link) {
    char path[96];
    snprintf(path, sizeof path, "/proc/sys/net/ipv6/conf/%s/disable_ipv6", link);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return;
    if (write(fd, "1", 1) < 0) { /* (IPv6 stays on: harmless) */ }
    close(fd);
}

// A route socket in the network namespace `netns_fd` (-1: this thread's own). A netlink
// socket stays in the namespace it was made in, so this thread enters the other one only
// for the socket() call (and, with `no_ipv6`, to turn IPv6 off on that link there).
static int route_socket_ipv6_off(int netns_fd, const char *no_ipv6, char *err, size_t errlen) {
    int self = -1;
    if (netns_fd >= 0) {
        self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
        if (self < 0 || setns(netns_fd, CLONE_NEWNET) < 0) {
            int e = errno;
            snprintf(err, errlen, "enter the container's network namespace: %s", strerror(e));
            if (self >= 0) close(self);
            return -e;
        }
    }
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    int e = errno;
    if (no_ipv6) ipv6_off(no_ipv6);
    if (self >= 0) {
        if (setns(self, CLONE_NEWNET) < 0) {
            // This thread would stay in the container's namespace: nothing may go on.
            snprintf(err, errlen, "return to the host's network namespace: %s", strerror(errno));
            close(self);
            if (fd >= 0) close(fd);
            return -EIO;
        }
        close(self);
    }
    if (fd < 0) { snprintf(err, errlen, "netlink socket: %s", strerror(e)); return -e; }
    return fd;
}

static int route_socket(int netns_fd, char *err, size_t errlen) {
    return route_socket_ipv6_off(netns_fd, NULL, err, errlen);
}

static int ifindex(int fd, const char *name) {
    struct mdl_nlbuf b;
    mdl_nlbuf_init(&b);
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
    size_t m = mdl_nl_msg_begin(&b, RTM_GETLINK, 0, &ifi, sizeof ifi);
    mdl_nl_put_str(&b, IFLA_IFNAME, name);
    mdl_nl_msg_end(&b, m);
    struct ifinfomsg reply = { 0 };
    char err[128];
    int rc = mdl_nl_transact(fd, &b, err, sizeof err, &reply, sizeof reply);
    mdl_nlbuf_free(&b);
    return rc < 0 ? rc : reply.ifi_index;
}

// Up, with the MTU `mtu` (0: the link's own). A bridge given its MTU this way keeps it
// whatever its ports' (the kernel no longer follows the smallest port's).
static int set_up(int fd, int index, uint32_t mtu, char *err, size_t errlen) {
    struct mdl_nlbuf b;
    mdl_nlbuf_init(&b);
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
    size_t m = mdl_nl_msg_begin(&b, RTM_NEWLINK, NLM_F_ACK, &ifi, sizeof ifi);
    if (mtu) mdl_nl_put_u32(&b, IFLA_MTU, mtu);
    mdl_nl_msg_end(&b, m);
    int rc = mdl_nl_transact(fd, &b, err, errlen, NULL, 0);
    mdl_nlbuf_free(&b);
    return rc;
}

static void put_addr(struct mdl_nlbuf *b, uint16_t type, uint32_t addr) {
    uint32_t be = __builtin_bswap32(addr);
    mdl_nl_put(b, type, &be, 4);
}

static void add_address(struct mdl_nlbuf *b, int index, uint32_t addr, int prefix) {
    struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix, .ifa_index = (unsigned)index };
    size_t m = mdl_nl_msg_begin(b, RTM_NEWADDR, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, &ifa, sizeof ifa);
    put_addr(b, IFA_LOCAL, addr);
    put_addr(b, IFA_ADDRESS, addr);
    uint32_t mask = prefix ? 0xffffffffu << (32 - prefix) : 0;
    put_addr(b, IFA_BROADCAST, addr | ~mask);
    mdl_nl_msg_end(b, m);
}

static int fail(char *err, size_t errlen, const char *what, const char *name, const char *why, int rc) {
    char why_copy[160];
    snprintf(why_copy, sizeof why_copy, "%s", why);
    snprintf(err, errlen, "%s %s: %s", what, name, why_copy);
    return rc;
}

int mdl_rtnl_bridge_up(const char *name, uint32_t addr, int prefix, uint32_t mtu, char *err, size_t errlen) {
    int fd = route_socket(-1, err, errlen);
    if (fd < 0) return fd;
    struct mdl_nlbuf b;
    mdl_nlbuf_init(&b);
    char why[160];
    int rc = 0;
    int index = ifindex(fd, name);
    if (index < 0) {
        struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
        size_t m = mdl_nl_msg_begin(&b, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
        mdl_nl_put_str(&b, IFLA_IFNAME, name);
        if (mtu) mdl_nl_put_u32(&b, IFLA_MTU, mtu);
        size_t info = mdl_nl_nest_begin(&b, IFLA_LINKINFO);
        mdl_nl_put_str(&b, IFLA_INFO_KIND, "bridge");
        mdl_nl_nest_end(&b, info);
        mdl_nl_msg_end(&b, m);
        rc = mdl_nl_transact(fd, &b, why, sizeof why, NULL, 0);
        mdl_nlbuf_free(&b);
        if (rc < 0 && rc != -EEXIST) { close(fd); return fail(err, errlen, "create the bridge", name, why, rc); }
        index = ifindex(fd, name);
        if (index < 0) { close(fd); return fail(err, errlen, "find the bridge", name, strerror(-index), index); }
    }
    mdl_nlbuf_init(&b);
    add_address(&b, index, addr, prefix);
    rc = mdl_nl_transact(fd, &b, why, sizeof why, NULL, 0);
    mdl_nlbuf_free(&b);
    if (rc < 0) { close(fd); return fail(err, errlen, "address the bridge", name, why, rc); }
    rc = set_up(fd, index, mtu, why, sizeof why);
    close(fd);
    if (rc < 0) return fail(err, errlen, "bring up the bridge", name, why, rc);
    return 0;
}

int mdl_rtnl_link_del(const char *name, char *err, size_t errlen) {
    int fd = route_socket(-1, err, errlen);
    if (fd < 0) return fd;
    struct mdl_nlbuf b;
    mdl_nlbuf_init(&b);
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC };
    size_t m = mdl_nl_msg_begin(&b, RTM_DELLINK, NLM_F_ACK, &ifi, sizeof ifi);
    mdl_nl_put_str(&b, IFLA_IFNAME, name);
    mdl_nl_msg_end(&b, m);
    char why[160];
    int rc = mdl_nl_transact(fd, &b, why, sizeof why, NULL, 0);
    mdl_nlbuf_free(&b);
    close(fd);
    if (rc == -ENODEV) return 0;
    if (rc < 0) return fail(err, errlen, "delete the link", name, why, rc);
    return 0;
}

int mdl_rtnl_link_exists(const char *name) {
    char err[128];
    int fd = route_socket(-1, err, sizeof err);
    if (fd < 0) return 0;
    int index = ifindex(fd, name);
    close(fd);
    return index > 0;
}

int mdl_rtnl_veth_attach(int netns_fd, const char *host, const char *bridge, const char *peer,
                         uint32_t addr, int prefix, uint32_t gateway, uint32_t mtu, char *err, size_t errlen) {
    char why[160];
    int fd = route_socket(-1, err, errlen);
    if (fd < 0) return fd;
    int master = ifindex(fd, bridge);
    if (master < 0) { close(fd); return fail(err, errlen, "find the bridge", bridge, strerror(-master), master); }

    // The pair in one message: the host end on the bridge and up, the peer born inside the
    // container's namespace under its final name.
    struct mdl_nlbuf b;
    mdl_nlbuf_init(&b);
    struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
    size_t m = mdl_nl_msg_begin(&b, RTM_NEWLINK, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, &ifi, sizeof ifi);
    mdl_nl_put_str(&b, IFLA_IFNAME, host);
    mdl_nl_put_u32(&b, IFLA_MASTER, (uint32_t)master);
    if (mtu) mdl_nl_put_u32(&b, IFLA_MTU, mtu);
    size_t info = mdl_nl_nest_begin(&b, IFLA_LINKINFO);
    mdl_nl_put_str(&b, IFLA_INFO_KIND, "veth");
    size_t data = mdl_nl_nest_begin(&b, IFLA_INFO_DATA);
    size_t p = mdl_nl_nest_begin(&b, VETH_INFO_PEER);
    struct ifinfomsg peer_ifi = { .ifi_family = AF_UNSPEC };
    mdl_nl_put_raw(&b, &peer_ifi, sizeof peer_ifi);   // (the peer starts with its own header)
    mdl_nl_put_str(&b, IFLA_IFNAME, peer);
    // Docker's MAC for an address, 02:42 and its four bytes: a container that gets an
    // address another had just before answers with the same MAC, so the neighbours' ARP
    // entries for it (the host's, other containers') stay right.
    uint8_t mac[6] = { 0x02, 0x42, (uint8_t)(addr >> 24), (uint8_t)(addr >> 16), (uint8_t)(addr >> 8), (uint8_t)addr };
    mdl_nl_put(&b, IFLA_ADDRESS, mac, sizeof mac);
    if (mtu) mdl_nl_put_u32(&b, IFLA_MTU, mtu);
    mdl_nl_put_u32(&b, IFLA_NET_NS_FD, (uint32_t)netns_fd);
    mdl_nl_nest_end(&b, p);
    mdl_nl_nest_end(&b, data);
    mdl_nl_nest_end(&b, info);
    mdl_nl_msg_end(&b, m);
    int rc = mdl_nl_transact(fd, &b, why, sizeof why, NULL, 0);
    mdl_nlbuf_free(&b);
    close(fd);
    if (rc < 0) return fail(err, errlen, "create the veth pair", host, why, rc);

    // Inside: IPv6 off, then the address, up, the default route.
    fd = route_socket_ipv6_off(netns_fd, peer, err, errlen);
    if (fd < 0) return fd;
    int index = ifindex(fd, peer);
    if (index < 0) { close(fd); return fail(err, errlen, "find the container's link", peer, strerror(-index), index); }
    mdl_nlbuf_init(&b);
    add_address(&b, index, addr, prefix);
    struct ifinfomsg up = { .ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP };
    m = mdl_nl_msg_begin(&b, RTM_NEWLINK, NLM_F_ACK, &up, sizeof up);
    mdl_nl_msg_end(&b, m);
    if (gateway) {
        struct rtmsg rt = { .rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
                            .rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST };
        m = mdl_nl_msg_begin(&b, RTM_NEWROUTE, NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE, &rt, sizeof rt);
        put_addr(&b, RTA_GATEWAY, gateway);
        mdl_nl_put_u32(&b, RTA_OIF, (uint32_t)index);
        mdl_nl_msg_end(&b, m);
    }
    rc = mdl_nl_transact(fd, &b, why, sizeof why, NULL, 0);
    mdl_nlbuf_free(&b);
    close(fd);
    if (rc < 0) return fail(err, errlen, "configure the container's link", peer, why, rc);
    return 0;
}
