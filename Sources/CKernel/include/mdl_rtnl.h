// Links, addresses and routes through rtnetlink, in process (never by running `ip`): the
// bridges of mdlua's networks and a container's veth pair. Addresses are IPv4 in host byte
// order. Each call returns 0, or a negative errno with `err` saying what failed.
#ifndef MDL_RTNL_H
#define MDL_RTNL_H

#include <stddef.h>
#include <stdint.h>

// Makes the bridge `name` if there is none, gives it addr/prefix (again is fine) and
// brings it up, with the MTU `mtu` (0 keeps the kernel's, 1500).
int mdl_rtnl_bridge_up(const char *name, uint32_t addr, int prefix, uint32_t mtu, char *err, size_t errlen);

// Deletes a link (a bridge, or a veth with its peer); one that is not there is fine.
int mdl_rtnl_link_del(const char *name, char *err, size_t errlen);

// 1 if the link exists, 0 if not.
int mdl_rtnl_link_exists(const char *name);

// A veth pair: `host` enslaved to `bridge` and up; its peer made directly in the network
// namespace `netns_fd` as `peer` (eth0), with addr/prefix, up, and a default route via
// `gateway` (none when 0). Both ends get the MTU `mtu` (0 keeps the kernel's, 1500).
int mdl_rtnl_veth_attach(int netns_fd, const char *host, const char *bridge, const char *peer,
                         uint32_t addr, int prefix, uint32_t gateway, uint32_t mtu, char *err, size_t errlen);

#endif
