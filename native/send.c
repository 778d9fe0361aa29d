/* The Transmit side: payloads and destinations from JavaScript become one
 * batch of messages and leave with one sendmmsg, same-size runs to one
 * destination as single segmentation-offload sends where the kernel has it. */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "cmsg.h"
#include "udpkit.h"

#define MAX_SEND_MSGS 1024u
#ifdef IOV_MAX
#define MAX_IOV_PER_MSG IOV_MAX
#else
#define MAX_IOV_PER_MSG 1024
#endif
#define MAX_IOV_TOTAL 65536u

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

void tx_free(tx_scratch *t) {
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
  free(t->src_vals);
  free(t->ctrl);
  free(t->split);
  memset(t, 0, sizeof(*t));
}

/* The per-datagram option arrays, allocated the first time a send has
 * options: plain sends never pay for them. */
static int tx_extras_init(tx_scratch *t) {
  if (t->ctrl != NULL) return 0;
  t->src_vals = calloc(MAX_SEND_MSGS, sizeof(*t->src_vals));
  t->split = calloc(MAX_SEND_MSGS, sizeof(*t->split));
  t->ctrl = calloc(MAX_SEND_MSGS, UDPK_TX_CTRL_SIZE);
  if (!t->src_vals || !t->split || !t->ctrl) {
    free(t->src_vals);
    free(t->split);
    free(t->ctrl);
    t->src_vals = NULL;
    t->split = NULL;
    t->ctrl = NULL;
    return -ENOMEM;
  }
  return 0;
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
    /* A datagram with options of its own (source, ECN, segment size)
     * leaves alone. */
    if (seg > 0 && first->msg_controllen == 0) {
      while (j < n && j - i < UDPK_MAX_GSO_SEGMENTS) {
        const struct msghdr *next = &t->msgs[j].hdr;
        size_t len = msg_bytes(next);
        if (len == 0 || len > seg || total + len > GSO_MAX_BYTES || iovs + next->msg_iovlen > (size_t)MAX_IOV_PER_MSG ||
            !same_destination(first, next) || next->msg_iov != first->msg_iov + iovs || next->msg_controllen != 0)
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

/* t->split: a segment size (low 16 bits), with SPLIT_GSO while the kernel
 * is to do the splitting (UDP_SEGMENT), without it when this file does. */
#define SPLIT_GSO 0x10000u

/* One buffer as datagrams of seg bytes, each its own sendmsg (software
 * segmentation). 1 when the first went out (a later one the kernel refuses
 * is dropped, as the network may drop any datagram), or -errno. */
static int send_split(int fd, const struct msghdr *h, size_t seg) {
  struct msghdr one = *h;
  struct iovec piece;
  const unsigned char *base = h->msg_iovlen ? h->msg_iov[0].iov_base : NULL;
  size_t len = h->msg_iovlen ? h->msg_iov[0].iov_len : 0, off;
  one.msg_iov = &piece;
  one.msg_iovlen = 1;
  for (off = 0; off < len; off += seg) {
    ssize_t r;
    piece.iov_base = (void *)(base + off);
    piece.iov_len = len - off < seg ? len - off : seg;
    do
      r = sendmsg(fd, &one, MSG_DONTWAIT);
    while (r < 0 && errno == EINTR);
    if (r < 0) {
      if (off == 0) return -errno;
      break;
    }
  }
  return 1;
}

/* Sends datagrams that carry options of their own: runs of them with one
 * sendmmsg, each software-segmented one by itself. How many went out, or
 * -errno for the first. */
static int send_with_options(udpk_sock *s, tx_scratch *t, size_t n) {
  size_t i = 0, j;
  while (i < n) {
    int r;
    if (t->split[i] != 0 && !(t->split[i] & SPLIT_GSO)) {
      r = send_split(s->fd, &t->msgs[i].hdr, t->split[i]);
      if (r < 0) return i == 0 ? r : (int)i;
      i++;
      continue;
    }
    for (j = i + 1; j < n && (t->split[j] == 0 || (t->split[j] & SPLIT_GSO)); j++) {
    }
    r = udpk_send_batch(s->fd, t->msgs + i, (unsigned)(j - i));
    if (r < 0) {
      if ((t->split[i] & SPLIT_GSO) && (r == -EINVAL || r == -EIO || r == -EMSGSIZE)) {
        /* The path or the device cannot take this segment size: split the
         * datagram here instead. */
        udpk_strip_gso(&t->msgs[i].hdr);
        t->split[i] &= ~SPLIT_GSO;
        continue;
      }
      return i == 0 ? r : (int)i;
    }
    {
      size_t k, want = j - i;
      for (k = i; k < i + (size_t)r; k++)
        if (t->split[k] & SPLIT_GSO) s->gso_sends++;
      if ((size_t)r < want) return (int)(i + (size_t)r);
    }
    i = j;
  }
  return (int)n;
}

static bool v4_mapped(const struct sockaddr_storage *ss) {
  return ss->ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr);
}

/* The per-datagram options of datagram i (source, ECN, segment size) as
 * its control data. 0, or -EINVAL for an unusable source or segmentation
 * of a gathered (several-chunk) datagram. */
static int prepare_options(udpk_sock *s, tx_scratch *t, size_t i, bool v4_peer, const int32_t *ecn, size_t ecn_len,
                           const int32_t *segs, size_t segs_len) {
  struct msghdr *h = &t->msgs[i].hdr;
  struct sockaddr_storage src;
  bool has_src = false, v4;
  int tos = -1;
  size_t seg = 0, cl;
  t->split[i] = 0;
  if (t->src_vals[i] != NULL) {
    char text[UDPK_ADDR_MAX];
    size_t len = 0;
    socklen_t sl;
    if (napi_get_value_string_utf8(s->env, t->src_vals[i], text, sizeof(text), &len) != napi_ok ||
        len + 1 >= sizeof(text) || strlen(text) != len || udpk_parse_addr(s->family, text, 0, &src, &sl) < 0)
      return -EINVAL;
    has_src = true;
  }
  if (ecn != NULL && i < ecn_len && ecn[i] >= 0) tos = (s->tos & ~3) | (ecn[i] & 3);
  if (segs != NULL && i < segs_len && segs[i] > 0 && segs[i] <= 65535) {
    size_t total = msg_bytes(h);
    seg = (size_t)segs[i];
    if (total <= seg) {
      seg = 0;
    } else if (h->msg_iovlen != 1) {
      return -EINVAL;
    } else if (s->gso && (total + seg - 1) / seg <= UDPK_MAX_GSO_SEGMENTS && total <= GSO_MAX_BYTES) {
      t->split[i] = (uint32_t)seg | SPLIT_GSO;
    } else {
      t->split[i] = (uint32_t)seg;
      seg = 0;
    }
  }
  v4 = s->family == 4 || (h->msg_namelen ? v4_mapped(&t->names[i]) : v4_peer) || (has_src && v4_mapped(&src));
  cl = udpk_build_send_ctrl(t->ctrl + i * UDPK_TX_CTRL_SIZE, v4, has_src ? &src : NULL, tos,
                            (t->split[i] & SPLIT_GSO) ? (uint16_t)seg : 0);
  if (cl > 0) {
    h->msg_control = t->ctrl + i * UDPK_TX_CTRL_SIZE;
    h->msg_controllen = cl;
  }
  return 0;
}

static int send_prepared(udpk_sock *s, tx_scratch *t, size_t n, bool with_options) {
  int r;
  if (with_options) return send_with_options(s, t, n);
  if (s->gso && n > 1) {
    r = send_segmented(s, t, n);
    if (r != SEGMENTED_NOT_USED) return r;
  }
  return udpk_send_batch(s->fd, t->msgs, (unsigned)n);
}

/* Nullish becomes NULL; anything but an Int32Array throws. */
static bool optional_int32_array(napi_env env, napi_value *v, const char *what) {
  bool ok = false;
  napi_typedarray_type tt;
  if (is_nullish(env, *v)) {
    *v = NULL;
    return true;
  }
  if (napi_is_typedarray(env, *v, &ok) != napi_ok || !ok ||
      napi_get_typedarray_info(env, *v, &tt, NULL, NULL, NULL, NULL) != napi_ok || tt != napi_int32_array) {
    type_error(env, what);
    return false;
  }
  return true;
}

/* Reads the options object of send(): its arrays are checked here, their
 * contents used once no JavaScript can run any more. */
static bool get_options(napi_env env, napi_value opts, napi_value *sources, napi_value *ecn, napi_value *segs) {
  napi_valuetype vt;
  bool ok = false;
  *sources = *ecn = *segs = NULL;
  if (napi_typeof(env, opts, &vt) != napi_ok || vt != napi_object) {
    type_error(env, "options must be an object or null");
    return false;
  }
  if (napi_get_named_property(env, opts, "sources", sources) != napi_ok ||
      napi_get_named_property(env, opts, "ecn", ecn) != napi_ok ||
      napi_get_named_property(env, opts, "segmentSizes", segs) != napi_ok)
    return false;
  if (is_nullish(env, *sources)) {
    *sources = NULL;
  } else if (napi_is_array(env, *sources, &ok) != napi_ok || !ok) {
    type_error(env, "options.sources must be an array or null");
    return false;
  }
  return optional_int32_array(env, ecn, "options.ecn must be an Int32Array or null") &&
         optional_int32_array(env, segs, "options.segmentSizes must be an Int32Array or null");
}

static const int32_t *int32_data(napi_env env, napi_value arr, size_t *len) {
  void *data = NULL;
  napi_typedarray_type tt;
  *len = 0;
  if (arr == NULL || napi_get_typedarray_info(env, arr, &tt, len, &data, NULL, NULL) != napi_ok || data == NULL) {
    *len = 0;
    return NULL;
  }
  return (const int32_t *)data;
}

static napi_value do_send(napi_env env, udpk_sock *s, tx_scratch *t, napi_value *argv) {
  bool is_arr = false, has_addrs, is_ta = false;
  uint32_t plen = 0, alen = UINT32_MAX, k, m;
  int64_t count;
  size_t n, i, nv = 0;
  int32_t *ports = NULL;
  size_t ports_len = SIZE_MAX;
  int r;
  napi_value xsrc = NULL, xecn = NULL, xseg = NULL;
  bool has_options = !is_nullish(env, argv[4]);

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
  if (has_options) {
    if (!get_options(env, argv[4], &xsrc, &xecn, &xseg)) return NULL;
    if (tx_extras_init(t) < 0) return num(env, -ENOMEM);
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
    if (has_options) {
      t->src_vals[i] = NULL;
      if (xsrc != NULL) {
        napi_valuetype vt;
        CALL(env, napi_get_element(env, xsrc, (uint32_t)i, &t->src_vals[i]));
        if (napi_typeof(env, t->src_vals[i], &vt) != napi_ok) return NULL;
        if (vt == napi_undefined || vt == napi_null) t->src_vals[i] = NULL;
        else if (vt != napi_string) return type_error(env, "options.sources must hold strings or null");
      }
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
  if (has_options) {
    size_t ecn_len, segs_len;
    const int32_t *ecn = int32_data(env, xecn, &ecn_len), *segs = int32_data(env, xseg, &segs_len);
    bool v4_peer = false;
    if (s->family == 6 && !has_addrs) {
      struct sockaddr_storage peer;
      socklen_t pl = sizeof(peer);
      memset(&peer, 0, sizeof(peer));
      if (getpeername(s->fd, (struct sockaddr *)&peer, &pl) == 0) v4_peer = v4_mapped(&peer);
    }
    for (i = 0; i < n; i++) {
      if ((r = prepare_options(s, t, i, v4_peer, ecn, ecn_len, segs, segs_len)) < 0) {
        if (i == 0) return num(env, r);
        break;
      }
    }
    n = i;
  }
  r = send_prepared(s, t, n, has_options);
  if (r < 0 && (s->recv_features & UDPK_RECV_ERRORS) && errqueue_pending(s->fd)) {
    /* With recvErrors, an ICMP error an earlier datagram caused can fail
     * this send (the kernel reports it to the next call): it is delivered
     * as 'icmp' from the error queue, where it still is, and this datagram,
     * which never left, gets its own try. */
    r = send_prepared(s, t, n, has_options);
  }
  if (r > 0) s->sent_in_poll = s->sent_lately = true;
  return num(env, r);
}

napi_value m_send(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5], result;
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

/* segmentedSends(): how many segmentSize datagrams left as one UDP GSO send
 * (diagnostics; the tests tell GSO from the software split with it). */
napi_value m_segmented_sends(napi_env env, napi_callback_info info) {
  size_t argc = 0;
  udpk_sock *s = get_this(env, info, &argc, NULL);
  if (!s) return NULL;
  return num(env, s->gso_sends);
}
