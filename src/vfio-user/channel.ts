/**
 * A framed vfio-user message stream over one connected AF_UNIX socket whose
 * fd the native addon owns. Used by both the server (one per client) and the
 * client.
 *
 * I/O model: the addon's conn* functions (native/vfio_user_native.c) do the
 * whole receive path in C on the JS thread: libuv reports the fd readable,
 * one recvmsg() takes every queued byte (header and body together, and every
 * pipelined request), the addon splits messages and calls back into JS once
 * per message, synchronously; the reply the handler returns is queued, and
 * one sendmsg() sends all replies of the batch. The poll mask changes only
 * when it must (socket full, back-pressure, the end). That is 3 syscalls per
 * request at low load, as for libvfio-user's blocking loop, and fewer per
 * request when they are pipelined (docs/vfio-user.md, "Speed").
 *
 * Fds: every fd the kernel hands back belongs to the message holding the last
 * byte of the read that returned it (a stream recvmsg never reads past an skb
 * that carried fds); the addon attaches them to that message. More than
 * `maxFds` on one message marks it `fdsTruncated` (the kernel closes the
 * excess); the handler answers it with an error and closes the rest.
 *
 * Limits (checked in C before any JS runs): a header below 16 bytes or above
 * `maxMessageSize` is a bad frame (stop reading, one error reply, close);
 * an incomplete message that sees no byte for `incompleteTimeoutMs` ends the
 * connection; more than 4 MiB of unsent replies stops reading requests until
 * the peer takes them.
 */
import { native, type ConnHandle } from './native.js';
import { HEADER_SIZE, decodeHeader, type Header, type Message } from './protocol.js';

export interface ChannelHandlers {
  /**
   * A complete message. Owns msg.fds: close the ones it does not keep.
   * A returned Buffer is queued as the reply (sent with the batch's replies).
   */
  onMessage(msg: Message): Buffer | null | void;
  /**
   * Optional hot path, offered first every message of at most QUICK_MAX
   * bytes that carries no fds: the raw message is `m[0..size)`; write the
   * reply at `out[at..]` (at most QUICK_MAX bytes) and return its length,
   * return -1 if the message was handled with nothing to send, or return 0
   * to have it delivered to onMessage instead. Nothing is allocated
   * on this path (the buffers are the channel's scratch, reused: copy what
   * you keep).
   */
  onQuick?(m: Buffer, size: number, out: Buffer, at: number): number;
  /**
   * The header announced a size we will not read (below 16, or above the
   * limit). The stream cannot be trusted after this; the channel stops
   * reading, lets the handler queue a last (error) reply, then closes.
   */
  onBadFrame(header: Header, reason: string): void;
  /** Closed (once). `reason` is null for an orderly EOF between messages. */
  onClose(reason: string | null): void;
}

export interface ChannelOptions {
  /** Largest message accepted, header included (bytes). */
  maxMessageSize: number;
  /** Most fds one message may carry (what VERSION advertised as max_msg_fds). */
  maxFds: number;
  /** ms an incomplete message may sit without a new byte before the connection ends; 0 = forever. */
  incompleteTimeoutMs?: number;
}

const EV_MESSAGE = 0;
const EV_BAD_FRAME = 1;
const EV_ENDED = 2;
const EV_DRAINED = 3;
const EV_QUICK = 4;

/** Largest message offered to onQuick, and the reply's offset in the scratch buffer (native CONN_QUICK_MAX). */
export const QUICK_MAX = 128;

export class Channel {
  readonly fd: number;
  private conn: ConnHandle | null;
  private readonly handlers: ChannelHandlers;
  private readonly scratch: Buffer | null;
  /** Set by end(): the reason to close with once the replies are sent. */
  private closeWhenFlushed: string | null | undefined = undefined;
  private closed = false;

  constructor(fd: number, handlers: ChannelHandlers, opts: ChannelOptions) {
    this.fd = fd;
    this.handlers = handlers;
    this.scratch = handlers.onQuick ? Buffer.alloc(2 * QUICK_MAX) : null;
    this.conn = native().connOpen(
      fd,
      opts.maxMessageSize,
      opts.maxFds,
      opts.incompleteTimeoutMs ?? 0,
      (kind, a, b) => this.onEvent(kind, a, b),
      this.scratch,
    );
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /**
   * Queue one whole message; `fds` go with its first byte. Sent at once when
   * the socket has room (inside a message callback: with the batch); the
   * rest waits for a writable event. Strictly FIFO, never interleaved.
   */
  send(buf: Buffer, fds: readonly number[] = []): void {
    if (this.closed || this.closeWhenFlushed !== undefined || !this.conn) return;
    native().connSend(this.conn, buf, fds);
  }

  /**
   * Read whatever is already queued on the socket now, without waiting for
   * the poll callback. The server calls this before refusing a newcomer: if
   * the current client has in fact hung up (EOF queued, not yet polled), the
   * EOF is processed first and the newcomer gets the device instead of EBUSY.
   */
  pump(): void {
    if (!this.closed && this.closeWhenFlushed === undefined && this.conn) native().connPump(this.conn);
  }

  /** Stop reading, send what is queued, then close (the peer sees EOF). */
  end(reason: string | null = null): void {
    if (this.closed || this.closeWhenFlushed !== undefined || !this.conn) return;
    this.closeWhenFlushed = reason;
    if (native().connEnd(this.conn)) this.close(reason);
  }

  /** Close now: the addon stops polling before it closes the fd (epoll must not see a reused fd). */
  close(reason: string | null = null): void {
    if (this.closed) return;
    this.closed = true;
    if (this.conn) native().connClose(this.conn);
    this.conn = null;
    this.handlers.onClose(reason);
  }

  private onEvent(kind: number, a: unknown, b: unknown): Buffer | number | null | void {
    if (this.closed) return;
    switch (kind) {
      case EV_QUICK:
        return this.handlers.onQuick!(this.scratch!, a as number, this.scratch!, QUICK_MAX);
      case EV_MESSAGE: {
        const buf = a as Buffer;
        const fds = (b as (number[] & { truncated?: boolean }) | null) ?? [];
        return this.handlers.onMessage({
          header: decodeHeader(buf),
          payload: buf.subarray(HEADER_SIZE),
          fds,
          fdsTruncated: fds.truncated === true,
        });
      }
      case EV_BAD_FRAME:
        this.handlers.onBadFrame(decodeHeader(a as Buffer), b as string);
        if (!this.closed && this.closeWhenFlushed === undefined) this.end(b as string);
        return;
      case EV_ENDED:
        this.close(a as string | null);
        return;
      case EV_DRAINED:
        if (this.closeWhenFlushed !== undefined) this.close(this.closeWhenFlushed);
        return;
    }
  }
}
