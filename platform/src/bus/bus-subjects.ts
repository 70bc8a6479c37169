/** Every event subject starts with this token; the events stream captures `events.>`. */
export const eventSubjectPrefix = 'events';

/** The subjects of the events stream unless configured otherwise. */
export const defaultEventSubjects: readonly string[] = [`${eventSubjectPrefix}.>`];

/** Dead letters are published to `deadletter.<subscription>` unless configured otherwise. */
export const defaultDeadLetterSubjectPrefix = 'deadletter';
