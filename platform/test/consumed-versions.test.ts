import { describe, expect, it } from 'vitest';
import type { DescMessage } from '@bufbuild/protobuf';
import {
  ConfigError,
  consumedEventVersions,
  handlersForVersions,
  type EventHandler,
} from '../src/index.js';

const declaration = { service: 'inventory', producer: 'order', declared: ['v1', 'v2'] };
const handlerOf = (typeName: string) =>
  ({
    schema: { typeName } as DescMessage,
    handle: () => Promise.resolve(),
  }) as unknown as EventHandler;

describe('the event versions a consumer reads', () => {
  it('when configuration says nothing, then the consumer reads every version its package declares', () => {
    expect(consumedEventVersions(declaration, undefined)).toEqual({
      producer: 'order',
      versions: ['v1', 'v2'],
    });
  });

  it('when configuration narrows to a declared version, then only that one is read', () => {
    expect(consumedEventVersions(declaration, ['v2']).versions).toEqual(['v2']);
  });

  it('when configuration names a version the package does not declare, then start is refused naming the key and the declaration', () => {
    const refuse = () => consumedEventVersions(declaration, ['v2', 'v3']);
    expect(refuse).toThrow(ConfigError);
    try {
      refuse();
    } catch (error) {
      expect((error as ConfigError).problems.join('\n')).toMatch(
        /services\.inventory\.orderEvents\.versions: v3 not declared in services\/inventory\/package\.json \(orderly\.consumes\.order: v1, v2\)/,
      );
    }
  });

  it("when handlers are filtered, then the producer's events of other versions are left out and other producers' events kept", () => {
    const handlers = [
      handlerOf('order.v1.OrderPlaced'),
      handlerOf('order.v2.OrderPlaced'),
      handlerOf('payment.v1.PaymentSucceeded'),
    ];
    const kept = handlersForVersions(handlers, { producer: 'order', versions: ['v2'] });
    expect(kept.map((h) => h.schema.typeName)).toEqual([
      'order.v2.OrderPlaced',
      'payment.v1.PaymentSucceeded',
    ]);
  });
});
