/**
 * The message sequence QEMU's `vfio-user-pci` (QEMU >= 10.1) sends when it
 * realizes the device, replayed by our client. Tests use it to prove the
 * server copes with exactly what QEMU does; `mtty vfio-user-lspci` uses it to
 * show what a guest would see.
 *
 * Order, from hw/vfio-user/{pci,proxy,container,device}.c and hw/vfio/pci.c:
 *   1. VERSION with QEMU's capabilities JSON
 *   2. DMA_MAP for guest RAM (no fd unless the memory backend is shared)
 *   3. DEVICE_GET_INFO
 *   4. DEVICE_GET_REGION_INFO for every region
 *   5. DEVICE_GET_IRQ_INFO for ERR and REQ (mtty answers EINVAL; QEMU moves on)
 *   6. REGION_READ of the config space (the whole region)
 *   7. INTx set-up, as vfio_intx_enable + vfio_intx_enable_kvm do under KVM:
 *        SET_IRQS TRIGGER|EVENTFD (0x24) with the interrupt eventfd
 *        SET_IRQS MASK|NONE       (0x09)
 *        SET_IRQS UNMASK|EVENTFD  (0x14) with a resample eventfd -> ENOTTY,
 *          so QEMU drops the resample irqfd and unmasks by message instead
 *        SET_IRQS UNMASK|NONE     (0x11)
 * mtty does not advertise VFIO_DEVICE_FLAGS_RESET, so QEMU itself sends no
 * DEVICE_RESET; `qemuShutdown` and the tests send one anyway to cover it.
 */
import { isMttyError } from '../errors/errno.js';
import type { DeviceInfo, IrqInfo } from '../vfio/api.js';
import {
  VFIO_IRQ_SET_ACTION_MASK,
  VFIO_IRQ_SET_ACTION_TRIGGER,
  VFIO_IRQ_SET_ACTION_UNMASK,
  VFIO_IRQ_SET_DATA_EVENTFD,
  VFIO_IRQ_SET_DATA_NONE,
  VFIO_PCI_CONFIG_REGION_INDEX,
  VFIO_PCI_ERR_IRQ_INDEX,
  VFIO_PCI_INTX_IRQ_INDEX,
  VFIO_PCI_MSI_IRQ_INDEX,
  VFIO_PCI_REQ_IRQ_INDEX,
} from '../vfio/uapi.js';
import type { RegionInfoReply, VfioUserClient } from './client.js';
import { native } from './native.js';
import { qemuCapabilities, type VersionPayload } from './version.js';

/** QEMU's guest RAM below the PCI hole, as two maps (legacy + high), for a small VM. */
const GUEST_RAM = [
  { addr: 0x0, size: 0xa0000 },
  { addr: 0x100000, size: 0x7ff00000 },
];

export interface IrqProbe {
  index: number;
  info?: IrqInfo;
  /** The errno the server answered, if GET_IRQ_INFO failed. */
  errno?: number;
}

/**
 * What qemuStartup learned: protocol version, device info, region and IRQ info, config space bytes,
 * the INTx eventfd it bound, and one log line per message.
 */
export interface StartupReport {
  version: VersionPayload;
  info: DeviceInfo;
  regions: RegionInfoReply[];
  irqs: IrqProbe[];
  config: Uint8Array;
  /** INTx wiring, when the config space has an interrupt pin. */
  intx: {
    /** Our copy of the interrupt eventfd: read it to count interrupts. */
    eventfd: number;
    /** Errno of the resample (UNMASK|EVENTFD) request: ENOTTY (25) from mtty. */
    resampleErrno: number | null;
  } | null;
  /** One line per message, for logs and the CLI. */
  steps: string[];
}

/** Options of qemuStartup: whether to bind INTx to an eventfd (default true). */
export interface StartupOptions {
  /** Set up INTx (default true). */
  intx?: boolean;
}

async function probeIrq(client: VfioUserClient, index: number): Promise<IrqProbe> {
  try {
    return { index, info: await client.getIrqInfo(index) };
  } catch (e) {
    if (isMttyError(e)) return { index, errno: e.errno };
    throw e;
  }
}

/**
 * Replay QEMU 10.x vfio-user-pci's start-up sequence on a connected client (version, DMA maps,
 * device/region/IRQ info, config reads, INTx eventfd + resample) and report what the server
 * answered. Fails with the MttyError of the first request that must succeed.
 */
export async function qemuStartup(client: VfioUserClient, opts: StartupOptions = {}): Promise<StartupReport> {
  const steps: string[] = [];
  const version = await client.version(qemuCapabilities());
  steps.push(`VERSION -> ${version.major}.${version.minor} ${JSON.stringify(version.capabilities)}`);

  for (const m of GUEST_RAM) {
    await client.dmaMap(m);
    steps.push(`DMA_MAP iova 0x${m.addr.toString(16)} size 0x${m.size.toString(16)}`);
  }

  const info = await client.getInfo();
  steps.push(`DEVICE_GET_INFO -> flags 0x${info.flags.toString(16)} regions ${info.numRegions} irqs ${info.numIrqs}`);

  const regions: RegionInfoReply[] = [];
  for (let i = 0; i < info.numRegions; i++) {
    const r = await client.getRegionInfo(i);
    regions.push(r);
    steps.push(`DEVICE_GET_REGION_INFO ${i} -> size 0x${r.size.toString(16)} flags 0x${r.flags.toString(16)}`);
  }

  const irqs: IrqProbe[] = [];
  for (const index of [VFIO_PCI_INTX_IRQ_INDEX, VFIO_PCI_MSI_IRQ_INDEX, VFIO_PCI_ERR_IRQ_INDEX, VFIO_PCI_REQ_IRQ_INDEX]) {
    if (index >= info.numIrqs) continue;
    const p = await probeIrq(client, index);
    irqs.push(p);
    steps.push(
      `DEVICE_GET_IRQ_INFO ${index} -> ` +
        (p.info ? `count ${p.info.count} flags 0x${p.info.flags.toString(16)}` : `errno ${p.errno}`),
    );
  }

  const cfgRegion = regions[VFIO_PCI_CONFIG_REGION_INDEX];
  const cfgSize = Math.min(cfgRegion?.size ?? 0, 256);
  const config = cfgSize > 0 ? await client.regionRead(VFIO_PCI_CONFIG_REGION_INDEX, 0, cfgSize) : new Uint8Array(0);
  steps.push(`REGION_READ config 0..0x${cfgSize.toString(16)} -> ${config.length} bytes`);

  let intx: StartupReport['intx'] = null;
  const pin = config[0x3d] ?? 0;
  if ((opts.intx ?? true) && pin !== 0) {
    const n = native();
    const efd = n.eventfd(0);
    try {
      await client.setIrqs({
        flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER,
        index: VFIO_PCI_INTX_IRQ_INDEX,
        start: 0,
        count: 1,
        fds: [efd],
      });
    } catch (e) {
      n.close(efd);
      throw e;
    }
    steps.push('DEVICE_SET_IRQS INTx TRIGGER|EVENTFD (0x24) -> ok');
    let resampleErrno: number | null = null;
    // Our copy of efd is only handed out in the report: a later step failing must close it.
    try {
      await client.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK, index: 0, start: 0, count: 1 });
      steps.push('DEVICE_SET_IRQS INTx MASK|NONE (0x09) -> ok');
      const resample = n.eventfd(0);
      try {
        await client.setIrqs({
          flags: VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_UNMASK,
          index: 0,
          start: 0,
          count: 1,
          fds: [resample],
        });
      } catch (e) {
        if (!isMttyError(e)) throw e;
        resampleErrno = e.errno;
      } finally {
        n.close(resample);
      }
      steps.push(`DEVICE_SET_IRQS INTx UNMASK|EVENTFD (0x14) -> ${resampleErrno === null ? 'ok' : `errno ${resampleErrno}`}`);
      await client.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK, index: 0, start: 0, count: 1 });
      steps.push('DEVICE_SET_IRQS INTx UNMASK|NONE (0x11) -> ok');
    } catch (e) {
      n.close(efd);
      throw e;
    }
    intx = { eventfd: efd, resampleErrno };
  }

  return { version, info, regions, irqs, config, intx, steps };
}

/** What QEMU does when the VM goes away, plus a DEVICE_RESET; closes our eventfd copy. */
export async function qemuShutdown(client: VfioUserClient, report: StartupReport): Promise<void> {
  if (report.intx) {
    const efd = report.intx.eventfd;
    report.intx = null;
    try {
      await client.setIrqs({ flags: VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER, index: 0, start: 0, count: 0 });
    } finally {
      native().close(efd); // also when the server refuses or is gone
    }
  }
  await client.reset();
  for (const m of GUEST_RAM) await client.dmaUnmap(m);
}
