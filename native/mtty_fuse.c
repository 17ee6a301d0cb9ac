/*
 * mtty_fuse: a small N-API binding of libfuse3's low-level API, so the
 * exported sysfs (src/sysfs-export/fuse-export.ts) can be a real mount whose
 * write(2) returns the store's errno to the writer, as kernfs does
 * (`echo bad > create` -> "write error: Invalid argument").
 *
 * Why our own binding: the npm binding (fuse-native 2.2.6) is libfuse 2 only,
 * its prebuilt module needs libfuse.so.2, which Debian 12 no longer installs
 * with fuse3, and it has had no release since 2020. libfuse3 is the kept
 * library (Debian's libfuse3-3/libfuse3-dev); it does the protocol, the mount
 * (mount(2) as root, the setuid fusermount3 otherwise) and the unmount. What
 * remains here is glue: ~15 callbacks forwarded to JavaScript.
 *
 * Threads: fuse_session_loop() runs on its own pthread and never waits for
 * JavaScript: each request is queued to the JS thread through a thread-safe
 * function; JS answers later with reply*(req, ...) from the main thread
 * (libfuse's fuse_reply_* may be called from any thread, which is what its own
 * multi-threaded loop does). So a slow store (remove of an open device) does
 * not stop other requests. The JS side must never touch the mount with
 * synchronous fs calls: the main thread would wait for itself.
 *
 * Lifetime: unmount() marks the mount closed, asks the session to exit and
 * unmounts lazily (once no file of the mount is in use the kernel ends the
 * connection and the loop's read returns); the loop thread reports its end
 * through the same thread-safe function, and only then is the session
 * destroyed. JavaScript answers the requests still waiting before it
 * unmounts (a writer blocked in write(2) holds the mount); a request answered
 * after close is dropped. unref() lets the process exit if the loop never
 * ends (a shell's cwd inside the mount). The mount_t is never freed (one per
 * daemon run).
 *
 * Invalidation: a device removed by any client leaves the kernel's dentries for
 * its paths cached (harmless for correctness: timeouts are 0, so the next lookup
 * asks again, but the kernel holds the inodes, and we their numbers, until
 * memory pressure or drop_caches). notifyInvalEntry() queues
 * fuse_lowlevel_notify_inval_entry() to a notify thread of its own, never the JS
 * thread: the kernel takes the parent directory's lock for it, and a LOOKUP
 * pending in that directory holds that lock until JavaScript answers it.
 */
#define FUSE_USE_VERSION 34
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fuse_lowlevel.h>
#include <node_api.h>

enum op {
  OP_LOOKUP = 1,
  OP_GETATTR,
  OP_SETATTR,
  OP_READLINK,
  OP_OPEN,
  OP_READ,
  OP_WRITE,
  OP_READDIR,
  OP_ENDED, /* not a request: the loop thread finished */
  OP_FORGET, /* not a request either: already answered, JS only drops its lookup count */
};

typedef struct mount_s {
  struct fuse_session *se;
  pthread_t thread;
  int thread_started;
  napi_threadsafe_function tsfn;
  atomic_int closed;    /* no more replies once set */
  atomic_int destroyed; /* session freed */
  int loop_result;
  /* the notify thread's queue (see Invalidation above) */
  pthread_mutex_t nlock;
  pthread_cond_t ncond;
  struct notif_s *nhead, *ntail;
  int nstop;
  pthread_t nthread;
  int nthread_started;
} mount_t;

typedef struct notif_s {
  struct notif_s *next;
  fuse_ino_t parent;
  size_t len;
  char name[];
} notif_t;

typedef struct {
  int op;
  fuse_req_t req;
  mount_t *m;
  uint64_t ino;
  char *name; /* lookup */
  uint64_t fh;
  int flags;
  size_t size;
  int64_t off;
  char *data; /* write */
  size_t len;
  int to_set;
  int64_t attr_size;
  atomic_int done; /* replied (or dropped) */
} request_t;

/* ---------------------------------------------------------- errors */

static void throw_errno(napi_env env, const char *what, int err) {
  char msg[512];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  napi_value code, message, error, num;
  napi_create_string_utf8(env, err == EPERM ? "EPERM" : err == EACCES ? "EACCES" : err == ENOENT ? "ENOENT" : err == ENODEV ? "ENODEV" : err == EBUSY ? "EBUSY" : "EIO", NAPI_AUTO_LENGTH, &code);
  napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message);
  napi_create_error(env, code, message, &error);
  napi_create_int32(env, err, &num);
  napi_set_named_property(env, error, "errno", num);
  napi_throw(env, error);
}

/* ------------------------------------------- libfuse side (loop thread) */

static request_t *new_req(fuse_req_t req, int op, fuse_ino_t ino) {
  request_t *r = calloc(1, sizeof *r);
  if (!r) {
    fuse_reply_err(req, ENOMEM);
    return NULL;
  }
  r->op = op;
  r->req = req;
  r->m = fuse_req_userdata(req);
  r->ino = ino;
  return r;
}

static void forward(request_t *r) {
  if (napi_call_threadsafe_function(r->m->tsfn, r, napi_tsfn_blocking) != napi_ok) {
    fuse_reply_err(r->req, EIO);
    free(r->name);
    free(r->data);
    free(r);
  }
}

static void ll_lookup(fuse_req_t req, fuse_ino_t parent, const char *name) {
  request_t *r = new_req(req, OP_LOOKUP, parent);
  if (!r) return;
  r->name = strdup(name);
  forward(r);
}

static void ll_getattr(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  request_t *r = new_req(req, OP_GETATTR, ino);
  if (r) forward(r);
}

static void ll_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr, int to_set, struct fuse_file_info *fi) {
  request_t *r = new_req(req, OP_SETATTR, ino);
  if (!r) return;
  r->to_set = to_set;
  r->attr_size = attr->st_size;
  forward(r);
}

static void ll_readlink(fuse_req_t req, fuse_ino_t ino) {
  request_t *r = new_req(req, OP_READLINK, ino);
  if (r) forward(r);
}

static void ll_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi) {
  request_t *r = new_req(req, OP_OPEN, ino);
  if (!r) return;
  r->flags = fi->flags;
  forward(r);
}

static void ll_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  request_t *r = new_req(req, OP_READ, ino);
  if (!r) return;
  r->size = size;
  r->off = off;
  r->fh = fi->fh;
  forward(r);
}

static void ll_write(fuse_req_t req, fuse_ino_t ino, const char *buf, size_t size, off_t off, struct fuse_file_info *fi) {
  request_t *r = new_req(req, OP_WRITE, ino);
  if (!r) return;
  r->data = malloc(size ? size : 1);
  if (!r->data) {
    free(r);
    fuse_reply_err(req, ENOMEM);
    return;
  }
  memcpy(r->data, buf, size);
  r->len = size;
  r->off = off;
  r->fh = fi->fh;
  forward(r);
}

static void ll_readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off, struct fuse_file_info *fi) {
  request_t *r = new_req(req, OP_READDIR, ino);
  if (!r) return;
  r->size = size;
  r->off = off;
  forward(r);
}

/* The kernel dropped `nlookup` references to `ino`: answered here (FORGET has no reply but
 * fuse_reply_none), told to JS so it can drop the inode number once nothing refers to it. */
static void forget_one(fuse_req_t req, mount_t *m, fuse_ino_t ino, uint64_t nlookup) {
  request_t *r = calloc(1, sizeof *r);
  if (!r) return;
  r->op = OP_FORGET;
  r->m = m;
  r->ino = ino;
  r->size = (size_t)nlookup;
  atomic_store(&r->done, 1);
  if (napi_call_threadsafe_function(m->tsfn, r, napi_tsfn_blocking) != napi_ok) free(r);
}

static void ll_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
  mount_t *m = fuse_req_userdata(req);
  forget_one(req, m, ino, nlookup);
  fuse_reply_none(req);
}

static void ll_forget_multi(fuse_req_t req, size_t count, struct fuse_forget_data *forgets) {
  mount_t *m = fuse_req_userdata(req);
  for (size_t i = 0; i < count; i++) forget_one(req, m, forgets[i].ino, forgets[i].nlookup);
  fuse_reply_none(req);
}

/* sysfs has no creatable names: kernfs refuses with EACCES before any driver sees it. */
static void ll_mknod(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, dev_t d) { fuse_reply_err(req, EACCES); }
static void ll_mkdir(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m) { fuse_reply_err(req, EACCES); }
static void ll_unlink(fuse_req_t req, fuse_ino_t p, const char *n) { fuse_reply_err(req, EACCES); }
static void ll_rmdir(fuse_req_t req, fuse_ino_t p, const char *n) { fuse_reply_err(req, EACCES); }
static void ll_symlink(fuse_req_t req, const char *l, fuse_ino_t p, const char *n) { fuse_reply_err(req, EACCES); }
static void ll_rename(fuse_req_t req, fuse_ino_t p, const char *n, fuse_ino_t np, const char *nn, unsigned int f) { fuse_reply_err(req, EACCES); }
static void ll_link(fuse_req_t req, fuse_ino_t i, fuse_ino_t np, const char *nn) { fuse_reply_err(req, EACCES); }
static void ll_create(fuse_req_t req, fuse_ino_t p, const char *n, mode_t m, struct fuse_file_info *fi) { fuse_reply_err(req, EACCES); }

static const struct fuse_lowlevel_ops ll_ops = {
  .lookup = ll_lookup,
  .forget = ll_forget,
  .forget_multi = ll_forget_multi,
  .getattr = ll_getattr,
  .setattr = ll_setattr,
  .readlink = ll_readlink,
  .open = ll_open,
  .read = ll_read,
  .write = ll_write,
  .readdir = ll_readdir,
  .mknod = ll_mknod,
  .mkdir = ll_mkdir,
  .unlink = ll_unlink,
  .rmdir = ll_rmdir,
  .symlink = ll_symlink,
  .rename = ll_rename,
  .link = ll_link,
  .create = ll_create,
};

static void *loop_thread(void *arg) {
  mount_t *m = arg;
  m->loop_result = fuse_session_loop(m->se);
  request_t *r = calloc(1, sizeof *r);
  if (r) {
    r->op = OP_ENDED;
    r->m = m;
    napi_call_threadsafe_function(m->tsfn, r, napi_tsfn_blocking);
  }
  return NULL;
}

/* Sends queued entry invalidations until told to stop; errors (ENOENT: the kernel has no such parent or entry
 * cached any more) are what they say and ignored. */
static void *notify_thread(void *arg) {
  mount_t *m = arg;
  pthread_mutex_lock(&m->nlock);
  for (;;) {
    while (!m->nhead && !m->nstop) pthread_cond_wait(&m->ncond, &m->nlock);
    notif_t *n = m->nhead;
    if (!n) break;
    m->nhead = n->next;
    if (!m->nhead) m->ntail = NULL;
    pthread_mutex_unlock(&m->nlock);
    if (!atomic_load(&m->closed)) fuse_lowlevel_notify_inval_entry(m->se, n->parent, n->name, n->len);
    free(n);
    pthread_mutex_lock(&m->nlock);
  }
  pthread_mutex_unlock(&m->nlock);
  return NULL;
}

/* ------------------------------------------------------ JS side (main) */

static void req_finalize(napi_env env, void *data, void *hint) {
  request_t *r = data;
  /* An unanswered request (a JS bug or a dropped one) still has to be answered once. */
  if (!atomic_exchange(&r->done, 1) && !atomic_load(&r->m->destroyed)) fuse_reply_err(r->req, EIO);
  free(r->name);
  free(r->data);
  free(r);
}

static void end_session(mount_t *m) {
  if (m->thread_started) pthread_join(m->thread, NULL);
  m->thread_started = 0;
  if (m->nthread_started) {
    pthread_mutex_lock(&m->nlock);
    m->nstop = 1;
    pthread_cond_signal(&m->ncond);
    pthread_mutex_unlock(&m->nlock);
    pthread_join(m->nthread, NULL);
    m->nthread_started = 0;
  }
  atomic_store(&m->destroyed, 1);
  fuse_session_destroy(m->se);
  m->se = NULL;
}

/* Runs on the main thread for each queued request: handler(op, req, ino, name|data, a, b). */
static void call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  request_t *r = data;
  mount_t *m = r->m;
  if (r->op == OP_ENDED) {
    free(r);
    if (m->se) end_session(m);
    if (env) {
      napi_value undef, opv, res;
      napi_get_undefined(env, &undef);
      napi_create_int32(env, OP_ENDED, &opv);
      napi_value args[6] = {opv, undef, undef, undef, undef, undef};
      napi_call_function(env, undef, js_cb, 6, args, &res);
    }
    napi_release_threadsafe_function(m->tsfn, napi_tsfn_release);
    return;
  }
  if (!env || atomic_load(&m->closed)) {
    atomic_store(&r->done, 1); /* the mount is going away; nobody waits for this answer */
    free(r->name);
    free(r->data);
    free(r);
    return;
  }
  napi_value undef, ext, opv, inov, third, a, b, res;
  napi_get_undefined(env, &undef);
  if (r->op == OP_FORGET) {
    napi_create_int32(env, r->op, &opv);
    napi_create_double(env, (double)r->ino, &inov);
    napi_create_double(env, (double)r->size, &a);
    napi_value fargs[6] = {opv, undef, inov, undef, a, undef};
    free(r);
    napi_call_function(env, undef, js_cb, 6, fargs, &res);
    return;
  }
  napi_create_external(env, r, req_finalize, NULL, &ext);
  napi_create_int32(env, r->op, &opv);
  napi_create_double(env, (double)r->ino, &inov);
  third = undef;
  a = undef;
  b = undef;
  switch (r->op) {
    case OP_LOOKUP:
      napi_create_string_utf8(env, r->name, NAPI_AUTO_LENGTH, &third);
      break;
    case OP_SETATTR:
      napi_create_int32(env, r->to_set, &a);
      napi_create_double(env, (double)r->attr_size, &b);
      break;
    case OP_OPEN:
      napi_create_int32(env, r->flags, &a);
      break;
    case OP_READ:
    case OP_READDIR:
      napi_create_double(env, (double)r->size, &a);
      napi_create_double(env, (double)r->off, &b);
      break;
    case OP_WRITE:
      napi_create_buffer_copy(env, r->len, r->data, NULL, &third);
      free(r->data);
      r->data = NULL;
      napi_create_double(env, (double)r->off, &a);
      break;
  }
  napi_value args[6] = {opv, ext, inov, third, a, b};
  napi_call_function(env, undef, js_cb, 6, args, &res);
}

#define GET_ARGS(n)                                                    \
  size_t argc = (n);                                                   \
  napi_value argv[(n)];                                                \
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok) \
    return NULL;

/* The request behind argv[0], if it may still be answered (else NULL, nothing to do). */
static request_t *take_req(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "not a FUSE request");
    return NULL;
  }
  request_t *r = p;
  if (atomic_exchange(&r->done, 1)) return NULL;
  if (atomic_load(&r->m->destroyed) || atomic_load(&r->m->closed)) return NULL;
  return r;
}

static double num(napi_env env, napi_value v) {
  double d = 0;
  napi_get_value_double(env, v, &d);
  return d;
}

/* attr = [ino, mode, nlink, size, uid, gid, timeSeconds] */
static void fill_stat(napi_env env, napi_value arr, struct stat *st) {
  memset(st, 0, sizeof *st);
  napi_value v;
  double f[7] = {0};
  for (uint32_t i = 0; i < 7; i++) {
    if (napi_get_element(env, arr, i, &v) == napi_ok) f[i] = num(env, v);
  }
  st->st_ino = (ino_t)f[0];
  st->st_mode = (mode_t)f[1];
  st->st_nlink = (nlink_t)f[2];
  st->st_size = (off_t)f[3];
  st->st_uid = (uid_t)f[4];
  st->st_gid = (gid_t)f[5];
  st->st_atim.tv_sec = st->st_mtim.tv_sec = st->st_ctim.tv_sec = (time_t)f[6];
  st->st_blksize = 4096;
}

/* replyErr(req, errno) */
static napi_value reply_err(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  request_t *r = take_req(env, argv[0]);
  if (r) fuse_reply_err(r->req, (int)num(env, argv[1]));
  return NULL;
}

/* replyEntry(req, attr): timeouts 0, so the tree always shows the bus as it is now. */
static napi_value reply_entry(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  request_t *r = take_req(env, argv[0]);
  if (!r) return NULL;
  struct fuse_entry_param e;
  memset(&e, 0, sizeof e);
  fill_stat(env, argv[1], &e.attr);
  e.ino = e.attr.st_ino;
  e.generation = 1;
  fuse_reply_entry(r->req, &e);
  return NULL;
}

static napi_value reply_attr(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  request_t *r = take_req(env, argv[0]);
  if (!r) return NULL;
  struct stat st;
  fill_stat(env, argv[1], &st);
  fuse_reply_attr(r->req, &st, 0.0);
  return NULL;
}

static napi_value reply_readlink(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  request_t *r = take_req(env, argv[0]);
  if (!r) return NULL;
  char buf[4096];
  size_t len = 0;
  napi_get_value_string_utf8(env, argv[1], buf, sizeof buf, &len);
  fuse_reply_readlink(r->req, buf);
  return NULL;
}

/* replyOpen(req, fh): direct I/O, as kernfs: every read asks the attribute's show() again, every write(2) is one store. */
static napi_value reply_open(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  request_t *r = take_req(env, argv[0]);
  if (!r) return NULL;
  struct fuse_file_info fi;
  memset(&fi, 0, sizeof fi);
  fi.fh = (uint64_t)num(env, argv[1]);
  fi.direct_io = 1;
  fi.nonseekable = 0;
  fuse_reply_open(r->req, &fi);
  return NULL;
}

static napi_value reply_buf(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  request_t *r = take_req(env, argv[0]);
  if (!r) return NULL;
  void *data = NULL;
  size_t len = 0;
  napi_get_buffer_info(env, argv[1], &data, &len);
  fuse_reply_buf(r->req, data, len);
  return NULL;
}

static napi_value reply_write(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  request_t *r = take_req(env, argv[0]);
  if (r) fuse_reply_write(r->req, (size_t)num(env, argv[1]));
  return NULL;
}

/* replyDirents(req, entries: [name, ino, mode][]): entries from the request's offset, as many as fit. */
static napi_value reply_dirents(napi_env env, napi_callback_info info) {
  GET_ARGS(2);
  request_t *r = take_req(env, argv[0]);
  if (!r) return NULL;
  uint32_t n = 0;
  napi_get_array_length(env, argv[1], &n);
  char *buf = malloc(r->size ? r->size : 1);
  if (!buf) {
    fuse_reply_err(r->req, ENOMEM);
    return NULL;
  }
  size_t used = 0;
  for (uint32_t i = (uint32_t)r->off; i < n; i++) {
    napi_value ent, v;
    napi_get_element(env, argv[1], i, &ent);
    char name[256];
    size_t nl = 0;
    napi_get_element(env, ent, 0, &v);
    napi_get_value_string_utf8(env, v, name, sizeof name, &nl);
    struct stat st;
    memset(&st, 0, sizeof st);
    napi_get_element(env, ent, 1, &v);
    st.st_ino = (ino_t)num(env, v);
    napi_get_element(env, ent, 2, &v);
    st.st_mode = (mode_t)num(env, v);
    size_t need = fuse_add_direntry(r->req, buf + used, r->size - used, name, &st, (off_t)i + 1);
    if (need > r->size - used) break;
    used += need;
  }
  fuse_reply_buf(r->req, buf, used);
  free(buf);
  return NULL;
}

static void mount_finalize(napi_env env, void *data, void *hint) {
  /* Deliberately nothing: the loop thread may still reference the mount_t. */
}

/* mount(mountpoint, options: string, handler) -> handle. Throws on failure (errno from libfuse's mount). */
static napi_value do_mount(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  char mnt[4096], opts[1024];
  size_t l = 0;
  if (napi_get_value_string_utf8(env, argv[0], mnt, sizeof mnt, &l) != napi_ok || napi_get_value_string_utf8(env, argv[1], opts, sizeof opts, &l) != napi_ok) {
    napi_throw_type_error(env, NULL, "mount(mountpoint: string, options: string, handler)");
    return NULL;
  }
  mount_t *m = calloc(1, sizeof *m);
  if (!m) {
    throw_errno(env, "mount", ENOMEM);
    return NULL;
  }
  char *fargv[] = {"mtty-fuse", "-o", opts, NULL};
  struct fuse_args args = FUSE_ARGS_INIT(3, fargv);
  m->se = fuse_session_new(&args, &ll_ops, sizeof ll_ops, m);
  if (!m->se) {
    free(m);
    throw_errno(env, "fuse_session_new (bad mount options?)", EINVAL);
    return NULL;
  }
  errno = 0;
  if (fuse_session_mount(m->se, mnt) != 0) {
    int err = errno ? errno : EPERM;
    fuse_session_destroy(m->se);
    free(m);
    char what[4200];
    snprintf(what, sizeof what, "cannot mount FUSE on %s", mnt);
    throw_errno(env, what, err);
    return NULL;
  }
  napi_value name;
  napi_create_string_utf8(env, "mtty-fuse", NAPI_AUTO_LENGTH, &name);
  if (napi_create_threadsafe_function(env, argv[2], NULL, name, 0, 1, NULL, NULL, NULL, call_js, &m->tsfn) != napi_ok) {
    fuse_session_unmount(m->se);
    fuse_session_destroy(m->se);
    free(m);
    throw_errno(env, "napi_create_threadsafe_function", EIO);
    return NULL;
  }
  if (pthread_create(&m->thread, NULL, loop_thread, m) != 0) {
    fuse_session_unmount(m->se);
    fuse_session_destroy(m->se);
    napi_release_threadsafe_function(m->tsfn, napi_tsfn_abort);
    free(m);
    throw_errno(env, "pthread_create", EAGAIN);
    return NULL;
  }
  m->thread_started = 1;
  pthread_mutex_init(&m->nlock, NULL);
  pthread_cond_init(&m->ncond, NULL);
  /* Without it, invalidations are skipped: the kernel then forgets on its own schedule (see Invalidation). */
  m->nthread_started = pthread_create(&m->nthread, NULL, notify_thread, m) == 0;
  napi_value handle;
  napi_create_external(env, m, mount_finalize, NULL, &handle);
  return handle;
}

/* unmount(handle): returns at once; the handler gets OP_ENDED once the loop has stopped. */
static napi_value do_unmount(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "not a FUSE mount handle");
    return NULL;
  }
  mount_t *m = p;
  if (atomic_exchange(&m->closed, 1)) return NULL;
  fuse_session_exit(m->se);
  fuse_session_unmount(m->se); /* umount2(MNT_DETACH) as root, `fusermount3 -u -z` otherwise */
  return NULL;
}

/* unref(handle): let the process exit although the loop thread has not ended (a mount kept busy after unmount). */
static napi_value do_unref(napi_env env, napi_callback_info info) {
  GET_ARGS(1);
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "not a FUSE mount handle");
    return NULL;
  }
  mount_t *m = p;
  if (!atomic_load(&m->destroyed)) napi_unref_threadsafe_function(env, m->tsfn);
  return NULL;
}

/* notifyInvalEntry(handle, parentIno, name): queue "forget the entry `name` in directory `parentIno`"; returns at once. */
static napi_value do_notify_inval_entry(napi_env env, napi_callback_info info) {
  GET_ARGS(3);
  void *p = NULL;
  if (napi_get_value_external(env, argv[0], &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "not a FUSE mount handle");
    return NULL;
  }
  mount_t *m = p;
  char name[256];
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[2], name, sizeof name, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "notifyInvalEntry(handle, parentIno: number, name: string)");
    return NULL;
  }
  if (!m->nthread_started || atomic_load(&m->closed)) return NULL;
  notif_t *n = malloc(sizeof *n + len + 1);
  if (!n) return NULL; /* only a missed early forget */
  n->next = NULL;
  n->parent = (fuse_ino_t)num(env, argv[1]);
  n->len = len;
  memcpy(n->name, name, len + 1);
  pthread_mutex_lock(&m->nlock);
  if (m->ntail) m->ntail->next = n;
  else m->nhead = n;
  m->ntail = n;
  pthread_cond_signal(&m->ncond);
  pthread_mutex_unlock(&m->nlock);
  return NULL;
}

static napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
    {"mount", NULL, do_mount, NULL, NULL, NULL, napi_default, NULL},
    {"unmount", NULL, do_unmount, NULL, NULL, NULL, napi_default, NULL},
    {"unref", NULL, do_unref, NULL, NULL, NULL, napi_default, NULL},
    {"notifyInvalEntry", NULL, do_notify_inval_entry, NULL, NULL, NULL, napi_default, NULL},
    {"replyErr", NULL, reply_err, NULL, NULL, NULL, napi_default, NULL},
    {"replyEntry", NULL, reply_entry, NULL, NULL, NULL, napi_default, NULL},
    {"replyAttr", NULL, reply_attr, NULL, NULL, NULL, napi_default, NULL},
    {"replyReadlink", NULL, reply_readlink, NULL, NULL, NULL, napi_default, NULL},
    {"replyOpen", NULL, reply_open, NULL, NULL, NULL, napi_default, NULL},
    {"replyBuf", NULL, reply_buf, NULL, NULL, NULL, napi_default, NULL},
    {"replyWrite", NULL, reply_write, NULL, NULL, NULL, napi_default, NULL},
    {"replyDirents", NULL, reply_dirents, NULL, NULL, NULL, napi_default, NULL},
  };
  napi_define_properties(env, exports, sizeof d / sizeof d[0], d);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
