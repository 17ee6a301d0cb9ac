/**
 * A vfio-user server for one device on one UNIX socket (mode 0600).
 *
 * One client at a time, like a VFIO device fd that one VMM holds: the device
 * is opened (VfioDevice) when a client connects and closed when it leaves,
 * so the next client starts from the kernel's "first open" state (no
 * eventfds, no mask) while the UART keeps its registers (as mtty does).
 *
 * A second client is accepted only to be told why it cannot stay: its first
 * request gets an EBUSY error reply, then the connection is closed and the
 * refusal is logged. The serving client is not disturbed.
 *
 * Events (for the daemon, tests and the lab; no polling or sleeps needed):
 *   'connect'    ()                       a client was given the device
 *   'disconnect' (reason: string | null)  it left (null = orderly close)
 *   'refuse'     (reason: string)         a client was turned away
 *   'close'      ()                       the server stopped listening
 */
import { EventEmitter } from 'node:events';
import { lstatSync, unlinkSync } from 'node:fs';
import { ERRNO, MttyError, fail, isMttyError } from '../errors/errno.js';
import type { VfioDevice } from '../vfio/api.js';
import { Channel, type ChannelOptions } from './channel.js';
import { isNativeError, native, POLL_READABLE, type PollHandle } from './native.js';
import { FLAG_ERROR, MAX_MESSAGE_SIZE, SERVER_MAX_MSG_FDS, TYPE_REPLY, encodeMessage, isReply, type Header } from './protocol.js';
import { VfioUserSession } from './session.js';

/** How long the listener rests after a failed accept (EMFILE, ENFILE, ENOMEM). */
const ACCEPT_BACKOFF_MS = 100;

/**
 * Options of VfioUserServer.listen: socket path, how to open the device for a client, a name for logs, log.
 */
export interface VfioUserServerOptions {
  /** Socket path; created 0600, removed again by close(). */
  socketPath: string;
  /** Opens the device for a new client (MdevDevice.open). */
  open: () => VfioDevice;
  /** Name used in log lines, e.g. the mdev UUID. */
  name?: string;
  /** Log sink (one line per call, no newline). Default: stderr. */
  log?: (line: string) => void;
  /**
   * ms a client may leave a message incomplete (half a header, part of a
   * body) before it is disconnected and the device freed; 0 = forever.
   * Default INCOMPLETE_MESSAGE_TIMEOUT_MS.
   */
  incompleteTimeoutMs?: number;
}

/**
 * Default for incompleteTimeoutMs. QEMU writes each message with one
 * sendmsg, so a message split for this long comes from a stuck or hostile
 * client; 5 s is QEMU's own default wait for a reply (x-msg-timeout).
 */
export const INCOMPLETE_MESSAGE_TIMEOUT_MS = 5000;

/** Connections being turned away at once; more are closed without a word. */
const MAX_REFUSING = 8;

/**
 * A vfio-user server for one device on a UNIX socket (libvfio-user's protocol as QEMU's
 * vfio-user-pci speaks it): each message becomes a VfioDevice call; errors go back as the
 * errno; interrupts signal the client's eventfds. One client at a time (a second is refused
 * with EBUSY). Emits 'connect' and 'disconnect'. Needs the native addon.
 */
export class VfioUserServer extends EventEmitter {
  readonly socketPath: string;
  readonly name: string;
  private readonly openDevice: () => VfioDevice;
  private readonly log: (line: string) => void;
  private readonly channelOptions: ChannelOptions;
  private listenFd: number;
  private listenPoll: PollHandle | null;
  private client: { channel: Channel; session: VfioUserSession } | null = null;
  private readonly refusing = new Set<Channel>();
  private closed = false;

  private constructor(opts: VfioUserServerOptions, fd: number) {
    super();
    this.socketPath = opts.socketPath;
    this.name = opts.name ?? opts.socketPath;
    this.openDevice = opts.open;
    const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
    this.log = (line) => log(`vfio-user ${this.name}: ${line}`);
    this.channelOptions = {
      maxMessageSize: MAX_MESSAGE_SIZE,
      maxFds: SERVER_MAX_MSG_FDS, // accept exactly what VERSION advertises
      incompleteTimeoutMs: opts.incompleteTimeoutMs ?? INCOMPLETE_MESSAGE_TIMEOUT_MS,
    };
    this.listenFd = fd;
    this.listenPoll = native().pollStart(fd, POLL_READABLE, () => this.acceptAll());
  }

  /**
   * Start listening. A stale socket file left by a dead server is replaced;
   * a live one is EADDRINUSE; any other file at the path is EEXIST.
   */
  static listen(opts: VfioUserServerOptions): VfioUserServer {
    const n = native();
    let exists: boolean;
    try {
      exists = true;
      if (!lstatSync(opts.socketPath).isSocket()) fail('EEXIST', `${opts.socketPath} exists and is not a socket`);
    } catch (e) {
      if (isMttyError(e)) throw e;
      exists = false;
    }
    if (exists) {
      let live = false;
      try {
        const fd = n.connect(opts.socketPath, true);
        if (fd >= 0) n.close(fd);
        live = true; // connected, or the backlog is full: someone is listening
      } catch {
        /* ECONNREFUSED: nobody listens, the file is stale */
      }
      if (live) throw new MttyError('EBUSY', `another server is already listening on ${opts.socketPath}`);
    }
    let fd: number;
    try {
      fd = n.listen(opts.socketPath, 4);
    } catch (e) {
      throw toMttyError(e, `cannot listen on ${opts.socketPath}`);
    }
    return new VfioUserServer(opts, fd);
  }

  /** Let the process exit while this server is idle-listening (like net.Server.unref). */
  unref(): this {
    if (this.listenPoll) native().pollRef(this.listenPoll, false);
    return this;
  }

  ref(): this {
    if (this.listenPoll) native().pollRef(this.listenPoll, true);
    return this;
  }

  /** Whether a client currently holds the device. */
  get busy(): boolean {
    return this.client !== null;
  }

  /** Stop listening, disconnect the client (closing the device), remove the socket. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    const n = native();
    if (this.listenPoll) n.pollStop(this.listenPoll);
    this.listenPoll = null;
    try {
      n.close(this.listenFd);
    } catch {
      /* already closed */
    }
    this.listenFd = -1;
    try {
      unlinkSync(this.socketPath);
    } catch {
      /* removed by someone else: fine */
    }
    this.client?.channel.close('server shutting down');
    for (const c of [...this.refusing]) c.close('server shutting down');
    this.emit('close');
    return Promise.resolve();
  }

  private acceptAll(): void {
    const n = native();
    while (!this.closed) {
      let fd: number;
      try {
        fd = n.accept(this.listenFd);
      } catch (e) {
        // EMFILE and friends: the pending connection stays queued, so the listening
        // fd stays readable and retrying at once would spin a core. Stop watching
        // it for a moment; the queued client is accepted when fds are free again.
        this.log(`accept failed: ${(e as Error).message}; retrying in ${ACCEPT_BACKOFF_MS} ms`);
        if (this.listenPoll) n.pollUpdate(this.listenPoll, 0);
        const t = setTimeout(() => {
          if (!this.closed && this.listenPoll) n.pollUpdate(this.listenPoll, POLL_READABLE);
        }, ACCEPT_BACKOFF_MS);
        t.unref();
        return;
      }
      if (fd < 0) return;
      this.admit(fd);
    }
  }

  private admit(fd: number): void {
    // A client that hung up just before this one connected may not have been
    // polled yet (both fds become ready in the same loop turn): settle it.
    this.client?.channel.pump();
    if (this.client) {
      this.refuse(fd, 'EBUSY', `the device is in use by another client; one client at a time`);
      return;
    }
    let device: VfioDevice;
    try {
      device = this.openDevice();
    } catch (e) {
      const err = toMttyError(e, 'cannot open the device');
      this.refuse(fd, err.code, `opening the device failed: ${err.message}`);
      return;
    }
    const session = new VfioUserSession(device, this.log);
    let channel: Channel | null = null;
    channel = new Channel(
      fd,
      {
        onMessage: (msg) => {
          const r = session.handle(msg);
          if (!r.closeReason) return r.reply; // queued by the channel, sent with the batch
          if (r.reply) channel!.send(r.reply);
          channel!.end(r.closeReason);
        },
        onQuick: (m, size, out, at) => session.quick(m, size, out, at),
        onBadFrame: (h, reason) => {
          this.log(`malformed message from the client: ${reason}; disconnecting`);
          if (!isReply(h)) channel!.send(errorReply(h, reason.includes('exceeds') ? ERRNO.EMSGSIZE : ERRNO.EINVAL));
        },
        onClose: (reason) => {
          session.dispose();
          if (this.client?.channel === channel) this.client = null;
          if (reason) this.log(`client disconnected: ${reason}`);
          this.emit('disconnect', reason);
        },
      },
      this.channelOptions,
    );
    this.client = { channel, session };
    this.emit('connect');
  }

  /**
   * Turn a connection away with a reason it can read: the reply to its first
   * request is an error with `code`'s errno. The client's connect() itself
   * succeeded (the kernel accepted it), so this is the earliest answer it can
   * get within the protocol.
   */
  private refuse(fd: number, code: MttyError['code'], reason: string): void {
    this.log(`refusing a client: ${reason}`);
    if (this.refusing.size >= MAX_REFUSING) {
      try {
        native().close(fd);
      } catch {
        /* gone */
      }
      this.emit('refuse', reason);
      return;
    }
    const errno = ERRNO[code];
    let channel: Channel | null = null;
    channel = new Channel(
      fd,
      {
        onMessage: (msg) => {
          for (const f of msg.fds) {
            try {
              native().close(f);
            } catch {
              /* gone */
            }
          }
          if (!isReply(msg.header)) channel!.send(errorReply(msg.header, errno));
          channel!.end(reason);
        },
        onBadFrame: (h) => {
          if (!isReply(h)) channel!.send(errorReply(h, errno));
        },
        onClose: () => {
          this.refusing.delete(channel!);
        },
      },
      this.channelOptions,
    );
    this.refusing.add(channel);
    this.emit('refuse', reason);
  }
}

function errorReply(h: Header, errno: number): Buffer {
  return encodeMessage({ id: h.id, command: h.command, flags: TYPE_REPLY | FLAG_ERROR, error: errno });
}

function toMttyError(e: unknown, what: string): MttyError {
  if (isMttyError(e)) return e;
  if (isNativeError(e) && e.code in ERRNO) return new MttyError(e.code as MttyError['code'], `${what}: ${e.message}`);
  return new MttyError('EIO', `${what}: ${(e as Error)?.message ?? String(e)}`);
}

