/**
 * A framed vfio-user message stream over one connected AF_UNIX socket whose
 * fd the native addon owns. Used by both the server (one per client) and the
 * client.
 *
 * I/O model (why it is safe): libuv only polls the fd (uv_poll_t, readiness
 * callbacks on the JS thread); every read and write is a recvmsg()/sendmsg()
 * made by the addon from this class, on the JS thread. Nothing else ever
 * touches the fd, so reads never race and fds attached with SCM_RIGHTS are
 * never lost to a reader that does not expect them.
 *
 * Framing: the header (16 bytes) is read on its own, then exactly the body.
 * Each read stops at the current message's end, so a recvmsg() never spans
 * two messages, and every fd the kernel hands back belongs to the message
 * being read (a sender attaches fds to its message's first byte). This is the
 * same approach QEMU's proxy uses.
 */
import { native, isNativeError, POLL_READABLE, POLL_WRITABLE, type PollHandle } from './native.js';
import { HEADER_SIZE, decodeHeader, type Header, type Message } from './protocol.js';

export interface ChannelHandlers {
  /** A complete message. Owns msg.fds: close the ones it does not keep. */
  onMessage(msg: Message): void;
  /**
   * The header announced a size we will not read (below 16, or above the
   * limit). The stream cannot be trusted after this; the channel stops
   * reading, lets the handler queue a last (error) reply, then closes.
   */
  onBadFrame(header: Header, reason: string): void;
  /** Closed (once). `reason` is null for an orderly EOF between messages. */
  onClose(reason: string | null): void;
}

/** Messages handled per readiness callback, so one busy peer cannot starve the loop. */
const MESSAGES_PER_WAKEUP = 64;

/**
 * Queued reply bytes above which we stop reading requests: a peer that sends
 * but never reads its replies must not make us buffer without bound. Reading
 * resumes once the queue has drained (level-triggered poll re-reports the
 * unread requests then).
 */
const HIGH_WATER = 4 << 20;

interface Outgoing {
  buf: Buffer;
  off: number;
  fds: number[];
}

export class Channel {
  readonly fd: number;
  private poll: PollHandle | null;
  private readonly handlers: ChannelHandlers;
  private readonly maxMessageSize: number;

  private readonly headerBuf = Buffer.alloc(HEADER_SIZE);
  private headerGot = 0;
  private header: Header | null = null;
  private body: Buffer | null = null;
  private bodyGot = 0;
  private fds: number[] = [];
  private fdsTruncated = false;

  /** Outgoing FIFO; `outHead` indexes its first unsent entry (no O(n) shift per message). */
  private out: Outgoing[] = [];
  private outHead = 0;
  private outBytes = 0;
  private reading = true;
  private closeWhenFlushed: string | null | undefined = undefined;
  private closed = false;

  constructor(fd: number, handlers: ChannelHandlers, opts: { maxMessageSize: number }) {
    this.fd = fd;
    this.handlers = handlers;
    this.maxMessageSize = opts.maxMessageSize;
    this.poll = native().pollStart(fd, POLL_READABLE, (status, events) => this.onReady(status, events));
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queue one whole message; `fds` go with its first byte. Sends at once when
   * the socket has room; the rest waits for a writable event. Messages are
   * never interleaved because the queue is strictly FIFO.
   */
  send(buf: Buffer, fds: readonly number[] = []): void {
    if (this.closed || this.closeWhenFlushed !== undefined) return;
    this.out.push({ buf, off: 0, fds: [...fds] });
    this.outBytes += buf.length;
    if (this.queued === 1) this.flush();
    else if (this.outBytes > HIGH_WATER) this.updatePoll();
  }

  /**
   * Read whatever is already queued on the socket now, without waiting for
   * the poll callback. The server calls this before refusing a newcomer: if
   * the current client has in fact hung up (EOF queued, not yet polled), the
   * EOF is processed first and the newcomer gets the device instead of EBUSY.
   */
  pump(): void {
    if (!this.closed && this.reading) this.readMessages();
  }

  /** Stop reading, send what is queued, then close (the peer sees EOF). */
  end(reason: string | null = null): void {
    if (this.closed) return;
    this.reading = false;
    this.closeWhenFlushed = reason;
    if (this.queued === 0) this.close(reason);
    else this.updatePoll();
  }

  /** Close now: stop polling before closing the fd (epoll must not see a reused fd). */
  close(reason: string | null = null): void {
    if (this.closed) return;
    this.closed = true;
    const n = native();
    if (this.poll) {
      n.pollStop(this.poll);
      this.poll = null;
    }
    try {
      n.close(this.fd);
    } catch {
      /* already gone: nothing left to release */
    }
    this.releaseFds(this.fds);
    this.fds = [];
    this.out = [];
    this.outHead = 0;
    this.outBytes = 0;
    this.handlers.onClose(reason);
  }

  private onReady(status: number, events: number): void {
    if (this.closed) return;
    if (status < 0) {
      this.close(`poll error ${status}`);
      return;
    }
    if (events & POLL_WRITABLE) this.flush();
    if (!this.closed && this.readingNow && events & POLL_READABLE) this.readMessages();
  }

  private get queued(): number {
    return this.out.length - this.outHead;
  }

  /** Reading requests: wanted and not held back by unsent replies. */
  private get readingNow(): boolean {
    return this.reading && this.outBytes <= HIGH_WATER;
  }

  private updatePoll(): void {
    if (!this.poll || this.closed) return;
    const ev = (this.readingNow ? POLL_READABLE : 0) | (this.queued > 0 ? POLL_WRITABLE : 0);
    native().pollUpdate(this.poll, ev || POLL_READABLE);
  }

  private flush(): void {
    const n = native();
    while (this.queued > 0 && !this.closed) {
      const o = this.out[this.outHead]!;
      let sent: number;
      try {
        sent = n.send(this.fd, o.buf, o.off, o.buf.length - o.off, o.off === 0 ? o.fds : []);
      } catch (e) {
        this.close(isNativeError(e) ? `send failed: ${e.code}` : `send failed: ${String(e)}`);
        return;
      }
      if (sent < 0) break; // socket full: wait for POLL_WRITABLE
      o.off += sent;
      this.outBytes -= sent;
      if (o.off >= o.buf.length) this.outHead++;
    }
    if (this.closed) return;
    if (this.queued === 0) {
      this.out = [];
      this.outHead = 0;
    } else if (this.outHead > 1024 && this.outHead * 2 > this.out.length) {
      this.out = this.out.slice(this.outHead);
      this.outHead = 0;
    }
    if (this.queued === 0 && this.closeWhenFlushed !== undefined) {
      this.close(this.closeWhenFlushed);
      return;
    }
    this.updatePoll();
  }

  private readMessages(): void {
    const n = native();
    for (let handled = 0; handled < MESSAGES_PER_WAKEUP && this.readingNow && !this.closed; ) {
      const inHeader = this.header === null;
      const buf = inHeader ? this.headerBuf : this.body!;
      const got = inHeader ? this.headerGot : this.bodyGot;
      let r;
      try {
        r = n.recv(this.fd, buf, got, buf.length - got);
      } catch (e) {
        this.close(isNativeError(e) ? `receive failed: ${e.code}` : `receive failed: ${String(e)}`);
        return;
      }
      if (r.fds.length > 0) this.fds.push(...r.fds);
      if (r.truncated) this.fdsTruncated = true;
      if (r.bytes < 0) return; // drained; wait for the next readiness callback
      if (r.bytes === 0) {
        const partial = this.headerGot > 0 || this.header !== null;
        this.close(
          partial
            ? `peer closed in the middle of a message (${this.header ? `${this.bodyGot}/${this.header.size - HEADER_SIZE} body bytes` : `${this.headerGot}/${HEADER_SIZE} header bytes`})`
            : null,
        );
        return;
      }
      if (inHeader) {
        this.headerGot += r.bytes;
        if (this.headerGot < HEADER_SIZE) continue;
        const h = decodeHeader(this.headerBuf);
        if (h.size < HEADER_SIZE || h.size > this.maxMessageSize) {
          this.reading = false;
          this.updatePoll();
          this.releaseFds(this.fds);
          this.fds = [];
          const reason =
            h.size < HEADER_SIZE
              ? `message size ${h.size} is smaller than the ${HEADER_SIZE}-byte header`
              : `message size ${h.size} exceeds the limit of ${this.maxMessageSize} bytes`;
          this.handlers.onBadFrame(h, reason);
          if (!this.closed && this.closeWhenFlushed === undefined) this.end(reason);
          return;
        }
        this.header = h;
        this.body = Buffer.alloc(h.size - HEADER_SIZE);
        this.bodyGot = 0;
      } else {
        this.bodyGot += r.bytes;
      }
      if (this.header && this.bodyGot === this.body!.length) {
        const msg: Message = { header: this.header, payload: this.body!, fds: this.fds, fdsTruncated: this.fdsTruncated };
        this.header = null;
        this.body = null;
        this.headerGot = 0;
        this.bodyGot = 0;
        this.fds = [];
        this.fdsTruncated = false;
        handled++;
        this.handlers.onMessage(msg);
      }
    }
  }

  private releaseFds(fds: number[]): void {
    const n = native();
    for (const fd of fds) {
      try {
        n.close(fd);
      } catch {
        /* nothing to release */
      }
    }
  }
}
