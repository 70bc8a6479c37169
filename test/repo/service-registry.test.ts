import { existsSync, globSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, test } from 'vitest';
import { serviceNames } from '@orderly/system';

/**
 * "A new service is its folder and one registry line" stays true: every folder under services/ is in
 * the registry (tools/system) under its folder's name and vice versa, each has the same two entry
 * files, and the registry package declares each service package it imports.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
const folders = globSync('services/*/package.json', { cwd: root })
  .map((file) => file.split('/')[1]!)
  .sort();
const registryManifest = JSON.parse(
  readFileSync(join(root, 'tools/system/package.json'), 'utf8'),
) as { dependencies?: Record<string, string> };

describe('the service registry', () => {
  test('lists exactly the service folders, by folder name', () => {
    expect([...serviceNames].sort()).toEqual(folders);
  });

  test('every service has one definition file and a one-statement main', () => {
    for (const name of folders) {
      expect(existsSync(join(root, 'services', name, 'src/service.ts')), name).toBe(true);
      const main = readFileSync(join(root, 'services', name, 'src/main.ts'), 'utf8');
      expect(main, name).toMatch(/^void runServiceMain\(\w+Service\);$/m);
      expect(main.split('\n').filter((line) => line.trim() !== '').length, name).toBe(3);
    }
  });

  test('the registry package declares every service package', () => {
    const declared = Object.keys(registryManifest.dependencies ?? {});
    for (const name of folders) expect(declared, name).toContain(`@orderly/${name}`);
  });

  test('the gateway starts last, so it accepts work only once the rest runs', () => {
    expect(serviceNames.at(-1)).toBe('gateway');
  });
});
