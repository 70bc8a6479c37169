import {
  create,
  fromBinary,
  toBinary,
  type DescMessage,
  type MessageInitShape,
  type MessageShape,
} from '@bufbuild/protobuf';
import { timestampFromDate } from '@bufbuild/protobuf/wkt';
import { randomUUID } from 'node:crypto';
import { AppError } from '../errors/index.js';
import { busHeaders, type BusMessage } from '../bus/bus.js';
import { eventSubjectPrefix } from '../bus/bus-subjects.js';

/**
 * Every Orderly event is a protobuf message whose first fields are `event_id`,
 * `occurred_at` and `schema_version`. On the bus it travels as its binary encoding on the subject
 * `events.<full type name>` (e.g. `events.order.v1.OrderPlaced`).
 */
export const eventSchemaVersion = 1;
/** The default first token of event subjects; `bus.subjectPrefix` changes it (isolated test systems). */
export const defaultSubjectPrefix = eventSubjectPrefix;

export type EventInit<Desc extends DescMessage> = Omit<
  MessageInitShape<Desc>,
  '$typeName' | 'eventId' | 'occurredAt' | 'schemaVersion'
>;

export function eventSubject(
  schema: DescMessage,
  subjectPrefix: string = defaultSubjectPrefix,
): string {
  return `${subjectPrefix}.${schema.typeName}`;
}

const checkedSchemas = new WeakSet<DescMessage>();
function assertIsEvent(schema: DescMessage): void {
  if (checkedSchemas.has(schema)) return;
  for (const field of ['eventId', 'occurredAt', 'schemaVersion']) {
    if (!schema.fields.some((f) => f.localName === field)) {
      throw new AppError('EVENT_SCHEMA_INVALID', `${schema.typeName} has no ${field} field`);
    }
  }
  checkedSchemas.add(schema);
}

export interface NewEvent<Desc extends DescMessage> {
  readonly message: MessageShape<Desc>;
  readonly bus: BusMessage;
}

export function newEvent<Desc extends DescMessage>(
  schema: Desc,
  init: EventInit<Desc>,
  now: Date = new Date(),
  extraHeaders: Readonly<Record<string, string>> = {},
  subjectPrefix: string = defaultSubjectPrefix,
): NewEvent<Desc> {
  assertIsEvent(schema);
  const eventId = randomUUID();
  const message = create(schema, {
    ...init,
    eventId,
    occurredAt: timestampFromDate(now),
    schemaVersion: eventSchemaVersion,
  } as unknown as MessageInitShape<Desc>);
  return {
    message,
    bus: {
      subject: eventSubject(schema, subjectPrefix),
      id: eventId,
      data: toBinary(schema, message),
      headers: {
        ...extraHeaders,
        [busHeaders.eventId]: eventId,
        [busHeaders.eventType]: schema.typeName,
      },
    },
  };
}

export function decodeEvent<Desc extends DescMessage>(
  schema: Desc,
  data: Uint8Array,
): MessageShape<Desc> {
  try {
    return fromBinary(schema, data);
  } catch (cause) {
    throw new AppError('EVENT_UNDECODABLE', `payload is not a valid ${schema.typeName}`, {
      kind: 'invalid',
      cause,
      permanent: true,
    });
  }
}
