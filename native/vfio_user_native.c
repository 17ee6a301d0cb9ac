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
 * A worker thread doing blocking recvmsg() was the alternative; it needs a
 * thread-safe function per socket and cross-thread ordering of replies, for no
 * gain at mtty's message rates. uv_poll keeps everything on the main loop.
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
  if (argc > 4) {
    bool is_arr = false;
    napi_is_array(env, argv[4], &is_arr);
    if (is_arr) {
      napi_get_array_length(env, argv[4], &nfds);
      if (nfds > MAX_SEND_FDS) {
        throw_errno(env, "sendmsg", EINVAL);
        return NULL;
      }
      for (uint32_t i = 0; i < nfds; i++) {
        napi_value el;
        int32_t v;
        napi_get_element(env, argv[4], i, &el);
        if (!arg_int(env, el, &v)) {
          throw_type(env, "fds must be numbers");
          return NULL;
        }
        sendfds[i] = v;
      }
    }
  }
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
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  napi_value max;
  napi_create_int32(env, MAX_RECV_FDS, &max);
  napi_set_named_property(env, exports, "MAX_RECV_FDS", max);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
