import { allowedImports, requiredExports } from './abi.js';

/**
 * The JS API's Module (the project's lib settings declare WebAssembly's types but not its values).
 */
interface ModuleApi {
  new (bytes: Uint8Array): WebAssembly.Module;
  imports(module: WebAssembly.Module): { module: string; name: string; kind: string }[];
  exports(module: WebAssembly.Module): { name: string; kind: string }[];
}
const WasmModule = (globalThis as unknown as { WebAssembly: { Module: ModuleApi } }).WebAssembly
  .Module;

/** A module that passed the static checks: compiled once, handed to every worker of its version. */
export interface CheckedModule {
  readonly module: WebAssembly.Module;
  readonly maxMemoryPages: number;
}

export interface ModuleLimits {
  readonly maxModuleBytes: number;
  readonly maxMemoryPages: number;
}

/**
 * What can be checked without running the plugin: size, well-formedness, imports (only what the host
 * gives), the ABI's exports, and a defined memory with a declared maximum within the cap. Returns the
 * compiled module or the reason it is refused.
 */
export function checkModule(bytes: Uint8Array, limits: ModuleLimits): CheckedModule | string {
  if (bytes.length > limits.maxModuleBytes) {
    return `module is ${bytes.length} bytes, above the limit of ${limits.maxModuleBytes}`;
  }
  let module: WebAssembly.Module;
  try {
    module = new WasmModule(bytes);
  } catch (error) {
    return `not a valid WebAssembly module: ${error instanceof Error ? error.message : String(error)}`;
  }
  for (const entry of WasmModule.imports(module)) {
    const name = `${entry.module}.${entry.name}`;
    if (!allowedImports.has(name) || entry.kind !== 'function') {
      return `imports ${entry.kind} ${name}; the host gives only ${[...allowedImports].join(', ')}`;
    }
  }
  const exports = new Map(WasmModule.exports(module).map((e) => [e.name, e.kind]));
  for (const [name, kind] of Object.entries(requiredExports)) {
    if (exports.get(name) !== kind) return `does not export ${kind} ${name} (ABI v1)`;
  }
  const memory = memoryLimits(bytes);
  if (typeof memory === 'string') return memory;
  if (memory.max === undefined) {
    return 'its memory declares no maximum (compile with a maximum, e.g. asc --maximumMemory)';
  }
  if (memory.max > limits.maxMemoryPages) {
    return `its memory maximum is ${memory.max} pages, above the cap of ${limits.maxMemoryPages}`;
  }
  return { module, maxMemoryPages: memory.max };
}

/** Reads the limits of the module's one defined memory from its memory section (id 5). */
function memoryLimits(bytes: Uint8Array): { min: number; max?: number } | string {
  const reader = new ByteReader(bytes, 8);
  while (!reader.done()) {
    const id = reader.byte();
    const size = reader.u32();
    const end = reader.at + size;
    if (id === 5) {
      if (reader.u32() !== 1) return 'must define exactly one memory';
      const flags = reader.byte();
      if (flags > 1) return 'its memory is shared or 64-bit; ABI v1 wants a plain 32-bit memory';
      const min = reader.u32();
      return flags === 1 ? { min, max: reader.u32() } : { min };
    }
    reader.at = end;
  }
  return 'defines no memory';
}

class ByteReader {
  constructor(
    private readonly bytes: Uint8Array,
    public at: number,
  ) {}

  done(): boolean {
    return this.at >= this.bytes.length;
  }

  byte(): number {
    const value = this.bytes[this.at++];
    if (value === undefined) throw new RangeError('truncated module');
    return value;
  }

  /** An unsigned LEB128 of at most 32 bits. */
  u32(): number {
    let result = 0;
    for (let shift = 0; shift < 35; shift += 7) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0) return result;
    }
    throw new RangeError('malformed LEB128');
  }
}
