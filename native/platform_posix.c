/* Any other POSIX system: plain recvmsg/sendmsg loops, fcntl for the flags,
 * no drop counter. A platform with better primitives gets its own file. */
#include "platform.h"
#include "platform_loop.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

void udpk_platform_init(void) {}

udpk_platform_info udpk_platform_get(void) {
  udpk_platform_info info;
  memset(&info, 0, sizeof(info));
  return info;
}

int udpk_socket(int family) {
  int fd = socket(family, SOCK_DGRAM, 0);
  int err;
  if (fd < 0) return -errno;
  if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
    err = -errno;
    close(fd);
    return err;
  }
  if ((err = udpk_set_nonblock(fd)) < 0) {
    close(fd);
    return err;
  }
#ifdef SO_NOSIGPIPE
  {
    int on = 1;
    setsockopt(fd, SOL_SOCKET, SO_NOSIGPIPE, &on, sizeof(on));
  }
#endif
  return fd;
}

int udpk_recv_batch(int fd, udpk_msg *msgs, unsigned n, int *deferred) {
  return udpk_recv_loop(fd, msgs, n, deferred);
}

int udpk_send_batch(int fd, udpk_msg *msgs, unsigned n) { return udpk_send_loop(fd, msgs, n); }

int udpk_enable_drop_counter(int fd) {
  (void)fd;
  return 0;
}

int udpk_read_drops(int fd, uint32_t *out) {
  (void)fd;
  (void)out;
  return 0;
}

int udpk_read_rcvq(int fd, uint32_t *used, uint32_t *size) {
  (void)fd;
  (void)used;
  (void)size;
  return 0;
}

int udpk_timer_create(void) { return -ENOSYS; }

int udpk_timer_arm(int fd, long first_ns, long interval_ns) {
  (void)fd;
  (void)first_ns;
  (void)interval_ns;
  return -ENOSYS;
}

void udpk_timer_ack(int fd) { (void)fd; }

int udpk_gso_supported(void) { return 0; }

int udpk_enable_gro(int fd) {
  (void)fd;
  return 0;
}
