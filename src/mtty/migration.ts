import { fail } from '../errors/errno.js';
import type { MigrationDataFile, VfioMigration } from '../vfio/api.js';
import { migrationStateName, nextMigrationState } from '../vfio/migration-arcs.js';
import { VFIO_DEVICE_STATE, VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY } from '../vfio/uapi.js';
import {
  MTTY_HEADER_SIZE,
  decodeMttyHeader,
  decodeMttyStream,
  encodeMttyHeader,
  encodeMttyStream,
  headerMismatch,
  mttyStreamSize,
} from './migration-stream.js';
import { ResumeFile, SaveFile } from './migration-files.js';

const S = VFIO_DEVICE_STATE;

/** What the state machine needs from the device: its port records in and out. */
export interface MigratablePorts {
  readonly nrPorts: number;
  saveRecords(): Uint8Array[];
  loadRecords(records: Uint8Array[]): void;
}

/**
 * mtty's live-migration state machine (mtty-facts §6): flags
 * STOP_COPY | P2P | PRE_COPY, initial state RUNNING. The vfio core breaks a
 * request into single arcs; each arc here does what the sample's step
 * function does. "Stopped" states do not freeze the UART (as in the sample).
 */
export class MttyMigration implements VfioMigration {
  readonly flags = VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY;
  private current: number = S.RUNNING;
  private saving: SaveFile | null = null;
  private resuming: ResumeFile | null = null;

  constructor(private readonly ports: MigratablePorts) {}

  get state(): number {
    return this.current;
  }

  get stateName(): string {
    return migrationStateName(this.current);
  }

  /** VFIO_DEVICE_FEATURE_MIG_DATA_SIZE: the whole stream (60 or 96 bytes). */
  dataSize(): number {
    return mttyStreamSize(this.ports.nrPorts);
  }

  setState(target: number): MigrationDataFile | null {
    let file: MigrationDataFile | null = null;
    while (this.current !== target) {
      const next = nextMigrationState(this.current, target, this.flags);
      file = this.step(this.current, next);
      this.current = next; // only after the arc succeeded: a failed arc leaves the state as it was
    }
    return file;
  }

  /** VFIO_DEVICE_RESET: back to RUNNING, any data fds dead (the sample's deferred reset). */
  reset(): void {
    this.disableFiles();
    this.current = S.RUNNING;
  }

  /** Last close of the device: fds die, the state stays (as in the sample). */
  disableFiles(): void {
    this.saving?.close();
    this.resuming?.close();
    this.saving = null;
    this.resuming = null;
  }

  private step(cur: number, next: number): MigrationDataFile | null {
    const arc = (a: number, b: number) => cur === a && next === b;
    if (
      arc(S.RUNNING, S.RUNNING_P2P) ||
      arc(S.RUNNING_P2P, S.RUNNING) ||
      arc(S.RUNNING_P2P, S.STOP) ||
      arc(S.STOP, S.RUNNING_P2P) ||
      arc(S.PRE_COPY, S.PRE_COPY_P2P) ||
      arc(S.PRE_COPY_P2P, S.PRE_COPY)
    ) {
      return null;
    }
    if (arc(S.RUNNING, S.PRE_COPY) || arc(S.RUNNING_P2P, S.PRE_COPY_P2P)) {
      // Only the header is known while running: the destination can check it early.
      this.saving = new SaveFile(encodeMttyHeader(this.ports.nrPorts), () => this.inPrecopy());
      return this.saving;
    }
    if (arc(S.PRE_COPY_P2P, S.STOP_COPY) && this.saving) {
      // The port records go on the end of the fd the user already has; no new fd.
      const recs = this.ports.saveRecords();
      this.saving.append(encodeMttyStream(recs).subarray(MTTY_HEADER_SIZE));
      return null;
    }
    // STOP -> STOP_COPY, or PRE_COPY_P2P -> STOP_COPY after a close dropped the
    // PRE_COPY fd (the state survives a close): a new fd with the whole stream, as the sample does.
    if (arc(S.STOP, S.STOP_COPY) || arc(S.PRE_COPY_P2P, S.STOP_COPY)) {
      this.saving = new SaveFile(encodeMttyStream(this.ports.saveRecords()), () => false);
      return this.saving;
    }
    if (arc(S.STOP, S.RESUMING)) {
      const n = this.ports.nrPorts;
      this.resuming = new ResumeFile(this.dataSize(), MTTY_HEADER_SIZE, (h) => headerMismatch(decodeMttyHeader(h), n));
      return this.resuming;
    }
    if (arc(S.PRE_COPY, S.RUNNING) || arc(S.PRE_COPY_P2P, S.RUNNING_P2P) || arc(S.STOP_COPY, S.STOP)) {
      this.disableFiles();
      return null;
    }
    if (arc(S.RESUMING, S.STOP)) {
      this.load();
      this.disableFiles();
      return null;
    }
    fail('EINVAL', `mtty has no migration arc from ${migrationStateName(cur)} to ${migrationStateName(next)}`);
  }

  private load(): void {
    const file = this.resuming;
    if (!file) fail('EINVAL', 'there is no resume data to load');
    if (file.filled < file.size) {
      fail('EINVAL', `only ${file.filled} of the ${file.size} bytes of migration data arrived; the device cannot be loaded`);
    }
    // Checked again here so a stream whose header write failed EFAULT is never loaded.
    this.ports.loadRecords(decodeMttyStream(file.buffer, this.ports.nrPorts));
  }

  private inPrecopy(): boolean {
    return this.current === S.PRE_COPY || this.current === S.PRE_COPY_P2P;
  }
}
