/* What the files of the native datapath share: the per-environment and
 * per-socket state, and the functions one file offers the others.
 *
 *   socket.c   lifetimes (the comment atop it), the poll handle, bind,
 *              connect, start/stop, close
 *   options.c  socket options and multicast membership
 *   recv.c     RecvMeta side: recvmmsg into the shared area, datagrams out
 *              to JavaScript in chunks
 *   coalesce.c receive coalescing: under load, drain from a timer rather
 *              than waking for every few datagrams
 *   send.c     Transmit side: payloads from JavaScript, sendmmsg, offload
 *   cmsg.c     every control message read or written
 *   binding.c  module init, the method table, argument helpers
 *
 * binding.gyp builds with hidden visibility, so these names never meet
 * Node's own symbols. */
#ifndef UDPKIT_H
#define UDPKIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include <node_api.h>
#include <uv.h>

#include "platform.h"

#define SLOT_SIZE 65536u
#define META_STRIDE 5
/* recvInfo rows (src/datapath/types.ts), written only when a receive
 * feature asked for them. */
#define INFO_STRIDE 6
#define RECV_FLAG_TRUNCATED 1
#define DEFAULT_RECV_BATCH 32u
#define MAX_RECV_BATCH 1024u

enum { POLL_NONE, POLL_OPEN, POLL_CLOSING, POLL_CLOSED };

typedef struct rx_part {
  const unsigned char *data;
  uint32_t len;
  int32_t port;
  int32_t slot;
  int32_t flags;
  /* Only with UDPK_RECV_PER_DATAGRAM features: */
  int32_t dst_slot;
  int32_t ifindex;
  int32_t ecn;
  int32_t ts_nsec;
  int64_t ts_sec;
} rx_part;

typedef struct tx_scratch {
  udpk_msg *msgs;
  struct sockaddr_storage *names;
  uint32_t *first;
  uint32_t *nchunks;
  napi_value *addr_vals;
  napi_value *vals;
  struct iovec *iov;
  size_t val_cap;
  /* The same datagrams regrouped for segmentation offload. */
  udpk_msg *groups;
  uint32_t *group_len;
  unsigned char *group_ctrl;
  /* Per-datagram options (source, ECN, segment size), allocated on first
   * use: */
  napi_value *src_vals;
  unsigned char *ctrl;
  uint32_t *split; /* segment size, see SPLIT_GSO in send.c; 0: none */
} tx_scratch;

/* Per Node environment (main thread or worker). */
typedef struct udpk_env {
  uv_loop_t *loop;
  unsigned recv_batch;
  napi_ref ctor;
  /* One receive area serves every socket of the environment: payloads are
   * copied out into a fresh ArrayBuffer before any JavaScript runs, so no
   * two sockets can ever need it at once, and memory stays per thread
   * rather than per socket. */
  unsigned rx_cap;
  udpk_msg *rx_msgs;
  struct iovec *rx_iov;
  struct sockaddr_storage *rx_names;
  unsigned char *rx_ctrl;
  unsigned char *rx_buf;
  struct rx_part *rx_parts;
  tx_scratch tx;
  bool tx_busy;
} udpk_env;

typedef struct addr_slot {
  uint32_t gen;
  uint32_t scope;
  uint16_t family;
  uint8_t addr[16];
} addr_slot;

typedef struct udpk_sock {
  napi_env env;
  udpk_env *penv;
  int family;
  int fd;
  uv_poll_t poll;
  int poll_state;
  int poll_events;
  bool closed;
  bool finalized;
  bool env_gone;
  bool hook;
  bool receiving;
  bool want_writable;
  bool writable_latched;
  bool refd;
  bool strong;
  bool drop_counter;    /* SO_RXQ_OVFL: a control message with every datagram */
  bool drops_on_demand; /* the drop counter is read when asked (SO_MEMINFO) instead */
  bool gro; /* coalesced receives are split into datagrams */
  bool gso; /* same-size runs to one destination leave as one send */
  bool sent_in_poll; /* a send happened while handling a readable event */
  bool sent_lately;  /* a send happened since the last receive wake-up (coalesce.c) */
  /* Receive coalescing (coalesce.c): a periodic timer drains the socket
   * while `ticking`, and the socket itself is not watched for readable. */
  uv_poll_t tick;
  int tick_state; /* POLL_* of the tick handle */
  int tick_fd;
  bool ticking;
  bool first_tick;       /* the next tick is the early look after a start */
  bool tick_unavailable; /* no timer on this platform: never coalesce */
  unsigned close_wakes;  /* consecutive wake-ups closer together than the window */
  unsigned wakes_to_start; /* close wake-ups needed to start; doubles after buffer pressure */
  unsigned poor_ticks;   /* consecutive ticks that found (almost) nothing */
  uint64_t last_wake_ns;
  unsigned spin_misses;
  unsigned spin_skip;
  struct timespec spin_window; /* start of the current waste-accounting window */
  long spin_waste_ns;          /* spinning that caught nothing, in that window */
  bool async_live;
  uint32_t dropped;
  napi_async_context actx;
  napi_ref self_ref;
  napi_ref sink_ref;
  napi_ref fn_batch;
  napi_ref fn_error;
  napi_ref fn_writable;
  napi_ref fn_icmp; /* optional: error-queue entries (recvErrors) */
  napi_ref meta_ref; /* the ArrayBuffer behind recvMeta */
  napi_ref info_ref; /* the ArrayBuffer behind recvInfo */
  int32_t *info;
  unsigned recv_features; /* UDPK_RECV_* that are on */
  int tos;                /* the last setTOS, the DSCP bits of a per-datagram ECN */
  uint32_t gso_sends;     /* segmentSize datagrams the kernel segmented (diagnostics) */
  napi_ref addrs_ref;
  int32_t *meta;
  unsigned batch;
  unsigned nslots;
  uint32_t gen;
  addr_slot *slots;
} udpk_sock;

/* ---------- binding.c: argument helpers ---------- */

void throw_status(napi_env env, napi_status st);

#define CALL(env, expr)                   \
  do {                                    \
    napi_status st_ = (expr);             \
    if (st_ != napi_ok) {                 \
      throw_status((env), st_);           \
      return NULL;                        \
    }                                     \
  } while (0)

napi_value num(napi_env env, double v);
napi_value type_error(napi_env env, const char *msg);
napi_value range_error(napi_env env, const char *msg);
bool is_nullish(napi_env env, napi_value v);
int get_string(napi_env env, napi_value v, char *buf, size_t size, const char *what);
bool get_integer(napi_env env, napi_value v, double lo, double hi, const char *what, int64_t *out);
bool get_bool(napi_env env, napi_value v, const char *what, bool *out);
udpk_sock *get_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv);

/* ---------- socket.c ---------- */

/* UDPKIT_OFFLOAD=0 turns segmentation offload off. */
bool offload_enabled(void);
void call_sink(udpk_sock *s, napi_ref fn_ref, size_t argc, const napi_value *argv);
/* Brings the poll handle in line with what the socket wants. 0 or -errno. */
int update_poll(udpk_sock *s);
/* A handle of s (poll or tick) finished closing: frees s if nothing else
 * holds it. */
void sock_handle_closed(udpk_sock *s);
void report_error(udpk_sock *s, int err);

napi_value m_construct(napi_env env, napi_callback_info info);
napi_value m_bind(napi_env env, napi_callback_info info);
napi_value m_open(napi_env env, napi_callback_info info);
napi_value m_connect(napi_env env, napi_callback_info info);
napi_value m_disconnect(napi_env env, napi_callback_info info);
napi_value m_local(napi_env env, napi_callback_info info);
napi_value m_remote(napi_env env, napi_callback_info info);
napi_value m_fd(napi_env env, napi_callback_info info);
napi_value m_wait_writable(napi_env env, napi_callback_info info);
napi_value m_dropped(napi_env env, napi_callback_info info);
napi_value m_start(napi_env env, napi_callback_info info);
napi_value m_stop(napi_env env, napi_callback_info info);
napi_value m_ref(napi_env env, napi_callback_info info);
napi_value m_unref(napi_env env, napi_callback_info info);
napi_value m_close(napi_env env, napi_callback_info info);

/* ---------- options.c ---------- */

napi_value m_set_option(napi_env env, napi_callback_info info);
napi_value m_get_option(napi_env env, napi_callback_info info);
napi_value m_set_mcast_if(napi_env env, napi_callback_info info);
napi_value m_set_membership(napi_env env, napi_callback_info info);
napi_value m_set_source_membership(napi_env env, napi_callback_info info);
napi_value m_set_tos(napi_env env, napi_callback_info info);
napi_value m_get_tos(napi_env env, napi_callback_info info);
napi_value m_set_dont_fragment(napi_env env, napi_callback_info info);
napi_value m_get_path_mtu(napi_env env, napi_callback_info info);

/* ---------- recv.c ---------- */

/* Drains a readable socket: rounds of receive_once, then maybe a short
 * spin for a reply, then perhaps a switch to coalescing. */
void receive_ready(udpk_sock *s);
/* Rounds of receive_once until the socket is empty or the rounds are used
 * up (*empty tells which); with may_spin, a short spin for a reply after a
 * send. The messages taken. */
unsigned receive_drain(udpk_sock *s, bool may_spin, bool *empty);

/* ---------- coalesce.c ---------- */

/* After a readable wake-up that took the socket's queue empty: starts
 * coalescing when wake-ups come closer together than the window. */
void coalesce_after_wake(udpk_sock *s, bool empty);
/* Stops coalescing without touching the socket's poll handle (update_poll
 * does that next). */
void coalesce_pause(udpk_sock *s);
/* Closes the tick handle and its timer, for close_core. */
void coalesce_close(udpk_sock *s);
void rx_free(udpk_env *e);
/* Reads the socket's error queue and hands what it held to sink.onIcmp.
 * The count read (0: it was empty), or -errno. */
int drain_errqueue(udpk_sock *s);
/* 1 when the error queue holds an entry (without taking it). */
int errqueue_pending(int fd);
napi_value m_set_recv_features(napi_env env, napi_callback_info info);

/* ---------- send.c ---------- */

void tx_free(tx_scratch *t);
napi_value m_send(napi_env env, napi_callback_info info);
napi_value m_segmented_sends(napi_env env, napi_callback_info info);

#endif
