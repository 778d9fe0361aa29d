/* The RecvMeta side: datagrams come in through one recvmmsg into the
 * environment's shared receive area, are split where the kernel coalesced
 * them, and go out to JavaScript in chunks (one ArrayBuffer of payloads plus
 * recvMeta rows and sender address slots; see src/datapath/types.ts). */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "addr.h"
#include "cmsg.h"
#include "udpkit.h"

/* Rounds of recvmmsg per readable event: enough to drain a burst, few
 * enough that timers and other sockets still get their turn. */
#define RECV_ROUNDS 8

/* ---------- receive ---------- */

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
  /* Room for every receive feature, whether a socket asked or not: one
   * area serves all sockets. */
  e->rx_ctrl = calloc(batch, UDPK_CTRL_SIZE_FULL);
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

void rx_free(udpk_env *e) {
  free(e->rx_msgs);
  free(e->rx_iov);
  free(e->rx_names);
  free(e->rx_ctrl);
  free(e->rx_parts);
  free(e->rx_buf);
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
 * many slots as a batch has datagrams (so there is room for each one's
 * destination too, with recvPacketInfo), and a slot used by this batch is
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
  if (s->info != NULL && (s->recv_features & UDPK_RECV_PER_DATAGRAM)) {
    napi_value info_ab;
    if (napi_get_reference_value(s->env, s->info_ref, &info_ab) != napi_ok || info_ab == NULL ||
        napi_is_detached_arraybuffer(s->env, info_ab, &detached) != napi_ok || detached) {
      napi_close_handle_scope(s->env, c->scope);
      return -EFAULT;
    }
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
      if (s->info != NULL && (s->recv_features & UDPK_RECV_PER_DATAGRAM)) {
        for (i = 0; i < c->count; i++) {
          int32_t *row = s->info + (size_t)i * INFO_STRIDE;
          const rx_part *p = &c->parts[i];
          row[0] = p->dst_slot;
          row[1] = p->ifindex;
          row[2] = p->ecn;
          row[3] = (int32_t)(p->ts_sec >> 32);
          row[4] = (int32_t)(uint32_t)(p->ts_sec & 0xffffffffu);
          row[5] = p->ts_nsec;
        }
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

static rx_part *rx_chunk_add(rx_chunk *c, const unsigned char *data, size_t len, int port, int slot, int flags) {
  rx_part *p = &c->parts[c->count++];
  p->data = data;
  p->len = (uint32_t)len;
  p->port = port;
  p->slot = slot < 0 ? 0 : slot;
  p->flags = flags;
  c->bytes += len;
  return p;
}

static int receive_once(udpk_sock *s) {
  udpk_env *e = s->penv;
  unsigned batch = s->batch, i;
  int n, deferred = 0, err = 0;
  /* Control data only where a feature asked for it: the kernel fills it
   * in for every datagram. */
  bool ctrl = s->drop_counter || s->gro || (s->recv_features & UDPK_RECV_PER_DATAGRAM);
  size_t ctrl_len = (s->recv_features & UDPK_RECV_PER_DATAGRAM) ? UDPK_CTRL_SIZE_FULL : UDPK_CTRL_SIZE;
  bool want_info = s->info != NULL && (s->recv_features & UDPK_RECV_PER_DATAGRAM);
  rx_chunk chunk;

  if ((err = ensure_rx(e, batch)) < 0) return err;
  for (i = 0; i < batch; i++) {
    struct msghdr *h = &e->rx_msgs[i].hdr;
    h->msg_namelen = sizeof(struct sockaddr_storage);
    h->msg_control = ctrl ? e->rx_ctrl + (size_t)i * UDPK_CTRL_SIZE_FULL : NULL;
    h->msg_controllen = ctrl ? ctrl_len : 0;
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
    int port = 0, slot, dport;
    rx_part *p;
    udpk_recv_info ri;
    if (want_info) udpk_read_recv_info(&m->hdr, s->family, &ri);
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
      p = rx_chunk_add(&chunk, data + off, part, port, slot, flags);
      if (want_info) {
        /* The local address goes through the same table as senders: one
         * string per address, made once. */
        int dslot = ri.dst.ss_family ? address_slot(s, chunk.table, &ri.dst, &dport) : -1;
        p->dst_slot = dslot;
        p->ifindex = ri.ifindex;
        p->ecn = ri.ecn;
        p->ts_sec = ri.ts_sec;
        p->ts_nsec = ri.ts_nsec;
      }
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

unsigned receive_drain(udpk_sock *s, bool may_spin, bool *empty) {
  unsigned total = 0;
  int round, drained = 0;
  *empty = true;
  s->sent_in_poll = false;
  for (round = 0; round < RECV_ROUNDS; round++) {
    int n;
    if (!s->receiving || s->closed || s->fd < 0) break;
    n = receive_once(s);
    if (n == -EAGAIN || n == -EWOULDBLOCK || n == -EINTR || n == 0) break;
    if (n < 0) {
      /* With recvErrors an ICMP error the receive reported is in the error
       * queue too: it goes out as onIcmp, and receiving goes on. */
      if ((s->recv_features & UDPK_RECV_ERRORS) && !drained && errqueue_pending(s->fd)) {
        drained = 1;
        if (drain_errqueue(s) > 0) continue;
      }
      report_error(s, n);
      break;
    }
    total += (unsigned)n;
    if ((unsigned)n < s->batch) {
      if (!may_spin || !s->sent_in_poll || !spin_for_reply(s)) break;
      s->sent_in_poll = false;
    }
    if (round == RECV_ROUNDS - 1) *empty = false;
  }
  return total;
}

void receive_ready(udpk_sock *s) {
  bool empty;
  receive_drain(s, true, &empty);
  if (!s->closed) coalesce_after_wake(s, empty);
}

/* ---------- receive features and the error queue ---------- */

napi_value m_set_recv_features(napi_env env, napi_callback_info info) {
  /* setRecvFeatures(mask): the features that are on afterwards, or -errno. */
  size_t argc = 1;
  napi_value argv[1];
  udpk_sock *s = get_this(env, info, &argc, argv);
  int64_t mask;
  int on;
  if (!s) return NULL;
  if (!get_integer(env, argv[0], 0, 15, "mask must be an integer in 0..15", &mask)) return NULL;
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  if ((mask & UDPK_RECV_PER_DATAGRAM) && s->info == NULL) {
    /* recvInfo exists only on sockets that asked for it. */
    napi_value self, ab, arr;
    void *data = NULL;
    size_t n = (size_t)s->batch * INFO_STRIDE;
    CALL(env, napi_get_cb_info(env, info, NULL, NULL, &self, NULL));
    CALL(env, napi_create_arraybuffer(env, n * sizeof(int32_t), &data, &ab));
    CALL(env, napi_create_typedarray(env, napi_int32_array, n, ab, 0, &arr));
    {
      napi_property_descriptor prop = {"recvInfo", NULL, NULL, NULL, NULL, arr, napi_enumerable, NULL};
      CALL(env, napi_define_properties(env, self, 1, &prop));
    }
    CALL(env, napi_create_reference(env, ab, 1, &s->info_ref));
    s->info = (int32_t *)data;
  }
  on = udpk_enable_recv_features(s->fd, s->family, (unsigned)mask);
  if (on < 0) return num(env, on);
  s->recv_features = (unsigned)on;
  return num(env, on);
}

int errqueue_pending(int fd) {
  /* The error queue cannot be peeked at (reading takes the entry), but
   * poll says POLLERR while it holds one. */
  struct pollfd p = {fd, 0, 0};
  return poll(&p, 1, 0) > 0 && (p.revents & POLLERR) != 0;
}

/* Most entries read per call: the rest wait for the next POLLERR. */
#define ERRQUEUE_MAX 64

static napi_value icmp_entry(udpk_sock *s, const udpk_ext_err *ee, const struct sockaddr_storage *dst) {
  napi_env env = s->env;
  napi_value obj, v;
  char buf[UDPK_ADDR_MAX + 8];
  int len, port = 0;
  if (napi_create_object(env, &obj) != napi_ok) return NULL;
#define SET_INT(name, val) \
  if (napi_create_int32(env, (val), &v) != napi_ok || napi_set_named_property(env, obj, name, v) != napi_ok) return NULL
#define SET_STR(name, ss)                                                                      \
  do {                                                                                         \
    len = udpk_format_addr((const struct sockaddr *)(ss), buf, sizeof(buf));                 \
    if (len < 0) len = 0;                                                                      \
    if (napi_create_string_utf8(env, buf, (size_t)len, &v) != napi_ok ||                      \
        napi_set_named_property(env, obj, name, v) != napi_ok)                                \
      return NULL;                                                                             \
  } while (0)
  SET_INT("errno", -ee->err);
  if (dst->ss_family == AF_INET || dst->ss_family == AF_INET6) {
    SET_STR("address", dst);
    port = dst->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)dst)->sin_port)
                                     : ntohs(((const struct sockaddr_in6 *)dst)->sin6_port);
    SET_INT("port", port);
  }
  SET_INT("origin", ee->origin);
  SET_INT("type", ee->type);
  SET_INT("code", ee->code);
  if (napi_create_uint32(env, ee->info, &v) != napi_ok || napi_set_named_property(env, obj, "info", v) != napi_ok)
    return NULL;
  if (ee->offender.ss_family != 0) SET_STR("offender", &ee->offender);
#undef SET_INT
#undef SET_STR
  return obj;
}

int drain_errqueue(udpk_sock *s) {
  napi_handle_scope scope;
  napi_value list = NULL;
  uint32_t count = 0;
  int taken = 0, err = 0;
  if (s->env_gone || napi_open_handle_scope(s->env, &scope) != napi_ok) return -ENOMEM;
  if (napi_create_array(s->env, &list) != napi_ok) list = NULL;
  while (taken < ERRQUEUE_MAX && s->fd >= 0) {
    unsigned char ctrl[512], byte;
    struct sockaddr_storage dst;
    struct iovec iov = {&byte, 1};
    struct msghdr h;
    udpk_ext_err ee;
    ssize_t r;
    memset(&h, 0, sizeof(h));
    memset(&dst, 0, sizeof(dst));
    h.msg_name = &dst;
    h.msg_namelen = sizeof(dst);
    h.msg_iov = &iov;
    h.msg_iovlen = 1;
    h.msg_control = ctrl;
    h.msg_controllen = sizeof(ctrl);
    do
      r = recvmsg(s->fd, &h, MSG_ERRQUEUE | MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK) err = -errno;
      break;
    }
    taken++;
    if (!udpk_read_ext_err(&h, &ee) || list == NULL) continue;
    {
      napi_value entry = icmp_entry(s, &ee, &dst);
      if (entry == NULL || napi_set_element(s->env, list, count, entry) != napi_ok) {
        napi_value ignored;
        napi_get_and_clear_last_exception(s->env, &ignored);
        continue;
      }
      count++;
    }
  }
  if (count > 0 && s->fn_icmp != NULL && !s->closed) call_sink(s, s->fn_icmp, 1, &list);
  napi_close_handle_scope(s->env, scope);
  return taken > 0 ? taken : err;
}
