export { SysfsExporter, type SysfsExportOptions, type SysfsExportMode } from './exporter.js';
export { FuseSysfs, fuseAddon, fuseUnavailableReason } from './fuse-export.js';
export { listSysfs, type ListingEntry, type AttrAccess } from './listing.js';
export { applyListing } from './mirror.js';
export { mdevctlInvocation, mdevctlShellLine, runMdevctl, type MdevctlResult } from './mdevctl-namespace.js';
