/* Control messages, read and written in one place: what the kernel attaches
 * to a received datagram (drop counter, coalesced segment size) and what a
 * send attaches for it (segment size). Everything platform-specific about
 * them is here; a platform without one reads as "absent". */
#ifndef UDPKIT_CMSG_H
#define UDPKIT_CMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Room for the control data one received datagram carries by default
 * (drop counter, coalesced segment size), and with the receive features of
 * udpk_enable_recv_features on as well. */
#define UDPK_CTRL_SIZE 64
#define UDPK_CTRL_SIZE_FULL 256

/* Reads the drop counter from a received message's control data.
 * 1 when found (stored in *out), 0 when absent. */
int udpk_read_drop_counter(const struct msghdr *hdr, uint32_t *out);

/* The segment size of a coalesced received message, or 0 when it is one
 * datagram. */
int udpk_read_gro_size(const struct msghdr *hdr);

/* Room for a UDP_SEGMENT control message. */
#define UDPK_GSO_CTRL_SIZE 32

/* Points hdr's control data at ctrl (UDPK_GSO_CTRL_SIZE bytes) holding a
 * UDP_SEGMENT of segment_size. */
void udpk_set_gso(struct msghdr *hdr, unsigned char *ctrl, uint16_t segment_size);


/* ---------- receive features (createSocket's recvPacketInfo & co.) ---------- */

#define UDPK_RECV_PKTINFO 1u
#define UDPK_RECV_ECN 2u
#define UDPK_RECV_TIMESTAMPS 4u
#define UDPK_RECV_ERRORS 8u
/* The features that add control data to every received datagram. */
#define UDPK_RECV_PER_DATAGRAM (UDPK_RECV_PKTINFO | UDPK_RECV_ECN | UDPK_RECV_TIMESTAMPS)

/* Turns on (and off) the socket options behind `mask` for fd, an AF_INET
 * (family 4) or AF_INET6 (family 6) socket. A v6 socket also gets the IPv4
 * option where there is one, for v4-mapped traffic. Returns the mask of
 * features that are on (a feature the platform lacks stays off), or -errno
 * when the descriptor itself refused. */
int udpk_enable_recv_features(int fd, int family, unsigned mask);

/* What the control data of one received datagram says, each field only
 * when present: ifindex, ecn and ts_nsec are -1 when absent. */
typedef struct udpk_recv_info {
  struct sockaddr_storage dst; /* ss_family 0 when absent; port 0 */
  int32_t ifindex;
  int32_t ecn;
  int64_t ts_sec;
  int32_t ts_nsec;
} udpk_recv_info;

/* One walk over a received message's control data; family is the
 * socket's (4 or 6). */
void udpk_read_recv_info(const struct msghdr *hdr, int family, udpk_recv_info *out);

/* ---------- the error queue (recvErrors) ---------- */

#define UDPK_ORIGIN_LOCAL 1
#define UDPK_ORIGIN_ICMP 2
#define UDPK_ORIGIN_ICMP6 3

/* One entry of the socket's error queue: the error, where it came from and
 * the ICMP type/code, the path MTU for "too big" (info), and the router or
 * host that reported it (offender, ss_family 0 when unknown). */
typedef struct udpk_ext_err {
  int err;
  int origin;
  int type;
  int code;
  uint32_t info;
  struct sockaddr_storage offender;
} udpk_ext_err;

/* Reads the extended error of a MSG_ERRQUEUE message. 1 found, 0 not. */
int udpk_read_ext_err(const struct msghdr *hdr, udpk_ext_err *out);

/* ---------- send ---------- */

/* Room for the control data one sent datagram can carry: a source address,
 * a TOS/traffic class and a segment size. */
#define UDPK_TX_CTRL_SIZE 128

/* Writes the control data for one datagram into ctrl (UDPK_TX_CTRL_SIZE
 * bytes) and returns its length (0: none). v4 picks the IPv4 options (an
 * AF_INET socket, or v4-mapped traffic on an AF_INET6 one). src: the
 * source address (NULL: the kernel's choice); tos: -1 for none;
 * segment_size: 0 for none. */
/* Drops the segment size udpk_build_send_ctrl put last into hdr's control
 * data (the datagram is then segmented in software). */
void udpk_strip_gso(struct msghdr *hdr);

size_t udpk_build_send_ctrl(unsigned char *ctrl, bool v4, const struct sockaddr_storage *src, int tos,
                            uint16_t segment_size);

#endif
