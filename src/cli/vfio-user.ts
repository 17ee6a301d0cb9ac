/**
 * vfio-user verbs:
 *   mtty attach <uuid> --socket PATH   serve one mtty device to QEMU, in the
 *                                      foreground, until SIGINT/SIGTERM
 *   mtty vfio-user-lspci --socket PATH connect as QEMU would and print what
 *                                      the guest's lspci will show
 *
 * `attach` runs its own in-process mtty (like `--embedded`): it creates the
 * device with the given UUID and type, then serves it. With a running daemon,
 * use `mtty serve --vfio-user DIR` instead: the daemon then serves each of
 * its devices as DIR/<uuid>.sock.
 */
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { flag, optString, parse, profileOption, PROFILE_CHOICES, PROFILE_HELP } from './args.js';
import { DEFAULT_UART_PROFILE } from '../uart/profile.js';
import { parseMdevUuid } from '../mdev/uuid.js';

const ATTACH_USAGE =
  `usage: mtty attach <uuid> --socket PATH [--type mtty-1|mtty-2] [--profile ${PROFILE_CHOICES}] [--record FILE]\n` +
  '  Create mdev <uuid> in this process and serve it over vfio-user on PATH (mode 0600)\n' +
  '  until Ctrl-C. One client (QEMU) at a time; reconnecting is fine.\n' +
  '  --type      mdev type to create (default mtty-2, two ports)\n' +
  `  --profile   UART model: ${PROFILE_HELP}\n` +
  "  --record    write every access the client makes to FILE (mtty replay's trace format;\n" +
  '              check it with: mtty replay --check FILE)\n' +
  '  QEMU >= 10.1:  -device \'{"driver":"vfio-user-pci","socket":{"path":"PATH","type":"unix"}}\'';

const LSPCI_USAGE =
  'usage: mtty vfio-user-lspci --socket PATH [--json]\n' +
  "  Connect to a vfio-user server, replay QEMU's start-up messages (VERSION, DMA_MAP,\n" +
  '  GET_INFO, GET_REGION_INFO, GET_IRQ_INFO, config read), print the device as lspci\n' +
  '  would show it in the guest, and disconnect. Exit 1 if the server misbehaves.';

const attach: CliCommand = {
  summary: 'serve an mtty device over vfio-user (for QEMU vfio-user-pci) in the foreground',
  usage: ATTACH_USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const p = parse(argv, { socket: { type: 'string' }, type: { type: 'string' }, profile: { type: 'string' }, record: { type: 'string' } }, 1);
    const uuidText = p.positionals[0];
    if (!uuidText) throw new UsageError('missing <uuid>');
    const socketPath = optString(p, 'socket');
    if (!socketPath) throw new UsageError('missing --socket PATH');
    const typeId = optString(p, 'type') ?? 'mtty-2';
    const profile = profileOption(optString(p, 'profile')) ?? DEFAULT_UART_PROFILE;
    let uuid: string;
    try {
      uuid = parseMdevUuid(uuidText);
    } catch (e) {
      throw new UsageError(`<uuid>: ${(e as Error).message}`); // bad input: exit 2
    }

    const { loadMtty } = await import('../mtty/load.js');
    const { attachVfioUser, qemuDeviceOption } = await import('../vfio-user/serve.js');
    const mtty = await loadMtty({ profile });
    const type = mtty.parent.types.find((t) => t.id === typeId);
    if (!type) {
      await mtty.unload();
      throw new UsageError(`--type must be one of ${mtty.parent.types.map((t) => t.id).join(', ')}, got '${typeId}'`);
    }
    const log = (line: string) => io.stderr.write(`mtty attach: ${line}\n`);
    let server;
    let recorder: import('../replay/record.js').TraceRecorder | undefined;
    try {
      const mdev = type.create(uuid);
      const recordFile = optString(p, 'record');
      let wrap;
      if (recordFile) {
        const { TraceRecorder } = await import('../replay/record.js');
        const { mttyRecordingWrap } = await import('../mtty/record-target.js');
        recorder = new TraceRecorder(recordFile);
        wrap = mttyRecordingWrap(recorder);
        log(`recording every access to ${recordFile}`);
      }
      server = attachVfioUser(mdev, socketPath, { log, wrap });
    } catch (e) {
      recorder?.close();
      await mtty.unload();
      throw e;
    }
    server.on('connect', () => log('client connected'));
    server.on('disconnect', (reason: string | null) => log(`client disconnected${reason ? ` (${reason})` : ''}`));
    io.stdout.write(`mtty attach: serving ${uuid} (${typeId}, profile ${profile}) on ${socketPath}\n  QEMU: ${qemuDeviceOption(socketPath)}\n`);
    await new Promise<void>((resolve) => {
      const onSignal = (sig: NodeJS.Signals) => {
        log(`${sig}: shutting down`);
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        resolve();
      };
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
    });
    await server.close();
    recorder?.close();
    await mtty.unload();
    return 0;
  },
};

const lspci: CliCommand = {
  summary: "connect to a vfio-user socket as QEMU does and print the device like the guest's lspci",
  usage: LSPCI_USAGE,
  async run(argv: string[], io: CliIO): Promise<number> {
    const p = parse(argv, { socket: { type: 'string' }, json: { type: 'boolean' } });
    const socketPath = optString(p, 'socket');
    if (!socketPath) throw new UsageError('missing --socket PATH');
    const { VfioUserClient } = await import('../vfio-user/client.js');
    const { qemuStartup } = await import('../vfio-user/qemu-startup.js');
    const { formatStartupReport } = await import('../vfio-user/lspci.js');
    const client = VfioUserClient.connect(socketPath);
    try {
      const report = await qemuStartup(client, { intx: false });
      if (flag(p, 'json')) {
        io.stdout.write(JSON.stringify({ ...report, config: [...report.config] }, null, 2) + '\n');
      } else {
        io.stdout.write(formatStartupReport(report, socketPath));
      }
      return 0;
    } finally {
      await client.close();
    }
  },
};

export const commands: Record<string, CliCommand> = {
  attach,
  'vfio-user-lspci': lspci,
};
