/** Every event subject starts with this token; the events stream captures `events.>`. */
export const eventSubjectPrefix = 'events';

/** The subjects of the events stream unless configured otherwise. */
export const defaultEventSubjects: readonly string[] = [`${eventSubjectPrefix}.>`];

/** Dead letters are published to `deadletter.<subscription>` unless configured otherwise. */
export const defaultDeadLetterSubjectPrefix = 'deadletter';

/**
 * The subject an event type travels on: its full protobuf type name after `events.`,
 * e.g. `order.v1.OrderPlaced` → `events.order.v1.OrderPlaced`.
 */
export function eventSubjectForType(typeName: string): string {
  return `${eventSubjectPrefix}.${typeName}`;
}
