// Run one test file (or any script) from the TypeScript sources, without tsc:
//   npm run test:one test/mdev-uuid.test.ts      (= tsx --import ./scripts/from-source.mjs FILE)
// tsx compiles each .ts file as it is imported (esbuild, no type check: `npm run typecheck`
// does that). The one generated input, the wasm UART core, comes from dist/wasm: run
// `npm run build:wasm` once (any full build does it). Here the core's two references to it,
// written for the layout under dist/, are pointed at dist/wasm from src/ instead.
import { register } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const wasmDir = new URL('../dist/wasm/', import.meta.url);
if (!existsSync(fileURLToPath(new URL('uart.wasm', wasmDir)))) {
  console.error('from-source: dist/wasm/uart.wasm is missing; run `npm run build:wasm` once');
  process.exit(2);
}
globalThis.MTTY_UART_WASM_URL = new URL('uart.wasm', wasmDir).href;
const bindings = new URL('uart.js', wasmDir).href;
// The package's own name ('mtty', 'mtty/control', ...; the examples import it so) resolves
// through package.json "exports" to dist/src/*.js; from source it must be src/*.ts, or a
// test would hold two copies of every class.
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const selfNames = {};
for (const [sub, target] of Object.entries(pkg.exports ?? {})) {
  const js = typeof target === 'string' ? target : target.default;
  if (!js || !js.startsWith('./dist/src/')) continue;
  selfNames[pkg.name + sub.slice(1)] = new URL('../' + js.slice('./dist/'.length).replace(/\.js$/, '.ts'), import.meta.url).href;
}
register(
  'data:text/javascript,' +
    encodeURIComponent(`
const selfNames = ${JSON.stringify(selfNames)};
export async function resolve(specifier, context, next) {
  if (Object.hasOwn(selfNames, specifier)) return next(selfNames[specifier], context);
  if (specifier.endsWith('/wasm/uart.js') && context.parentURL && context.parentURL.includes('/src/uart/') && !context.parentURL.includes('/dist/')) {
    return { url: ${JSON.stringify(bindings)}, shortCircuit: true };
  }
  return next(specifier, context);
}`),
);
