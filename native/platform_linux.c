/* Linux: recvmmsg/sendmmsg, SOCK_NONBLOCK|SOCK_CLOEXEC and SO_RXQ_OVFL.
 * The mmsg syscalls are probed once; a kernel or a seccomp policy that
 * answers ENOSYS gets the recvmsg/sendmsg loops instead. */
#define _GNU_SOURCE
#include "platform.h"
#include "platform_loop.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <fcntl.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <string.h>
#include <unistd.h>

_Static_assert(sizeof(udpk_msg) == sizeof(struct mmsghdr), "udpk_msg must alias mmsghdr");
_Static_assert(offsetof(udpk_msg, len) == offsetof(struct mmsghdr, msg_len), "udpk_msg must alias mmsghdr");

/* Written once under pthread_once, and after that only ever downgraded from
 * 1 to 0 should a syscall start answering ENOSYS; relaxed atomics suffice. */
static int have_recvmmsg;
static int have_gso;
static int have_gro;
static int have_pktinfo;
static int have_ecn;
static int have_timestamps;
static int have_recverr;
static int have_dontfrag;
static int have_sendmmsg;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

static int probe_flag(int fd, int level, int name) {
  int on = 1;
  return fd >= 0 && setsockopt(fd, level, name, &on, sizeof(on)) == 0;
}

static void probe(void) {
  /* An invalid descriptor tells the two cases apart without side effects:
   * a kernel with the syscall says EBADF, one without says ENOSYS. */
  int r = recvmmsg(-1, NULL, 0, 0, NULL);
  __atomic_store_n(&have_recvmmsg, !(r < 0 && errno == ENOSYS), __ATOMIC_RELAXED);
  r = sendmmsg(-1, NULL, 0, 0);
  __atomic_store_n(&have_sendmmsg, !(r < 0 && errno == ENOSYS), __ATOMIC_RELAXED);
  {
    /* A kernel without UDP GSO (< 4.18) answers ENOPROTOOPT. */
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), value = 0;
    socklen_t len = sizeof(value);
    int ok = fd >= 0 && getsockopt(fd, SOL_UDP, UDP_SEGMENT, &value, &len) == 0;
    __atomic_store_n(&have_gso, ok, __ATOMIC_RELAXED);
    /* The rest: each option is there when the kernel takes it. */
    __atomic_store_n(&have_gro, probe_flag(fd, SOL_UDP, UDP_GRO), __ATOMIC_RELAXED);
    __atomic_store_n(&have_pktinfo, probe_flag(fd, IPPROTO_IP, IP_PKTINFO), __ATOMIC_RELAXED);
    __atomic_store_n(&have_ecn, probe_flag(fd, IPPROTO_IP, IP_RECVTOS), __ATOMIC_RELAXED);
    __atomic_store_n(&have_timestamps, probe_flag(fd, SOL_SOCKET, SO_TIMESTAMPNS), __ATOMIC_RELAXED);
    __atomic_store_n(&have_recverr, probe_flag(fd, IPPROTO_IP, IP_RECVERR), __ATOMIC_RELAXED);
    {
      int v = IP_PMTUDISC_DO;
      __atomic_store_n(&have_dontfrag, fd >= 0 && setsockopt(fd, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof(v)) == 0,
                       __ATOMIC_RELAXED);
    }
    if (fd >= 0) close(fd);
  }
}

int udpk_gso_supported(void) {
  udpk_platform_init();
  return __atomic_load_n(&have_gso, __ATOMIC_RELAXED);
}

int udpk_enable_gro(int fd) {
  int on = 1;
  return setsockopt(fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
}

void udpk_platform_init(void) { pthread_once(&probe_once, probe); }

udpk_platform_info udpk_platform_get(void) {
  udpk_platform_info info;
  udpk_platform_init();
  info.recvmmsg = __atomic_load_n(&have_recvmmsg, __ATOMIC_RELAXED);
  info.sendmmsg = __atomic_load_n(&have_sendmmsg, __ATOMIC_RELAXED);
#ifdef SO_RXQ_OVFL
  info.rxq_ovfl = 1;
#else
  info.rxq_ovfl = 0;
#endif
  info.gro = __atomic_load_n(&have_gro, __ATOMIC_RELAXED);
  info.pktinfo = __atomic_load_n(&have_pktinfo, __ATOMIC_RELAXED);
  info.ecn = __atomic_load_n(&have_ecn, __ATOMIC_RELAXED);
  info.timestamps = __atomic_load_n(&have_timestamps, __ATOMIC_RELAXED);
  info.recverr = __atomic_load_n(&have_recverr, __ATOMIC_RELAXED);
  info.dontfrag = __atomic_load_n(&have_dontfrag, __ATOMIC_RELAXED);
  return info;
}

int udpk_socket(int family) {
  int fd = socket(family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return fd < 0 ? -errno : fd;
}

int udpk_recv_batch(int fd, udpk_msg *msgs, unsigned n, int *deferred) {
  *deferred = 0;
  if (__atomic_load_n(&have_recvmmsg, __ATOMIC_RELAXED)) {
    int r;
    do
      r = recvmmsg(fd, (struct mmsghdr *)msgs, n, MSG_DONTWAIT, NULL);
    while (r < 0 && errno == EINTR);
    if (r >= 0) return r;
    if (errno != ENOSYS) return -errno;
    __atomic_store_n(&have_recvmmsg, 0, __ATOMIC_RELAXED);
  }
  return udpk_recv_loop(fd, msgs, n, deferred);
}

int udpk_send_batch(int fd, udpk_msg *msgs, unsigned n) {
  if (__atomic_load_n(&have_sendmmsg, __ATOMIC_RELAXED)) {
    int r;
    do
      r = sendmmsg(fd, (struct mmsghdr *)msgs, n, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r >= 0) return r;
    if (errno != ENOSYS) return -errno;
    __atomic_store_n(&have_sendmmsg, 0, __ATOMIC_RELAXED);
  }
  return udpk_send_loop(fd, msgs, n);
}

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif
/* Indexes into SO_MEMINFO's array (linux/sock_diag.h). */
#define MEMINFO_RMEM_ALLOC 0
#define MEMINFO_RCVBUF 1
#define MEMINFO_DROPS 8
#define MEMINFO_VARS 9

static int read_meminfo(int fd, uint32_t mem[MEMINFO_VARS]) {
  socklen_t len = MEMINFO_VARS * sizeof(uint32_t);
  memset(mem, 0, len);
  return getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) == 0 && len >= MEMINFO_VARS * sizeof(uint32_t);
}

int udpk_read_drops(int fd, uint32_t *out) {
  uint32_t mem[MEMINFO_VARS];
  if (!read_meminfo(fd, mem)) return 0;
  *out = mem[MEMINFO_DROPS];
  return 1;
}

int udpk_read_rcvq(int fd, uint32_t *used, uint32_t *size) {
  uint32_t mem[MEMINFO_VARS];
  if (!read_meminfo(fd, mem)) return 0;
  *used = mem[MEMINFO_RMEM_ALLOC];
  *size = mem[MEMINFO_RCVBUF];
  return 1;
}

int udpk_timer_create(void) {
  int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
  return fd < 0 ? -errno : fd;
}

int udpk_timer_arm(int fd, long first_ns, long interval_ns) {
  struct itimerspec t;
  t.it_interval.tv_sec = interval_ns / 1000000000L;
  t.it_interval.tv_nsec = interval_ns % 1000000000L;
  t.it_value.tv_sec = first_ns / 1000000000L;
  t.it_value.tv_nsec = first_ns % 1000000000L;
  return timerfd_settime(fd, 0, &t, NULL) == 0 ? 0 : -errno;
}

void udpk_timer_ack(int fd) {
  uint64_t expirations;
  ssize_t r;
  do
    r = read(fd, &expirations, sizeof(expirations));
  while (r < 0 && errno == EINTR);
}

int udpk_enable_drop_counter(int fd) {
#ifdef SO_RXQ_OVFL
  int on = 1;
  return setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on)) == 0;
#else
  (void)fd;
  return 0;
#endif
}
