/**
 * A small mtty world for the bad-input tests, and a fingerprint of all of
 * its observable state, so a test can assert that a rejected input changed
 * nothing: not the pool (available_instances), not the device list, not any
 * device's UART/config state (MttyDevice.saveFullState(), which has no side
 * effects), not IRQ routing or migration state.
 */
import { ManualClock } from '../../src/clock/clock.js';
import { loadMtty, type LoadedMtty } from '../../src/mtty/load.js';
import { regionOffset } from '../../src/vfio/uapi.js';
import type { VfioDevice } from '../../src/vfio/api.js';

export const UUID_A = 'a1b2c3d4-0000-4000-8000-00000000000a';
export const UUID_B = 'a1b2c3d4-0000-4000-8000-00000000000b';

export interface World {
  mtty: LoadedMtty;
  /** UUID_A, an mtty-2, left open here. */
  dev: VfioDevice;
  /** UUID_B, an mtty-1 nobody has open: the "other device" that must not change. */
  other: string;
}

/** mtty with 8 ports, an open mtty-2 (GET_INFO done) and a closed mtty-1, each with distinct register state. */
export async function makeWorld(): Promise<World> {
  const mtty = await loadMtty({ ports: 8, clock: new ManualClock() });
  mtty.parent.type('mtty-2')!.create(UUID_A);
  mtty.parent.type('mtty-1')!.create(UUID_B);
  const b = mtty.device(UUID_B)!.open();
  b.write(regionOffset(0) + 7, 1, 0x5a); // SCR
  b.write(regionOffset(0) + 2, 1, 0x01); // FIFOs on
  b.write(regionOffset(0) + 0, 1, 0x41); // one byte looped back into RX
  b.close();
  const dev = mtty.device(UUID_A)!.open();
  dev.getInfo();
  dev.write(regionOffset(1) + 7, 1, 0xa5);
  return { mtty, dev, other: UUID_B };
}

export function fingerprint(w: World): string {
  const types = w.mtty.parent.types.map((t) => `${t.id}:${t.availableInstances}`);
  const devices = w.mtty.bus.devices.map((d) => {
    const v = w.mtty.device(d.uuid)!.vendor;
    const irq = v.interrupts;
    return {
      uuid: d.uuid,
      state: d.state,
      fullState: Buffer.from(v.saveFullState()).toString('hex'),
      irq: [irq.mode, irq.masked, irq.stats.intxSignals, irq.stats.msiSignals],
      migration: v.migration.state,
    };
  });
  return JSON.stringify({ types, devices });
}
