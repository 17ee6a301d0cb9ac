/**
 * How a verb reaches mtty. By default it talks to the daemon on the default
 * control socket (or the one given with --socket). With --embedded it loads
 * mtty in this very process, runs the one operation and exits: handy for
 * `mtty types` or `mtty list --defined` without a daemon, useless for keeping
 * devices (they vanish with the process). Programs that want mtty in-process
 * for longer use the library (loadMtty) or MttyService + InProcessClient.
 */
import { InProcessClient, SocketClient, type ControlTransport } from '../control/client.js';
import { defaultSocketPath } from '../control/paths.js';
import { resolve } from 'node:path';
import { flag, optString, type Parsed } from './args.js';
import { UsageError } from './types.js';

/** Tests and the lab may inject a transport instead of a socket or an embedded service. */
let injected: (() => Promise<ControlTransport>) | null = null;

export function setTransportFactory(f: (() => Promise<ControlTransport>) | null): void {
  injected = f;
}

export async function withTransport<T>(p: Parsed, fn: (t: ControlTransport) => Promise<T>): Promise<T> {
  const socket = optString(p, 'socket');
  if (flag(p, 'embedded') && socket) throw new UsageError('--embedded and --socket exclude each other');
  let t: ControlTransport;
  if (injected && !flag(p, 'embedded') && !socket) t = await injected();
  else if (flag(p, 'embedded')) {
    // Loaded only here: the service pulls in the device model and the wasm core.
    const { MttyService } = await import('../control/service.js');
    t = new InProcessClient(await MttyService.start({ configDir: optString(p, 'config-dir') }));
  }
  else t = await SocketClient.connect(socket ?? defaultSocketPath());
  try {
    return await fn(t);
  } finally {
    await t.close();
  }
}

/** The configDir argument to forward: only when the user named one, else the daemon's own applies. */
export function configDirArg(p: Parsed): { configDir?: string } {
  const d = optString(p, 'config-dir');
  return d ? { configDir: resolve(d) } : {}; // the daemon's cwd is not ours
}

export function print(io: { stdout: NodeJS.WritableStream }, text: string): void {
  io.stdout.write(text.endsWith('\n') || text === '' ? text : text + '\n');
}

export function printJson(io: { stdout: NodeJS.WritableStream }, v: unknown): void {
  io.stdout.write(JSON.stringify(v, null, 2) + '\n');
}
