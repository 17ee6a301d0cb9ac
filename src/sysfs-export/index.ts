export { SysfsExporter, type SysfsExportOptions, type SysfsExportMode } from './exporter.js';
export { FuseSysfs, fuseAddon, fuseUnavailableReason } from './fuse-export.js';
export { snapshotSysfs, type SnapshotEntry, type AttrAccess } from './snapshot.js';
export { applySnapshot } from './mirror.js';
export { mdevctlInvocation, mdevctlShellLine, runMdevctl, type MdevctlResult } from './mdevctl-namespace.js';
