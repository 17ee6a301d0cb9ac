/**
 * `mtty/vfio-user`: serve mdevs to QEMU's `vfio-user-pci` over UNIX sockets,
 * and a client that speaks the same protocol (and replays QEMU's start-up).
 * Needs the native addon (fd passing); see docs/vfio-user.md.
 */
export { attachVfioUser, serveVfioUser, qemuDeviceOption } from './serve.js';
export type { OpenableDevice, VfioUserBus, VfioUserService, ServeOptions, AttachOptions } from './serve.js';
export { VfioUserServer, INCOMPLETE_MESSAGE_TIMEOUT_MS } from './server.js';
export type { VfioUserServerOptions } from './server.js';
export { VfioUserClient, errnoError } from './client.js';
export type { RegionInfoReply, SetIrqsRequest, RequestOptions } from './client.js';
export { qemuStartup, qemuShutdown } from './qemu-startup.js';
export type { StartupReport, StartupOptions } from './qemu-startup.js';
export { formatStartupReport } from './lspci.js';
export { native, NO_ADDON_ENV, type NativeAddon } from './native.js';
