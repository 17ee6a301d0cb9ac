/*
 * vfio_user_native: the few system calls Node cannot make on its own, for the
 * vfio-user server and client (src/vfio-user/).
 *
 * Why an addon at all: vfio-user passes eventfds (interrupts) and DMA memory
 * fds as SCM_RIGHTS ancillary data on an AF_UNIX stream socket. Node's `net`
 * module neither sends nor receives ancillary data, and it reads the socket
 * itself, so any fds attached to the bytes it reads are lost (the kernel
 * closes them). So this addon owns every vfio-user socket fd end to end:
 *
 *   - it creates, binds, listens, accepts and connects the sockets itself;
 *   - it does every recvmsg()/sendmsg() on them (with SCM_RIGHTS);
 *   - libuv only *watches* the fds for readiness through a uv_poll_t (epoll);
 *     libuv never reads or writes them, so there is exactly one reader and
 *     one writer per fd, on the JavaScript thread, and no locking is needed.
 *
 * A thread doing blocking recvmsg() was the alternative; the device it would
 * serve lives on the JS thread (console, lab and back-ends use it too), so
 * every request would still wake that thread, plus a cross-thread hop. The
 * conn* functions below instead frame the stream in C on the JS thread and
 * call JS once per message: 3 syscalls per request, like a blocking C loop
 * (docs/vfio-user.md, "Speed").
 *
 * Also here: eventfd create/read/write, so the server can signal an interrupt
 * (write a uint64 1 to the eventfd, what the kernel's eventfd_signal does) and
 * the project's client and tests can create eventfds and read their counters.
 *
 * All fds are created O_NONBLOCK | O_CLOEXEC; "would block" is reported as a
 * return value (-1), not an exception, because it is the normal case.
 *
 * Plain C against node_api.h (no node-addon-api dependency), N-API version 8.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

/* The most fds one recvmsg() accepts; more are closed by the kernel and the
 * call reports `truncated` (MSG_CTRUNC) so the caller can fail the message. */
#define MAX_RECV_FDS 32
#define MAX_SEND_FDS 32

/* ---------------------------------------------------------------- errors */

static const char *errno_name(int e) {
  switch (e) {
    case EPERM: return "EPERM";
    case ENOENT: return "ENOENT";
    case EINTR: return "EINTR";
    case EIO: return "EIO";
    case EBADF: return "EBADF";
    case EAGAIN: return "EAGAIN";
    case ENOMEM: return "ENOMEM";
    case EACCES: return "EACCES";
    case EFAULT: return "EFAULT";
    case EBUSY: return "EBUSY";
    case EEXIST: return "EEXIST";
    case ENOTDIR: return "ENOTDIR";
    case EINVAL: return "EINVAL";
    case ENFILE: return "ENFILE";
    case EMFILE: return "EMFILE";
    case ENOSPC: return "ENOSPC";
    case EPIPE: return "EPIPE";
    case ENAMETOOLONG: return "ENAMETOOLONG";
    case ELOOP: return "ELOOP";
    case ENOTSOCK: return "ENOTSOCK";
    case EMSGSIZE: return "EMSGSIZE";
    case EPROTOTYPE: return "EPROTOTYPE";
    case EOPNOTSUPP: return "EOPNOTSUPP";
    case EADDRINUSE: return "EADDRINUSE";
    case EADDRNOTAVAIL: return "EADDRNOTAVAIL";
    case ECONNRESET: return "ECONNRESET";
    case ENOBUFS: return "ENOBUFS";
    case EISCONN: return "EISCONN";
    case ENOTCONN: return "ENOTCONN";
    case ECONNREFUSED: return "ECONNREFUSED";
    case ETIMEDOUT: return "ETIMEDOUT";
    default: return "EUNKNOWN";
  }
}

/* Throw an Error shaped like Node's own system errors (code, errno, syscall)
 * so JavaScript can branch on e.code exactly as it does for fs/net. */
static void throw_errno(napi_env env, const char *syscall, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s", syscall, strerror(err));
  napi_value code, message, error, num, sc;
  napi_create_string_utf8(env, errno_name(err), NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &sc);
  napi_set_named_property(env, error, "syscall", sc);
  napi_throw(env, error);
}

static void throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
}

/* --------------------------------------------------------- arg helpers */

#define GET_ARGS(n)                                                        \
  size_t argc = (n);                                                       \
  napi_value argv[(n) > 0 ? (n) : 1];                                      \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok)     \
    return NULL;

static int arg_int(napi_env env, napi_value v, int32_t *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number) return 0;
  return napi_get_value_int32(env, v, out) == napi_ok;
}

/* The first argument as an fd; returns 0 after throwing a TypeError. */
static int arg_fd(napi_env env, size_t argc, napi_value *argv, int32_t *fd) {
  if (argc < 1 || !arg_int(env, argv[0], fd)) {
    throw_type(env, "fd must be a number");
    return 0;
  }
  return 1;
}

static int arg_double(napi_env env, napi_value v, double *out) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_number) return 0;
  return napi_get_value_double(env, v, out) == napi_ok;
}

/* A path argument copied into sun_path; ENAMETOOLONG if it does not fit
 * (sun_path is 108 bytes including the NUL on Linux). */
static int arg_sockaddr(napi_env env, napi_value v, struct sockaddr_un *sa) {
  size_t len = 0;
  memset(sa, 0, sizeof *sa);
  sa->sun_family = AF_UNIX;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    throw_type(env, "path must be a string");
    return 0;
  }
  if (len == 0 || len >= sizeof sa->sun_path) {
    throw_errno(env, "socket path", ENAMETOOLONG);
    return 0;
  }
  napi_get_value_string_utf8(env, v, sa->sun_path, sizeof sa->sun_path, &len);
  return 1;
}

/* The bytes of a Buffer / Uint8Array argument, honouring its byteOffset. */
static int arg_bytes(napi_env env, napi_value v, uint8_t **data, size_t *len) {
  bool is_ta = false;
  napi_is_typedarray(env, v, &is_ta);
  if (!is_ta) {
    throw_type(env, "expected a Buffer or Uint8Array");
    return 0;
  }
  napi_typedarray_type type;
  size_t length, byte_offset;
  void *base;
  napi_value ab;
  napi_get_typedarray_info(env, v, &type, &length, &base, &ab, &byte_offset);
  if (type != napi_uint8_array) {
    throw_type(env, "expected a Buffer or Uint8Array");
    return 0;
  }
  *data = (uint8_t *)base;
  *len = length;
  return 1;
}

/*
 * The (fd, buf, offset, length) arguments recv and send share, with the span
 * checked against the buffer. Returns 0 after throwing.
 */
static int arg_span(napi_env env, size_t argc, napi_value *argv, const char *usage,
                    int32_t *fd, uint8_t **data, int32_t *offset, int32_t *length) {
  size_t cap;
  if (argc < 4) {
    throw_type(env, usage);
    return 0;
  }
  if (!arg_bytes(env, argv[1], data, &cap)) return 0; /* throws itself */
  if (!arg_int(env, argv[0], fd) || !arg_int(env, argv[2], offset) || !arg_int(env, argv[3], length)) {
    throw_type(env, usage);
    return 0;
  }
  if (*offset < 0 || *length < 0 || (size_t)*offset + (size_t)*length > cap) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "offset/length outside the buffer");
    return 0;
  }
  return 1;
}

static napi_value make_int(napi_env env, int64_t v) {
  napi_value r;
  napi_create_int64(env, v, &r);
  return r;
}

/* ------------------------------------------------------------- sockets */

/*
 * listen(path, backlog) -> fd
 * The socket file must be mode 0600 from the moment it is visible: bind()
 * honours the process umask, and changing the umask is process-wide (racy
 * with any other thread creating files). So bind to a private temporary name
 * next to the target, chmod it, and rename() it into place atomically. The
 * caller has already checked that no live server owns `path`.
 */
static napi_value Listen(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  struct sockaddr_un sa, tmp;
  int32_t backlog = 4;
  if (argc < 1 || !arg_sockaddr(env, argv[0], &sa)) return NULL;
  if (argc > 1) arg_int(env, argv[1], &backlog);

  memset(&tmp, 0, sizeof tmp);
  tmp.sun_family = AF_UNIX;
  int n = snprintf(tmp.sun_path, sizeof tmp.sun_path, "%s.%ld.tmp", sa.sun_path, (long)getpid());
  if (n < 0 || (size_t)n >= sizeof tmp.sun_path) {
    throw_errno(env, "socket path", ENAMETOOLONG);
    return NULL;
  }
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  unlink(tmp.sun_path); /* a leftover from a crashed run of this pid */
  if (bind(fd, (struct sockaddr *)&tmp, sizeof tmp) < 0) {
    int e = errno;
    close(fd);
    throw_errno(env, "bind", e);
    return NULL;
  }
  if (chmod(tmp.sun_path, 0600) < 0 || rename(tmp.sun_path, sa.sun_path) < 0) {
    int e = errno;
    unlink(tmp.sun_path);
    close(fd);
    throw_errno(env, "chmod/rename", e);
    return NULL;
  }
  if (listen(fd, backlog) < 0) {
    int e = errno;
    unlink(sa.sun_path);
    close(fd);
    throw_errno(env, "listen", e);
    return NULL;
  }
  return make_int(env, fd);
}

/* connect(path, probe?) -> fd. Connecting an AF_UNIX stream socket
 * completes at once (or fails with ECONNREFUSED/ENOENT), so a blocking
 * connect followed by O_NONBLOCK is simpler than the EINPROGRESS dance.
 * The one case where it would wait is a listener whose backlog is full; with
 * probe=true (used to tell a live server from a stale socket file) the
 * connect is non-blocking and that case returns -1 ("alive, busy"). */
static napi_value Connect(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  struct sockaddr_un sa;
  bool probe = false;
  if (argc < 1 || !arg_sockaddr(env, argv[0], &sa)) return NULL;
  if (argc > 1) napi_get_value_bool(env, argv[1], &probe);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (probe ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    throw_errno(env, "socket", errno);
    return NULL;
  }
  int r;
  do {
    r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int e = errno;
    close(fd);
    if (probe && (e == EAGAIN || e == EINPROGRESS)) return make_int(env, -1);
    throw_errno(env, "connect", e);
    return NULL;
  }
  int fl = fcntl(fd, F_GETFL);
  fcntl(fd, F_SETFL, fl | O_NONBLOCK);
  return make_int(env, fd);
}

/* accept(listenFd) -> fd, or -1 when no connection is pending. */
static napi_value Accept(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t lfd;
  if (!arg_fd(env, argc, argv, &lfd)) return NULL;
  int fd;
  do {
    fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) {
    /* ECONNABORTED: the peer gave up before we accepted; just "none". */
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == ECONNABORTED) return make_int(env, -1);
    throw_errno(env, "accept4", errno);
    return NULL;
  }
  return make_int(env, fd);
}

/*
 * recv(fd, buf, offset, length) -> { bytes, fds, truncated }
 * bytes: > 0 read, 0 = orderly EOF, -1 = would block.
 * fds: the SCM_RIGHTS fds that arrived with these bytes (already O_CLOEXEC);
 * the caller owns them and must close those it does not keep.
 * truncated: MSG_CTRUNC, i.e. the peer sent more fds than we take (the kernel
 * closed the excess); the protocol layer fails that message.
 */
static napi_value Recv(napi_env env, napi_callback_info info) {
  GET_ARGS(4);
  int32_t fd, offset, length;
  uint8_t *data;
  if (!arg_span(env, argc, argv, "recv(fd, buf, offset, length)", &fd, &data, &offset, &length)) return NULL;
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_RECV_FDS)];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {data + offset, (size_t)length};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  mh.msg_control = ctl.buf;
  mh.msg_controllen = sizeof ctl.buf;
  ssize_t n;
  do {
    n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) n = -1;
  else if (n < 0) {
    throw_errno(env, "recvmsg", errno);
    return NULL;
  }

  napi_value result, fds;
  napi_create_object(env, &result);
  napi_create_array(env, &fds);
  uint32_t nfds = 0;
  if (n >= 0) {
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c != NULL; c = CMSG_NXTHDR(&mh, c)) {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int *p = (int *)CMSG_DATA(c);
      for (size_t i = 0; i < count; i++) {
        int one;
        memcpy(&one, p + i, sizeof one);
        napi_set_element(env, fds, nfds++, make_int(env, one));
      }
    }
  }
  napi_value truncated;
  napi_get_boolean(env, n >= 0 && (mh.msg_flags & MSG_CTRUNC) != 0, &truncated);
  napi_set_named_property(env, result, "bytes", make_int(env, n));
  napi_set_named_property(env, result, "fds", fds);
  napi_set_named_property(env, result, "truncated", truncated);
  return result;
}

/*
 * An optional array of fds to send (anything else: none). More than
 * MAX_SEND_FDS is EINVAL; a non-number element is a TypeError. Returns false
 * with the exception pending.
 */
static bool arg_fd_array(napi_env env, napi_value v, int out[MAX_SEND_FDS], uint32_t *n) {
  bool is_arr = false;
  *n = 0;
  napi_is_array(env, v, &is_arr);
  if (!is_arr) return true;
  uint32_t len = 0;
  napi_get_array_length(env, v, &len);
  if (len > MAX_SEND_FDS) {
    throw_errno(env, "sendmsg", EINVAL);
    return false;
  }
  for (uint32_t i = 0; i < len; i++) {
    napi_value el;
    int32_t fd;
    napi_get_element(env, v, i, &el);
    if (!arg_int(env, el, &fd)) {
      throw_type(env, "fds must be numbers");
      return false;
    }
    out[i] = fd;
  }
  *n = len;
  return true;
}

/*
 * send(fd, buf, offset, length, fds?) -> bytes sent, or -1 if it would block.
 * fds (an array of numbers) ride as SCM_RIGHTS with the first byte sent; the
 * caller passes them only with the first chunk of a message. MSG_NOSIGNAL:
 * a vanished peer is an EPIPE exception, not a process-killing SIGPIPE.
 */
static napi_value Send(napi_env env, napi_callback_info info) {
  GET_ARGS(5);
  int32_t fd, offset, length;
  uint8_t *data;
  if (!arg_span(env, argc, argv, "send(fd, buf, offset, length, fds?)", &fd, &data, &offset, &length)) return NULL;
  int sendfds[MAX_SEND_FDS];
  uint32_t nfds = 0;
  if (argc > 4 && !arg_fd_array(env, argv[4], sendfds, &nfds)) return NULL;
  union {
    char buf[CMSG_SPACE(sizeof(int) * MAX_SEND_FDS)];
    struct cmsghdr align;
  } ctl;
  struct iovec iov = {data + offset, (size_t)length};
  struct msghdr mh;
  memset(&mh, 0, sizeof mh);
  mh.msg_iov = &iov;
  mh.msg_iovlen = 1;
  if (nfds > 0) {
    memset(ctl.buf, 0, sizeof ctl.buf);
    mh.msg_control = ctl.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
    struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
    memcpy(CMSG_DATA(c), sendfds, sizeof(int) * nfds);
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &mh, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return make_int(env, -1);
    throw_errno(env, "sendmsg", errno);
    return NULL;
  }
  return make_int(env, n);
}

/* close(fd). EBADF is reported: closing an fd we do not own is a bug. */
static napi_value Close(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t fd;
  if (!arg_fd(env, argc, argv, &fd)) return NULL;
  /* Linux closes the fd even when close() reports EINTR: never retry. */
  if (close(fd) < 0 && errno != EINTR) {
    throw_errno(env, "close", errno);
    return NULL;
  }
  return NULL;
}

/* ------------------------------------------------------------- eventfd */

static napi_value EventfdCreate(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t init = 0;
  if (argc > 0) arg_int(env, argv[0], &init);
  int fd = eventfd((unsigned)init, EFD_CLOEXEC | EFD_NONBLOCK);
  if (fd < 0) {
    throw_errno(env, "eventfd", errno);
    return NULL;
  }
  return make_int(env, fd);
}

/* eventfdRead(fd) -> counter (resets it to 0), or -1 if it is 0 now. */
static napi_value EventfdRead(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  int32_t fd;
  if (!arg_fd(env, argc, argv, &fd)) return NULL;
  uint64_t v = 0;
  ssize_t n;
  do {
    n = read(fd, &v, sizeof v);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN) return make_int(env, -1);
    throw_errno(env, "read(eventfd)", errno);
    return NULL;
  }
  napi_value r;
  napi_create_double(env, (double)v, &r);
  return r;
}

/* eventfdWrite(fd, value) -> true, or false if the counter would overflow
 * (a signal that cannot be delivered is dropped, as an interrupt would be). */
static napi_value EventfdWrite(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int32_t fd;
  double dv = 1;
  if (!arg_fd(env, argc, argv, &fd)) return NULL;
  if (argc > 1 && !arg_double(env, argv[1], &dv)) {
    throw_type(env, "value must be a number");
    return NULL;
  }
  if (dv < 1 || dv > 9007199254740991.0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "eventfd value must be 1..2^53-1");
    return NULL;
  }
  uint64_t v = (uint64_t)dv;
  ssize_t n;
  do {
    n = write(fd, &v, sizeof v);
  } while (n < 0 && errno == EINTR);
  napi_value r;
  if (n < 0) {
    if (errno == EAGAIN) {
      napi_get_boolean(env, false, &r);
      return r;
    }
    throw_errno(env, "write(eventfd)", errno);
    return NULL;
  }
  napi_get_boolean(env, true, &r);
  return r;
}

/* ------------------------------------------------------------- polling */

/*
 * pollStart(fd, events, callback) -> handle; callback(status, events) runs on
 * the JS thread whenever the fd is readable (1) / writable (2). libuv only
 * epolls the fd; the JS side then calls recv()/send()/accept() here.
 */
typedef struct Poller {
  uv_poll_t handle;
  napi_env env;
  napi_ref callback;
  napi_async_context async;
  int stopped;
} Poller;

/* The JS handle object points at a Box; stopping clears box->poller so a
 * later stop or the finalizer never touches a freed Poller. */
typedef struct Box {
  Poller *poller;
} Box;

static void on_poll_closed(uv_handle_t *h) { free(h->data); }

static void stop_poller(napi_env env, Poller *p) {
  if (p->stopped) return;
  p->stopped = 1;
  uv_poll_stop(&p->handle);
  napi_delete_reference(env, p->callback);
  napi_async_destroy(env, p->async);
  p->handle.data = p;
  uv_close((uv_handle_t *)&p->handle, on_poll_closed);
}

static void on_poll(uv_poll_t *h, int status, int events) {
  Poller *p = (Poller *)h->data;
  if (p->stopped) return;
  napi_env env = p->env;
  napi_handle_scope scope;
  napi_open_handle_scope(env, &scope);
  napi_value cb, recv, args[2], result;
  napi_get_reference_value(env, p->callback, &cb);
  napi_get_global(env, &recv); /* make_callback needs an object receiver */
  napi_create_int32(env, status, &args[0]);
  napi_create_int32(env, events, &args[1]);
  /* make_callback (not call_function): runs the microtask queue afterwards,
   * so promises resolved by the handler settle as they would for net I/O. */
  napi_status st = napi_make_callback(env, p->async, recv, cb, 2, args, &result);
  if (st == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err); /* -> process 'uncaughtException' */
  }
  napi_close_handle_scope(env, scope);
}

static void finalize_box(napi_env env, void *data, void *hint) {
  (void)hint;
  Box *b = (Box *)data;
  if (b->poller) stop_poller(env, b->poller);
  free(b);
}

static int events_mask(int32_t ev) {
  int m = 0;
  if (ev & 1) m |= UV_READABLE;
  if (ev & 2) m |= UV_WRITABLE;
  return m;
}

static napi_value PollStart(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  int32_t fd, ev;
  napi_valuetype t = napi_undefined;
  if (argc >= 3) napi_typeof(env, argv[2], &t);
  if (argc < 3 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &ev) || t != napi_function) {
    throw_type(env, "pollStart(fd, events, callback)");
    return NULL;
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  Poller *p = calloc(1, sizeof *p);
  Box *b = calloc(1, sizeof *b);
  if (!p || !b) {
    free(p);
    free(b);
    throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  int r = uv_poll_init(loop, &p->handle, fd);
  if (r < 0) {
    free(p);
    free(b);
    throw_errno(env, "uv_poll_init", -r);
    return NULL;
  }
  p->env = env;
  p->handle.data = p;
  napi_create_reference(env, argv[2], 1, &p->callback);
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_string_utf8(env, "vfio-user:poll", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &p->async);
  r = uv_poll_start(&p->handle, events_mask(ev), on_poll);
  if (r < 0) {
    stop_poller(env, p);
    free(b);
    throw_errno(env, "uv_poll_start", -r);
    return NULL;
  }
  b->poller = p;
  napi_value ext;
  napi_create_external(env, b, finalize_box, NULL, &ext);
  return ext;
}

static Box *arg_box(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_external) {
    throw_type(env, "expected a poll handle");
    return NULL;
  }
  void *data;
  napi_get_value_external(env, v, &data);
  return (Box *)data;
}

/* pollUpdate(handle, events): change the watched events (e.g. add writable
 * while a reply is only partly sent). */
static napi_value PollUpdate(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  int32_t ev;
  if (argc < 2) {
    throw_type(env, "pollUpdate(handle, events)");
    return NULL;
  }
  Box *b = arg_box(env, argv[0]);
  if (!b || !arg_int(env, argv[1], &ev)) return NULL;
  if (!b->poller) return NULL;
  int r = uv_poll_start(&b->poller->handle, events_mask(ev), on_poll);
  if (r < 0) throw_errno(env, "uv_poll_start", -r);
  return NULL;
}

/* pollStop(handle): stop watching; safe to call twice and from the callback.
 * Call it before closing the fd (epoll must not watch a recycled fd). */
static napi_value PollStop(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  if (argc < 1) return NULL;
  Box *b = arg_box(env, argv[0]);
  if (!b) return NULL;
  if (b->poller) {
    stop_poller(env, b->poller);
    b->poller = NULL;
  }
  return NULL;
}

/* pollRef(handle, ref): whether this watcher keeps the process alive (a
 * listening server does; a helper may not want to). */
static napi_value PollRef(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  if (argc < 2) return NULL;
  Box *b = arg_box(env, argv[0]);
  bool on = true;
  if (!b) return NULL;
  napi_get_value_bool(env, argv[1], &on);
  if (b->poller) {
    if (on) uv_ref((uv_handle_t *)&b->poller->handle);
    else uv_unref((uv_handle_t *)&b->poller->handle);
  }
  return NULL;
}

/* ---------------------------------------------------- framed connections */

/*
 * conn*: one vfio-user message stream on a connected socket, framed here in
 * C so that a request costs what it costs the C peer: one epoll_wait (libuv),
 * one recvmsg() that takes every byte queued (header and body together, and
 * all pipelined requests at once), one synchronous call into JavaScript per
 * message whose return value is the reply, and one sendmsg() for every reply
 * of the batch. The poll mask is changed only when it must change (a full
 * socket, back-pressure, the end), never per message.
 *
 * Which message a received fd belongs to: AF_UNIX stream recvmsg() never
 * reads past the end of an skb that carried fds (unix_stream_read_generic
 * stops there), and a sender attaches fds to the sendmsg() of its message,
 * so fds belong to the message holding the last byte of the read that
 * returned them. Each fd is tagged with that byte's stream position.
 *
 * Limits enforced before any JavaScript runs: a header announcing fewer than
 * 16 bytes or more than maxMessage is a bad frame (reading stops, JS is told
 * once); more fds than maxFds on one message marks it `truncated` (the
 * control buffer holds maxFds, so the kernel closes the excess, and the fds
 * that did arrive are handed over for closing); bytes of an incomplete message
 * left idle for idleMs ms end the connection (a peer that sends half a
 * header and stops cannot hold the device).
 *
 * Events to the JS callback cb(kind, a, b):
 *   0 message   a = Buffer (header + body, a copy), b = fds array or null
 *               (b.truncated is set when fds were lost); a Buffer returned by
 *               the callback is queued as the reply.
 *   1 bad frame a = the 16 header bytes, b = reason string
 *   2 ended     a = reason string, or null for EOF between messages
 *   3 drained   the send queue emptied after connEnd()
 *   4 quick     only with a scratch Buffer (connOpen's 6th argument): a
 *               message of at most 128 bytes carrying no fds is first copied
 *               to scratch[0..a) and offered here, with no allocation at
 *               all; a returned number n > 0 means the reply is
 *               scratch[128..128+n), n < 0 that the message was taken with
 *               nothing to send. Anything else (0, undefined) and the
 *               message is delivered again as event 0.
 * JS closes the connection (connClose) in response to 1-2; the addon never
 * closes the fd on its own.
 */

#define CONN_INITIAL_IN (16 * 1024)
#define CONN_READS_PER_WAKEUP 4
#define CONN_MAX_FDS 253 /* SCM_MAX_FD */
#define CONN_HIGH_WATER (4u << 20)
#define CONN_QUICK_MAX 128

typedef struct ConnFd {
  uint64_t at; /* stream position of the last byte of the read that brought it */
  int fd;
} ConnFd;

typedef struct OutFds {
  uint64_t at; /* out stream position of the message's first byte */
  int n;
  int fds[MAX_SEND_FDS];
} OutFds;

typedef struct Conn {
  uv_poll_t poll;
  uv_timer_t timer;
  napi_env env;
  napi_ref cb;
  napi_async_context async;
  int fd;
  int mask;        /* UV_* events being polled now */
  int handles;     /* uv handles still open; freed at 0 after close */
  int closed;
  int reading;     /* JS wants requests */
  int bad;         /* a bad frame was seen: never read again */
  int want_drain;  /* report "drained" once out is empty */
  int dispatching; /* inside the message loop: replies batch up */
  int timer_on;
  int in_scope;    /* inside a callback scope opened with `async` */
  int async_live;  /* `async` not yet destroyed */
  uint32_t max_msg, max_fds, idle_ms;
  napi_ref scratch_ref; /* the JS scratch Buffer of event 4, or NULL */
  napi_ref resource;    /* async resource object of the callback scopes, made once */
  uint8_t *scratch;
  uint8_t *in;
  size_t in_len, in_cap;
  uint64_t in_base; /* stream position of in[0] */
  ConnFd *rfds;
  int nrfds, rfds_cap;
  int lost_at_valid;
  uint64_t lost_at; /* a read whose fds were truncated ended here */
  uint8_t *out;
  size_t out_off, out_len, out_cap;
  uint64_t out_base; /* out stream position of out[0] */
  OutFds *ofds;
  int nofds, ofds_cap;
} Conn;

typedef struct ConnBox {
  Conn *c;
} ConnBox;

static void conn_free_if_done(Conn *c) {
  if (c->handles > 0) return;
  free(c->in);
  free(c->out);
  free(c->rfds);
  free(c->ofds);
  free(c);
}

static void conn_handle_closed(uv_handle_t *h) {
  Conn *c = (Conn *)h->data;
  c->handles--;
  conn_free_if_done(c);
}

static size_t conn_queued(Conn *c) { return c->out_len - c->out_off; }

static void conn_on_poll(uv_poll_t *h, int status, int events);
static void conn_on_timer(uv_timer_t *t);

static void conn_update_mask(Conn *c) {
  if (c->closed) return;
  int want = 0;
  if (c->reading && !c->bad && conn_queued(c) <= CONN_HIGH_WATER) want |= UV_READABLE;
  if (conn_queued(c) > 0) want |= UV_WRITABLE;
  if (want == c->mask) return;
  c->mask = want;
  if (want == 0) uv_poll_stop(&c->poll);
  else uv_poll_start(&c->poll, want, conn_on_poll);
}

/* Emit an event to JS: the caller holds a handle scope. Returns the result. */
static napi_value conn_emit(Conn *c, int kind, napi_value a, napi_value b) {
  napi_env env = c->env;
  napi_value cb, recv, args[3], result = NULL;
  napi_get_reference_value(env, c->cb, &cb);
  napi_get_undefined(env, &recv);
  napi_create_int32(env, kind, &args[0]);
  napi_value undef;
  napi_get_undefined(env, &undef);
  args[1] = a ? a : undef; /* a NULL napi_value would crash the call */
  args[2] = b ? b : undef;
  if (napi_call_function(env, recv, cb, 3, args, &result) == napi_pending_exception) {
    napi_value err;
    napi_get_and_clear_last_exception(env, &err);
    napi_fatal_exception(env, err);
    return NULL;
  }
  return result;
}

static napi_value str_or_null(napi_env env, const char *s) {
  napi_value v;
  if (s) napi_create_string_utf8(env, s, NAPI_AUTO_LENGTH, &v);
  else napi_get_null(env, &v);
  return v;
}

static int conn_out_reserve(Conn *c, size_t more) {
  if (c->out_off > 0 && c->out_off == c->out_len) {
    c->out_base += c->out_len;
    c->out_off = c->out_len = 0;
  }
  if (c->out_len + more <= c->out_cap) return 1;
  if (c->out_off > 0) {
    memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
    c->out_base += c->out_off;
    c->out_len -= c->out_off;
    c->out_off = 0;
    if (c->out_len + more <= c->out_cap) return 1;
  }
  size_t cap = c->out_cap ? c->out_cap : 4096;
  while (cap < c->out_len + more) cap *= 2;
  uint8_t *n = realloc(c->out, cap);
  if (!n) return 0;
  c->out = n;
  c->out_cap = cap;
  return 1;
}

/* Send what is queued. Returns 0, or the errno of a failed sendmsg. */
static int conn_flush(Conn *c) {
  while (conn_queued(c) > 0) {
    uint64_t pos = c->out_base + c->out_off;
    size_t len = conn_queued(c);
    OutFds *f = NULL;
    /* Never let one sendmsg cross the start of a message that carries fds,
     * and attach those fds to the send that starts there. */
    for (int i = 0; i < c->nofds; i++) {
      if (c->ofds[i].at == pos) f = &c->ofds[i];
      else if (c->ofds[i].at > pos && c->ofds[i].at - pos < len) len = (size_t)(c->ofds[i].at - pos);
    }
    union {
      char buf[CMSG_SPACE(sizeof(int) * MAX_SEND_FDS)];
      struct cmsghdr align;
    } ctl;
    struct iovec iov = {c->out + c->out_off, len};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    if (f && f->n > 0) {
      memset(ctl.buf, 0, sizeof ctl.buf);
      mh.msg_control = ctl.buf;
      mh.msg_controllen = CMSG_SPACE(sizeof(int) * f->n);
      struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
      cm->cmsg_level = SOL_SOCKET;
      cm->cmsg_type = SCM_RIGHTS;
      cm->cmsg_len = CMSG_LEN(sizeof(int) * f->n);
      memcpy(CMSG_DATA(cm), f->fds, sizeof(int) * f->n);
    }
    ssize_t n;
    do {
      n = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      return errno;
    }
    if (f) {
      /* The fds went with the first byte (the peer has its own now): drop our copies. */
      for (int i = 0; i < f->n; i++) close(f->fds[i]);
      *f = c->ofds[--c->nofds];
    }
    c->out_off += (size_t)n;
  }
  if (conn_queued(c) == 0) {
    c->out_base += c->out_len;
    c->out_off = c->out_len = 0;
  }
  return 0;
}

static void conn_destroy_async(Conn *c);

static void conn_arm_timer(Conn *c) {
  /* Only while we are reading: bytes we hold back ourselves (back-pressure,
   * the end) are not the peer's idleness. */
  int partial = c->in_len > 0 && c->reading && !c->bad && conn_queued(c) <= CONN_HIGH_WATER;
  if (partial && c->idle_ms > 0) {
    uv_timer_start(&c->timer, conn_on_timer, c->idle_ms, 0);
    c->timer_on = 1;
  } else if (c->timer_on) {
    uv_timer_stop(&c->timer);
    c->timer_on = 0;
  }
}

/* Queue a reply/request (with fds on its first byte). Returns 0 or an errno. */
static int conn_queue(Conn *c, const uint8_t *data, size_t len, const int *fds, int nfds) {
  if (nfds > 0) {
    if (c->nofds == c->ofds_cap) {
      int cap = c->ofds_cap ? c->ofds_cap * 2 : 4;
      OutFds *n = realloc(c->ofds, sizeof *n * (size_t)cap);
      if (!n) return ENOMEM;
      c->ofds = n;
      c->ofds_cap = cap;
    }
    if (!conn_out_reserve(c, len)) return ENOMEM;
    /* Our own copies: the message may wait in the queue, and the caller may
     * close its fds (or the numbers be reused) before it goes out. */
    int dups[MAX_SEND_FDS];
    for (int i = 0; i < nfds; i++) {
      dups[i] = fcntl(fds[i], F_DUPFD_CLOEXEC, 0);
      if (dups[i] < 0) {
        int e = errno;
        while (i-- > 0) close(dups[i]);
        return e;
      }
    }
    OutFds *f = &c->ofds[c->nofds++];
    f->at = c->out_base + c->out_len;
    f->n = nfds;
    memcpy(f->fds, dups, sizeof(int) * (size_t)nfds);
  } else if (!conn_out_reserve(c, len)) {
    return ENOMEM;
  }
  memcpy(c->out + c->out_len, data, len);
  c->out_len += len;
  return 0;
}

static void conn_take_reply(Conn *c, napi_value v) {
  if (!v || c->closed) return;
  bool is_ta = false;
  napi_is_typedarray(c->env, v, &is_ta);
  if (!is_ta) return;
  napi_typedarray_type type;
  size_t length, off;
  void *base;
  napi_value ab;
  napi_get_typedarray_info(c->env, v, &type, &length, &base, &ab, &off);
  if (type != napi_uint8_array) return;
  int e = conn_queue(c, base, length, NULL, 0);
  if (e) conn_emit(c, 2, str_or_null(c->env, "out of memory queueing a reply"), NULL);
}

/* The fds that belong to the message ending at stream position `end`. */
static napi_value conn_take_fds(Conn *c, uint64_t end, int *truncated) {
  napi_env env = c->env;
  napi_value arr = NULL;
  uint32_t k = 0;
  int i = 0;
  *truncated = c->lost_at_valid && c->lost_at < end;
  if (*truncated) c->lost_at_valid = 0;
  while (i < c->nrfds) {
    if (c->rfds[i].at < end) {
      if (!arr) napi_create_array(env, &arr);
      napi_set_element(env, arr, k++, make_int(env, c->rfds[i].fd));
      c->rfds[i] = c->rfds[--c->nrfds];
    } else {
      i++;
    }
  }
  if (k > c->max_fds) *truncated = 1;
  if (*truncated && !arr) napi_create_array(env, &arr);
  if (arr) {
    napi_value t;
    napi_get_boolean(env, *truncated, &t);
    napi_set_named_property(env, arr, "truncated", t);
  } else {
    napi_get_null(env, &arr);
  }
  return arr;
}

/* Dispatch every complete message in `in`; stop on a bad frame or close. */
static void conn_dispatch(Conn *c) {
  napi_env env = c->env;
  size_t pos = 0;
  c->dispatching = 1;
  while (!c->closed && !c->bad && c->reading && c->in_len - pos >= 16) {
    uint32_t size;
    memcpy(&size, c->in + pos + 4, 4);
    if (size < 16 || size > c->max_msg) {
      char reason[128];
      if (size < 16) snprintf(reason, sizeof reason, "message size %u is smaller than the 16-byte header", size);
      else snprintf(reason, sizeof reason, "message size %u exceeds the limit of %u bytes", size, c->max_msg);
      c->bad = 1;
      napi_value hdr, r;
      napi_create_buffer_copy(env, 16, c->in + pos, NULL, &hdr);
      r = str_or_null(env, reason);
      conn_emit(c, 1, hdr, r);
      break;
    }
    if (c->in_len - pos < size) break;
    napi_value buf, fds, reply;
    int truncated;
    if (c->scratch && size <= CONN_QUICK_MAX && c->nrfds == 0 && !c->lost_at_valid) {
      /* The hot path: no Buffer, no array, no object created per message. */
      napi_value nsize, r;
      int32_t n = 0;
      napi_valuetype t = napi_undefined;
      memcpy(c->scratch, c->in + pos, size);
      napi_create_int32(env, (int32_t)size, &nsize);
      r = conn_emit(c, 4, nsize, NULL);
      if (c->closed) break;
      if (r) napi_typeof(env, r, &t);
      if (t == napi_number && napi_get_value_int32(env, r, &n) == napi_ok && n != 0 && n <= CONN_QUICK_MAX) {
        /* n > 0: a reply to queue; n < 0: taken, nothing to send (a client's reply). */
        if (n > 0 && conn_queue(c, c->scratch + CONN_QUICK_MAX, (size_t)n, NULL, 0))
          conn_emit(c, 2, str_or_null(env, "out of memory queueing a reply"), NULL);
        pos += size;
        continue;
      }
    }
    fds = conn_take_fds(c, c->in_base + pos + size, &truncated);
    napi_create_buffer_copy(env, size, c->in + pos, NULL, &buf);
    pos += size;
    reply = conn_emit(c, 0, buf, fds);
    conn_take_reply(c, reply);
  }
  c->dispatching = 0;
  if (c->closed) return;
  if (pos > 0) {
    memmove(c->in, c->in + pos, c->in_len - pos);
    c->in_len -= pos;
    c->in_base += pos;
  }
}

/* Read what is queued and dispatch it; at most a few reads per wakeup so one
 * busy peer cannot starve the loop (level-triggered epoll calls again). */
static void conn_read(Conn *c) {
  napi_env env = c->env;
  for (int reads = 0; reads < CONN_READS_PER_WAKEUP && !c->closed && c->reading && !c->bad; reads++) {
    if (conn_queued(c) > CONN_HIGH_WATER) break;
    /* Room for the current message (its header says how big it is). */
    size_t need = CONN_INITIAL_IN;
    if (c->in_len >= 16) {
      uint32_t size;
      memcpy(&size, c->in + 4, 4);
      if (size >= 16 && size <= c->max_msg && size > need) need = size;
    }
    if (need > c->in_cap || (c->in_cap > CONN_INITIAL_IN && c->in_len == 0)) {
      size_t cap = need > c->in_len ? need : c->in_len;
      uint8_t *n = realloc(c->in, cap);
      if (!n) {
        conn_emit(c, 2, str_or_null(env, "out of memory for an incoming message"), NULL);
        return;
      }
      c->in = n;
      c->in_cap = cap;
    }
    size_t space = c->in_cap - c->in_len;
    /* Read to the end of the current message, or 16 KiB: a buffer grown for
     * one large message must not let one read take 1 MiB of small ones. */
    size_t want = need > c->in_len ? need - c->in_len : 0;
    if (want < CONN_INITIAL_IN) want = CONN_INITIAL_IN;
    if (space > want) space = want;
    if (space == 0) break; /* cannot happen (a full buffer holds a whole message); a 0-byte read would look like EOF */
    union {
      char buf[CMSG_SPACE(sizeof(int) * CONN_MAX_FDS)];
      struct cmsghdr align;
    } ctl;
    struct iovec iov = {c->in + c->in_len, space};
    struct msghdr mh;
    memset(&mh, 0, sizeof mh);
    mh.msg_iov = &iov;
    mh.msg_iovlen = 1;
    mh.msg_control = ctl.buf;
    mh.msg_controllen = CMSG_SPACE(sizeof(int) * (c->max_fds > 0 ? c->max_fds : 1));
    ssize_t n;
    do {
      n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK) break;
      char reason[96];
      snprintf(reason, sizeof reason, "receive failed: %s", errno_name(errno));
      conn_emit(c, 2, str_or_null(env, reason), NULL);
      return;
    }
    if (n == 0) {
      char reason[128];
      const char *r = NULL;
      if (c->in_len > 0) {
        uint32_t size = 0;
        if (c->in_len >= 16) memcpy(&size, c->in + 4, 4);
        if (c->in_len < 16) snprintf(reason, sizeof reason, "peer closed in the middle of a message (%zu/16 header bytes)", c->in_len);
        else snprintf(reason, sizeof reason, "peer closed in the middle of a message (%zu/%u body bytes)", c->in_len - 16, size - 16);
        r = reason;
      }
      conn_emit(c, 2, str_or_null(env, r), NULL);
      return;
    }
    uint64_t last = c->in_base + c->in_len + (uint64_t)n - 1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm != NULL; cm = CMSG_NXTHDR(&mh, cm)) {
      if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS) continue;
      size_t count = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      int *p = (int *)CMSG_DATA(cm);
      for (size_t i = 0; i < count; i++) {
        int one;
        memcpy(&one, p + i, sizeof one);
        if (c->nrfds == c->rfds_cap) {
          int cap = c->rfds_cap ? c->rfds_cap * 2 : 8;
          ConnFd *m = realloc(c->rfds, sizeof *m * (size_t)cap);
          if (!m) {
            close(one);
            c->lost_at_valid = 1;
            c->lost_at = last;
            continue;
          }
          c->rfds = m;
          c->rfds_cap = cap;
        }
        c->rfds[c->nrfds].at = last;
        c->rfds[c->nrfds].fd = one;
        c->nrfds++;
      }
    }
    if (mh.msg_flags & MSG_CTRUNC) {
      c->lost_at_valid = 1;
      c->lost_at = last;
    }
    c->in_len += (size_t)n;
    conn_dispatch(c);
    if ((size_t)n < space) break; /* took all there was (or stopped at an fd boundary) */
  }
}

/* A connection's end when a send fails: the reason goes to JS like every other end. */
static void conn_emit_send_failed(Conn *c, int e) {
  char reason[96];
  snprintf(reason, sizeof reason, "send failed: %s", errno_name(e));
  conn_emit(c, 2, str_or_null(c->env, reason), NULL);
}

/*
 * The scopes a libuv callback (poll wakeup, idle timer) calls JS in. One
 * callback scope per wakeup: microtasks (promise continuations of the client,
 * say) run once after the whole batch, not per message. `handles` keeps c
 * alive even if JS closes it inside.
 */
typedef struct {
  napi_handle_scope hs;
  napi_callback_scope cs;
} ConnScope;

static void conn_enter(Conn *c, ConnScope *sc) {
  napi_value resource;
  napi_open_handle_scope(c->env, &sc->hs);
  napi_get_reference_value(c->env, c->resource, &resource);
  napi_open_callback_scope(c->env, resource, c->async, &sc->cs);
  c->in_scope = 1;
  c->handles++;
}

static void conn_leave(Conn *c, ConnScope *sc) {
  c->handles--;
  /* in_scope stays set while the scope closes: microtasks run there and may
   * close the connection, which must not destroy `async` under the scope. */
  napi_close_callback_scope(c->env, sc->cs);
  c->in_scope = 0;
  if (c->closed) conn_destroy_async(c);
  napi_close_handle_scope(c->env, sc->hs);
  conn_free_if_done(c);
}

/* After a batch: send the replies, fix the poll mask, tell JS about a drain. */
static void conn_settle(Conn *c) {
  if (c->closed) return;
  int e = conn_flush(c);
  if (e) {
    conn_emit_send_failed(c, e);
    return;
  }
  if (c->closed) return;
  conn_arm_timer(c);
  conn_update_mask(c);
  if (c->want_drain && conn_queued(c) == 0) {
    c->want_drain = 0;
    conn_emit(c, 3, NULL, NULL);
  }
}

static void conn_on_poll(uv_poll_t *h, int status, int events) {
  Conn *c = (Conn *)h->data;
  if (c->closed) return;
  napi_env env = c->env;
  ConnScope sc;
  conn_enter(c, &sc);
  if (status < 0) {
    char reason[64];
    snprintf(reason, sizeof reason, "poll error %d", status);
    conn_emit(c, 2, str_or_null(env, reason), NULL);
  } else {
    if (events & UV_WRITABLE) {
      int e = conn_flush(c);
      if (e) conn_emit_send_failed(c, e);
    }
    if (!c->closed && (events & UV_READABLE)) conn_read(c);
    conn_settle(c);
  }
  conn_leave(c, &sc);
}

static void conn_on_timer(uv_timer_t *t) {
  Conn *c = (Conn *)t->data;
  c->timer_on = 0;
  if (c->closed) return;
  napi_env env = c->env;
  ConnScope sc;
  conn_enter(c, &sc);
  char reason[160];
  snprintf(reason, sizeof reason, "incomplete message: %zu bytes of it received, then nothing for %u ms", c->in_len, c->idle_ms);
  conn_emit(c, 2, str_or_null(env, reason), NULL);
  conn_leave(c, &sc);
}

static void conn_destroy_async(Conn *c) {
  if (!c->async_live) return;
  c->async_live = 0;
  napi_async_destroy(c->env, c->async);
  napi_delete_reference(c->env, c->resource);
}

static void conn_close(Conn *c) {
  if (c->closed) return;
  c->closed = 1;
  napi_delete_reference(c->env, c->cb);
  /* A callback scope opened with `async` may be on the stack (JS closed the
   * connection from inside a callback): destroy it when that scope closes. */
  if (!c->in_scope) conn_destroy_async(c);
  uv_poll_stop(&c->poll);
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->poll, conn_handle_closed);
  uv_close((uv_handle_t *)&c->timer, conn_handle_closed);
  if (c->scratch_ref) napi_delete_reference(c->env, c->scratch_ref);
  c->scratch_ref = NULL;
  c->scratch = NULL;
  if (c->fd >= 0) close(c->fd);
  for (int i = 0; i < c->nrfds; i++) close(c->rfds[i].fd);
  c->nrfds = 0;
  for (int i = 0; i < c->nofds; i++)
    for (int j = 0; j < c->ofds[i].n; j++) close(c->ofds[i].fds[j]);
  c->nofds = 0;
}

static void conn_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  ConnBox *b = (ConnBox *)data;
  if (b->c) conn_close(b->c);
  free(b);
}

static Conn *arg_conn(napi_env env, napi_value v) {
  napi_valuetype t;
  napi_typeof(env, v, &t);
  if (t != napi_external) {
    throw_type(env, "expected a connection handle");
    return NULL;
  }
  void *data;
  napi_get_value_external(env, v, &data);
  ConnBox *b = (ConnBox *)data;
  return b->c; /* NULL once closed */
}

/*
 * connOpen(fd, maxMessage, maxFds, idleMs, callback, scratch?) -> handle.
 * Takes ownership of fd (closed by connClose). maxFds: fds one message may
 * carry (at most 253); idleMs: how long an incomplete message may sit (0 =
 * forever); scratch: a Buffer of at least 256 bytes enabling event 4.
 */
static napi_value ConnOpen(napi_env env, napi_callback_info info) {
  GET_ARGS(6);
  int32_t fd, max_msg, max_fds, idle;
  napi_valuetype t = napi_undefined;
  if (argc >= 5) napi_typeof(env, argv[4], &t);
  if (argc < 5 || !arg_int(env, argv[0], &fd) || !arg_int(env, argv[1], &max_msg) || !arg_int(env, argv[2], &max_fds) ||
      !arg_int(env, argv[3], &idle) || t != napi_function) {
    throw_type(env, "connOpen(fd, maxMessage, maxFds, idleMs, callback)");
    return NULL;
  }
  if (max_msg < 16 || max_fds < 0 || max_fds > CONN_MAX_FDS || idle < 0) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "connOpen: maxMessage >= 16, maxFds 0..253, idleMs >= 0");
    return NULL;
  }
  uint8_t *scratch = NULL;
  if (argc > 5) {
    napi_valuetype st;
    napi_typeof(env, argv[5], &st);
    if (st != napi_undefined && st != napi_null) {
      size_t slen;
      if (!arg_bytes(env, argv[5], &scratch, &slen)) return NULL;
      if (slen < 2 * CONN_QUICK_MAX) {
        napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "connOpen: the scratch buffer needs 256 bytes");
        return NULL;
      }
    }
  }
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) return NULL;
  Conn *c = calloc(1, sizeof *c);
  ConnBox *b = calloc(1, sizeof *b);
  uint8_t *in = malloc(CONN_INITIAL_IN);
  if (!c || !b || !in) {
    free(c);
    free(b);
    free(in);
    throw_errno(env, "calloc", ENOMEM);
    return NULL;
  }
  int r = uv_poll_init(loop, &c->poll, fd);
  if (r < 0) {
    free(c);
    free(b);
    free(in);
    throw_errno(env, "uv_poll_init", -r);
    return NULL;
  }
  uv_timer_init(loop, &c->timer);
  uv_unref((uv_handle_t *)&c->timer); /* the socket keeps the loop alive, not the timer */
  c->poll.data = c;
  c->timer.data = c;
  c->handles = 2;
  c->env = env;
  c->fd = fd;
  c->in = in;
  c->in_cap = CONN_INITIAL_IN;
  c->max_msg = (uint32_t)max_msg;
  c->max_fds = (uint32_t)max_fds;
  c->idle_ms = (uint32_t)idle;
  c->reading = 1;
  napi_create_reference(env, argv[4], 1, &c->cb);
  if (scratch) {
    /* The reference keeps the Buffer (and so its memory) alive until close. */
    napi_create_reference(env, argv[5], 1, &c->scratch_ref);
    c->scratch = scratch;
  }
  napi_value resource, name;
  napi_create_object(env, &resource);
  napi_create_reference(env, resource, 1, &c->resource);
  napi_create_string_utf8(env, "vfio-user:conn", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, resource, name, &c->async);
  c->async_live = 1;
  c->mask = UV_READABLE;
  r = uv_poll_start(&c->poll, UV_READABLE, conn_on_poll);
  if (r < 0) {
    c->fd = -1;
    conn_close(c);
    free(b);
    throw_errno(env, "uv_poll_start", -r);
    return NULL;
  }
  b->c = c;
  napi_value ext;
  napi_create_external(env, b, conn_finalize, NULL, &ext);
  return ext;
}

/*
 * connSend(handle, buf, fds?) -> queued bytes left after trying to send.
 * Inside a message callback the bytes wait for the batch's single sendmsg;
 * otherwise they are sent at once. fds ride with the message's first byte;
 * the addon sends duplicates, so the caller keeps (and may close) its own. Throws EPIPE-style errors only for a
 * closed handle; a failed send ends the connection through the callback.
 */
static napi_value ConnSend(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  if (argc < 2) {
    throw_type(env, "connSend(handle, buf, fds?)");
    return NULL;
  }
  Conn *c = arg_conn(env, argv[0]);
  if (!c) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) throw_errno(env, "connSend", EBADF);
    return NULL;
  }
  uint8_t *data;
  size_t len;
  if (!arg_bytes(env, argv[1], &data, &len)) return NULL;
  int fds[MAX_SEND_FDS];
  uint32_t nfds = 0;
  if (argc > 2 && !arg_fd_array(env, argv[2], fds, &nfds)) return NULL;
  if (nfds > 0 && len == 0) {
    throw_errno(env, "sendmsg", EINVAL);
    return NULL;
  }
  int e = conn_queue(c, data, len, fds, (int)nfds);
  if (e) {
    throw_errno(env, "connSend", e);
    return NULL;
  }
  if (!c->dispatching) {
    e = conn_flush(c);
    if (e) {
      /* Report through the callback like every other end of the stream. */
      conn_emit_send_failed(c, e);
      return make_int(env, 0);
    }
    conn_update_mask(c);
  }
  return make_int(env, (int64_t)(c->closed ? 0 : conn_queued(c)));
}

/* connEnd(handle) -> true if nothing is left to send; else "drained" (3) follows. */
static napi_value ConnEnd(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  if (argc < 1) return NULL;
  Conn *c = arg_conn(env, argv[0]);
  napi_value r;
  if (!c) {
    napi_get_boolean(env, true, &r);
    return r;
  }
  c->reading = 0;
  conn_arm_timer(c);
  conn_update_mask(c);
  bool empty = conn_queued(c) == 0;
  if (!empty) c->want_drain = 1;
  napi_get_boolean(env, empty, &r);
  return r;
}

/* connPump(handle): read and dispatch what is queued now, without waiting for
 * epoll (the server settles a client that hung up before admitting the next). */
static napi_value ConnPump(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  if (argc < 1) return NULL;
  Conn *c = arg_conn(env, argv[0]);
  if (!c || c->closed) return NULL;
  c->handles++;
  conn_read(c);
  conn_settle(c);
  c->handles--;
  conn_free_if_done(c);
  return NULL;
}

/* connClose(handle): stop polling, close the socket and any unclaimed fds. */
static napi_value ConnClose(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  if (argc < 1) return NULL;
  napi_valuetype t;
  napi_typeof(env, argv[0], &t);
  if (t != napi_external) {
    throw_type(env, "expected a connection handle");
    return NULL;
  }
  void *data;
  napi_get_value_external(env, argv[0], &data);
  ConnBox *b = (ConnBox *)data;
  if (b->c) {
    Conn *c = b->c;
    b->c = NULL;
    conn_close(c);
  }
  return NULL;
}

/* ---------------------------------------------------------------- init */

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"listen", NULL, Listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connect", NULL, Connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"accept", NULL, Accept, NULL, NULL, NULL, napi_enumerable, NULL},
      {"recv", NULL, Recv, NULL, NULL, NULL, napi_enumerable, NULL},
      {"send", NULL, Send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, Close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"eventfd", NULL, EventfdCreate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"eventfdRead", NULL, EventfdRead, NULL, NULL, NULL, napi_enumerable, NULL},
      {"eventfdWrite", NULL, EventfdWrite, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollStart", NULL, PollStart, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollUpdate", NULL, PollUpdate, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollStop", NULL, PollStop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"pollRef", NULL, PollRef, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connOpen", NULL, ConnOpen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connSend", NULL, ConnSend, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connEnd", NULL, ConnEnd, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connPump", NULL, ConnPump, NULL, NULL, NULL, napi_enumerable, NULL},
      {"connClose", NULL, ConnClose, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value max;
  napi_create_int32(env, MAX_RECV_FDS, &max);
  napi_set_named_property(env, exports, "MAX_RECV_FDS", max);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
