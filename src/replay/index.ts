/** src/replay: register-trace parsing and replay against the UART model. */
export { parseTrace, TraceError } from './trace.js';
export type { Trace, TraceEvent } from './trace.js';
export { replayTrace } from './replay.js';
export type { ReplayResult, ReplayRead, ReplayMismatch, ReplayOptions } from './replay.js';
