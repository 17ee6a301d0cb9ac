import { realClock, type Clock } from '../clock/clock.js';
import { fail } from '../errors/errno.js';
import { MdevBus } from '../mdev/bus.js';
import type { MdevDevice } from '../mdev/device.js';
import type { MdevParent } from '../mdev/parent.js';
import { Sysfs } from '../mdev/sysfs.js';
import { MTTY_DEFAULT_PORTS, MTTY_NAME, mttyParentPath } from './constants.js';
import { createWasmUart } from './default-uart.js';
import type { MttyDevice } from './device.js';
import { MttyDriver } from './driver.js';
import type { UartFactory, UartProfile } from './port-uart.js';
import { parseUartProfile, DEFAULT_UART_PROFILE } from '../uart/profile.js';

/**
 * Options of loadMtty: pool size (ports), UART profile, clock, a shared bus, parent name, RESET flag, UART factory.
 */
export interface LoadMttyOptions {
  /** Size of the shared port pool (MAX_MTTYS), default 24. */
  ports?: number;
  /** UART model of every port, a name from src/uart/profile.ts (default 'pc16550d', the datasheet; 'mtty', the sample's quirks). */
  profile?: UartProfile;
  /** Time source for the UARTs' character timeout; ManualClock in tests. */
  clock?: Clock;
  /** Join an existing bus (several parents share one UUID namespace). */
  bus?: MdevBus;
  /** Parent device name, default "mtty" (a second parent needs another name). */
  name?: string;
  /** Advertise VFIO_DEVICE_FLAGS_RESET in GET_INFO (the sample does not; default false). */
  advertiseReset?: boolean;
  /** Build the UART of each port; default the wasm Uart. */
  createUart?: UartFactory;
}

/**
 * The loaded mtty parent: its bus, parent, sysfs facade and driver, a typed device lookup, and unload (rmmod).
 */
export interface LoadedMtty {
  bus: MdevBus;
  parent: MdevParent<MttyDevice>;
  sysfs: Sysfs;
  driver: MttyDriver;
  /** bus.device() typed for this parent: the mdev with that UUID if it is one of mtty's. */
  device(uuid: string): MdevDevice<MttyDevice> | undefined;
  /** rmmod: remove every device (waiting for openers to close), then the parent. */
  unload(): Promise<void>;
}

/** "modprobe mtty": register the mtty parent with types mtty-1 and mtty-2. */
export async function loadMtty(opts: LoadMttyOptions = {}): Promise<LoadedMtty> {
  const ports = opts.ports ?? MTTY_DEFAULT_PORTS;
  if (!Number.isInteger(ports) || ports < 0) fail('EINVAL', `ports must be a non-negative integer, not ${String(ports)}`);
  const profile = parseUartProfile(opts.profile ?? DEFAULT_UART_PROFILE).name;
  const name = opts.name ?? MTTY_NAME;
  const bus = opts.bus ?? new MdevBus();
  const driver = new MttyDriver({
    ports,
    profile,
    clock: opts.clock ?? realClock,
    createUart: opts.createUart ?? createWasmUart,
    advertiseReset: opts.advertiseReset ?? false,
  });
  const parent = bus.registerParent({ name, className: MTTY_NAME, sysfsPath: mttyParentPath(name) }, driver);
  const device = (uuid: string) => {
    const d = bus.device(uuid);
    return d && d.parent === (parent as unknown) ? (d as unknown as MdevDevice<MttyDevice>) : undefined;
  };
  return { bus, parent, sysfs: new Sysfs(bus), driver, device, unload: () => parent.unregister() };
}
