/* Control-message parsing and building (see cmsg.h). */
#define _GNU_SOURCE
#include "cmsg.h"

#include <netinet/in.h>
#include <string.h>

#if defined(__linux__)
#include <netinet/udp.h>
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
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
