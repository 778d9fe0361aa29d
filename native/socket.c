/* udpkit's native datapath: one DatapathSocket (src/datapath/types.ts) per
 * instance of the Socket class exported here.
 *
 * Lifetimes, because that is where addons like this one go wrong:
 *  - A udpk_sock outlives both its JS object and its handles: it is freed
 *    only when the finalizer has run AND the poll handle and the coalescing
 *    tick handle (coalesce.c) are closed (or were never opened), whichever
 *    comes last.
 *  - While the poll handle is active or the socket is coalescing (ticking),
 *    the JS object and the sink are held strongly (so a receiving socket
 *    cannot be collected out from under the loop); otherwise weakly (so a
 *    forgotten socket is collected and its descriptor closed by the
 *    finalizer).
 *  - Every call into JavaScript may close the socket, stop it, or replace
 *    its sink; the state is re-read after each one. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"
#include "cmsg.h"
#include "udpkit.h"

#define MIN_ADDR_SLOTS 64u

#define BIND_IPV6ONLY 1
#define BIND_REUSEADDR 4
#define BIND_REUSEPORT 8

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
  ref_strength(s->env, s->fn_icmp, strong);
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
  delete_ref(s->env, &s->fn_icmp);
}

static void on_poll(uv_poll_t *h, int status, int events);

static bool handle_done(int state) { return state == POLL_NONE || state == POLL_CLOSED; }

void sock_handle_closed(udpk_sock *s) {
  if (s->finalized && handle_done(s->poll_state) && handle_done(s->tick_state)) {
    free(s->slots);
    free(s);
  }
}

static void on_poll_closed(uv_handle_t *h) {
  udpk_sock *s = (udpk_sock *)h->data;
  s->poll_state = POLL_CLOSED;
  sock_handle_closed(s);
}

int update_poll(udpk_sock *s) {
  int ev = 0, err;
  if (s->closed || s->fd < 0) return s->closed ? -EBADF : 0;
  /* Not receiving any more: no timer drains it either. */
  if (s->ticking && !s->receiving) coalesce_pause(s);
  /* While coalescing, the tick handle drains the socket instead. */
  if (s->receiving && !s->ticking) ev |= UV_READABLE;
  if (s->want_writable && !s->writable_latched) ev |= UV_WRITABLE;
  if (ev == s->poll_events) {
    /* Ticking may have stopped with nothing else to watch. */
    set_strong(s, ev != 0 || s->ticking);
    return 0;
  }
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
  set_strong(s, ev != 0 || s->ticking);
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
  coalesce_close(s);
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
    delete_ref(env, &s->info_ref);
    delete_ref(env, &s->addrs_ref);
  }
  s->finalized = true;
  sock_handle_closed(s);
}

/* ---------- calls into JavaScript from the loop ---------- */

/* Calls sink.<fn>(...) as Node calls its own I/O callbacks: through
 * napi_make_callback so nextTicks and microtasks run afterwards, and with a
 * throw turned into 'uncaughtException'. Must run inside a handle scope. */
void call_sink(udpk_sock *s, napi_ref fn_ref, size_t argc, const napi_value *argv) {
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

void report_error(udpk_sock *s, int err) {
  napi_handle_scope scope;
  napi_value arg;
  if (s->closed || s->env_gone) return;
  if (napi_open_handle_scope(s->env, &scope) != napi_ok) return;
  if (napi_create_int32(s->env, err, &arg) == napi_ok) call_sink(s, s->fn_error, 1, &arg);
  napi_close_handle_scope(s->env, scope);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  udpk_sock *s = (udpk_sock *)h->data;
  if (s->closed) return;
  if (status < 0) {
    /* libuv answers POLLERR with UV_EBADF and stops the handle. For a UDP
     * socket POLLERR mostly means a pending socket error (an ICMP port
     * unreachable on a connected socket): report that and poll on. */
    int so_err = 0;
    socklen_t len = sizeof(so_err);
    s->poll_events = 0;
    if (s->recv_features & UDPK_RECV_ERRORS) {
      /* With recvErrors, POLLERR is the error queue: its entries go to
       * onIcmp (and reading them clears the socket error they set). */
      int n = drain_errqueue(s);
      if (s->closed) return;
      if (n > 0) {
        if (update_poll(s) < 0) {
          s->receiving = false;
          s->want_writable = false;
          update_poll(s);
        }
        return;
      }
    }
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
  if (events & UV_READABLE) receive_ready(s);
}

/* ---------- descriptor setup ---------- */

/* UDPKIT_OFFLOAD=0 turns segmentation offload off (for comparisons and for
 * the odd path that mishandles it). */
bool offload_enabled(void) {
  static int enabled = -1;
  if (enabled < 0) {
    const char *v = getenv("UDPKIT_OFFLOAD");
    enabled = !(v != NULL && strcmp(v, "0") == 0);
  }
  return enabled == 1;
}

static void adopt_fd(udpk_sock *s, int fd) {
  uint32_t drops;
  s->fd = fd;
  /* Read on demand where the kernel lets us; SO_RXQ_OVFL (a control
   * message on every datagram, a cost on every receive) only elsewhere. */
  s->drops_on_demand = udpk_read_drops(fd, &drops) == 1;
  s->drop_counter = !s->drops_on_demand && udpk_enable_drop_counter(fd) == 1;
  s->gro = offload_enabled() && udpk_enable_gro(fd) == 1;
  s->gso = offload_enabled() && udpk_gso_supported() == 1;
  if (!s->hook && !s->env_gone && napi_add_env_cleanup_hook(s->env, cleanup_hook, s) == napi_ok) s->hook = true;
}

static int sock_family(const udpk_sock *s) { return s->family == 6 ? AF_INET6 : AF_INET; }

napi_value m_bind(napi_env env, napi_callback_info info) {
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

napi_value m_open(napi_env env, napi_callback_info info) {
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

napi_value m_connect(napi_env env, napi_callback_info info) {
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

napi_value m_disconnect(napi_env env, napi_callback_info info) {
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

napi_value m_local(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  return s ? endpoint(env, s, false) : NULL;
}

napi_value m_remote(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  return s ? endpoint(env, s, true) : NULL;
}

napi_value m_fd(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  return num(env, s->closed ? -1 : s->fd);
}

/* ---------- receive control ---------- */

napi_value m_wait_writable(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  if (s->closed || s->fd < 0) return NULL;
  s->want_writable = true;
  if (update_poll(s) < 0) s->want_writable = false;
  return NULL;
}

napi_value m_dropped(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  if (s->drops_on_demand && !s->closed && s->fd >= 0 && udpk_read_drops(s->fd, &s->dropped) == 1) return num(env, (double)s->dropped);
  return num(env, s->drop_counter || s->drops_on_demand ? (double)s->dropped : -1);
}

static bool get_method(napi_env env, napi_value obj, const char *name, napi_value *out) {
  napi_valuetype t;
  if (napi_get_named_property(env, obj, name, out) != napi_ok) return false;
  return napi_typeof(env, *out, &t) == napi_ok && t == napi_function;
}

napi_value m_start(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], fb, fe, fw, fi;
  udpk_sock *s = get_this(env, info, &argc, argv);
  napi_valuetype t;
  uint32_t initial;
  bool has_icmp;
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
  /* onIcmp is optional: only recvErrors sockets need it. */
  has_icmp = get_method(env, argv[0], "onIcmp", &fi);
  if (!has_icmp) {
    bool pending = false;
    if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return NULL;
  }
  /* The getters above may have closed us. */
  if (s->closed || s->fd < 0) return num(env, -EBADF);
  drop_sink(s);
  initial = s->strong ? 1 : 0;
  CALL(env, napi_create_reference(env, argv[0], initial, &s->sink_ref));
  CALL(env, napi_create_reference(env, fb, initial, &s->fn_batch));
  CALL(env, napi_create_reference(env, fe, initial, &s->fn_error));
  CALL(env, napi_create_reference(env, fw, initial, &s->fn_writable));
  if (has_icmp) CALL(env, napi_create_reference(env, fi, initial, &s->fn_icmp));
  s->receiving = true;
  s->writable_latched = false;
  err = update_poll(s);
  if (err < 0) s->receiving = false;
  return num(env, err);
}

napi_value m_stop(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  s->receiving = false;
  update_poll(s);
  return NULL;
}

napi_value m_ref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  s->refd = true;
  if (s->poll_state == POLL_OPEN) uv_ref((uv_handle_t *)&s->poll);
  if (s->tick_state == POLL_OPEN) uv_ref((uv_handle_t *)&s->tick);
  return NULL;
}

napi_value m_unref(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  s->refd = false;
  if (s->poll_state == POLL_OPEN) uv_unref((uv_handle_t *)&s->poll);
  if (s->tick_state == POLL_OPEN) uv_unref((uv_handle_t *)&s->tick);
  return NULL;
}

napi_value m_close(napi_env env, napi_callback_info info) {
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

napi_value m_construct(napi_env env, napi_callback_info info) {
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
  s->tick_fd = -1;
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
