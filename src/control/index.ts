/** The `mtty serve` daemon, its protocol and its clients. */
export { ControlServer, type ServerOptions } from './server.js';
export { SocketClient, InProcessClient, type ControlTransport } from './client.js';
export { MttyService, type ServiceOptions, type TypeInfo, type DeviceEntry, type ListOptions, type ModifyArgs, type MttyLibrary } from './service.js';
export { OpRegistry, registerOp, builtinOps, type OpHandler, type OpContext } from './ops.js';
export { DefinitionStore, type Definition, type StartPolicy } from './definitions.js';
export { defaultSocketPath, defaultConfigDir } from './paths.js';
export { GuestSession, type ConsoleInfo, type ConsoleCounters } from './guest-session.js';
export { HostLines, type PortLineStatus, type AttachOptions as HostAttachOptions } from './host-lines.js';
export * from './protocol.js';
export { startDaemon, type Daemon, type DaemonOptions } from './daemon.js';
