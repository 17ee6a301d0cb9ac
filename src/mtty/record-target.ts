import type { RecordTarget, TraceRecorder } from '../replay/record.js';
import type { VfioDevice } from '../vfio/api.js';
import type { MttyDevice } from './device.js';

/**
 * What `--record` needs of an mtty device (src/replay/record.ts): port i is
 * BAR i (mtty-facts §1), its UART's profile and wiring, and its exact state
 * (Uart.saveState, no side effects) for the trace's '# snapshot' lines, and
 * the time the port used for its last timed access (MttyPort.time), which
 * stamps each access so a replay moves time as the port did.
 * Returns null for a device that is not mtty's (nothing to record as UARTs).
 */
export function mttyRecordTarget(device: { uuid: string; vendor?: unknown; type?: { id?: string } }): RecordTarget | null {
  const vendor = device.vendor as MttyDevice | undefined;
  if (!vendor || !Array.isArray(vendor.ports)) return null;
  return {
    id: device.uuid,
    type: device.type?.id,
    ports: vendor.ports.map((p, i) => ({
      bar: i,
      profile: p.uart.profile,
      wiring: p.uart.wiring,
      state: () => p.uart.saveState(),
      clock: p.clock,
      time: () => p.time,
    })),
  };
}

/** A vfio-user `wrap` that records every mtty device a client opens into `recorder`. */
export function mttyRecordingWrap(recorder: TraceRecorder): (opened: VfioDevice, device: { uuid: string }) => VfioDevice {
  return (opened, device) => {
    const target = mttyRecordTarget(device);
    return target ? recorder.wrap(opened, target) : opened;
  };
}
