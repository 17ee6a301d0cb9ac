/*
 * vfio-user-client: the C client of `npm run bench -- vfio-user`.
 *
 * It talks to a vfio-user server the way QEMU's proxy does on a guest inb():
 * VERSION (QEMU's capabilities), DEVICE_GET_INFO, then 1-byte REGION_READs,
 * with blocking read()/write() on the socket (the cheapest client possible,
 * so the time measured is the server's). One process keeps one connection;
 * the bench driver (bench/vfio-user.ts) sends it commands on stdin so that
 * slices against two servers can be interleaved without reconnecting:
 *
 *   lat N         N sequential reads, each timed with CLOCK_MONOTONIC
 *                 -> "lat <p50 ns> <p99 ns> <mean ns>"
 *   pipe N D      N reads with D in flight (a new one sent per reply)
 *                 -> "pipe <elapsed ns> <N>"
 *   quit
 *
 * Usage: vfio-user-client SOCKET REGION OFFSET
 * Any protocol error (error reply, wrong id, short reply) is printed on
 * stderr and exits 1: a benchmark of wrong answers is worthless.
 *
 * Built by the bench with `cc -O2` into a cache directory (not git).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define HDR 16
#define CMD_VERSION 1
#define CMD_GET_INFO 4
#define CMD_REGION_READ 9
#define FLAG_REPLY 1
#define FLAG_ERROR 0x20

static int sock = -1;
static uint32_t region;
static uint64_t offset;
static uint16_t next_id;

static void die(const char *what) {
  fprintf(stderr, "vfio-user-client: %s\n", what);
  exit(1);
}

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void write_all(const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t r = write(sock, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die("write failed");
    b += r;
    n -= (size_t)r;
  }
}

static void read_all(void *p, size_t n) {
  uint8_t *b = p;
  while (n > 0) {
    ssize_t r = read(sock, b, n);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) die(r == 0 ? "server closed the connection" : "read failed");
    b += r;
    n -= (size_t)r;
  }
}

static void put16(uint8_t *b, uint16_t v) { memcpy(b, &v, 2); }
static void put32(uint8_t *b, uint32_t v) { memcpy(b, &v, 4); }
static void put64(uint8_t *b, uint64_t v) { memcpy(b, &v, 8); }
static uint16_t get16(const uint8_t *b) { uint16_t v; memcpy(&v, b, 2); return v; }
static uint32_t get32(const uint8_t *b) { uint32_t v; memcpy(&v, b, 4); return v; }

static uint16_t send_msg(uint16_t cmd, const void *payload, uint32_t len) {
  uint8_t buf[HDR + 512];
  uint16_t id = next_id++;
  if (len > sizeof buf - HDR) die("payload too large");
  memset(buf, 0, HDR);
  put16(buf, id);
  put16(buf + 2, cmd);
  put32(buf + 4, HDR + len);
  memcpy(buf + HDR, payload, len);
  write_all(buf, HDR + len);
  return id;
}

/* Read one reply; checks id, command and the error flag. Returns its payload size. */
static uint32_t recv_reply(uint16_t id, uint16_t cmd, uint8_t *payload, uint32_t cap) {
  uint8_t h[HDR];
  read_all(h, HDR);
  uint32_t size = get32(h + 4);
  if (size < HDR || size - HDR > cap) die("reply size out of range");
  read_all(payload, size - HDR);
  if (get16(h) != id || get16(h + 2) != cmd) die("reply id/command mismatch");
  if (!(get32(h + 8) & FLAG_REPLY)) die("not a reply");
  if (get32(h + 8) & FLAG_ERROR) {
    fprintf(stderr, "vfio-user-client: command %u failed: errno %u\n", cmd, get32(h + 12));
    exit(1);
  }
  return size - HDR;
}

static void setup(void) {
  /* QEMU's VERSION proposal (hw/vfio-user/proxy.c caps_json). */
  static const char caps[] =
      "{\"capabilities\":{\"max_msg_fds\":16,\"max_data_xfer_size\":1048576,\"pgsizes\":4096,"
      "\"max_dma_maps\":65535,\"migration\":{\"pgsize\":4096,\"max_bitmap_size\":268435456},"
      "\"write_multiple\":true}}";
  uint8_t p[4 + sizeof caps];
  uint8_t reply[1024];
  put16(p, 0);
  put16(p + 2, 0);
  memcpy(p + 4, caps, sizeof caps); /* includes the NUL */
  recv_reply(send_msg(CMD_VERSION, p, sizeof p), CMD_VERSION, reply, sizeof reply);
  uint8_t info[16] = {0};
  put32(info, 16);
  if (recv_reply(send_msg(CMD_GET_INFO, info, sizeof info), CMD_GET_INFO, reply, sizeof reply) < 16) die("short GET_INFO reply");
}

static uint8_t read_req[HDR + 16];

static uint16_t send_read(void) {
  uint16_t id = next_id++;
  put16(read_req, id);
  write_all(read_req, sizeof read_req);
  return id;
}

static void recv_read(uint16_t id) {
  uint8_t p[17];
  if (recv_reply(id, CMD_REGION_READ, p, sizeof p) != 17 || get32(p + 12) != 1) die("REGION_READ reply is not 1 byte");
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static void lat(long n) {
  uint64_t *t = malloc(sizeof *t * (size_t)n);
  if (!t) die("out of memory");
  uint64_t sum = 0;
  for (long i = 0; i < n; i++) {
    uint64_t a = now_ns();
    recv_read(send_read());
    t[i] = now_ns() - a;
    sum += t[i];
  }
  qsort(t, (size_t)n, sizeof *t, cmp_u64);
  printf("lat %llu %llu %llu\n", (unsigned long long)t[(n - 1) / 2], (unsigned long long)t[(size_t)((n * 99 + 99) / 100) - 1],
         (unsigned long long)(sum / (uint64_t)n));
  free(t);
}

static void pipe_run(long n, long depth) {
  /* Ids are sequential and both servers answer in order, so a ring of ids suffices. */
  uint16_t ids[256];
  if (depth < 1 || depth > 256) die("depth must be 1..256");
  uint64_t a = now_ns();
  long sent = 0, done = 0;
  while (sent < depth && sent < n) ids[sent % 256] = send_read(), sent++;
  while (done < n) {
    recv_read(ids[done % 256]);
    done++;
    if (sent < n) ids[sent % 256] = send_read(), sent++;
  }
  printf("pipe %llu %ld\n", (unsigned long long)(now_ns() - a), n);
}

int main(int argc, char **argv) {
  if (argc != 4) die("usage: vfio-user-client SOCKET REGION OFFSET");
  region = (uint32_t)strtoul(argv[2], NULL, 0);
  offset = strtoull(argv[3], NULL, 0);
  struct sockaddr_un sa = {.sun_family = AF_UNIX};
  if (strlen(argv[1]) >= sizeof sa.sun_path) die("socket path too long");
  strcpy(sa.sun_path, argv[1]);
  /* The socket file appears at bind(), a moment before listen(): retry
   * ECONNREFUSED/ENOENT for up to 5 s while the server starts. */
  for (int tries = 0;; tries++) {
    sock = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (sock < 0) die("socket failed");
    if (connect(sock, (struct sockaddr *)&sa, sizeof sa) == 0) break;
    if ((errno != ECONNREFUSED && errno != ENOENT) || tries >= 500) die("cannot connect");
    close(sock);
    usleep(10000);
  }
  setup();
  memset(read_req, 0, sizeof read_req);
  put16(read_req + 2, CMD_REGION_READ);
  put32(read_req + 4, sizeof read_req);
  put64(read_req + HDR, offset);
  put32(read_req + HDR + 8, region);
  put32(read_req + HDR + 12, 1);
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("ready\n");
  char line[128];
  while (fgets(line, sizeof line, stdin)) {
    long n = 0, d = 0;
    if (sscanf(line, "lat %ld", &n) == 1 && n > 0) lat(n);
    else if (sscanf(line, "pipe %ld %ld", &n, &d) == 2 && n > 0) pipe_run(n, d);
    else if (strncmp(line, "quit", 4) == 0) break;
    else die("unknown command");
  }
  return 0;
}
