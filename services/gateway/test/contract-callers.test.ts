import { describe, expect, test } from 'vitest';
import { ContractCallers, networkOf } from '../src/entry-points/http/contract-versions.js';

describe('callers of old contract versions', () => {
  test('when a caller has no token or client id, then it is named by its network: IPv4 /24, IPv6 /48, never the whole address', () => {
    expect(networkOf('203.0.113.77')).toBe('203.0.113.0/24');
    expect(networkOf('::ffff:198.51.100.9')).toBe('198.51.100.0/24');
    expect(networkOf('2001:db8:abcd:12::1')).toBe('2001:db8:abcd::/48');
    expect(networkOf('2001:db8::1')).toBe('2001:db8:0::/48');
    expect(networkOf('::1')).toBe('0:0:0::/48');
  });

  test('when more callers are seen than are kept, then the least recently seen is forgotten first and calls are counted per caller, version and route', () => {
    let now = Date.parse('2026-12-01T00:00:00Z');
    const callers = new ContractCallers(
      () => 2,
      () => new Date((now += 1000)),
    );
    callers.record('sub:a', '1', 'GET /v1/orders');
    callers.record('sub:b', '1', 'GET /v1/orders');
    callers.record('sub:a', '1', 'GET /v1/orders');
    callers.record('sub:c', '1', 'GET /v1/orders');

    expect(callers.list()).toEqual([
      {
        caller: 'sub:a',
        version: '1',
        route: 'GET /v1/orders',
        calls: 2,
        firstSeenAt: '2026-12-01T00:00:01.000Z',
        lastSeenAt: '2026-12-01T00:00:03.000Z',
      },
      expect.objectContaining({ caller: 'sub:c', calls: 1 }),
    ]);
  });
});
