/**
 * A small VfioDevice with mtty's shape (9 regions, INTx 0x7 / MSI 0x9, a
 * 255-byte config space, one UART-ish BAR0) for the vfio-user protocol tests.
 * It keeps the vfio-user tests independent of the device library; the
 * vfio-user-mtty test runs the same flows against the real mtty.
 *
 * Only the behaviour the protocol layer must carry is modelled: errnos of
 * GET_*_INFO, SET_IRQS (automasked INTx, ENOTTY for eventfd mask/unmask), an
 * interrupt on "IER gets THRI while the FIFO is empty", register storage.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fail } from '../../src/errors/errno.js';
import { attachVfioUser } from '../../src/vfio-user/serve.js';
import type { DeviceInfo, IrqInfo, IrqSet, IrqSink, RegionInfo, VfioDevice } from '../../src/vfio/api.js';
import { splitOffset } from '../../src/vfio/uapi.js';

export class FakeMtty implements VfioDevice {
  readonly bar0 = new Uint8Array(8);
  readonly config = new Uint8Array(255);
  intx: IrqSink | null = null;
  msi: IrqSink | null = null;
  masked = false;
  mode: 'none' | 'intx' | 'msi' = 'none';
  private infoSeen = false;
  closed = 0;
  resets = 0;

  constructor() {
    this.config.set([0x48, 0x43, 0x53, 0x32, 0x01, 0x00, 0x00, 0x02, 0x10, 0x02, 0x00, 0x07], 0);
    this.config.set([0x01, 0, 0, 0, 0x01, 0, 0, 0], 0x10);
    this.config[0x3d] = 1;
    this.bar0[5] = 0x60; // LSR: THRE | TEMT
  }

  getInfo(): DeviceInfo {
    this.infoSeen = true;
    return { flags: 0x2, numRegions: 9, numIrqs: 5 };
  }

  getRegionInfo(index: number): RegionInfo {
    if (!Number.isInteger(index) || index < 0 || index >= 9) fail('EINVAL', `no region ${index}`);
    const size = index === 0 || index === 1 ? 8 : index === 7 ? 255 : 0;
    return { index, flags: 0x3, size, offset: index * 2 ** 40 };
  }

  getIrqInfo(index: number): IrqInfo {
    if (!this.infoSeen) fail('EINVAL', 'GET_IRQ_INFO before GET_INFO');
    if (index === 0) return { index, flags: 0x7, count: 1 };
    if (index === 1) return { index, flags: 0x9, count: 1 };
    fail('EINVAL', `no irq index ${index}`);
  }

  setIrqs(set: IrqSet): void {
    const data = set.flags & 0x7;
    const action = set.flags & 0x38;
    if (set.index >= 5 || (data !== 1 && data !== 2 && data !== 4)) fail('EINVAL', 'bad SET_IRQS');
    if (set.index === 0) {
      if (action === 0x08 || action === 0x10) {
        if (data === 4) fail('ENOTTY', 'INTx mask/unmask eventfd is not supported');
        if (this.mode !== 'intx' || set.start !== 0 || set.count !== 1) fail('EINVAL', 'INTx not enabled');
        this.masked = action === 0x08;
        return;
      }
      if (action === 0x20) {
        if (data === 1 && set.count === 0) {
          this.intx = null;
          this.masked = false;
          this.mode = 'none';
          return;
        }
        if (set.start !== 0 || set.count !== 1) fail('EINVAL', 'INTx has one vector');
        if (data === 4) {
          this.intx = (set.data as (IrqSink | null)[])[0] ?? null;
          this.mode = this.intx ? 'intx' : 'none';
          this.masked = false;
          return;
        }
        this.raise();
        return;
      }
    }
    if (set.index === 1 && action === 0x20 && data === 4) {
      this.msi = (set.data as (IrqSink | null)[])[0] ?? null;
      this.mode = this.msi ? 'msi' : 'none';
      return;
    }
    fail('ENOTTY', 'unsupported SET_IRQS');
  }

  reset(): void {
    this.resets++;
  }

  /** One interrupt edge, routed as mtty does: INTx is automasked. */
  raise(): void {
    if (this.mode === 'msi') this.msi?.signal();
    else if (this.mode === 'intx' && this.intx && !this.masked) {
      this.intx.signal();
      this.masked = true;
    }
  }

  read(pos: number, size: 1 | 2 | 4): number {
    const { index, offset } = splitOffset(pos);
    let v = 0;
    for (let i = size - 1; i >= 0; i--) v = v * 256 + this.byte(index, offset + i);
    return v;
  }

  /** Like mtty, a BAR/config write acts on its first byte only (writeBytes sends single bytes). */
  write(pos: number, _size: 1 | 2 | 4, value: number): void {
    const { index, offset } = splitOffset(pos);
    if (index === 0) {
      if (offset >= 8) fail('EINVAL', 'outside BAR0');
      this.bar0[offset] = value & 0xff;
      if (offset === 1 && value & 0x02) this.raise(); // THRI with an empty FIFO
      return;
    }
    if (index === 7) {
      if (offset === 0x3c) this.config[0x3c] = value & 0xff;
      return;
    }
    fail('EINVAL', `region ${index} is not writable here`);
  }

  private byte(index: number, offset: number): number {
    if (index === 0 && offset < 8) return this.bar0[offset]!;
    if (index === 7 && offset < 255) return this.config[offset]!;
    fail('EINVAL', `nothing at region ${index} offset ${offset}`);
  }

  readBytes(pos: number, length: number): Uint8Array {
    const out = new Uint8Array(length);
    for (let i = 0; i < length; i++) out[i] = this.read(pos + i, 1);
    return out;
  }

  writeBytes(pos: number, data: Uint8Array): number {
    for (let i = 0; i < data.length; i++) this.write(pos + i, 1, data[i]!);
    return data.length;
  }

  close(): void {
    this.closed++;
    this.intx = null;
    this.msi = null;
    this.masked = false;
    this.mode = 'none';
    this.infoSeen = false;
  }
}

/** An mdev-like wrapper: one opener at a time, like MdevDevice. */
export class FakeMdev {
  readonly device = new FakeMtty();
  opens = 0;
  private open_ = false;
  constructor(readonly uuid = '83b8f4f2-509f-382f-3c1e-e6bfe0fa1001') {}
  open(): VfioDevice {
    if (this.open_) fail('EBUSY', 'already open');
    this.open_ = true;
    this.opens++;
    const dev = this.device;
    return new Proxy(dev, {
      get: (target, prop, recv) => {
        if (prop === 'close') {
          return () => {
            this.open_ = false;
            target.close();
          };
        }
        const v = Reflect.get(target, prop, recv);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }
}

/** A FakeMdev served on a fresh socket in a temp dir; done() closes and cleans up. */
export function serveFakeDevice() {
  const dir = mkdtempSync(join(tmpdir(), 'mtty-vu-'));
  const path = join(dir, 'dev.sock');
  const mdev = new FakeMdev();
  const logs: string[] = [];
  const server = attachVfioUser(mdev, path, { log: (l) => logs.push(l) });
  return {
    dir,
    path,
    mdev,
    logs,
    server,
    async done() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
