import { describe, expect, it } from 'vitest';
import { freePort } from '../src/testing/ports.js';

describe('freePort', () => {
  it('when a caller asks for many ports before binding any, then no port is handed out twice', async () => {
    // The cluster topology asks for ~36 ports before it starts anything; with 300 draws from the
    // 12,000-port range a repeat is near certain unless handed-out ports are remembered.
    const ports: number[] = [];
    for (let i = 0; i < 300; i++) ports.push(await freePort());
    expect(new Set(ports).size).toBe(ports.length);
    for (const port of ports) {
      expect(port).toBeGreaterThanOrEqual(20_000);
      expect(port).toBeLessThan(32_768);
    }
  });
});
