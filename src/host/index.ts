/**
 * Public surface of the host layer: back-ends that put a host stream on a
 * port's line. Who holds which line is the control layer's record
 * (src/control/host-lines.ts); a back-end only takes a port (HostPort).
 */
export { parseSpec, formatSpec, type BackendSpec, type BackendKind } from './spec.js';
export { createBackend, type CreateBackendOptions } from './create.js';
export type { HostBackend, HostEvent, HostStatus, HostState } from './backend.js';
export { MODEM_IN, MODEM_OUT, MODEM_CONNECTED, MODEM_DISCONNECTED, charTimeNs, type HostPort, type HostLink, type LineSettings } from './uart-port.js';
export { TX_BUFFER_LIMIT } from './stream-link.js';
