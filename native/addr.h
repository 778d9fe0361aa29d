/* Text <-> sockaddr for the datapath's string addresses. */
#ifndef UDPKIT_ADDR_H
#define UDPKIT_ADDR_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Longest accepted address text: a full IPv4-mapped IPv6 address plus a
 * %zone of an interface name; anything longer cannot be valid. */
#define UDPK_ADDR_MAX 64

/* Parses `text` (family 4: dotted quad; family 6: IPv6 with an optional
 * %zone, name or number) into *out with `port`. 0 or -EINVAL. */
int udpk_parse_addr(int family, const char *text, uint16_t port, struct sockaddr_storage *out, socklen_t *outlen);

/* Just the interface index of an IPv6 `addr%zone` (0 without a zone).
 * 0 or -EINVAL; *addr_out receives the address when not NULL. */
int udpk_parse_v6_scope(const char *text, struct in6_addr *addr_out, uint32_t *scope);

/* Formats the address of `sa` (IPv4, or IPv6 with %zone when scoped) into
 * buf. Returns the length, or -EAFNOSUPPORT for other families. */
int udpk_format_addr(const struct sockaddr *sa, char *buf, size_t size);

#endif
