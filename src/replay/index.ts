/** src/replay: register-trace parsing and replay against the UART model. */
export { parseTrace, traceDevices, TraceError } from './trace.js';
export type { Trace, TraceEvent } from './trace.js';
export { replayAll, replayTrace } from './replay.js';
export type { ReplayResult, ReplayRead, ReplayMismatch, ReplayOptions } from './replay.js';
