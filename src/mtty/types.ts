import type { MdevTypeSpec } from '../mdev/driver.js';

/** An mtty type: the sysfs entry plus how many ports (BARs) a device of it has. */
export interface MttyTypeSpec extends MdevTypeSpec {
  nrPorts: 1 | 2;
}

/** mtty-1 and mtty-2, as mtty registers them (no description attribute). */
export const MTTY_TYPES: readonly MttyTypeSpec[] = [
  { sysfsName: '1', prettyName: 'Single port serial', nrPorts: 1 },
  { sysfsName: '2', prettyName: 'Dual port serial', nrPorts: 2 },
];
