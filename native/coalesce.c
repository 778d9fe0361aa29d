/* Receive coalescing: interrupt moderation for a socket.
 *
 * Under load from ordinary senders a receiver that sleeps in epoll and
 * wakes for every few datagrams spends most of its CPU going to sleep and
 * waking up (the scheduler, epoll), not receiving. So when wake-ups come
 * closer together than a window W (UDPKIT_RX_COALESCE_US, default 500 µs)
 * several times in a row, the socket stops being watched for readable and
 * a periodic timer drains it every W instead: one wake-up per W however
 * many datagrams came, each delayed by at most W (plus scheduling).
 *
 * It switches itself off
 *  - when ticks find fewer than MIN_PER_TICK datagrams, POOR_TICKS_TO_STOP
 *    times in a row (the rate fell: waking per datagram costs no more than
 *    ticking, and adds no latency);
 *  - when the socket sent anything since the last wake-up or tick: it is in
 *    a conversation, where the answer must not wait (reply polling is the
 *    lever there), so a client or an echo server is never coalesced;
 *  - when a tick could not empty the queue (saturation: readable events come
 *    back to back then, there is no sleep to save);
 *  - when a tick finds the receive buffer more than half full, or the first
 *    tick (after W/FIRST_TICK_DIVISOR) finds it filling that fast: waiting
 *    a window would make the kernel drop datagrams that waking per readable
 *    event would have saved. After that the next start needs twice as many
 *    close wake-ups (up to MAX_WAKES_TO_START), so a buffer too small for
 *    the window mostly keeps the socket on readable events. (A burst that
 *    fills the buffer within W/FIRST_TICK_DIVISOR of a start can still
 *    overflow it: with the default window that takes over a million
 *    datagrams a second into the default buffer.);
 *  - when receiving stops or the socket closes.
 * Without a timer the loop can poll (platform.h: udpk_timer_create), or with
 * UDPKIT_RX_COALESCE_US=0, it never starts.
 *
 * The tick handle follows the poll handle's lifetime rules (socket.c): the
 * socket is held strongly while ticking, and freed only once the tick handle
 * is closed too. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "udpkit.h"

#define COALESCE_DEFAULT_US 500L
#define COALESCE_MAX_US 10000L
/* Consecutive close wake-ups before coalescing starts: a short burst at a
 * low rate is not load. */
#define CLOSE_WAKES_TO_START 4u
#define MAX_WAKES_TO_START 4096u
/* The first tick comes after W/FIRST_TICK_DIVISOR: a look at how fast the
 * buffer fills before a whole window is risked on it. */
#define FIRST_TICK_DIVISOR 8u
#define MIN_PER_TICK 2u
/* Consecutive ticks that found fewer than MIN_PER_TICK before it stops:
 * senders are bursty, one quiet tick is not a lower rate. */
#define POOR_TICKS_TO_STOP 3u

static long window_ns(void) {
  static long w = -1;
  if (w < 0) {
    const char *v = getenv("UDPKIT_RX_COALESCE_US");
    long us = v ? atol(v) : COALESCE_DEFAULT_US;
    if (us < 0) us = 0;
    if (us > COALESCE_MAX_US) us = COALESCE_MAX_US;
    w = us * 1000L;
  }
  return w;
}

static uint64_t mono_ns(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

void coalesce_pause(udpk_sock *s) {
  if (!s->ticking) return;
  s->ticking = false;
  s->close_wakes = 0;
  if (s->tick_state == POLL_OPEN) {
    udpk_timer_arm(s->tick_fd, 0, 0);
    uv_poll_stop(&s->tick);
  }
}

/* Back to a readable watch. */
static void coalesce_stop(udpk_sock *s) {
  int err;
  if (!s->ticking) return;
  coalesce_pause(s);
  if ((err = update_poll(s)) < 0) {
    s->receiving = false;
    update_poll(s);
    report_error(s, err);
  }
}

static void on_tick(uv_poll_t *h, int status, int events) {
  udpk_sock *s = (udpk_sock *)h->data;
  uint32_t used = 0, size = 0;
  bool empty, pressed;
  unsigned n;
  (void)events;
  if (s->closed) return;
  udpk_timer_ack(s->tick_fd);
  if (status < 0 || !s->ticking || !s->receiving || s->sent_lately) {
    coalesce_stop(s);
    return;
  }
  /* Projected to a whole window on the first tick. */
  pressed = udpk_read_rcvq(s->fd, &used, &size) == 1 &&
            (uint64_t)used * (s->first_tick ? FIRST_TICK_DIVISOR : 1u) > size / 2;
  s->first_tick = false;
  n = receive_drain(s, false, &empty);
  if (s->closed) return;
  s->poor_ticks = n < MIN_PER_TICK ? s->poor_ticks + 1 : 0;
  if (pressed) {
    if (s->wakes_to_start < MAX_WAKES_TO_START) s->wakes_to_start *= 2;
    coalesce_stop(s);
  } else if (s->poor_ticks >= POOR_TICKS_TO_STOP || !empty || s->sent_lately) {
    coalesce_stop(s);
  }
}

static void on_tick_closed(uv_handle_t *h) {
  udpk_sock *s = (udpk_sock *)h->data;
  s->tick_state = POLL_CLOSED;
  sock_handle_closed(s);
}

static bool tick_open(udpk_sock *s) {
  int fd, err;
  if (s->tick_state == POLL_OPEN) return true;
  if (s->tick_state != POLL_NONE) return false;
  fd = udpk_timer_create();
  if (fd < 0) {
    s->tick_unavailable = true;
    return false;
  }
  err = uv_poll_init(s->penv->loop, &s->tick, fd);
  if (err < 0) {
    close(fd);
    s->tick_unavailable = true;
    return false;
  }
  s->tick_fd = fd;
  s->tick.data = s;
  s->tick_state = POLL_OPEN;
  if (!s->refd) uv_unref((uv_handle_t *)&s->tick);
  return true;
}

static void coalesce_start(udpk_sock *s) {
  if (!tick_open(s)) return;
  if (uv_poll_start(&s->tick, UV_READABLE, on_tick) < 0) return;
  if (udpk_timer_arm(s->tick_fd, window_ns() / FIRST_TICK_DIVISOR, window_ns()) < 0) {
    uv_poll_stop(&s->tick);
    return;
  }
  s->ticking = true;
  s->first_tick = true;
  s->sent_lately = false;
  s->poor_ticks = 0;
  /* Stops the readable watch; should that fail, watch it again. */
  if (update_poll(s) < 0) coalesce_stop(s);
}

void coalesce_after_wake(udpk_sock *s, bool empty) {
  long w = window_ns();
  uint64_t now;
  bool talked = s->sent_lately;
  s->sent_lately = false;
  if (w == 0 || s->tick_unavailable || s->ticking || s->closed || !s->receiving) return;
  now = mono_ns();
  if (!talked && empty && now - s->last_wake_ns < (uint64_t)w)
    s->close_wakes++;
  else
    s->close_wakes = 0;
  s->last_wake_ns = now;
  if (s->wakes_to_start < CLOSE_WAKES_TO_START) s->wakes_to_start = CLOSE_WAKES_TO_START;
  if (s->close_wakes >= s->wakes_to_start) coalesce_start(s);
}

void coalesce_close(udpk_sock *s) {
  s->ticking = false;
  if (s->tick_state == POLL_OPEN) {
    uv_close((uv_handle_t *)&s->tick, on_tick_closed);
    s->tick_state = POLL_CLOSING;
  }
  if (s->tick_fd >= 0) {
    close(s->tick_fd);
    s->tick_fd = -1;
  }
}
