/* The benchmark's load generator: datagrams the way ordinary clients send
 * them. Plain sendmmsg batches from several sockets (so several source
 * ports), no segmentation offload, paced on an absolute schedule or flat
 * out. `udpkit bench` compiles it with the machine's cc and runs several of
 * them; without a compiler it falls back to a Node generator.
 *
 *   loadgen HOST PORT RATE SOCKETS BATCH SIZES
 *     RATE     datagrams/s for this process, 0 = flat out
 *     SOCKETS  sockets (source ports) to rotate over, one batch each
 *     BATCH    datagrams per sendmmsg
 *     SIZES    comma-separated payload sizes, used in turn
 *
 * Every payload starts with the CLOCK_REALTIME time of its send in
 * nanoseconds (little-endian u64, when the payload has room), which the
 * receiver turns into one-way latency (the wall clock, because runtimes
 * differ in what their monotonic clocks count from). Prints "ready" once its sockets are
 * up, runs until stdin closes or says anything, then prints the count
 * handed to the kernel as {"sent":N}. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_SOCKETS 64
#define MAX_BATCH 256
#define MAX_SIZES 64
#define MAX_PAYLOAD 65507
/* Falling further behind than this forgets the backlog rather than bursting. */
#define MAX_LAG_NS 4000000LL

static int64_t clock_ns(clockid_t c) {
  struct timespec t;
  clock_gettime(c, &t);
  return (int64_t)t.tv_sec * 1000000000LL + t.tv_nsec;
}
#define now_ns() clock_ns(CLOCK_MONOTONIC)

static int stdin_says_stop(void) {
  struct pollfd p = {0, POLLIN, 0};
  return poll(&p, 1, 0) > 0;
}

int main(int argc, char **argv) {
  static unsigned char payload[MAX_BATCH][MAX_PAYLOAD < 2048 ? MAX_PAYLOAD : 2048];
  struct mmsghdr msgs[MAX_BATCH];
  struct iovec iov[MAX_BATCH];
  struct sockaddr_in dst;
  int fds[MAX_SOCKETS], nfd, batch, sizes[MAX_SIZES], nsizes = 0, next_size = 0, i, turn = 0;
  double rate;
  long long sent = 0;
  int64_t start, due, step_ns;
  char *p;
  unsigned long iter = 0;

  if (argc != 7) {
    fprintf(stderr, "usage: loadgen HOST PORT RATE SOCKETS BATCH SIZES\n");
    return 2;
  }
  memset(&dst, 0, sizeof(dst));
  dst.sin_family = AF_INET;
  dst.sin_port = htons((uint16_t)atoi(argv[2]));
  if (inet_pton(AF_INET, argv[1], &dst.sin_addr) != 1) return 2;
  rate = atof(argv[3]);
  nfd = atoi(argv[4]);
  batch = atoi(argv[5]);
  if (nfd < 1 || nfd > MAX_SOCKETS || batch < 1 || batch > MAX_BATCH) return 2;
  for (p = argv[6]; *p && nsizes < MAX_SIZES;) {
    int s = (int)strtol(p, &p, 10);
    if (s < 1 || s > (int)sizeof(payload[0])) return 2;
    sizes[nsizes++] = s;
    if (*p == ',') p++;
  }
  if (nsizes == 0) return 2;

  for (i = 0; i < nfd; i++) {
    int sndbuf = 1 << 20;
    fds[i] = socket(AF_INET, SOCK_DGRAM, 0);
    if (fds[i] < 0) return 1;
    setsockopt(fds[i], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
  }
  memset(payload, 0x61, sizeof(payload));
  memset(msgs, 0, sizeof(msgs));
  for (i = 0; i < batch; i++) {
    iov[i].iov_base = payload[i];
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &dst;
    msgs[i].msg_hdr.msg_namelen = sizeof(dst);
  }
  printf("ready\n");
  fflush(stdout);

  step_ns = rate > 0 ? (int64_t)(1e9 * batch / rate) : 0;
  start = now_ns();
  due = start;
  for (;;) {
    int64_t t;
    int n;
    if ((++iter & 63) == 0 && stdin_says_stop()) break;
    if (step_ns > 0) {
      t = now_ns();
      if (t - due > MAX_LAG_NS) due = t;
      if (due > t) {
        struct timespec ts = {(time_t)(due / 1000000000LL), (long)(due % 1000000000LL)};
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
        if (stdin_says_stop()) break;
      }
      due += step_ns;
    }
    t = clock_ns(CLOCK_REALTIME);
    for (i = 0; i < batch; i++) {
      iov[i].iov_len = (size_t)sizes[next_size];
      next_size = (next_size + 1) % nsizes;
      if (iov[i].iov_len >= 8) memcpy(payload[i], &t, 8);
    }
    n = sendmmsg(fds[turn], msgs, (unsigned)batch, 0);
    if (n > 0) sent += n;
    else if (n < 0 && errno != EAGAIN && errno != ENOBUFS && errno != ECONNREFUSED && errno != EINTR) break;
    turn = (turn + 1) % nfd;
  }
  printf("{\"sent\":%lld}\n", sent);
  return 0;
}
