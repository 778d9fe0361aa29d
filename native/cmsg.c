/* Control-message parsing and building (see cmsg.h). */
#define _GNU_SOURCE
#include "cmsg.h"
#include "platform.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <time.h> /* struct timespec: linux/errqueue.h uses it without including it (musl) */

#if defined(__linux__)
#include <linux/errqueue.h>
#endif

int udpk_read_drop_counter(const struct msghdr *hdr, uint32_t *out) {
#ifdef SO_RXQ_OVFL
  struct cmsghdr *c;
  if (hdr->msg_control == NULL || hdr->msg_controllen == 0) return 0;
  for (c = CMSG_FIRSTHDR((struct msghdr *)hdr); c != NULL; c = CMSG_NXTHDR((struct msghdr *)hdr, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
        c->cmsg_len >= CMSG_LEN(sizeof(uint32_t))) {
      memcpy(out, CMSG_DATA(c), sizeof(uint32_t));
      return 1;
    }
  }
#else
  (void)hdr;
  (void)out;
#endif
  return 0;
}

int udpk_read_gro_size(const struct msghdr *hdr) {
#if defined(__linux__)
  struct cmsghdr *c;
  if (hdr->msg_control == NULL || hdr->msg_controllen == 0) return 0;
  for (c = CMSG_FIRSTHDR((struct msghdr *)hdr); c != NULL; c = CMSG_NXTHDR((struct msghdr *)hdr, c)) {
    if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int size;
      memcpy(&size, CMSG_DATA(c), sizeof(size));
      return size > 0 ? size : 0;
    }
  }
#else
  (void)hdr;
#endif
  return 0;
}

void udpk_set_gso(struct msghdr *hdr, unsigned char *ctrl, uint16_t segment_size) {
#if defined(__linux__)
  struct cmsghdr *c;
  memset(ctrl, 0, UDPK_GSO_CTRL_SIZE);
  hdr->msg_control = ctrl;
  hdr->msg_controllen = CMSG_SPACE(sizeof(uint16_t));
  c = CMSG_FIRSTHDR(hdr);
  c->cmsg_level = SOL_UDP;
  c->cmsg_type = UDP_SEGMENT;
  c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
  memcpy(CMSG_DATA(c), &segment_size, sizeof(segment_size));
#else
  (void)hdr;
  (void)ctrl;
  (void)segment_size;
#endif
}

/* ---------- receive features ---------- */

#if defined(__linux__)
/* 1 on, 0 refused (the feature stays off), -errno for a bad descriptor. */
static int set_flag(int fd, int level, int name, bool on) {
  int v = on ? 1 : 0;
  if (setsockopt(fd, level, name, &v, sizeof(v)) == 0) return on ? 1 : 0;
  return (errno == EBADF || errno == ENOTSOCK) ? -errno : 0;
}

/* A v6 socket gets the IPv6 option and, for v4-mapped traffic, the IPv4
 * one too (that one may fail on an IPv6-only socket, harmlessly). */
static int set_pair(int fd, int family, int v4name, int v6name, bool on) {
  int r4 = 0, r6;
  if (family == 4) return set_flag(fd, IPPROTO_IP, v4name, on);
  r6 = set_flag(fd, IPPROTO_IPV6, v6name, on);
  if (r6 < 0) return r6;
  r4 = set_flag(fd, IPPROTO_IP, v4name, on);
  (void)r4;
  return r6;
}
#endif

int udpk_enable_recv_features(int fd, int family, unsigned mask) {
#if defined(__linux__)
  unsigned on = 0;
  int r;
  if ((r = set_pair(fd, family, IP_PKTINFO, IPV6_RECVPKTINFO, (mask & UDPK_RECV_PKTINFO) != 0)) < 0) return r;
  if (r) on |= UDPK_RECV_PKTINFO;
  if ((r = set_pair(fd, family, IP_RECVTOS, IPV6_RECVTCLASS, (mask & UDPK_RECV_ECN) != 0)) < 0) return r;
  if (r) on |= UDPK_RECV_ECN;
  if ((r = set_flag(fd, SOL_SOCKET, SO_TIMESTAMPNS, (mask & UDPK_RECV_TIMESTAMPS) != 0)) < 0) return r;
  if (r) on |= UDPK_RECV_TIMESTAMPS;
  if ((r = set_pair(fd, family, IP_RECVERR, IPV6_RECVERR, (mask & UDPK_RECV_ERRORS) != 0)) < 0) return r;
  if (r) on |= UDPK_RECV_ERRORS;
  return (int)on;
#else
  (void)fd;
  (void)family;
  (void)mask;
  return 0;
#endif
}

void udpk_read_recv_info(const struct msghdr *hdr, int family, udpk_recv_info *out) {
  memset(&out->dst, 0, sizeof(out->dst));
  out->ifindex = -1;
  out->ecn = -1;
  out->ts_sec = 0;
  out->ts_nsec = -1;
#if defined(__linux__)
  struct cmsghdr *c;
  if (hdr->msg_control == NULL || hdr->msg_controllen == 0) return;
  for (c = CMSG_FIRSTHDR((struct msghdr *)hdr); c != NULL; c = CMSG_NXTHDR((struct msghdr *)hdr, c)) {
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_PKTINFO && c->cmsg_len >= CMSG_LEN(sizeof(struct in_pktinfo))) {
      struct in_pktinfo pi;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      out->ifindex = pi.ipi_ifindex;
      if (family == 6) {
        /* v4 traffic on a dual-stack socket: the address in the socket's
         * family, as rinfo.address shows the sender. */
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->dst;
        a->sin6_family = AF_INET6;
        a->sin6_addr.s6_addr[10] = 0xff;
        a->sin6_addr.s6_addr[11] = 0xff;
        memcpy(&a->sin6_addr.s6_addr[12], &pi.ipi_addr, 4);
      } else {
        struct sockaddr_in *a = (struct sockaddr_in *)&out->dst;
        a->sin_family = AF_INET;
        a->sin_addr = pi.ipi_addr;
      }
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_PKTINFO &&
               c->cmsg_len >= CMSG_LEN(sizeof(struct in6_pktinfo))) {
      struct in6_pktinfo pi;
      struct sockaddr_in6 *a = (struct sockaddr_in6 *)&out->dst;
      memcpy(&pi, CMSG_DATA(c), sizeof(pi));
      out->ifindex = (int32_t)pi.ipi6_ifindex;
      a->sin6_family = AF_INET6;
      a->sin6_addr = pi.ipi6_addr;
      if (IN6_IS_ADDR_LINKLOCAL(&pi.ipi6_addr) || IN6_IS_ADDR_MC_LINKLOCAL(&pi.ipi6_addr))
        a->sin6_scope_id = pi.ipi6_ifindex;
    } else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TOS && c->cmsg_len >= CMSG_LEN(1)) {
      out->ecn = CMSG_DATA(c)[0] & 3;
    } else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_TCLASS && c->cmsg_len >= CMSG_LEN(sizeof(int))) {
      int tclass;
      memcpy(&tclass, CMSG_DATA(c), sizeof(tclass));
      out->ecn = tclass & 3;
    } else if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS &&
               c->cmsg_len >= CMSG_LEN(sizeof(struct timespec))) {
      struct timespec ts;
      memcpy(&ts, CMSG_DATA(c), sizeof(ts));
      out->ts_sec = (int64_t)ts.tv_sec;
      out->ts_nsec = (int32_t)ts.tv_nsec;
    }
  }
#else
  (void)hdr;
  (void)family;
#endif
}

int udpk_read_ext_err(const struct msghdr *hdr, udpk_ext_err *out) {
#if defined(__linux__)
  struct cmsghdr *c;
  memset(out, 0, sizeof(*out));
  if (hdr->msg_control == NULL || hdr->msg_controllen == 0) return 0;
  for (c = CMSG_FIRSTHDR((struct msghdr *)hdr); c != NULL; c = CMSG_NXTHDR((struct msghdr *)hdr, c)) {
    if ((c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_RECVERR) ||
        (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_RECVERR)) {
      struct sock_extended_err ee;
      size_t room = c->cmsg_len - CMSG_LEN(0), off_len;
      if (room < sizeof(ee)) continue;
      memcpy(&ee, CMSG_DATA(c), sizeof(ee));
      out->err = (int)ee.ee_errno;
      out->origin = ee.ee_origin == SO_EE_ORIGIN_LOCAL ? UDPK_ORIGIN_LOCAL
                    : ee.ee_origin == SO_EE_ORIGIN_ICMP ? UDPK_ORIGIN_ICMP
                    : ee.ee_origin == SO_EE_ORIGIN_ICMP6 ? UDPK_ORIGIN_ICMP6 : 0;
      out->type = ee.ee_type;
      out->code = ee.ee_code;
      out->info = ee.ee_info;
      /* The offender's address follows the struct (SO_EE_OFFENDER). */
      off_len = room - sizeof(ee);
      if (off_len > sizeof(out->offender)) off_len = sizeof(out->offender);
      if (off_len >= sizeof(sa_family_t)) memcpy(&out->offender, CMSG_DATA(c) + sizeof(ee), off_len);
      if (out->offender.ss_family != AF_INET && out->offender.ss_family != AF_INET6) out->offender.ss_family = 0;
      return 1;
    }
  }
  return 0;
#else
  (void)hdr;
  memset(out, 0, sizeof(*out));
  return 0;
#endif
}

/* ---------- send ---------- */

static struct cmsghdr *put(struct msghdr *h, struct cmsghdr *c, int level, int type, const void *data, size_t len) {
  c->cmsg_level = level;
  c->cmsg_type = type;
  c->cmsg_len = CMSG_LEN(len);
  memcpy(CMSG_DATA(c), data, len);
  h->msg_controllen += CMSG_SPACE(len);
  return (struct cmsghdr *)((unsigned char *)c + CMSG_SPACE(len));
}

size_t udpk_build_send_ctrl(unsigned char *ctrl, bool v4, const struct sockaddr_storage *src, int tos,
                            uint16_t segment_size) {
#if defined(__linux__)
  struct msghdr h;
  struct cmsghdr *c;
  memset(ctrl, 0, UDPK_TX_CTRL_SIZE);
  memset(&h, 0, sizeof(h));
  h.msg_control = ctrl;
  c = (struct cmsghdr *)ctrl;
  if (src != NULL && src->ss_family == AF_INET) {
    struct in_pktinfo pi;
    memset(&pi, 0, sizeof(pi));
    pi.ipi_spec_dst = ((const struct sockaddr_in *)src)->sin_addr;
    c = put(&h, c, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
  } else if (src != NULL && src->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)src;
    if (IN6_IS_ADDR_V4MAPPED(&a->sin6_addr)) {
      struct in_pktinfo pi;
      memset(&pi, 0, sizeof(pi));
      memcpy(&pi.ipi_spec_dst, &a->sin6_addr.s6_addr[12], 4);
      c = put(&h, c, IPPROTO_IP, IP_PKTINFO, &pi, sizeof(pi));
    } else {
      struct in6_pktinfo pi;
      memset(&pi, 0, sizeof(pi));
      pi.ipi6_addr = a->sin6_addr;
      pi.ipi6_ifindex = a->sin6_scope_id;
      c = put(&h, c, IPPROTO_IPV6, IPV6_PKTINFO, &pi, sizeof(pi));
    }
  }
  if (tos >= 0) c = put(&h, c, v4 ? IPPROTO_IP : IPPROTO_IPV6, v4 ? IP_TOS : IPV6_TCLASS, &tos, sizeof(tos));
  if (segment_size > 0) c = put(&h, c, SOL_UDP, UDP_SEGMENT, &segment_size, sizeof(segment_size));
  (void)c;
  return h.msg_controllen;
#else
  (void)ctrl;
  (void)v4;
  (void)src;
  (void)tos;
  (void)segment_size;
  return 0;
#endif
}

void udpk_strip_gso(struct msghdr *hdr) {
  size_t room = CMSG_SPACE(sizeof(uint16_t));
  hdr->msg_controllen = hdr->msg_controllen > room ? hdr->msg_controllen - room : 0;
  if (hdr->msg_controllen == 0) hdr->msg_control = NULL;
}
