/* udpkit's native datapath: one DatapathSocket (src/datapath/types.ts) per
 * instance of the Socket class exported here.
 *
 * Lifetimes, because that is where addons like this one go wrong:
 *  - A udpk_sock outlives both its JS object and its poll handle: it is
 *    freed only when the finalizer has run AND the poll handle is closed
 *    (or was never opened), whichever comes last.
 *  - While the poll handle is active, the JS object and the sink are held
 *    strongly (so a receiving socket cannot be collected out from under
 *    the loop); otherwise weakly (so a forgotten socket is collected and
 *    its descriptor closed by the finalizer).
 *  - Every call into JavaScript may close the socket, stop it, or replace
 *    its sink; the state is re-read after each one. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#include "addr.h"
#include "platform.h"

#define SLOT_SIZE 65536u
#define META_STRIDE 5
#define RECV_FLAG_TRUNCATED 1
#define DEFAULT_RECV_BATCH 32u
#define MAX_RECV_BATCH 1024u
#define MIN_ADDR_SLOTS 64u
/* Rounds of recvmmsg per readable event: enough to drain a burst, few
 * enough that timers and other sockets still get their turn. */
#define RECV_ROUNDS 8
#define MAX_SEND_MSGS 1024u
#ifdef IOV_MAX
#define MAX_IOV_PER_MSG IOV_MAX
#else
#define MAX_IOV_PER_MSG 1024
#endif
#define MAX_IOV_TOTAL 65536u

#define BIND_IPV6ONLY 1
#define BIND_REUSEADDR 4
#define BIND_REUSEPORT 8

enum { OPT_BROADCAST = 1, OPT_TTL, OPT_MCAST_TTL, OPT_MCAST_LOOP, OPT_RCVBUF, OPT_SNDBUF };
enum { POLL_NONE, POLL_OPEN, POLL_CLOSING, POLL_CLOSED };

typedef struct rx_part {
  const unsigned char *data;
  uint32_t len;
  int32_t port;
  int32_t slot;
  int32_t flags;
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
  bool drop_counter;
  bool gro; /* coalesced receives are split into datagrams */
  bool gso; /* same-size runs to one destination leave as one send */
  bool sent_in_poll; /* a send happened while handling a readable event */
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
  napi_ref meta_ref; /* the ArrayBuffer behind recvMeta */
  napi_ref addrs_ref;
  int32_t *meta;
  unsigned batch;
  unsigned nslots;
  uint32_t gen;
  addr_slot *slots;
} udpk_sock;

/* ---------- small N-API helpers ---------- */

static void throw_status(napi_env env, napi_status st) {
  bool pending = false;
  const napi_extended_error_info *info = NULL;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, "ERR_UDPKIT_NAPI",
                   info && info->error_message ? info->error_message : (st == napi_ok ? "N-API error" : "N-API call failed"));
}

#define CALL(env, expr)                   \
  do {                                    \
    napi_status st_ = (expr);             \
    if (st_ != napi_ok) {                 \
      throw_status((env), st_);           \
      return NULL;                        \
    }                                     \
  } while (0)

static napi_value num(napi_env env, double v) {
  napi_value r;
  if (napi_create_double(env, v, &r) != napi_ok) return NULL;
  return r;
}

static napi_value type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static napi_value range_error(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

static bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  return t == napi_null || t == napi_undefined;
}

/* Copies a JS string argument. 1: ok; 0: a string, but too long or with
 * an embedded NUL, so no valid address (-EINVAL for the caller); -1: not
 * a string, TypeError thrown. */
static int get_string(napi_env env, napi_value v, char *buf, size_t size, const char *what) {
  napi_valuetype t;
  size_t len = 0;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string) {
    type_error(env, what);
    return -1;
  }
  if (napi_get_value_string_utf8(env, v, buf, size, &len) != napi_ok) {
    type_error(env, what);
    return -1;
  }
  if (len + 1 >= size || strlen(buf) != len) return 0;
  return 1;
}

/* An integral number within [lo, hi]; throws and returns false otherwise. */
static bool get_integer(napi_env env, napi_value v, double lo, double hi, const char *what, int64_t *out) {
  napi_valuetype t;
  double d;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_number || napi_get_value_double(env, v, &d) != napi_ok) {
    type_error(env, what);
    return false;
  }
  if (!isfinite(d) || d != floor(d) || d < lo || d > hi) {
    range_error(env, what);
    return false;
  }
  *out = (int64_t)d;
  return true;
}

static bool get_bool(napi_env env, napi_value v, const char *what, bool *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_boolean || napi_get_value_bool(env, v, out) != napi_ok) {
    type_error(env, what);
    return false;
  }
  return true;
}

static udpk_sock *get_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
  napi_value self;
  void *data = NULL;
  if (napi_get_cb_info(env, info, argc, argv, &self, NULL) != napi_ok) {
    throw_status(env, napi_generic_failure);
    return NULL;
  }
  if (napi_unwrap(env, self, &data) != napi_ok || data == NULL) {
    type_error(env, "receiver is not a udpkit native socket");
    return NULL;
  }
  return (udpk_sock *)data;
}

/* ---------- references and polling ---------- */

static void ref_strength(napi_env env, napi_ref r, bool strong) {
  uint32_t c;
  if (r == NULL) return;
  if (strong)
    napi_reference_ref(env, r, &c);
  else
    napi_reference_unref(env, r, &c);
}

static void set_strong(udpk_sock *s, bool strong) {
  if (s->strong == strong || s->env_gone) return;
  ref_strength(s->env, s->self_ref, strong);
  ref_strength(s->env, s->sink_ref, strong);
  ref_strength(s->env, s->fn_batch, strong);
  ref_strength(s->env, s->fn_error, strong);
  ref_strength(s->env, s->fn_writable, strong);
  s->strong = strong;
}

static void delete_ref(napi_env env, napi_ref *r) {
  if (*r != NULL) napi_delete_reference(env, *r);
  *r = NULL;
}

static void drop_sink(udpk_sock *s) {
  if (s->env_gone) return;
  delete_ref(s->env, &s->sink_ref);
  delete_ref(s->env, &s->fn_batch);
  delete_ref(s->env, &s->fn_error);
  delete_ref(s->env, &s->fn_writable);
}

static void on_poll(uv_poll_t *h, int status, int events);

static void on_poll_closed(uv_handle_t *h) {
  udpk_sock *s = (udpk_sock *)h->data;
  s->poll_state = POLL_CLOSED;
  if (s->finalized) {
    free(s->slots);
    free(s);
  }
}

/* Brings the poll handle in line with what the socket wants. 0 or -errno. */
static int update_poll(udpk_sock *s) {
  int ev = 0, err;
  if (s->closed || s->fd < 0) return s->closed ? -EBADF : 0;
  if (s->receiving) ev |= UV_READABLE;
  if (s->want_writable && !s->writable_latched) ev |= UV_WRITABLE;
  if (ev == s->poll_events) return 0;
  if (ev != 0) {
    if (s->poll_state == POLL_NONE) {
      err = uv_poll_init_socket(s->penv->loop, &s->poll, s->fd);
      if (err < 0) return err;
      s->poll.data = s;
      s->poll_state = POLL_OPEN;
      if (!s->refd) uv_unref((uv_handle_t *)&s->poll);
    }
    err = uv_poll_start(&s->poll, ev, on_poll);
    if (err < 0) return err;
  } else if (s->poll_state == POLL_OPEN) {
    uv_poll_stop(&s->poll);
  }
  s->poll_events = ev;
  set_strong(s, ev != 0);
  return 0;
}

/* Closes everything that does not need JavaScript: safe from the
 * environment's cleanup hook. */
static void close_core(udpk_sock *s) {
  if (s->closed) return;
  s->closed = true;
  s->receiving = false;
  s->want_writable = false;
  s->poll_events = 0;
  if (s->poll_state == POLL_OPEN) {
    /* uv_close stops the watcher before the descriptor goes away, so a new
     * socket that is given the same number starts clean. */
    uv_close((uv_handle_t *)&s->poll, on_poll_closed);
    s->poll_state = POLL_CLOSING;
  }
  if (s->fd >= 0) {
    close(s->fd);
    s->fd = -1;
  }
}

static void cleanup_hook(void *arg) {
  udpk_sock *s = (udpk_sock *)arg;
  s->hook = false;
  s->env_gone = true;
  close_core(s);
}

static void sock_close(udpk_sock *s) {
  if (s->closed) return;
  close_core(s);
  if (s->env_gone) return;
  if (s->hook) {
    napi_remove_env_cleanup_hook(s->env, cleanup_hook, s);
    s->hook = false;
  }
  set_strong(s, false);
  drop_sink(s);
  if (s->async_live) {
    napi_async_destroy(s->env, s->actx);
    s->async_live = false;
  }
}

static void sock_finalize(napi_env env, void *data, void *hint) {
  udpk_sock *s = (udpk_sock *)data;
  (void)hint;
  sock_close(s);
  if (!s->env_gone) {
    drop_sink(s);
    delete_ref(env, &s->self_ref);
    delete_ref(env, &s->meta_ref);
    delete_ref(env, &s->addrs_ref);
  }
  s->finalized = true;
  if (s->poll_state == POLL_NONE || s->poll_state == POLL_CLOSED) {
    free(s->slots);
    free(s);
  }
}

/* ---------- calls into JavaScript from the loop ---------- */

/* Calls sink.<fn>(...) as Node calls its own I/O callbacks: through
 * napi_make_callback so nextTicks and microtasks run afterwards, and with a
 * throw turned into 'uncaughtException'. Must run inside a handle scope. */
static void call_sink(udpk_sock *s, napi_ref fn_ref, size_t argc, const napi_value *argv) {
  napi_env env = s->env;
  napi_value recv = NULL, fn = NULL, err;
  napi_status st;
  bool pending = false;
  if (s->sink_ref == NULL || fn_ref == NULL || !s->async_live) return;
  if (napi_get_reference_value(env, s->sink_ref, &recv) != napi_ok || recv == NULL) return;
  if (napi_get_reference_value(env, fn_ref, &fn) != napi_ok || fn == NULL) return;
  st = napi_make_callback(env, s->actx, recv, fn, argc, argv, NULL);
  if (st == napi_pending_exception || (napi_is_exception_pending(env, &pending) == napi_ok && pending)) {
    if (napi_get_and_clear_last_exception(env, &err) == napi_ok) napi_fatal_exception(env, err);
  }
}

static void report_error(udpk_sock *s, int err) {
  napi_handle_scope scope;
  napi_value arg;
  if (s->closed || s->env_gone) return;
  if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
  if (napi_create_int32(s->env, err, &arg) == napi_ok) call_sink(s, s->fn_error, 1, &arg);
  napi_close_handle_scope(s->env, scope);
}

static int ensure_rx(udpk_env *e, unsigned batch) {
  unsigned i;
  if (e->rx_cap >= batch) return 0;
  free(e->rx_msgs);
  free(e->rx_iov);
  free(e->rx_names);
  free(e->rx_ctrl);
  free(e->rx_buf);
  free(e->rx_parts);
  e->rx_parts = NULL;
  e->rx_cap = 0;
  e->rx_msgs = calloc(batch, sizeof(*e->rx_msgs));
  e->rx_iov = calloc(batch, sizeof(*e->rx_iov));
  e->rx_names = calloc(batch, sizeof(*e->rx_names));
  e->rx_ctrl = calloc(batch, UDPK_CTRL_SIZE);
  e->rx_buf = malloc((size_t)batch * SLOT_SIZE);
  e->rx_parts = calloc(batch, sizeof(*e->rx_parts));
  if (!e->rx_msgs || !e->rx_iov || !e->rx_names || !e->rx_ctrl || !e->rx_buf || !e->rx_parts) return -ENOMEM;
  for (i = 0; i < batch; i++) {
    e->rx_iov[i].iov_base = e->rx_buf + (size_t)i * SLOT_SIZE;
    e->rx_iov[i].iov_len = SLOT_SIZE;
    e->rx_msgs[i].hdr.msg_iov = &e->rx_iov[i];
    e->rx_msgs[i].hdr.msg_iovlen = 1;
    e->rx_msgs[i].hdr.msg_name = &e->rx_names[i];
  }
  e->rx_cap = batch;
  return 0;
}

static uint32_t hash_key(const addr_slot *k) {
  uint32_t h = (uint32_t)k->family * 0x9E3779B9u ^ k->scope, w;
  int i;
  for (i = 0; i < 16; i += 4) {
    memcpy(&w, k->addr + i, 4);
    h = (h ^ w) * 0x85EBCA6Bu;
    h ^= h >> 15;
  }
  return h;
}

/* Finds (or makes) the slot of the sender's address string. Within one
 * batch two senders never share a slot: the table has at least twice as
 * many slots as a batch has datagrams, and a slot used by this batch is
 * never evicted. Returns -1 if the table could not be updated. */
static int address_slot(udpk_sock *s, napi_value table, const struct sockaddr_storage *ss, int *port) {
  addr_slot k;
  unsigned mask = s->nslots - 1, i, p, idx;
  memset(&k, 0, sizeof(k));
  *port = 0;
  if (ss->ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)ss;
    k.family = AF_INET;
    memcpy(k.addr, &a->sin_addr, 4);
    *port = ntohs(a->sin_port);
  } else if (ss->ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)ss;
    k.family = AF_INET6;
    memcpy(k.addr, &a->sin6_addr, 16);
    k.scope = a->sin6_scope_id;
    *port = ntohs(a->sin6_port);
  }
  i = hash_key(&k) & mask;
  for (p = 0; p < 4 && p < s->nslots; p++) {
    addr_slot *sl = &s->slots[(i + p) & mask];
    if (sl->gen != 0 && sl->family == k.family && sl->scope == k.scope && memcmp(sl->addr, k.addr, 16) == 0) {
      sl->gen = s->gen;
      return (int)((i + p) & mask);
    }
  }
  for (p = 0; p < s->nslots; p++)
    if (s->slots[(i + p) & mask].gen != s->gen) break;
  idx = (i + p) & mask;
  {
    char buf[UDPK_ADDR_MAX + 8];
    int len = k.family ? udpk_format_addr((const struct sockaddr *)ss, buf, sizeof(buf)) : 0;
    napi_value str;
    if (len < 0) len = 0;
    if (napi_create_string_utf8(s->env, buf, (size_t)len, &str) != napi_ok) return -1;
    if (napi_set_element(s->env, table, idx, str) != napi_ok) {
      napi_value ignored;
      /* The table is JavaScript's to mess with (freeze it, put a setter in
       * it); that must not become our exception. */
      napi_get_and_clear_last_exception(s->env, &ignored);
      return -1;
    }
  }
  k.gen = s->gen;
  s->slots[idx] = k;
  return (int)idx;
}

/* One recvmmsg's worth: copy out, describe, call into JavaScript once per
 * s->batch datagrams (once per recvmmsg unless coalesced messages had to be
 * split into more datagrams than that).
 * Each datagram gets a Buffer of its own, exactly its size, as node:dgram's
 * messages do: code that reads `msg.buffer` must see that datagram only.
 * Returns the number of messages taken from the kernel, or -errno, or 0 when
 * nothing came. */

/* Up to s->batch datagrams on their way to JavaScript: their payloads go
 * back to back into one fresh ArrayBuffer, their metadata into recvMeta,
 * and JavaScript copies each into a Buffer of its own, exactly its size (as
 * node:dgram's messages are): one allocation here per chunk, and small
 * datagrams then cost JavaScript no malloc at all. */
typedef struct rx_chunk {
  napi_handle_scope scope;
  napi_value table;
  rx_part *parts;
  size_t bytes;
  unsigned count;
  bool open;
} rx_chunk;

static int rx_chunk_open(udpk_sock *s, rx_chunk *c) {
  unsigned i;
  napi_value meta_ab;
  bool detached = false;
  c->count = 0;
  c->bytes = 0;
  c->open = false;
  if (napi_open_handle_scope(s->env, &c->scope) != napi_ok) return -ENOMEM;
  if (napi_get_reference_value(s->env, s->meta_ref, &meta_ab) != napi_ok || meta_ab == NULL ||
      napi_is_detached_arraybuffer(s->env, meta_ab, &detached) != napi_ok || detached ||
      napi_get_reference_value(s->env, s->addrs_ref, &c->table) != napi_ok || c->table == NULL) {
    /* recvMeta was transferred away: nowhere to describe datagrams in. */
    napi_close_handle_scope(s->env, c->scope);
    return -EFAULT;
  }
  if (++s->gen == 0) {
    for (i = 0; i < s->nslots; i++) s->slots[i].gen = 0;
    s->gen = 1;
  }
  c->open = true;
  return 0;
}

/* Hands the chunk to JavaScript (if it has anything) and closes it.
 * 0, or -ENOMEM when the ArrayBuffer could not be had. */
static int rx_chunk_close(udpk_sock *s, rx_chunk *c) {
  napi_value argv[2];
  void *data = NULL;
  size_t off = 0;
  unsigned i;
  int err = 0;
  if (!c->open) return 0;
  if (c->count > 0) {
    if (napi_create_arraybuffer(s->env, c->bytes, &data, &argv[1]) != napi_ok) {
      napi_value ignored;
      napi_get_and_clear_last_exception(s->env, &ignored);
      err = -ENOMEM;
    } else {
      for (i = 0; i < c->count; i++) {
        int32_t *meta = s->meta + (size_t)i * META_STRIDE;
        const rx_part *p = &c->parts[i];
        if (p->len > 0) memcpy((unsigned char *)data + off, p->data, p->len);
        meta[0] = (int32_t)off;
        meta[1] = (int32_t)p->len;
        meta[2] = p->port;
        meta[3] = p->slot;
        meta[4] = p->flags;
        off += p->len;
      }
      if (napi_create_uint32(s->env, c->count, &argv[0]) == napi_ok) call_sink(s, s->fn_batch, 2, argv);
    }
  }
  napi_close_handle_scope(s->env, c->scope);
  c->open = false;
  c->count = 0;
  c->bytes = 0;
  return err;
}

static void rx_chunk_add(rx_chunk *c, const unsigned char *data, size_t len, int port, int slot, int flags) {
  rx_part *p = &c->parts[c->count++];
  p->data = data;
  p->len = (uint32_t)len;
  p->port = port;
  p->slot = slot < 0 ? 0 : slot;
  p->flags = flags;
  c->bytes += len;
}

static int receive_once(udpk_sock *s) {
  udpk_env *e = s->penv;
  unsigned batch = s->batch, i;
  int n, deferred = 0, err = 0;
  bool ctrl = s->drop_counter || s->gro;
  rx_chunk chunk;

  if ((err = ensure_rx(e, batch)) < 0) return err;
  for (i = 0; i < batch; i++) {
    struct msghdr *h = &e->rx_msgs[i].hdr;
    h->msg_namelen = sizeof(struct sockaddr_storage);
    h->msg_control = ctrl ? e->rx_ctrl + (size_t)i * UDPK_CTRL_SIZE : NULL;
    h->msg_controllen = ctrl ? UDPK_CTRL_SIZE : 0;
    h->msg_flags = 0;
  }
  n = udpk_recv_batch(s->fd, e->rx_msgs, batch, &deferred);
  if (n <= 0) return n;

  if (s->drop_counter) {
    for (i = (unsigned)n; i-- > 0;)
      if (udpk_read_drop_counter(&e->rx_msgs[i].hdr, &s->dropped)) break;
  }

  chunk.parts = e->rx_parts;
  if ((err = rx_chunk_open(s, &chunk)) < 0) return err;
  for (i = 0; i < (unsigned)n && err == 0; i++) {
    udpk_msg *m = &e->rx_msgs[i];
    const unsigned char *data = m->hdr.msg_iov[0].iov_base;
    size_t len = m->len, seg = s->gro ? (size_t)udpk_read_gro_size(&m->hdr) : 0, off = 0;
    int flags = (m->hdr.msg_flags & MSG_TRUNC) ? RECV_FLAG_TRUNCATED : 0;
    int port = 0, slot;
    if (seg == 0 || seg >= len) seg = len;
    do {
      size_t part = len - off < seg ? len - off : seg;
      if (chunk.count == batch) {
        err = rx_chunk_close(s, &chunk);
        /* Closed inside JavaScript: the rest of what was read goes with it. */
        if (err < 0) return err;
        if (s->closed || s->fd < 0) return n;
        if ((err = rx_chunk_open(s, &chunk)) < 0) return err;
      }
      /* The address slot is (re)claimed per chunk: a slot is only
       * guaranteed for the chunk that references it. */
      slot = address_slot(s, chunk.table, (const struct sockaddr_storage *)m->hdr.msg_name, &port);
      rx_chunk_add(&chunk, data + off, part, port, slot, flags);
      off += part;
    } while (off < len);
  }
  err = rx_chunk_close(s, &chunk);
  if (err < 0) return err;
  if (deferred != 0 && s->receiving && !s->closed) report_error(s, deferred);
  return deferred != 0 ? -EAGAIN : n;
}

/* Request/response traffic: having just answered (or asked), this socket
 * will likely hear back within microseconds, and going to sleep in epoll
 * and waking again costs far more than that on many machines. So after a
 * receive that led to a send, poll the socket briefly before returning to
 * the loop (like SO_BUSY_POLL, but for loopback and any device). The spin
 * adapts: each spin that catches nothing halves the chance of the next, so
 * a socket whose peers answer slowly stops spinning after a few tries, and
 * the time lost to misses is capped per socket (SPIN_WASTE_NS). */
#define SPIN_MAX_NS 100000L

static long spin_budget_ns(void) {
  static long budget = -1;
  if (budget < 0) {
    const char *v = getenv("UDPKIT_SPIN_US");
    budget = v ? atol(v) * 1000L : SPIN_MAX_NS;
    if (budget < 0) budget = 0;
  }
  return budget;
}

static long elapsed_ns(const struct timespec *a, const struct timespec *b) {
  return (b->tv_sec - a->tv_sec) * 1000000000L + (b->tv_nsec - a->tv_nsec);
}

/* Spinning that catches nothing is capped: at most SPIN_WASTE_NS of it per
 * SPIN_WINDOW_NS of wall time and socket (10% of a core), so a server whose
 * clients are not that quick pays little for it. */
#define SPIN_WINDOW_NS 100000000L
#define SPIN_WASTE_NS 10000000L

/* Returns true when the socket became readable within the budget. */
static bool spin_for_reply(udpk_sock *s) {
  struct timespec t0, t1;
  long budget = spin_budget_ns(), spent;
  if (budget == 0) return false;
  if (s->spin_misses > 0) {
    /* After misses, spin only every 2^misses-th time. */
    if ((++s->spin_skip & ((1u << (s->spin_misses < 10 ? s->spin_misses : 10)) - 1u)) != 0) return false;
  }
  clock_gettime(CLOCK_MONOTONIC, &t0);
  if (elapsed_ns(&s->spin_window, &t0) > SPIN_WINDOW_NS || elapsed_ns(&s->spin_window, &t0) < 0) {
    s->spin_window = t0;
    s->spin_waste_ns = 0;
  }
  if (s->spin_waste_ns >= SPIN_WASTE_NS) return false;
  do {
    struct pollfd p = {s->fd, POLLIN, 0};
    if (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLERR))) {
      s->spin_misses = 0;
      return true;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    spent = elapsed_ns(&t0, &t1);
  } while (spent < budget);
  s->spin_waste_ns += spent;
  if (s->spin_misses < 16) s->spin_misses++;
  return false;
}

static void on_poll(uv_poll_t *h, int status, int events) {
  udpk_sock *s = (udpk_sock *)h->data;
  int round;
  if (s->closed) return;
  if (status < 0) {
    /* libuv answers POLLERR with UV_EBADF and stops the handle. For a UDP
     * socket POLLERR mostly means a pending socket error (an ICMP port
     * unreachable on a connected socket): report that and poll on. */
    int so_err = 0;
    socklen_t len = sizeof(so_err);
    s->poll_events = 0;
    if (s->fd >= 0 && getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &so_err, &len) == 0 && so_err != 0) {
      if (update_poll(s) < 0) {
        s->receiving = false;
        s->want_writable = false;
        update_poll(s);
      }
      report_error(s, -so_err);
      return;
    }
    /* Nothing pending, so the descriptor itself is broken; polling again
     * would spin. */
    s->receiving = false;
    s->want_writable = false;
    update_poll(s);
    set_strong(s, false);
    report_error(s, status);
    return;
  }
  if ((events & UV_WRITABLE) && s->want_writable) {
    if (s->sink_ref == NULL || s->fn_writable == NULL) {
      /* Nobody to tell yet: hold the news until startReceiving brings a
       * sink, rather than spinning on a level-triggered writable. */
      s->writable_latched = true;
      update_poll(s);
    } else {
      napi_handle_scope scope;
      s->want_writable = false;
      update_poll(s);
      if (napi_open_handle_scope(s->env, &scope) == napi_ok) {
        call_sink(s, s->fn_writable, 0, NULL);
        napi_close_handle_scope(s->env, scope);
      }
      if (s->closed) return;
    }
  }
  if (!(events & UV_READABLE)) return;
  s->sent_in_poll = false;
  for (round = 0; round < RECV_ROUNDS; round++) {
    int n;
    if (!s->receiving || s->closed || s->fd < 0) return;
    n = receive_once(s);
    if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR || n == 0) return;
    if (n < 0) {
      report_error(s, n);
      return;
    }
    if ((unsigned)n < s->batch) {
      if (!s->sent_in_poll || !spin_for_reply(s)) return;
      s->sent_in_poll = false;
    }
  }
}

/* ---------- descriptor setup ---------- */

/* UDPKIT_OFFLOAD=0 turns segmentation offload off (for comparisons and for
 * the odd path that mishandles it). */
static bool offload_enabled(void) {
  static int enabled = -1;
  if (enabled < 0) {
    const char *v = getenv("UDPKIT_OFFLOAD");
    enabled = !(v != NULL && strcmp(v, "0") == 0);
  }
  return enabled == 1;
}

static void adopt_fd(udpk_sock *s, int fd) {
  s->fd = fd;
  s->drop_counter = udpk_enable_drop_counter(fd) == 1;
  s->gro = offload_enabled() && udpk_enable_gro(fd) == 1;
  s->gso = offload_enabled() && udpk_gso_supported() == 1;
  if (!s->hook && !s->env_gone && napi_add_env_cleanup_hook(s->env, cleanup_hook, s) == napi_ok) s->hook = true;
}

static int sock_family(const udpk_sock *s) { return s->family == 6 ? AF_INET6 : AF_INET; }

static napi_value m_bind(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  udpk_sock *s = get_this(env, info, &argc, argv);
  char text[UDPK_ADDR_MAX];
  int64_t port, flags;
  int ok, fd, on = 1, off = 0, err = 0;
  bool fresh = false;
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!s) return NULL;
  if ((ok = get_string(env, argv[0], text, sizeof(text), "address must be a string")) < 0) return NULL;
  if (!get_integer(env, argv[1], 0, 65535, "port must be an integer in 0..65535", &port)) return NULL;
  if (!get_integer(env, argv[2], 0, INT32_MAX, "flags must be a non-negative integer", &flags)) return NULL;
  if (s->closed) return num(env, -EBADF);
  if (!ok || udpk_parse_addr(s->family, text, (uint16_t)port, &ss, &sl) < 0) return num(env, -EINVAL);
  fd = s->fd;
  if (fd < 0) {
    fd = udpk_socket(sock_family(s));
    if (fd < 0) return num(env, fd);
    fresh = true;
  }
  if (s->family == 6 &&
      setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, (flags & BIND_IPV6ONLY) ? &on : &off, sizeof(int)) < 0)
    err = -errno;
  if (!err && (flags & BIND_REUSEADDR) && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) < 0) err = -errno;
#ifdef SO_REUSEPORT
  if (!err && (flags & BIND_REUSEPORT) && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) < 0) err = -errno;
#else
  if (!err && (flags & BIND_REUSEPORT)) err = -ENOTSUP;
#endif
  if (!err && bind(fd, (struct sockaddr *)&ss, sl) < 0) err = -errno;
  if (err) {
    /* A descriptor we just made is not worth keeping half-configured: the
     * next bind starts again from scratch. */
    if (fresh) close(fd);
    return num(env, err);
  }
  if (fresh) adopt_fd(s, fd);
  return num(env, 0);
}

static napi_value m_open(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  udpk_sock *s = get_this(env, info, &argc, argv);
  int64_t fd;
  struct stat st;
  int type = 0, err;
  socklen_t len = sizeof(type);
  if (!s) return NULL;
  if (!get_integer(env, argv[0], -2147483648.0, INT32_MAX, "fd must be an integer", &fd)) return NULL;
  if (s->closed) return num(env, -EBADF);
  if (s->fd >= 0) return num(env, -EBUSY);
  if (fd < 0) return num(env, -EBADF);
  if (fstat((int)fd, &st) < 0) return num(env, -errno);
  if (!S_ISSOCK(st.st_mode)) return num(env, -ENOTSOCK);
  if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return num(env, -errno);
  if (type != SOCK_DGRAM) return num(env, -EINVAL);
  if ((err = udpk_set_nonblock((int)fd)) < 0) return num(env, err);
  adopt_fd(s, (int)fd);
  return num(env, 0);
}

static napi_value m_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  udpk_sock *s = get_this(env, info, &argc, argv);
  char text[UDPK_ADDR_MAX];
  int64_t port;
  int ok;
  struct sockaddr_storage ss;
  socklen_t sl;
  if (!s) return NULL;
  if ((ok = get_string(env, argv[0], text, sizeof(text), "address must be a string")) < 0) return NULL;
  if (!get_integer(env, argv[1], 0, 65535, "port must be an integer in 0..65535", &port)) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (!ok || udpk_parse_addr(s->family, text, (uint16_t)port, &ss, &sl) < 0) return num(env, -EINVAL);
  if (connect(s->fd, (struct sockaddr *)&ss, sl) < 0) return num(env, -errno);
  return num(env, 0);
}

static napi_value m_disconnect(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  struct sockaddr_storage ss;
  if (!s) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  memset(&ss, 0, sizeof(ss));
  ss.ss_family = AF_UNSPEC;
  /* Linux dissolves the association and may still answer EAFNOSUPPORT for
   * the AF_UNSPEC address; the association is gone either way. */
  if (connect(s->fd, (struct sockaddr *)&ss, sizeof(ss)) < 0 && errno != EAFNOSUPPORT) return num(env, -errno);
  return num(env, 0);
}

static napi_value endpoint(napi_env env, udpk_sock *s, bool peer) {
  struct sockaddr_storage ss;
  socklen_t sl = sizeof(ss);
  char buf[UDPK_ADDR_MAX + 8];
  int len, port, family;
  napi_value obj, v;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  memset(&ss, 0, sizeof(ss));
  if ((peer ? getpeername(s->fd, (struct sockaddr *)&ss, &sl) : getsockname(s->fd, (struct sockaddr *)&ss, &sl)) < 0)
    return num(env, -errno);
  len = udpk_format_addr((struct sockaddr *)&ss, buf, sizeof(buf));
  if (len < 0) return num(env, len);
  if (ss.ss_family == AF_INET) {
    port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    family = 4;
  } else {
    port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    family = 6;
  }
  CALL(env, napi_create_object(env, &obj));
  CALL(env, napi_create_string_utf8(env, buf, (size_t)len, &v));
  CALL(env, napi_set_named_property(env, obj, "address", v));
  CALL(env, napi_create_int32(env, port, &v));
  CALL(env, napi_set_named_property(env, obj, "port", v));
  CALL(env, napi_create_int32(env, family, &v));
  CALL(env, napi_set_named_property(env, obj, "family", v));
  return obj;
}

static napi_value m_local(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  return s ? endpoint(env, s, false) : NULL;
}

static napi_value m_remote(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  return s ? endpoint(env, s, true) : NULL;
}

static napi_value m_fd(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  return num(env, s->closed ? -1 : s->fd);
}

/* ---------- options and multicast ---------- */

static bool option_target(const udpk_sock *s, int64_t opt, int *level, int *name) {
  bool v6 = s->family == 6;
  switch (opt) {
    case OPT_BROADCAST: *level = SOL_SOCKET; *name = SO_BROADCAST; return true;
    case OPT_TTL: *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP; *name = v6 ? IPV6_UNICAST_HOPS : IP_TTL; return true;
    case OPT_MCAST_TTL: *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP; *name = v6 ? IPV6_MULTICAST_HOPS : IP_MULTICAST_TTL; return true;
    case OPT_MCAST_LOOP: *level = v6 ? IPPROTO_IPV6 : IPPROTO_IP; *name = v6 ? IPV6_MULTICAST_LOOP : IP_MULTICAST_LOOP; return true;
    case OPT_RCVBUF: *level = SOL_SOCKET; *name = SO_RCVBUF; return true;
    case OPT_SNDBUF: *level = SOL_SOCKET; *name = SO_SNDBUF; return true;
    default: return false;
  }
}

/* Linux takes an int for every option here; the BSDs insist on an
 * unsigned char for the IPv4 multicast ones. */
static bool wants_uchar(int level, int name) {
#if defined(__linux__)
  (void)level;
  (void)name;
  return false;
#else
  return level == IPPROTO_IP && (name == IP_MULTICAST_TTL || name == IP_MULTICAST_LOOP);
#endif
}

static napi_value m_set_option(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  udpk_sock *s = get_this(env, info, &argc, argv);
  int64_t opt, value;
  int level, name, r;
  if (!s) return NULL;
  if (!get_integer(env, argv[0], 0, 64, "option must be a SocketOption", &opt)) return NULL;
  if (!option_target(s, opt, &level, &name)) return range_error(env, "unknown SocketOption");
  if (!get_integer(env, argv[1], INT32_MIN, INT32_MAX, "value must be a 32-bit integer", &value)) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (wants_uchar(level, name)) {
    unsigned char c = (unsigned char)value;
    if (value < 0 || value > 255) return num(env, -EINVAL);
    r = setsockopt(s->fd, level, name, &c, sizeof(c));
  } else {
    int v = (int)value;
    r = setsockopt(s->fd, level, name, &v, sizeof(v));
  }
  return num(env, r < 0 ? -errno : 0);
}

static napi_value m_get_option(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  udpk_sock *s = get_this(env, info, &argc, argv);
  int64_t opt;
  int level, name, v = 0;
  socklen_t len;
  if (!s) return NULL;
  if (!get_integer(env, argv[0], 0, 64, "option must be a SocketOption", &opt)) return NULL;
  if (!option_target(s, opt, &level, &name)) return range_error(env, "unknown SocketOption");
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (wants_uchar(level, name)) {
    unsigned char c = 0;
    len = sizeof(c);
    if (getsockopt(s->fd, level, name, &c, &len) < 0) return num(env, -errno);
    return num(env, c);
  }
  len = sizeof(v);
  if (getsockopt(s->fd, level, name, &v, &len) < 0) return num(env, -errno);
  return num(env, v);
}

static bool looks_ipv4(const char *text) {
  struct in_addr a;
  return inet_pton(AF_INET, text, &a) == 1;
}

static napi_value m_set_mcast_if(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  udpk_sock *s = get_this(env, info, &argc, argv);
  char text[UDPK_ADDR_MAX];
  int ok, r;
  if (!s) return NULL;
  if ((ok = get_string(env, argv[0], text, sizeof(text), "interface must be a string")) < 0) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (!ok) return num(env, -EINVAL);
  if (s->family == 4 || looks_ipv4(text)) {
    struct in_addr a;
    if (inet_pton(AF_INET, text, &a) != 1) return num(env, -EINVAL);
    r = setsockopt(s->fd, IPPROTO_IP, IP_MULTICAST_IF, &a, sizeof(a));
  } else {
    uint32_t scope;
    int idx;
    if (udpk_parse_v6_scope(text, NULL, &scope) < 0) return num(env, -EINVAL);
    idx = (int)scope;
    r = setsockopt(s->fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof(idx));
  }
  return num(env, r < 0 ? -errno : 0);
}

/* Reads an optional interface argument: 1 present (copied), 0 absent,
 * -1 thrown, -2 present but no valid address. */
static int get_iface(napi_env env, napi_value v, char *buf, size_t size) {
  int ok;
  if (is_nullish(env, v)) return 0;
  ok = get_string(env, v, buf, size, "interface must be a string or null");
  if (ok < 0) return -1;
  return ok ? 1 : -2;
}

static napi_value m_set_membership(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  udpk_sock *s = get_this(env, info, &argc, argv);
  char group[UDPK_ADDR_MAX], iface[UDPK_ADDR_MAX];
  int gok, iok, r;
  bool join;
  if (!s) return NULL;
  if ((gok = get_string(env, argv[0], group, sizeof(group), "group must be a string")) < 0) return NULL;
  if ((iok = get_iface(env, argv[1], iface, sizeof(iface))) == -1) return NULL;
  if (!get_bool(env, argv[2], "join must be a boolean", &join)) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (!gok || iok == -2) return num(env, -EINVAL);
  /* The group's family picks the option, whatever the socket's (as libuv
   * does): the kernel then answers for a mismatch (ENOPROTOOPT,
   * EADDRNOTAVAIL, or it works on a dual-stack socket). */
  if (looks_ipv4(group)) {
    struct ip_mreq m;
    memset(&m, 0, sizeof(m));
    if (inet_pton(AF_INET, group, &m.imr_multiaddr) != 1) return num(env, -EINVAL);
    m.imr_interface.s_addr = htonl(INADDR_ANY);
    if (iok == 1 && inet_pton(AF_INET, iface, &m.imr_interface) != 1) return num(env, -EINVAL);
    r = setsockopt(s->fd, IPPROTO_IP, join ? IP_ADD_MEMBERSHIP : IP_DROP_MEMBERSHIP, &m, sizeof(m));
  } else {
    struct ipv6_mreq m;
    uint32_t scope = 0;
    memset(&m, 0, sizeof(m));
    if (inet_pton(AF_INET6, group, &m.ipv6mr_multiaddr) != 1) return num(env, -EINVAL);
    if (iok == 1 && udpk_parse_v6_scope(iface, NULL, &scope) < 0) return num(env, -EINVAL);
    m.ipv6mr_interface = scope;
    r = setsockopt(s->fd, IPPROTO_IPV6, join ? IPV6_ADD_MEMBERSHIP : IPV6_DROP_MEMBERSHIP, &m, sizeof(m));
  }
  return num(env, r < 0 ? -errno : 0);
}

static napi_value m_set_source_membership(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  udpk_sock *s = get_this(env, info, &argc, argv);
  char source[UDPK_ADDR_MAX], group[UDPK_ADDR_MAX], iface[UDPK_ADDR_MAX];
  int sok, gok, iok, r;
  bool join;
  if (!s) return NULL;
  if ((sok = get_string(env, argv[0], source, sizeof(source), "source must be a string")) < 0) return NULL;
  if ((gok = get_string(env, argv[1], group, sizeof(group), "group must be a string")) < 0) return NULL;
  if ((iok = get_iface(env, argv[2], iface, sizeof(iface))) == -1) return NULL;
  if (!get_bool(env, argv[3], "join must be a boolean", &join)) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (!sok || !gok || iok == -2) return num(env, -EINVAL);
  if (looks_ipv4(group)) {
    struct ip_mreq_source m;
    memset(&m, 0, sizeof(m));
    if (inet_pton(AF_INET, group, &m.imr_multiaddr) != 1) return num(env, -EINVAL);
    if (inet_pton(AF_INET, source, &m.imr_sourceaddr) != 1) return num(env, -EINVAL);
    m.imr_interface.s_addr = htonl(INADDR_ANY);
    if (iok == 1 && inet_pton(AF_INET, iface, &m.imr_interface) != 1) return num(env, -EINVAL);
    r = setsockopt(s->fd, IPPROTO_IP, join ? IP_ADD_SOURCE_MEMBERSHIP : IP_DROP_SOURCE_MEMBERSHIP, &m, sizeof(m));
  } else {
    struct group_source_req g;
    struct sockaddr_in6 *gs = (struct sockaddr_in6 *)&g.gsr_group, *ss = (struct sockaddr_in6 *)&g.gsr_source;
    uint32_t scope = 0;
    memset(&g, 0, sizeof(g));
    gs->sin6_family = AF_INET6;
    ss->sin6_family = AF_INET6;
    if (inet_pton(AF_INET6, group, &gs->sin6_addr) != 1) return num(env, -EINVAL);
    if (inet_pton(AF_INET6, source, &ss->sin6_addr) != 1) return num(env, -EINVAL);
    if (iok == 1 && udpk_parse_v6_scope(iface, NULL, &scope) < 0) return num(env, -EINVAL);
    g.gsr_interface = scope;
    r = setsockopt(s->fd, IPPROTO_IPV6, join ? MCAST_JOIN_SOURCE_GROUP : MCAST_LEAVE_SOURCE_GROUP, &g, sizeof(g));
  }
  return num(env, r < 0 ? -errno : 0);
}

/* ---------- send ---------- */

static int tx_init(tx_scratch *t) {
  memset(t, 0, sizeof(*t));
  t->msgs = calloc(MAX_SEND_MSGS, sizeof(*t->msgs));
  t->names = calloc(MAX_SEND_MSGS, sizeof(*t->names));
  t->first = calloc(MAX_SEND_MSGS, sizeof(*t->first));
  t->nchunks = calloc(MAX_SEND_MSGS, sizeof(*t->nchunks));
  t->addr_vals = calloc(MAX_SEND_MSGS, sizeof(*t->addr_vals));
  t->groups = calloc(MAX_SEND_MSGS, sizeof(*t->groups));
  t->group_len = calloc(MAX_SEND_MSGS, sizeof(*t->group_len));
  t->group_ctrl = calloc(MAX_SEND_MSGS, UDPK_GSO_CTRL_SIZE);
  if (!t->msgs || !t->names || !t->first || !t->nchunks || !t->addr_vals || !t->groups || !t->group_len ||
      !t->group_ctrl)
    return -ENOMEM;
  return 0;
}

static void tx_free(tx_scratch *t) {
  free(t->msgs);
  free(t->names);
  free(t->first);
  free(t->nchunks);
  free(t->addr_vals);
  free(t->groups);
  free(t->group_len);
  free(t->group_ctrl);
  free(t->vals);
  free(t->iov);
  memset(t, 0, sizeof(*t));
}

static int tx_reserve(tx_scratch *t, size_t need) {
  size_t cap = t->val_cap ? t->val_cap : 1024;
  napi_value *v;
  struct iovec *io;
  if (need <= t->val_cap) return 0;
  while (cap < need) cap *= 2;
  v = realloc(t->vals, cap * sizeof(*v));
  if (!v) return -ENOMEM;
  t->vals = v;
  io = realloc(t->iov, cap * sizeof(*io));
  if (!io) return -ENOMEM;
  t->iov = io;
  t->val_cap = cap;
  return 0;
}

static bool is_view(napi_env env, napi_value v) {
  bool r = false;
  if (napi_is_typedarray(env, v, &r) == napi_ok && r) return true;
  return napi_is_dataview(env, v, &r) == napi_ok && r;
}

static size_t element_size(napi_typedarray_type t) {
  switch (t) {
    case napi_int8_array: case napi_uint8_array: case napi_uint8_clamped_array: return 1;
    case napi_int16_array: case napi_uint16_array: return 2;
    case napi_int32_array: case napi_uint32_array: case napi_float32_array: return 4;
    default: return 8;
  }
}

static void view_bytes(napi_env env, napi_value v, struct iovec *io) {
  bool is_ta = false;
  void *data = NULL;
  size_t len = 0;
  io->iov_base = NULL;
  io->iov_len = 0;
  if (napi_is_typedarray(env, v, &is_ta) == napi_ok && is_ta) {
    napi_typedarray_type t;
    if (napi_get_typedarray_info(env, v, &t, &len, &data, NULL, NULL) != napi_ok) return;
    len *= element_size(t);
  } else if (napi_get_dataview_info(env, v, &len, &data, NULL, NULL) != napi_ok) {
    return;
  }
  if (data == NULL) len = 0;
  io->iov_base = data;
  io->iov_len = len;
}

/* Everything that can run JavaScript (element getters) happens in the
 * first pass, which only collects handles; pointers into buffers are taken
 * in the second pass, when no JavaScript can detach them any more. */
/* The largest UDP payload one IPv4 datagram (and so one offload send) carries. */
#define GSO_MAX_BYTES 65507u
#define SEGMENTED_NOT_USED INT_MIN

static size_t msg_bytes(const struct msghdr *h) {
  size_t k, total = 0;
  for (k = 0; k < h->msg_iovlen; k++) total += h->msg_iov[k].iov_len;
  return total;
}

static bool same_destination(const struct msghdr *a, const struct msghdr *b) {
  if (a->msg_namelen != b->msg_namelen) return false;
  return a->msg_namelen == 0 || memcmp(a->msg_name, b->msg_name, a->msg_namelen) == 0;
}

/* Regroups the n datagrams in t->msgs into runs that can leave as one
 * segmentation-offload send each (one destination, one size, the last one
 * possibly shorter), sends the runs with one sendmmsg, and returns how many
 * datagrams went out, or -errno for the first. Returns SEGMENTED_NOT_USED
 * when grouping gains nothing (so the caller sends plainly). A run the
 * kernel refuses as a whole for a reason offload can cause (EINVAL for a
 * path MTU below the segment size, EIO for a device without checksum
 * offload, EMSGSIZE) is retried as plain datagrams, which gives each its
 * own error as node:dgram would; should those then go out, offload is the
 * culprit and stays off for this socket. */
static int send_segmented(udpk_sock *s, tx_scratch *t, size_t n) {
  size_t i = 0, g = 0, datagrams;
  int r;
  while (i < n) {
    const struct msghdr *first = &t->msgs[i].hdr;
    size_t seg = msg_bytes(first), total = seg, iovs = first->msg_iovlen, j = i + 1;
    struct msghdr *out = &t->groups[g].hdr;
    if (seg > 0) {
      while (j < n && j - i < UDPK_MAX_GSO_SEGMENTS) {
        const struct msghdr *next = &t->msgs[j].hdr;
        size_t len = msg_bytes(next);
        if (len == 0 || len > seg || total + len > GSO_MAX_BYTES || iovs + next->msg_iovlen > (size_t)MAX_IOV_PER_MSG ||
            !same_destination(first, next) || next->msg_iov != first->msg_iov + iovs)
          break;
        total += len;
        iovs += next->msg_iovlen;
        j++;
        if (len < seg) break;
      }
    }
    *out = *first;
    out->msg_iovlen = iovs;
    if (j - i > 1) udpk_set_gso(out, t->group_ctrl + g * UDPK_GSO_CTRL_SIZE, (uint16_t)seg);
    t->group_len[g++] = (uint32_t)(j - i);
    i = j;
  }
  if (g == n) return SEGMENTED_NOT_USED;
  r = udpk_send_batch(s->fd, t->groups, (unsigned)g);
  if (r < 0) {
    /* Only what offload itself can cause is retried: any other error (a
     * pending ICMP error, say) was consumed by this send and belongs to the
     * first datagram, as it would without offload. */
    if (t->group_len[0] == 1 || (r != -EINVAL && r != -EIO && r != -EMSGSIZE)) return r;
    r = udpk_send_batch(s->fd, t->msgs, (unsigned)t->group_len[0]);
    if (r > 0) s->gso = false;
    return r;
  }
  for (datagrams = 0, i = 0; i < (size_t)r; i++) datagrams += t->group_len[i];
  return (int)datagrams;
}

static napi_value do_send(napi_env env, udpk_sock *s, tx_scratch *t, napi_value *argv) {
  bool is_arr = false, has_addrs, is_ta = false;
  uint32_t plen = 0, alen = UINT32_MAX, k, m;
  int64_t count;
  size_t n, i, nv = 0;
  int32_t *ports = NULL;
  size_t ports_len = SIZE_MAX;
  int r;

  if (napi_is_array(env, argv[0], &is_arr) != napi_ok || !is_arr) return type_error(env, "payloads must be an array");
  if (!get_integer(env, argv[1], 0, 9007199254740991.0, "count must be a non-negative integer", &count)) return NULL;
  has_addrs = !is_nullish(env, argv[3]);
  if (has_addrs) {
    if (napi_is_array(env, argv[3], &is_arr) != napi_ok || !is_arr)
      return type_error(env, "addresses must be an array of strings or null");
    CALL(env, napi_get_array_length(env, argv[3], &alen));
    if (napi_is_typedarray(env, argv[2], &is_ta) != napi_ok || !is_ta)
      return type_error(env, "ports must be an Int32Array when addresses are given");
  } else if (!is_nullish(env, argv[2]) && (napi_is_typedarray(env, argv[2], &is_ta) != napi_ok || !is_ta)) {
    return type_error(env, "ports must be an Int32Array or null");
  }
  if (is_ta) {
    napi_typedarray_type tt;
    CALL(env, napi_get_typedarray_info(env, argv[2], &tt, &ports_len, NULL, NULL, NULL));
    if (tt != napi_int32_array) return type_error(env, "ports must be an Int32Array");
  }
  CALL(env, napi_get_array_length(env, argv[0], &plen));
  if (s->closed || s->fd < 0) return num(env, -EBADF);

  n = (size_t)count;
  if (n > plen) n = plen;
  if (n > MAX_SEND_MSGS) n = MAX_SEND_MSGS;
  if (has_addrs && n > alen) n = alen;
  if (has_addrs && n > ports_len) n = ports_len;
  if (n == 0) return num(env, 0);

  for (i = 0; i < n; i++) {
    napi_value v;
    CALL(env, napi_get_element(env, argv[0], (uint32_t)i, &v));
    if (is_view(env, v)) {
      if (tx_reserve(t, nv + 1) < 0) return num(env, -ENOMEM);
      t->first[i] = (uint32_t)nv;
      t->nchunks[i] = 1;
      t->vals[nv++] = v;
    } else if (napi_is_array(env, v, &is_arr) == napi_ok && is_arr) {
      CALL(env, napi_get_array_length(env, v, &m));
      if (m > (uint32_t)MAX_IOV_PER_MSG) {
        /* What sendmsg itself answers for more than IOV_MAX pieces. */
        if (i == 0) return num(env, -EMSGSIZE);
        break;
      }
      if (nv + m > MAX_IOV_TOTAL && i > 0) break;
      if (tx_reserve(t, nv + m + 1) < 0) return num(env, -ENOMEM);
      t->first[i] = (uint32_t)nv;
      t->nchunks[i] = m;
      for (k = 0; k < m; k++) {
        napi_value c;
        CALL(env, napi_get_element(env, v, k, &c));
        if (!is_view(env, c)) return type_error(env, "payload chunks must be Uint8Arrays (ArrayBufferViews)");
        t->vals[nv++] = c;
      }
    } else {
      return type_error(env, "each payload must be a Uint8Array or an array of Uint8Arrays");
    }
    if (has_addrs) {
      napi_valuetype vt;
      CALL(env, napi_get_element(env, argv[3], (uint32_t)i, &t->addr_vals[i]));
      if (napi_typeof(env, t->addr_vals[i], &vt) != napi_ok || vt != napi_string)
        return type_error(env, "addresses must be strings");
    }
  }
  n = i;

  /* From here on no JavaScript runs. */
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if (has_addrs) {
    void *pdata = NULL;
    napi_typedarray_type tt;
    CALL(env, napi_get_typedarray_info(env, argv[2], &tt, &ports_len, &pdata, NULL, NULL));
    ports = (int32_t *)pdata;
    if (ports == NULL) ports_len = 0;
    if (n > ports_len) n = ports_len;
    if (n == 0) return range_error(env, "ports is shorter than count");
  }
  for (i = 0; i < n; i++) {
    struct msghdr *h = &t->msgs[i].hdr;
    memset(h, 0, sizeof(*h));
    if (has_addrs) {
      char text[UDPK_ADDR_MAX];
      size_t len = 0;
      int32_t port = ports[i];
      socklen_t sl;
      if (port < 0 || port > 65535) return range_error(env, "ports must be in 0..65535");
      if (napi_get_value_string_utf8(env, t->addr_vals[i], text, sizeof(text), &len) != napi_ok ||
          len + 1 >= sizeof(text) || strlen(text) != len ||
          udpk_parse_addr(s->family, text, (uint16_t)port, &t->names[i], &sl) < 0) {
        if (i == 0) return num(env, -EINVAL);
        break;
      }
      h->msg_name = &t->names[i];
      h->msg_namelen = sl;
    }
    for (k = 0; k < t->nchunks[i]; k++) view_bytes(env, t->vals[t->first[i] + k], &t->iov[t->first[i] + k]);
    h->msg_iov = t->nchunks[i] ? &t->iov[t->first[i]] : NULL;
    h->msg_iovlen = t->nchunks[i];
  }
  n = i;
  if (s->gso && n > 1) {
    r = send_segmented(s, t, n);
    if (r != SEGMENTED_NOT_USED) {
      if (r > 0) s->sent_in_poll = true;
      return num(env, r);
    }
  }
  r = udpk_send_batch(s->fd, t->msgs, (unsigned)n);
  if (r > 0) s->sent_in_poll = true;
  return num(env, r);
}

static napi_value m_send(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], result;
  udpk_sock *s = get_this(env, info, &argc, argv);
  udpk_env *e;
  tx_scratch own, *t;
  if (!s) return NULL;
  e = s->penv;
  /* A getter inside the payload array can call send() again; the nested
   * call must not scribble over the outer call's scratch. */
  if (e->tx_busy) {
    if (tx_init(&own) < 0) {
      tx_free(&own);
      return num(env, -ENOMEM);
    }
    t = &own;
  } else {
    if (e->tx.msgs == NULL && tx_init(&e->tx) < 0) {
      tx_free(&e->tx);
      return num(env, -ENOMEM);
    }
    t = &e->tx;
    e->tx_busy = true;
  }
  result = do_send(env, s, t, argv);
  if (t == &own)
    tx_free(&own);
  else
    e->tx_busy = false;
  return result;
}

/* ---------- receive control ---------- */

static napi_value m_wait_writable(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  if (s->closed || s->fd < 0) return NULL;
  s->want_writable = true;
  if (update_poll(s) < 0) s->want_writable = false;
  return NULL;
}

static napi_value m_dropped(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  return num(env, s->drop_counter ? (double)s->dropped : -1);
}

static bool get_method(napi_env env, napi_value obj, const char *name, napi_value *out) {
  napi_valuetype t;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return false;
  return napi_typeof(env, *out, &t) == napi_ok && t == napi_function;
}

static napi_value m_start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], fb, fe, fw;
  udpk_sock *s = get_this(env, info, &argc, argv);
  napi_valuetype t;
  uint32_t initial;
  int err;
  if (!s) return NULL;
  if (napi_typeof(env, argv[0], &t) != napi_ok || (t != napi_object && t != napi_function))
    return type_error(env, "sink must be an object");
  if (!get_method(env, argv[0], "onBatch", &fb) || !get_method(env, argv[0], "onRecvError", &fe) ||
      !get_method(env, argv[0], "onWritable", &fw)) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return NULL;
    return type_error(env, "sink must have onBatch, onRecvError and onWritable methods");
  }
  /* The getters above may have closed us. */
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  drop_sink(s);
  initial = s->strong ? 1 : 0;
  CALL(env, napi_create_reference(env, argv[0], initial, &s->sink_ref));
  CALL(env, napi_create_reference(env, fb, initial, &s->fn_batch));
  CALL(env, napi_create_reference(env, fe, initial, &s->fn_error));
  CALL(env, napi_create_reference(env, fw, initial, &s->fn_writable));
  s->receiving = true;
  s->writable_latched = false;
  err = update_poll(s);
  if (err < 0) s->receiving = false;
  return num(env, err);
}

static napi_value m_stop(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  s->receiving = false;
  update_poll(s);
  return NULL;
}

static napi_value m_ref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  s->refd = true;
  if (s->poll_state == POLL_OPEN) uv_ref((uv_handle_t *)&s->poll);
  return NULL;
}

static napi_value m_unref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  s->refd = false;
  if (s->poll_state == POLL_OPEN) uv_unref((uv_handle_t *)&s->poll);
  return NULL;
}

static napi_value m_close(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  sock_close(s);
  return NULL;
}

/* ---------- construction ---------- */

static unsigned slots_for(unsigned batch) {
  unsigned n = MIN_ADDR_SLOTS;
  while (n < 2 * batch) n *= 2;
  return n;
}

static napi_value m_construct(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], self, target, ab, meta, addrs, empty, fam;
  udpk_env *e = NULL;
  udpk_sock *s;
  int64_t family;
  unsigned i;
  void *data = NULL;
  napi_status st;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, &self, NULL));
  CALL(env, napi_get_new_target(env, info, &target));
  if (target == NULL) return type_error(env, "Socket must be called with new");
  if (!get_integer(env, argv[0], 4, 6, "family must be 4 or 6", &family)) return NULL;
  if (family != 4 && family != 6) return range_error(env, "family must be 4 or 6");
  CALL(env, napi_get_instance_data(env, (void **)&e));
  if (e == NULL) return type_error(env, "udpkit is not initialised in this environment");

  s = calloc(1, sizeof(*s));
  if (s == NULL) return range_error(env, "out of memory");
  s->env = env;
  s->penv = e;
  s->family = (int)family;
  s->fd = -1;
  s->refd = true;
  s->batch = e->recv_batch;
  s->nslots = slots_for(s->batch);
  s->slots = calloc(s->nslots, sizeof(*s->slots));
  if (s->slots == NULL) {
    free(s);
    return range_error(env, "out of memory");
  }

#define TRY(expr)                       \
  do {                                  \
    if ((st = (expr)) != napi_ok) goto fail; \
  } while (0)
  TRY(napi_create_arraybuffer(env, (size_t)s->batch * META_STRIDE * sizeof(int32_t), &data, &ab));
  TRY(napi_create_typedarray(env, napi_int32_array, (size_t)s->batch * META_STRIDE, ab, 0, &meta));
  s->meta = (int32_t *)data;
  TRY(napi_create_array_with_length(env, s->nslots, &addrs));
  TRY(napi_create_string_utf8(env, "", 0, &empty));
  for (i = 0; i < s->nslots; i++) TRY(napi_set_element(env, addrs, i, empty));
  TRY(napi_create_int32(env, s->family, &fam));
  {
    napi_property_descriptor props[] = {
        {"family", NULL, NULL, NULL, NULL, fam, napi_enumerable, NULL},
        {"recvMeta", NULL, NULL, NULL, NULL, meta, napi_enumerable, NULL},
        {"recvAddresses", NULL, NULL, NULL, NULL, addrs, napi_enumerable, NULL},
    };
    TRY(napi_define_properties(env, self, 3, props));
  }
  TRY(napi_create_reference(env, ab, 1, &s->meta_ref));
  TRY(napi_create_reference(env, addrs, 1, &s->addrs_ref));
  {
    napi_value name;
    TRY(napi_create_string_utf8(env, "UDPKIT_SOCKET", NAPI_AUTO_LENGTH, &name));
    TRY(napi_async_init(env, NULL, name, &s->actx));
    s->async_live = true;
  }
  TRY(napi_create_reference(env, self, 0, &s->self_ref));
  TRY(napi_wrap(env, self, s, sock_finalize, NULL, NULL));
#undef TRY
  return self;

fail:
  throw_status(env, st);
  if (s->async_live) napi_async_destroy(env, s->actx);
  delete_ref(env, &s->self_ref);
  delete_ref(env, &s->meta_ref);
  delete_ref(env, &s->addrs_ref);
  free(s->slots);
  free(s);
  return NULL;
}

/* ---------- module ---------- */

static napi_value m_get_batch(napi_env env, napi_callback_info info) {
  udpk_env *e = NULL;
  (void)info;
  CALL(env, napi_get_instance_data(env, (void **)&e));
  return num(env, e ? e->recv_batch : DEFAULT_RECV_BATCH);
}

static napi_value m_set_batch(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  udpk_env *e = NULL;
  int64_t v;
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (!get_integer(env, argv[0], 1, MAX_RECV_BATCH, "recvBatchSize must be an integer in 1..1024", &v)) return NULL;
  CALL(env, napi_get_instance_data(env, (void **)&e));
  if (e) e->recv_batch = (unsigned)v;
  return NULL;
}

static napi_value m_platform(napi_env env, napi_callback_info info) {
  udpk_platform_info p = udpk_platform_get();
  napi_value obj, v;
  (void)info;
  CALL(env, napi_create_object(env, &obj));
  CALL(env, napi_get_boolean(env, p.recvmmsg != 0, &v));
  CALL(env, napi_set_named_property(env, obj, "recvmmsg", v));
  CALL(env, napi_get_boolean(env, p.sendmmsg != 0, &v));
  CALL(env, napi_set_named_property(env, obj, "sendmmsg", v));
  CALL(env, napi_get_boolean(env, p.rxq_ovfl != 0, &v));
  CALL(env, napi_set_named_property(env, obj, "dropCounter", v));
  CALL(env, napi_get_boolean(env, offload_enabled() && udpk_gso_supported() != 0, &v));
  CALL(env, napi_set_named_property(env, obj, "segmentationOffload", v));
  return obj;
}

static napi_value m_dup_descriptor(napi_env env, napi_callback_info info) {
  /* dupDescriptor(fd): a close-on-exec duplicate of a datagram socket
   * descriptor (for adopting a socket another owner keeps open), or -errno. */
  size_t argc = 1;
  napi_value argv[1];
  int64_t fd;
  struct stat st;
  int type = 0, dup_fd;
  socklen_t len = sizeof(type);
  CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return type_error(env, "fd must be an integer");
  if (!get_integer(env, argv[0], -2147483648.0, INT32_MAX, "fd must be an integer", &fd)) return NULL;
  if (fd < 0) return num(env, -EBADF);
  if (fstat((int)fd, &st) < 0) return num(env, -errno);
  if (!S_ISSOCK(st.st_mode)) return num(env, -ENOTSOCK);
  if (getsockopt((int)fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0) return num(env, -errno);
  if (type != SOCK_DGRAM) return num(env, -EINVAL);
  dup_fd = fcntl((int)fd, F_DUPFD_CLOEXEC, 0);
  if (dup_fd < 0) return num(env, -errno);
  return num(env, dup_fd);
}

static void env_finalize(napi_env env, void *data, void *hint) {
  udpk_env *e = (udpk_env *)data;
  (void)hint;
  if (e->ctor) napi_delete_reference(env, e->ctor);
  free(e->rx_msgs);
  free(e->rx_iov);
  free(e->rx_names);
  free(e->rx_ctrl);
  free(e->rx_parts);
  free(e->rx_buf);
  tx_free(&e->tx);
  free(e);
}

#define METHOD(name, fn) {name, NULL, fn, NULL, NULL, NULL, napi_default_method, NULL}

NAPI_MODULE_INIT() {
  napi_value cls, fn;
  udpk_env *e;
  napi_property_descriptor methods[] = {
      METHOD("bind", m_bind),
      METHOD("open", m_open),
      METHOD("connect", m_connect),
      METHOD("disconnect", m_disconnect),
      METHOD("localAddress", m_local),
      METHOD("remoteAddress", m_remote),
      METHOD("fd", m_fd),
      METHOD("setOption", m_set_option),
      METHOD("getOption", m_get_option),
      METHOD("setMulticastInterface", m_set_mcast_if),
      METHOD("setMembership", m_set_membership),
      METHOD("setSourceMembership", m_set_source_membership),
      METHOD("send", m_send),
      METHOD("waitWritable", m_wait_writable),
      METHOD("droppedCount", m_dropped),
      METHOD("startReceiving", m_start),
      METHOD("stopReceiving", m_stop),
      METHOD("ref", m_ref),
      METHOD("unref", m_unref),
      METHOD("close", m_close),
  };
  udpk_platform_init();
  e = calloc(1, sizeof(*e));
  if (e == NULL) return NULL;
  e->recv_batch = DEFAULT_RECV_BATCH;
  if (napi_get_uv_event_loop(env, &e->loop) != napi_ok || napi_set_instance_data(env, e, env_finalize, NULL) != napi_ok) {
    free(e);
    throw_status(env, napi_generic_failure);
    return NULL;
  }
  CALL(env, napi_define_class(env, "Socket", NAPI_AUTO_LENGTH, m_construct, NULL, sizeof(methods) / sizeof(methods[0]),
                              methods, &cls));
  CALL(env, napi_create_reference(env, cls, 1, &e->ctor));
  CALL(env, napi_set_named_property(env, exports, "Socket", cls));
  CALL(env, napi_create_function(env, "getRecvBatchSize", NAPI_AUTO_LENGTH, m_get_batch, NULL, &fn));
  CALL(env, napi_set_named_property(env, exports, "getRecvBatchSize", fn));
  CALL(env, napi_create_function(env, "setRecvBatchSize", NAPI_AUTO_LENGTH, m_set_batch, NULL, &fn));
  CALL(env, napi_set_named_property(env, exports, "setRecvBatchSize", fn));
  CALL(env, napi_create_function(env, "platform", NAPI_AUTO_LENGTH, m_platform, NULL, &fn));
  CALL(env, napi_set_named_property(env, exports, "platform", fn));
  CALL(env, napi_create_function(env, "dupDescriptor", NAPI_AUTO_LENGTH, m_dup_descriptor, NULL, &fn));
  CALL(env, napi_set_named_property(env, exports, "dupDescriptor", fn));
  return exports;
}
