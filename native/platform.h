/* The syscall layer under the datapath. Everything above this header speaks
 * in batches of udpk_msg; how a batch reaches the kernel (one recvmmsg, or a
 * recvmsg loop where that is all there is) is the business of exactly one
 * platform_*.c file, chosen by binding.gyp. Nothing here knows about Node. */
#ifndef UDPKIT_PLATFORM_H
#define UDPKIT_PLATFORM_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#if defined(__linux__)
#include <netinet/udp.h>
/* Older C libraries lack the names; the numbers are the kernel's ABI. */
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

/* Same layout as Linux's struct mmsghdr, so a batch can be handed to
 * recvmmsg/sendmmsg without copying; other platforms just loop over it. */
typedef struct udpk_msg {
  struct msghdr hdr;
  unsigned int len;
} udpk_msg;

typedef struct udpk_platform_info {
  int recvmmsg;  /* 1 when the batched syscalls are really there */
  int sendmmsg;
  int rxq_ovfl;  /* 1 when the platform has a kernel drop counter at all */
  int gro;       /* receive coalescing (UDP_GRO) */
  int pktinfo;   /* destination address and interface of received datagrams; source on send */
  int ecn;       /* TOS / traffic class of received datagrams; per-datagram TOS on send */
  int timestamps;
  int recverr;   /* the error queue (IP_RECVERR) */
  int dontfrag;  /* IP_MTU_DISCOVER and IP_MTU */
} udpk_platform_info;

/* Probes once per process; safe to call from several threads (workers). */
void udpk_platform_init(void);
udpk_platform_info udpk_platform_get(void);

/* A non-blocking, close-on-exec datagram socket, or -errno. */
int udpk_socket(int family);

/* Makes an adopted descriptor non-blocking. 0 or -errno. */
int udpk_set_nonblock(int fd);

/* Receives up to n datagrams. Returns the count (>= 1) or -errno.
 * An error met after some datagrams were already taken is stored in
 * *deferred (else 0) so the caller can report it after the batch. */
int udpk_recv_batch(int fd, udpk_msg *msgs, unsigned n, int *deferred);

/* Sends up to n datagrams. Returns the count sent (>= 1) or -errno for the
 * first one. */
int udpk_send_batch(int fd, udpk_msg *msgs, unsigned n);

/* Asks the kernel to report its receive-queue drop counter with every
 * datagram. 1 when enabled, 0 when the platform cannot. Only a fallback for
 * udpk_read_drops: a control message on every datagram costs every receive. */
int udpk_enable_drop_counter(int fd);

/* Reads the socket's receive-queue drop counter on demand (Linux:
 * SO_MEMINFO, the counter SO_RXQ_OVFL reports). 1 when read into *out, 0
 * when the platform cannot. */
int udpk_read_drops(int fd, uint32_t *out);

/* How full the receive queue is: bytes queued and the buffer's size (as the
 * kernel accounts them, SO_MEMINFO on Linux). 1 when read, 0 when the
 * platform cannot. */
int udpk_read_rcvq(int fd, uint32_t *used, uint32_t *size);

/* A periodic timer the loop can poll like a socket (Linux: timerfd), for
 * receive coalescing. A non-blocking descriptor, or -errno (-ENOSYS where
 * there is none: coalescing then stays off). */
int udpk_timer_create(void);

/* Fires first_ns from now, then every interval_ns; 0 disarms. 0 or -errno. */
int udpk_timer_arm(int fd, long first_ns, long interval_ns);

/* Consumes the expirations so far, so a level-triggered poll quiets. */
void udpk_timer_ack(int fd);

/* UDP segmentation offload (quinn-udp's model): several datagrams of one
 * size to one destination leave as a single send, split by the kernel or
 * the device; and, receiving, datagrams of one flow arrive coalesced and are
 * split again here. Both are probed once; 0 means use plain datagrams. */
#define UDPK_MAX_GSO_SEGMENTS 64

/* 1 when the kernel takes a UDP_SEGMENT control message. */
int udpk_gso_supported(void);

/* Turns receive coalescing on for fd. 1 when enabled, 0 when not. */
int udpk_enable_gro(int fd);

/* The control messages these produce and take are read and written in
 * cmsg.c. */

#endif
