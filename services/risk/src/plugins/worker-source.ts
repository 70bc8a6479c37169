/**
 * The code a plugin worker runs, as plain JavaScript evaluated by `new Worker(source, { eval: true })`.
 * It is a string rather than a file so that it runs the same under tsx, vitest, the esbuild bundles
 * and the single-file binaries (none of which would find or transpile a separate worker file). It
 * only instantiates the module with the host's one import, copies requests into plugin memory and
 * returns the raw results: every check of what comes back is done by the host.
 *
 * Progress is shared through `progress` (a SharedArrayBuffer): the index of the order being scored
 * and when it started, so the host's watchdog knows which order overran and since when.
 */
export const workerSource = String.raw`
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const { module, config, progress, maxMemoryBytes } = workerData;
const position = new Int32Array(progress, 0, 1);
const startedAt = new Float64Array(progress, 8, 1);

function message(error) {
  return error instanceof Error ? error.name + ': ' + error.message : String(error);
}

let x;
function write(bytes) {
  const ptr = x.orderly_alloc(bytes.length) >>> 0;
  const memory = new Uint8Array(x.memory.buffer);
  if (ptr + bytes.length > memory.length) throw new Error('orderly_alloc returned ' + ptr + ', outside memory');
  memory.set(bytes, ptr);
  return ptr;
}

try {
  const instance = new WebAssembly.Instance(module, {
    env: {
      abort() {
        throw new Error('the plugin called env.abort');
      },
    },
  });
  x = instance.exports;
  const abiVersion = x.orderly_abi_version();
  const reasonsAt = x.orderly_reasons() >>> 0;
  const memory = new Uint8Array(x.memory.buffer);
  if (reasonsAt + 4 > memory.length) throw new Error('orderly_reasons points outside memory');
  const length = new DataView(x.memory.buffer).getUint32(reasonsAt, true);
  if (reasonsAt + 4 + length > memory.length) throw new Error('orderly_reasons runs past memory');
  const reasons = new TextDecoder().decode(memory.subarray(reasonsAt + 4, reasonsAt + 4 + length));
  const configured = abiVersion === 1 ? x.orderly_configure(write(config), config.length) : 0;
  parentPort.postMessage({ type: 'ready', abiVersion, reasons, configured });
} catch (error) {
  parentPort.postMessage({ type: 'load-failed', message: message(error) });
}

parentPort.on('message', ({ data, offsets }) => {
  const count = offsets.length - 1;
  const results = new BigInt64Array(count);
  const durations = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    Atomics.store(position, 0, i);
    startedAt[0] = Date.now();
    const started = performance.now();
    try {
      const ptr = write(data.subarray(offsets[i], offsets[i + 1]));
      results[i] = BigInt(x.orderly_assess(ptr, offsets[i + 1] - offsets[i]));
      durations[i] = performance.now() - started;
    } catch (error) {
      durations[i] = performance.now() - started;
      parentPort.postMessage({
        type: 'trap',
        index: i,
        results: results.slice(0, i),
        durations: durations.slice(0, i + 1),
        message: message(error),
        memoryFull: x.memory.buffer.byteLength >= maxMemoryBytes,
      });
      return;
    }
  }
  parentPort.postMessage({ type: 'done', results, durations }, [results.buffer, durations.buffer]);
});
`;
