/* Bindings to JavaScript: the module's exports, the native Socket class's
 * method table, and the helpers every method uses to read its arguments
 * (throwing for a wrong type, never crashing on any value). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "udpkit.h"

/* ---------- small N-API helpers ---------- */

void throw_status(napi_env env, napi_status st) {
  bool pending = false;
  const napi_extended_error_info *info = NULL;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  napi_get_last_error_info(env, &info);
  napi_throw_error(env, "ERR_UDPKIT_NAPI",
                   info && info->error_message ? info->error_message : (st == napi_ok ? "N-API error" : "N-API call failed"));
}

napi_value num(napi_env env, double v) {
  napi_value r;
  if (napi_create_double(env, v, &r) != napi_ok) return NULL;
  return r;
}

napi_value type_error(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

napi_value range_error(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

bool is_nullish(napi_env env, napi_value v) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) return false;
  return t == napi_null || t == napi_undefined;
}

/* Copies a JS string argument. 1: ok; 0: a string, but too long or with
 * an embedded NUL, so no valid address (-EINVAL for the caller); -1: not
 * a string, TypeError thrown. */
int get_string(napi_env env, napi_value v, char *buf, size_t size, const char *what) {
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
bool get_integer(napi_env env, napi_value v, double lo, double hi, const char *what, int64_t *out) {
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

bool get_bool(napi_env env, napi_value v, const char *what, bool *out) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_boolean || napi_get_value_bool(env, v, out) != napi_ok) {
    type_error(env, what);
    return false;
  }
  return true;
}

udpk_sock *get_this(napi_env env, napi_callback_info info, size_t *argc, napi_value *argv) {
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
  {
    /* Receive coalescing needs a timer the loop can poll (coalesce.c). */
    int timer = udpk_timer_create();
    if (timer >= 0) close(timer);
    CALL(env, napi_get_boolean(env, timer >= 0, &v));
    CALL(env, napi_set_named_property(env, obj, "receiveCoalescing", v));
  }
  {
    /* What capabilities() reports: the kernel's support, probed once. */
    const struct {
      const char *name;
      int on;
    } flags[] = {
        {"gso", offload_enabled() && udpk_gso_supported()},
        {"gro", offload_enabled() && p.gro},
        {"packetInfo", p.pktinfo},
        {"ecn", p.ecn},
        {"timestamps", p.timestamps},
        {"recvErrors", p.recverr},
        {"dontFragment", p.dontfrag},
        {"mmsg", p.recvmmsg && p.sendmmsg},
    };
    size_t i;
    for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
      CALL(env, napi_get_boolean(env, flags[i].on != 0, &v));
      CALL(env, napi_set_named_property(env, obj, flags[i].name, v));
    }
  }
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
  rx_free(e);
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
      METHOD("setTOS", m_set_tos),
      METHOD("getTOS", m_get_tos),
      METHOD("setDontFragment", m_set_dont_fragment),
      METHOD("getPathMTU", m_get_path_mtu),
      METHOD("setRecvFeatures", m_set_recv_features),
      METHOD("send", m_send),
      METHOD("segmentedSends", m_segmented_sends),
      METHOD("waitWritable", m_wait_writable),
      METHOD("droppedCount", m_dropped),
      METHOD("startReceiving", m_start),
      METHOD("stopReceiving", m_stop),
      METHOD("ref", m_ref),
      METHOD("unref", m_unref),
      METHOD("close", m_close),
      METHOD("share", m_share),
      {"recvMeta", NULL, NULL, m_recv_meta, NULL, NULL, napi_enumerable, NULL},
      {"recvAddresses", NULL, NULL, m_recv_addresses, NULL, NULL, napi_enumerable, NULL},
      {"recvInfo", NULL, NULL, m_recv_info, NULL, NULL, napi_enumerable, NULL},
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

