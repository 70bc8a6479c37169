import { describe, expect, test } from 'vitest';
import * as platform from '../src/index.js';
import * as runtime from '../src/runtime/index.js';

describe('the package entry (platform/src/index.ts)', () => {
  test('when runtime/index.ts exports a value, then the package entry exports it too', () => {
    expect(Object.keys(platform)).toEqual(expect.arrayContaining(Object.keys(runtime)));
  });

  test('when a tool or the gateway compares OpenAPI documents, then diffOpenApi is on the package entry', () => {
    expect(platform.diffOpenApi).toBeTypeOf('function');
  });
});
