export { SysfsExporter, type SysfsExportOptions } from './exporter.js';
export { snapshotSysfs, type SnapshotEntry, type AttrAccess } from './snapshot.js';
export { applySnapshot } from './mirror.js';
export { mdevctlInvocation, mdevctlShellLine, runMdevctl, type MdevctlResult } from './mdevctl-namespace.js';
