import type { Clock } from '../clock/clock.js';
import type { MdevDevice } from '../mdev/device.js';
import type { MdevDriver, MdevTypeSpec, VendorAttribute } from '../mdev/driver.js';
import type { MdevType } from '../mdev/type.js';
import { VFIO_DEVICE_API_PCI_STRING } from './constants.js';
import { MttyDevice } from './device.js';
import { PortPool } from './port-pool.js';
import type { UartFactory, UartProfile } from './port-uart.js';
import { MTTY_TYPES, type MttyTypeSpec } from './types.js';

export interface MttyDriverOptions {
  ports: number;
  profile: UartProfile;
  clock: Clock;
  createUart: UartFactory;
  advertiseReset: boolean;
}

/**
 * mtty as an mdev vendor driver: two types drawing on one port pool, and
 * the `vendor/sample_mdev_dev` attribute on every device.
 */
export class MttyDriver implements MdevDriver<MttyDevice> {
  readonly deviceApi = VFIO_DEVICE_API_PCI_STRING;
  readonly types: readonly MttyTypeSpec[] = MTTY_TYPES;
  readonly pool: PortPool;
  readonly deviceAttributes: readonly VendorAttribute<MdevDevice<MttyDevice>>[] = [
    { group: 'vendor', name: 'sample_mdev_dev', show: (d) => `This is MDEV ${d.uuid}` },
  ];

  constructor(private readonly opts: MttyDriverOptions) {
    this.pool = new PortPool(opts.ports);
  }

  availableInstances(type: MdevTypeSpec): number {
    return this.pool.instancesOf((type as MttyTypeSpec).nrPorts);
  }

  probe(device: MdevDevice<MttyDevice>, type: MdevType<MttyDevice>): MttyDevice {
    const nrPorts = (type.spec as MttyTypeSpec).nrPorts;
    this.pool.take(nrPorts);
    try {
      return new MttyDevice({
        uuid: device.uuid,
        nrPorts,
        profile: this.opts.profile,
        clock: this.opts.clock,
        createUart: this.opts.createUart,
        advertiseReset: this.opts.advertiseReset,
        onRelease: () => this.pool.give(nrPorts),
      });
    } catch (e) {
      this.pool.give(nrPorts);
      throw e;
    }
  }
}
