/**
 * `mtty/control`: the `mtty serve` daemon and its clients. A program talks to
 * a running daemon with SocketClient, or runs the very same operations in its
 * own process with MttyService + InProcessClient (what `--embedded` does).
 * Protocol: newline-delimited JSON over a 0600 UNIX socket (docs/ARCHITECTURE.md).
 */
export { SocketClient, InProcessClient, type ControlTransport } from './client.js';
export { MttyService, type ServiceOptions, type TypeInfo, type DeviceEntry, type MttyLibrary } from './service.js';
export type { Definition, StartPolicy } from './definitions.js';
export { defaultSocketPath, defaultConfigDir } from './paths.js';
export { GuestSession, type ConsoleInfo, type ConsoleCounters } from './guest-session.js';
export { HostLines, type PortLineStatus, type AttachOptions as HostAttachOptions } from './host-lines.js';
export { MAX_LINE_BYTES, type ControlRequest, type ControlReply, type WireError } from './protocol.js';
export { startDaemon, type Daemon, type DaemonOptions } from './daemon.js';
