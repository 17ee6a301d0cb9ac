/**
 * Where the page finds the UART's wasm: next to the bundle, whatever folder
 * the lab is served from. src/uart/core.ts reads MTTY_UART_WASM_URL when it
 * loads, so main.ts imports this module first. Without it the core would
 * resolve '../../wasm/uart.wasm' from app.js, which climbs out of a lab put
 * in a sub-folder of a course site.
 */
(globalThis as { MTTY_UART_WASM_URL?: string }).MTTY_UART_WASM_URL = new URL('./wasm/uart.wasm', import.meta.url).href;
export {};
