/* Socket options and multicast membership: each method maps its arguments
 * onto one setsockopt/getsockopt, and the kernel's answer goes back as
 * -errno for JavaScript to turn into node:dgram's error. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>

#include "addr.h"
#include "udpkit.h"

enum { OPT_BROADCAST = 1, OPT_TTL, OPT_MCAST_TTL, OPT_MCAST_LOOP, OPT_RCVBUF, OPT_SNDBUF };

/* ---------- options and multicast ---------- */

static bool option_target(const udpk_sock *s, int64_t opt, int *level, int *name) {
  bool v6 = s->family == 6;
  switch (opt) {
    case OPT_BROADCAST: *level = SOL_SOCKET; *name = SO_BROADCAST; return true;
    case OPT_TTL: *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP; *name = v6 ? IPV6_UNICAST_HOPS : IP_TTL; return true;
    case OPT_MCAST_TTL: *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP; *name = v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL; return true;
    case OPT_MCAST_LOOP: *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP; *name = v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP; return true;
    case OPT_RCVBUF: *level = SOL_SOCKET; *name = SO_RCVBUF; return true;
    case OPT_SNDBUF: *level = SOL_SOCKET; *name = SO_SNDBUF; return true;
    default: return false;
  }
}

/* Linux takes an int for every option here; the BSDs insist on an
 * unsigned char for the IPv4 multicast ones. */
static bool wants_uchar(int level, int name) {
#if defined(__linux__)
  (void)level;
  (void)name;
  return false;
#else
  return level == IPPROTO_IP && (name == IP_MULTICAST_TTL || name == IP_MULTICAST_LOOP);
#endif
}

napi_value m_set_option(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  udpk_sock *s = get_this(env, info, &argc, argv);
  int64_t opt, value;
  int level, name, r;
  if (!s) return NULL;
  if (!get_integer(env, argv[0], 0, 64, "option must be a SocketOption", &opt)) return NULL;
  if (!option_target(s, opt, &level, &name)) return range_error(env, "unknown SocketOption");
  if (!get_integer(env, argv[1], INT32_MIN, INT32_MAX, "value must be a 32-bit integer", &value)) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (wants_uchar(level, name)) {
    unsigned char c = (unsigned char)value;
    if (value < 0 || value > 255) return num(env, -EINVAL);
    r = setsockopt(s->fd, level, name, &c, sizeof(c));
  } else {
    int v = (int)value;
    r = setsockopt(s->fd, level, name, &v, sizeof(v));
  }
  return num(env, r < 0 ? -errno : 0);
}

napi_value m_get_option(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  udpk_sock *s = get_this(env, info, &argc, argv);
  int64_t opt;
  int level, name, v = 0;
  socklen_t len;
  if (!s) return NULL;
  if (!get_integer(env, argv[0], 0, 64, "option must be a SocketOption", &opt)) return NULL;
  if (!option_target(s, opt, &level, &name)) return range_error(env, "unknown SocketOption");
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (wants_uchar(level, name)) {
    unsigned char c = 0;
    len = sizeof(c);
    if (getsockopt(s->fd, level, name, &c, &len) < 0) return num(env, -errno);
    return num(env, c);
  }
  len = sizeof(v);
  if (getsockopt(s->fd, level, name, &v, &len) < 0) return num(env, -errno);
  return num(env, v);
}

static bool looks_ipv4(const char *text) {
  struct in_addr a;
  return inet_pton(AF_INET, text, &a) == 1;
}

napi_value m_set_mcast_if(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  udpk_sock *s = get_this(env, info, &argc, argv);
  char text[UDPK_ADDR_MAX];
  int ok, r;
  if (!s) return NULL;
  if ((ok = get_string(env, argv[0], text, sizeof(text), "interface must be a string")) < 0) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (!ok) return num(env, -EINVAL);
  if (s->family == 4 || looks_ipv4(text)) {
    struct in_addr a;
    if (inet_pton(AF_INET, text, &a) != 1) return num(env, -EINVAL);
    r = setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof(a));
  } else {
    uint32_t scope;
    int idx;
    if (udpk_parse_v6_scope(text, NULL, &scope) < 0) return num(env, -EINVAL);
    idx = (int)scope;
    r = setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx));
  }
  return num(env, r < 0 ? -errno : 0);
}

/* Reads an optional interface argument: 1 present (copied), 0 absent,
 * -1 thrown, -2 present but no valid address. */
static int get_iface(napi_env env, napi_value v, char *buf, size_t size) {
  int ok;
  if (is_nullish(env, v)) return 0;
  ok = get_string(env, v, buf, size, "interface must be a string or null");
  if (ok < 0) return -1;
  return ok ? 1 : -2;
}

napi_value m_set_membership(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  udpk_sock *s = get_this(env, info, &argc, argv);
  char group[UDPK_ADDR_MAX], iface[UDPK_ADDR_MAX];
  int gok, iok, r;
  bool join;
  if (!s) return NULL;
  if ((gok = get_string(env, argv[0], group, sizeof(group), "group must be a string")) < 0) return NULL;
  if ((iok = get_iface(env, argv[1], iface, sizeof(iface))) == -1) return NULL;
  if (!get_bool(env, argv[2], "join must be a boolean", &join)) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (!gok || iok == -2) return num(env, -EINVAL);
  /* The group's family picks the option, whatever the socket's (as libuv
   * does): the kernel then answers for a mismatch (ENOPROTOOPT,
   * EADDRNOTAVAIL, or it works on a dual-stack socket). */
  if (looks_ipv4(group)) {
    struct ip_mreq m;
    memset(&m, 0, sizeof(m));
    if (inet_pton(AF_INET, group, &m.imr_multiaddr) != 1) return num(env, -EINVAL);
    m.imr_interface.s_addr = htonl(INADDR_ANY);
    if (iok == 1 && inet_pton(AF_INET, iface, &m.imr_interface) != 1) return num(env, -EINVAL);
    r = setsockopt(s->fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof(m));
  } else {
    struct ipv6_mreq m;
    uint32_t scope = 0;
    memset(&m, 0, sizeof(m));
    if (inet_pton(AF_INET6, group, &m.ipv6mr_multiaddr) != 1) return num(env, -EINVAL);
    if (iok == 1 && udpk_parse_v6_scope(iface, NULL, &scope) < 0) return num(env, -EINVAL);
    m.ipv6mr_interface = scope;
    r = setsockopt(s->fd, IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP, &m, sizeof(m));
  }
  return num(env, r < 0 ? -errno : 0);
}

napi_value m_set_source_membership(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  udpk_sock *s = get_this(env, info, &argc, argv);
  char source[UDPK_ADDR_MAX], group[UDPK_ADDR_MAX], iface[UDPK_ADDR_MAX];
  int sok, gok, iok, r;
  bool join;
  if (!s) return NULL;
  if ((sok = get_string(env, argv[0], source, sizeof(source), "source must be a string")) < 0) return NULL;
  if ((gok = get_string(env, argv[1], group, sizeof(group), "group must be a string")) < 0) return NULL;
  if ((iok = get_iface(env, argv[2], iface, sizeof(iface))) == -1) return NULL;
  if (!get_bool(env, argv[3], "join must be a boolean", &join)) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (!sok || !gok || iok == -2) return num(env, -EINVAL);
  if (looks_ipv4(group)) {
    struct ip_mreq_source m;
    memset(&m, 0, sizeof(m));
    if (inet_pton(AF_INET, group, &m.imr_multiaddr) != 1) return num(env, -EINVAL);
    if (inet_pton(AF_INET, source, &m.imr_sourceaddr) != 1) return num(env, -EINVAL);
    m.imr_interface.s_addr = htonl(INADDR_ANY);
    if (iok == 1 && inet_pton(AF_INET, iface, &m.imr_interface) != 1) return num(env, -EINVAL);
    r = setsockopt(s->fd, IPPROTO_IP, join ? IP_ADD_SOURCE_MEMBERSHIP : IP_DROP_SOURCE_MEMBERSHIP, &m, sizeof(m));
  } else {
    struct group_source_req g;
    struct sockaddr_in6 *gs = (struct sockaddr_in6 *)&g.gsr_group, *ss = (struct sockaddr_in6 *)&g.gsr_source;
    uint32_t scope = 0;
    memset(&g, 0, sizeof(g));
    gs->sin6_family = AF_INET6;
    ss->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, group, &gs->sin6_addr) != 1) return num(env, -EINVAL);
    if (inet_pton(AF_INET6, source, &ss->sin6_addr) != 1) return num(env, -EINVAL);
    if (iok == 1 && udpk_parse_v6_scope(iface, NULL, &scope) < 0) return num(env, -EINVAL);
    g.gsr_interface = scope;
    r = setsockopt(s->fd, IPPROTO_IPV6, join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP, &g, sizeof(g));
  }
  return num(env, r < 0 ? -errno : 0);
}

/* ---------- TOS, fragmentation, path MTU ---------- */

/* setTOS(value): the TOS byte (IPv4) or traffic class (IPv6) of every
 * datagram sent afterwards. A v6 socket sets the IPv4 one as well for
 * v4-mapped traffic (which an IPv6-only socket refuses, harmlessly). */
napi_value m_set_tos(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  udpk_sock *s = get_this(env, info, &argc, argv);
  int64_t value;
  int v, r;
  if (!s) return NULL;
  if (!get_integer(env, argv[0], 0, 255, "tos must be an integer in 0..255", &value)) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  v = (int)value;
  if (s->family == 4) {
    r = setsockopt(s->fd, IPPROTO_IP, IP_TOS, &v, sizeof(v));
  } else {
    r = setsockopt(s->fd, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v));
    if (r == 0) setsockopt(s->fd, IPPROTO_IP, IP_TOS, &v, sizeof(v));
  }
  if (r < 0) return num(env, -errno);
  s->tos = v;
  return num(env, 0);
}

napi_value m_get_tos(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  int v = 0;
  socklen_t len = sizeof(v);
  if (!s) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (getsockopt(s->fd, s->family == 4 ? IPPROTO_IP : IPPROTO_IPV6, s->family == 4 ? IP_TOS : IPV6_TCLASS, &v, &len) < 0)
    return num(env, -errno);
  return num(env, v & 0xff);
}

/* setDontFragment(flag): true sets DF and never fragments locally (a
 * datagram over the path MTU fails with EMSGSIZE, and ICMP "fragmentation
 * needed" lowers the path MTU); false lets the kernel fragment. */
napi_value m_set_dont_fragment(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  udpk_sock *s = get_this(env, info, &argc, argv);
  bool on;
  int r;
  if (!s) return NULL;
  if (!get_bool(env, argv[0], "flag must be a boolean", &on)) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
#if defined(IP_MTU_DISCOVER) && defined(IPV6_MTU_DISCOVER)
  {
    int v4 = on ? IP_PMTUDISC_DO : IP_PMTUDISC_DONT, v6 = on ? IPV6_PMTUDISC_DO : IPV6_PMTUDISC_DONT;
    if (s->family == 4) {
      r = setsockopt(s->fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof(v4));
    } else {
      r = setsockopt(s->fd, IPPROTO_IPV6, IPV6_MTU_DISCOVER, &v6, sizeof(v6));
      if (r == 0) setsockopt(s->fd, IPPROTO_IP, IP_MTU_DISCOVER, &v4, sizeof(v4));
    }
  }
#else
  (void)on;
  r = -1;
  errno = ENOTSUP;
#endif
  return num(env, r < 0 ? -errno : 0);
}

/* getPathMTU(): the kernel's path MTU to the connected peer (ENOTCONN on
 * an unconnected socket). */
napi_value m_get_path_mtu(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
#if defined(IP_MTU) && defined(IPV6_MTU)
  {
    int v = 0;
    socklen_t len = sizeof(v);
    struct sockaddr_storage peer;
    socklen_t pl = sizeof(peer);
    int level = IPPROTO_IP, name = IP_MTU;
    /* A v6 socket connected to a v4-mapped peer asks the IPv4 layer. */
    if (s->family == 6) {
      if (getpeername(s->fd, (struct sockaddr *)&peer, &pl) < 0) return num(env, -errno);
      if (!IN6_IS_ADDR_V4MAPPED(&((struct sockaddr_in6 *)&peer)->sin6_addr)) {
        level = IPPROTO_IPV6;
        name = IPV6_MTU;
      }
    }
    if (getsockopt(s->fd, level, name, &v, &len) < 0) return num(env, -errno);
    return num(env, v);
  }
#else
  return num(env, -ENOTSUP);
#endif
}
