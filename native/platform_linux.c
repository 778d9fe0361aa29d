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
#include <string.h>
#include <unistd.h>

_Static_assert(sizeof(udpk_msg) == sizeof(struct mmsghdr), "udpk_msg must alias mmsghdr");
_Static_assert(offsetof(udpk_msg, len) == offsetof(struct mmsghdr, msg_len), "udpk_msg must alias mmsghdr");

/* Written once under pthread_once, and after that only ever downgraded from
 * 1 to 0 should a syscall start answering ENOSYS; relaxed atomics suffice. */
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif

static int have_recvmmsg;
static int have_gso;
static int have_sendmmsg;
static pthread_once_t probe_once = PTHREAD_ONCE_INIT;

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
    if (fd >= 0) close(fd);
    __atomic_store_n(&have_gso, ok, __ATOMIC_RELAXED);
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

void udpk_disable_gro(int fd) {
  int off = 0;
  (void)setsockopt(fd, SOL_UDP, UDP_GRO, &off, sizeof(off));
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

int udpk_enable_drop_counter(int fd) {
#ifdef SO_RXQ_OVFL
  int on = 1;
  return setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on)) == 0;
#else
  (void)fd;
  return 0;
#endif
}
