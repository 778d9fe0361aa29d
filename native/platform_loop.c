/* What every POSIX platform file shares: the descriptor flag, and batch
 * loops over recvmsg/sendmsg for platforms (or kernels) without the mmsg
 * syscalls. */
#include "platform_loop.h"

#include <errno.h>
#include <fcntl.h>

int udpk_set_nonblock(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0) return -errno;
  if (flags & O_NONBLOCK) return 0;
  if (fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0) return -errno;
  return 0;
}

int udpk_recv_loop(int fd, udpk_msg *msgs, unsigned n, int *deferred) {
  unsigned i;
  *deferred = 0;
  for (i = 0; i < n; i++) {
    ssize_t r;
    do
      r = recvmsg(fd, &msgs[i].hdr, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      int err = errno;
      if (i == 0) return -err;
      /* recvmsg consumes a pending socket error (say ECONNREFUSED) when it
       * reports it, so it must travel with this batch or it is lost. */
      if (err != EAGAIN && err != EWOULDBLOCK) *deferred = -err;
      break;
    }
    msgs[i].len = (unsigned int)r;
  }
  return (int)i;
}

int udpk_send_loop(int fd, udpk_msg *msgs, unsigned n) {
  unsigned i;
  for (i = 0; i < n; i++) {
    ssize_t r;
    do
      r = sendmsg(fd, &msgs[i].hdr, 0);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (i == 0) return -errno;
      break;
    }
    msgs[i].len = (unsigned int)r;
  }
  return (int)i;
}
