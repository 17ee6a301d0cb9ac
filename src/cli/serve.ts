/**
 * `mtty serve`: run the daemon in the foreground until SIGINT/SIGTERM (or a
 * client's `shutdown` op), then remove the socket and exit 0. Every other
 * verb talks to it over the control socket.
 */
import type { CliCommand, CliIO } from './types.js';
import { UsageError } from './types.js';
import { flag, optInt, optString, parse, profileOption, PROFILE_CHOICES, PROFILE_HELP } from './args.js';
import { startDaemon } from '../control/daemon.js';
import { mdevctlShellLine } from '../sysfs-export/index.js';

const serve: CliCommand = {
  summary: 'run the mtty daemon (owns the devices; other verbs talk to it)',
  usage:
    `usage: mtty serve [--socket PATH] [--ports N] [--profile ${PROFILE_CHOICES}] [--config-dir DIR] [--no-autostart] [--vfio-user DIR [--record FILE]] [--sysfs-root DIR [--sysfs-mode auto|fuse|mirror]] [--driver FILE]...\n` +
    '  --socket PATH     control socket (default $XDG_RUNTIME_DIR/mtty/control.sock, else /tmp/mtty-$UID/control.sock)\n' +
    '  --ports N         size of the shared port pool (default 24, as MAX_MTTYS)\n' +
    `  --profile P       UART model: ${PROFILE_HELP}\n` +
    '  --config-dir DIR  definition store, mdevctl layout DIR/<parent>/<uuid> (default: SYSROOT/etc/mdevctl.d with\n' +
    '                    --sysfs-root SYSROOT, shared with the real mdevctl; else $XDG_CONFIG_HOME/mtty/etc/mdevctl.d)\n' +
    '  --no-autostart    do not start "auto" definitions\n' +
    '  --vfio-user DIR   also serve every device as DIR/<uuid>.sock (vfio-user, for QEMU); DIR must be yours,\n' +
    '                    not group/world-writable (created 0700 if missing)\n' +
    "  --record FILE     write every vfio-user client's accesses to FILE (mtty replay format, a DEVICE column per port)\n" +
    '  --sysfs-root DIR  export /sys as DIR/sys for the real mdevctl (run it with the `unshare` line printed at start)\n' +
    '                    (DIR/sys is the daemon\'s and is deleted on exit; DIR must be yours and not group/world-writable)\n' +
    '  --sysfs-mode M    auto (default): a FUSE mount where /dev/fuse works, so a refused write fails the writer\n' +
    '                    with its errno as in sysfs; else the plain mirror, where a refused write is only logged here.\n' +
    '                    fuse: FUSE or fail; mirror: plain files (create/remove are FIFOs: no write is lost)\n' +
    '  --driver FILE     also register the vendor driver in FILE (a module exporting register(bus, { clock }),\n' +
    '                    e.g. dist/examples/countdown-timer.js); repeatable',
  async run(argv: string[], io: CliIO) {
    const p = parse(argv, {
      socket: { type: 'string' },
      ports: { type: 'string' },
      profile: { type: 'string' },
      'config-dir': { type: 'string' },
      'no-autostart': { type: 'boolean' },
      'vfio-user': { type: 'string' },
      record: { type: 'string' },
      'sysfs-root': { type: 'string' },
      driver: { type: 'string', multiple: true },
      'sysfs-mode': { type: 'string' },
    });
    const sysfsMode = optString(p, 'sysfs-mode') ?? 'auto';
    if (sysfsMode !== 'auto' && sysfsMode !== 'fuse' && sysfsMode !== 'mirror') throw new UsageError(`--sysfs-mode must be auto, fuse or mirror, got '${sysfsMode}'`);
    const profile = profileOption(optString(p, 'profile'));
    if (optString(p, 'record') !== undefined && optString(p, 'vfio-user') === undefined) {
      throw new UsageError('--record FILE records vfio-user clients: add --vfio-user DIR');
    }
    const log = (line: string) => io.stderr.write(`mtty serve: ${line}\n`);
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => (stop = resolve));
    const daemon = await startDaemon({
      socketPath: optString(p, 'socket'),
      ports: optInt(p, 'ports'),
      profile,
      configDir: optString(p, 'config-dir'),
      autostart: !flag(p, 'no-autostart'),
      vfioUserDir: optString(p, 'vfio-user'),
      recordFile: optString(p, 'record'),
      sysfsRoot: optString(p, 'sysfs-root'),
      drivers: (p.values.driver as string[] | undefined) ?? [],
      sysfsMode,
      log,
      onShutdownRequest: () => stop(),
    });
    const onSignal = (sig: NodeJS.Signals) => {
      log(`${sig}: shutting down`);
      stop();
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    io.stdout.write(`mtty serve: listening on ${daemon.server.socketPath} (pid ${process.pid})\n`);
    io.stdout.write(`mtty serve: definitions in ${daemon.service.store().dir} (mdevctl's layout)\n`);
    const vfioUserDir = optString(p, 'vfio-user');
    if (vfioUserDir) io.stdout.write(`mtty serve: vfio-user: each device as ${vfioUserDir}/<uuid>.sock; the log gives each one's QEMU -device option\n`);
    if (daemon.sysfsExport) {
      const how = daemon.sysfsExport.mode === 'fuse' ? 'mounted (FUSE)' : 'mirrored';
      io.stdout.write(`mtty serve: sysfs ${how} under ${daemon.sysfsExport.root}; run mdevctl as:\n  ${mdevctlShellLine(daemon.sysfsExport.root)} types\n`);
    }
    for (const u of daemon.autostarted.started) io.stdout.write(`mtty serve: started ${u} (auto)\n`);
    try {
      await stopped;
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await daemon.close();
    }
    return 0;
  },
};

export const commands: Record<string, CliCommand> = { serve };
