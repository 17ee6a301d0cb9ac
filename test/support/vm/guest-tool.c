/*
 * mtty-guest-tool: the in-guest half of the real-VM tests (test/vm-*.test.ts).
 * Built static (gcc -static) by test/support/vm/guest-image.ts into the cache,
 * put in the initramfs as /bin/mtty-guest-tool. Output is one line per result,
 * "key=value" pairs, so the host side parses it without guessing.
 *
 *   inb PORT N         time N single-byte reads of I/O port PORT (hex or dec):
 *                      "inb port=0xc017 n=N p50_ns=.. mean_ns=.. min_ns=.. max_ns=.."
 *                      Each read is timed on its own (CLOCK_MONOTONIC around one
 *                      inb); the clock's own cost is measured and reported as
 *                      clock_ns so a reader can subtract it.
 *   loop SIZE DEV...   put each tty DEV in raw 115200 8N1, write SIZE bytes of a
 *                      per-device pseudo-random pattern and read back what the
 *                      loopback returns, all devices at once (poll), until every
 *                      byte is back or the line is quiet for 10 s. Per device:
 *                      "loop dev=/dev/ttyS1 sent=N recv=N lost=N bad=N
 *                       sum_tx=0x.. sum_rx=0x.. ms=.. Bps=.."
 *                      (FNV-1a 32 of the bytes sent / received; bad = bytes that
 *                      came back different from the one sent at that place).
 *
 *   echo DEV TEXT      open DEV once, raw 115200 8N1, write TEXT, read until as
 *                      many bytes came back (or 5 s passed), close:
 *                      "echo dev=/dev/ttyS1 sent=5 got=5 text=hello"
 *
 * Port access uses ioperm(2) (CONFIG_X86_IOPL_IOPERM), as a driver-less test would.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/io.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b) {
  uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
  return x < y ? -1 : x > y;
}

static int cmd_inb(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: inb PORT N\n"), 2;
  unsigned long port = strtoul(argv[0], NULL, 0);
  long n = strtol(argv[1], NULL, 0);
  if (port > 0xffff || n < 1 || n > 1000000) return fprintf(stderr, "inb: bad PORT or N\n"), 2;
  if (ioperm(port, 1, 1) != 0) return fprintf(stderr, "inb: ioperm(0x%lx): %s\n", port, strerror(errno)), 1;
  uint64_t *t = calloc((size_t)n, sizeof *t);
  uint64_t *c = calloc((size_t)n, sizeof *c);
  if (!t || !c) return fprintf(stderr, "inb: out of memory\n"), 1;
  volatile unsigned v = 0;
  for (long i = 0; i < n; i++) {
    uint64_t a = now_ns();
    v += inb((unsigned short)port);
    t[i] = now_ns() - a;
  }
  for (long i = 0; i < n; i++) {
    uint64_t a = now_ns();
    c[i] = now_ns() - a;
  }
  uint64_t sum = 0;
  for (long i = 0; i < n; i++) sum += t[i];
  qsort(t, (size_t)n, sizeof *t, cmp_u64);
  qsort(c, (size_t)n, sizeof *c, cmp_u64);
  printf("inb port=0x%lx n=%ld p50_ns=%llu mean_ns=%llu min_ns=%llu max_ns=%llu clock_ns=%llu last=0x%02x\n", port, n,
         (unsigned long long)t[n / 2], (unsigned long long)(sum / (uint64_t)n), (unsigned long long)t[0],
         (unsigned long long)t[n - 1], (unsigned long long)c[n / 2], v & 0xff);
  return 0;
}

static uint32_t fnv1a(uint32_t h, uint8_t b) { return (h ^ b) * 16777619u; }

/* The byte at position i of device d's pattern: a cheap LCG, different per device. */
static uint8_t pattern(int d, size_t i) {
  uint32_t x = (uint32_t)(i * 2654435761u) ^ (uint32_t)(d * 0x9e3779b9u);
  x ^= x >> 13;
  return (uint8_t)(x * 0x5bd1e995u >> 24);
}

struct line {
  const char *path;
  int fd;
  size_t sent, recv, bad;
  uint32_t sum_tx, sum_rx;
};

static int raw_line(int fd) {
  struct termios tio;
  if (tcgetattr(fd, &tio) != 0) return -1;
  cfmakeraw(&tio);
  tio.c_cflag |= CLOCAL | CREAD;
  tio.c_cflag &= ~CRTSCTS;
  cfsetispeed(&tio, B115200);
  cfsetospeed(&tio, B115200);
  if (tcsetattr(fd, TCSANOW, &tio) != 0) return -1;
  return tcflush(fd, TCIOFLUSH);
}

static int cmd_loop(int argc, char **argv) {
  if (argc < 2 || argc > 8) return fprintf(stderr, "usage: loop SIZE DEV...\n"), 2;
  size_t size = strtoul(argv[0], NULL, 0);
  int nd = argc - 1;
  struct line L[8];
  for (int d = 0; d < nd; d++) {
    L[d] = (struct line){ .path = argv[d + 1], .sum_tx = 2166136261u, .sum_rx = 2166136261u };
    L[d].fd = open(L[d].path, O_RDWR | O_NOCTTY | O_NONBLOCK);
    if (L[d].fd < 0 || raw_line(L[d].fd) != 0) return fprintf(stderr, "loop: %s: %s\n", L[d].path, strerror(errno)), 1;
  }
  uint64_t start = now_ns(), last_rx = start;
  uint8_t buf[4096];
  for (;;) {
    int done = 1;
    struct pollfd p[8];
    for (int d = 0; d < nd; d++) {
      p[d] = (struct pollfd){ .fd = L[d].fd, .events = POLLIN | (L[d].sent < size ? POLLOUT : 0) };
      if (L[d].recv < size) done = 0;
    }
    if (done) break;
    if (now_ns() - last_rx > 10000000000ull) break; /* quiet for 10 s: what is missing is lost */
    if (poll(p, (nfds_t)nd, 1000) < 0 && errno != EINTR) return perror("poll"), 1;
    for (int d = 0; d < nd; d++) {
      struct line *l = &L[d];
      if ((p[d].revents & POLLOUT) && l->sent < size) {
        size_t k = size - l->sent < sizeof buf ? size - l->sent : sizeof buf;
        for (size_t i = 0; i < k; i++) buf[i] = pattern(d, l->sent + i);
        ssize_t w = write(l->fd, buf, k);
        if (w > 0) {
          for (ssize_t i = 0; i < w; i++) l->sum_tx = fnv1a(l->sum_tx, buf[i]);
          l->sent += (size_t)w;
        }
      }
      if (p[d].revents & POLLIN) {
        ssize_t r = read(l->fd, buf, sizeof buf);
        for (ssize_t i = 0; i < r; i++) {
          if (buf[i] != pattern(d, l->recv)) l->bad++;
          l->sum_rx = fnv1a(l->sum_rx, buf[i]);
          l->recv++;
        }
        if (r > 0) last_rx = now_ns();
      }
    }
  }
  uint64_t ms = (now_ns() - start) / 1000000ull;
  for (int d = 0; d < nd; d++) {
    struct line *l = &L[d];
    printf("loop dev=%s sent=%zu recv=%zu lost=%zu bad=%zu sum_tx=0x%08x sum_rx=0x%08x ms=%llu Bps=%llu\n", l->path, l->sent,
           l->recv, l->sent > l->recv ? l->sent - l->recv : 0, l->bad, l->sum_tx, l->sum_rx, (unsigned long long)ms,
           (unsigned long long)(ms ? (uint64_t)l->recv * 1000ull / ms : 0));
    close(l->fd);
  }
  return 0;
}

static int cmd_echo(int argc, char **argv) {
  if (argc != 2) return fprintf(stderr, "usage: echo DEV TEXT\n"), 2;
  int fd = open(argv[0], O_RDWR | O_NOCTTY | O_NONBLOCK);
  if (fd < 0 || raw_line(fd) != 0) return fprintf(stderr, "echo: %s: %s\n", argv[0], strerror(errno)), 1;
  size_t n = strlen(argv[1]), got = 0;
  char back[256];
  if (n >= sizeof back) return fprintf(stderr, "echo: TEXT too long\n"), 2;
  if (write(fd, argv[1], n) != (ssize_t)n) return fprintf(stderr, "echo: write: %s\n", strerror(errno)), 1;
  uint64_t start = now_ns();
  while (got < n && now_ns() - start < 5000000000ull) {
    struct pollfd p = { .fd = fd, .events = POLLIN };
    if (poll(&p, 1, 100) > 0) {
      ssize_t r = read(fd, back + got, n - got);
      if (r > 0) got += (size_t)r;
    }
  }
  back[got] = 0;
  printf("echo dev=%s sent=%zu got=%zu text=%s\n", argv[0], n, got, back);
  close(fd);
  return got == n ? 0 : 1;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc >= 2 && strcmp(argv[1], "inb") == 0) return cmd_inb(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "loop") == 0) return cmd_loop(argc - 2, argv + 2);
  if (argc >= 2 && strcmp(argv[1], "echo") == 0) return cmd_echo(argc - 2, argv + 2);
  fprintf(stderr, "usage: mtty-guest-tool inb PORT N | loop SIZE DEV... | echo DEV TEXT\n");
  return 2;
}
