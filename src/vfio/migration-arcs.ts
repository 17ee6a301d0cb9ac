import { fail } from '../errors/errno.js';
import { VFIO_DEVICE_STATE, VFIO_MIGRATION_P2P, VFIO_MIGRATION_PRE_COPY, VFIO_MIGRATION_STOP_COPY } from './uapi.js';

/**
 * The vfio core's path finder (vfio_mig_get_next_state): a user may ask for
 * any state; the core walks one supported arc at a time towards it, and the
 * driver only implements single arcs. This table is the kernel's "next step
 * from cur towards target" map; states a device does not support (by its
 * migration flags) are stepped over.
 */
const { ERROR, STOP, RUNNING, STOP_COPY, RESUMING, RUNNING_P2P, PRE_COPY, PRE_COPY_P2P } = VFIO_DEVICE_STATE;

type Row = Record<number, number>;
const NEXT: Record<number, Row> = {
  [STOP]: { [STOP]: STOP, [RUNNING]: RUNNING_P2P, [PRE_COPY]: RUNNING_P2P, [PRE_COPY_P2P]: RUNNING_P2P, [STOP_COPY]: STOP_COPY, [RESUMING]: RESUMING, [RUNNING_P2P]: RUNNING_P2P, [ERROR]: ERROR },
  [RUNNING]: { [STOP]: RUNNING_P2P, [RUNNING]: RUNNING, [PRE_COPY]: PRE_COPY, [PRE_COPY_P2P]: RUNNING_P2P, [STOP_COPY]: RUNNING_P2P, [RESUMING]: RUNNING_P2P, [RUNNING_P2P]: RUNNING_P2P, [ERROR]: ERROR },
  [PRE_COPY]: { [STOP]: RUNNING, [RUNNING]: RUNNING, [PRE_COPY]: PRE_COPY, [PRE_COPY_P2P]: PRE_COPY_P2P, [STOP_COPY]: PRE_COPY_P2P, [RESUMING]: RUNNING, [RUNNING_P2P]: RUNNING, [ERROR]: ERROR },
  [PRE_COPY_P2P]: { [STOP]: RUNNING_P2P, [RUNNING]: RUNNING_P2P, [PRE_COPY]: PRE_COPY, [PRE_COPY_P2P]: PRE_COPY_P2P, [STOP_COPY]: STOP_COPY, [RESUMING]: RUNNING_P2P, [RUNNING_P2P]: RUNNING_P2P, [ERROR]: ERROR },
  [STOP_COPY]: { [STOP]: STOP, [RUNNING]: STOP, [PRE_COPY]: ERROR, [PRE_COPY_P2P]: ERROR, [STOP_COPY]: STOP_COPY, [RESUMING]: STOP, [RUNNING_P2P]: STOP, [ERROR]: ERROR },
  [RESUMING]: { [STOP]: STOP, [RUNNING]: STOP, [PRE_COPY]: STOP, [PRE_COPY_P2P]: STOP, [STOP_COPY]: STOP, [RESUMING]: RESUMING, [RUNNING_P2P]: STOP, [ERROR]: ERROR },
  [RUNNING_P2P]: { [STOP]: STOP, [RUNNING]: RUNNING, [PRE_COPY]: RUNNING, [PRE_COPY_P2P]: PRE_COPY_P2P, [STOP_COPY]: STOP, [RESUMING]: STOP, [RUNNING_P2P]: RUNNING_P2P, [ERROR]: ERROR },
  [ERROR]: { [STOP]: ERROR, [RUNNING]: ERROR, [PRE_COPY]: ERROR, [PRE_COPY_P2P]: ERROR, [STOP_COPY]: ERROR, [RESUMING]: ERROR, [RUNNING_P2P]: ERROR, [ERROR]: ERROR },
};

/** Migration flags a state needs (the core's state_flags_table). */
const NEEDS: Record<number, number> = {
  [STOP]: VFIO_MIGRATION_STOP_COPY,
  [RUNNING]: VFIO_MIGRATION_STOP_COPY,
  [STOP_COPY]: VFIO_MIGRATION_STOP_COPY,
  [RESUMING]: VFIO_MIGRATION_STOP_COPY,
  [RUNNING_P2P]: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P,
  [PRE_COPY]: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_PRE_COPY,
  [PRE_COPY_P2P]: VFIO_MIGRATION_STOP_COPY | VFIO_MIGRATION_P2P | VFIO_MIGRATION_PRE_COPY,
  [ERROR]: ~0 >>> 0,
};

export function migrationStateName(state: number): string {
  const entry = Object.entries(VFIO_DEVICE_STATE).find(([, v]) => v === state);
  return entry ? entry[0] : `state ${state}`;
}

function supported(state: number, flags: number): boolean {
  const need = NEEDS[state];
  return need !== undefined && (need & flags) === need;
}

/** The next single arc from `cur` towards `target`; EINVAL for unsupported or unreachable targets. */
export function nextMigrationState(cur: number, target: number, flags: number): number {
  if (!supported(cur, flags) && cur !== ERROR) fail('EINVAL', `the device is in ${migrationStateName(cur)}, which it does not support`);
  if (!Number.isInteger(target) || !supported(target, flags)) {
    fail('EINVAL', `${migrationStateName(target)} is not a migration state this device can be asked for`);
  }
  let next = NEXT[cur][target];
  while (next !== ERROR && !supported(next, flags)) next = NEXT[next][target];
  if (next === ERROR) fail('EINVAL', `there is no path from ${migrationStateName(cur)} to ${migrationStateName(target)}`);
  return next;
}
