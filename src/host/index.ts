/** Public surface of the host layer (what the daemon, the CLI and library users import). */
export { parseSpec, formatSpec, type BackendSpec, type BackendKind } from './spec.js';
export { createBackend, type CreateBackendOptions } from './create.js';
export { attachBackend, attachmentOf, type Attachment } from './attach.js';
export type { HostBackend, HostEvent, HostStatus, HostState } from './backend.js';
export { HostRegistry, type PortLineStatus, type HostRegistryOptions } from './registry.js';
export { hostOps, hostAttachOp, hostDetachOp, hostStatusOp, type DeviceLookup, type HostDevice } from './control-op.js';
export { MODEM_IN, MODEM_OUT, MODEM_CONNECTED, MODEM_DISCONNECTED, type HostUart, type LineSettings } from './uart-port.js';
export { TX_BUFFER_LIMIT } from './stream-link.js';
export { hostUartOf, isHostUart } from './port-adapter.js';
