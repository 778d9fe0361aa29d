#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int parse_zone(const char *zone, uint32_t *out) {
  char *end;
  unsigned long v;
  if (*zone == '\0') return -EINVAL;
  if (zone[0] >= '0' && zone[0] <= '9') {
    errno = 0;
    v = strtoul(zone, &end, 10);
    if (errno != 0 || *end != '\0' || v > UINT32_MAX) return -EINVAL;
    *out = (uint32_t)v;
    return 0;
  }
  v = if_nametoindex(zone);
  if (v == 0) return -EINVAL;
  *out = (uint32_t)v;
  return 0;
}

int udpk_parse_v6_scope(const char *text, struct in6_addr *addr_out, uint32_t *scope) {
  char buf[UDPK_ADDR_MAX];
  const char *pct;
  size_t len = strlen(text);
  struct in6_addr tmp;
  if (len >= sizeof(buf)) return -EINVAL;
  memcpy(buf, text, len + 1);
  *scope = 0;
  pct = strchr(buf, '%');
  if (pct != NULL) {
    buf[pct - buf] = '\0';
    if (parse_zone(pct + 1, scope) < 0) return -EINVAL;
  }
  if (inet_pton(AF_INET6, buf, addr_out ? addr_out : &tmp) != 1) return -EINVAL;
  return 0;
}

int udpk_parse_addr(int family, const char *text, uint16_t port, struct sockaddr_storage *out, socklen_t *outlen) {
  memset(out, 0, sizeof(*out));
  if (family == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    if (inet_pton(AF_INET, text, &a->sin_addr) != 1) return -EINVAL;
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    *outlen = sizeof(*a);
    return 0;
  }
  if (family == 6) {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)out;
    uint32_t scope;
    if (udpk_parse_v6_scope(text, &a->sin6_addr, &scope) < 0) return -EINVAL;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(port);
    a->sin6_scope_id = scope;
    *outlen = sizeof(*a);
    return 0;
  }
  return -EINVAL;
}

int udpk_format_addr(const struct sockaddr *sa, char *buf, size_t size) {
  size_t len;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
    if (inet_ntop(AF_INET, &a->sin_addr, buf, (socklen_t)size) == NULL) return -errno;
    return (int)strlen(buf);
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
    char ifname[IF_NAMESIZE];
    if (inet_ntop(AF_INET6, &a->sin6_addr, buf, (socklen_t)size) == NULL) return -errno;
    len = strlen(buf);
    if (a->sin6_scope_id != 0) {
      int n;
      /* The interface name is what a person would type back in; the
       * number is the fallback when the interface is gone. */
      if (if_indextoname(a->sin6_scope_id, ifname) != NULL)
        n = snprintf(buf + len, size - len, "%%%s", ifname);
      else
        n = snprintf(buf + len, size - len, "%%%u", (unsigned)a->sin6_scope_id);
      if (n > 0 && (size_t)n < size - len) len += (size_t)n;
    }
    return (int)len;
  }
  return -EAFNOSUPPORT;
}
