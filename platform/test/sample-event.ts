import { create, createFileRegistry, type Message } from '@bufbuild/protobuf';
import type { GenMessage } from '@bufbuild/protobuf/codegenv2';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FileDescriptorProtoSchema,
  file_google_protobuf_timestamp,
  type Timestamp,
} from '@bufbuild/protobuf/wkt';

/**
 * A sample event for platform tests, described in code so the platform depends on no service's
 * contract: `platformtest.v1.SampleHappened { event_id, occurred_at, schema_version, subject_id }` (and
 * `SampleEnded`, the same fields).
 */
const optional = FieldDescriptorProto_Label.OPTIONAL;
const sampleFields = [
  {
    name: 'event_id',
    jsonName: 'eventId',
    number: 1,
    label: optional,
    type: FieldDescriptorProto_Type.STRING,
  },
  {
    name: 'occurred_at',
    jsonName: 'occurredAt',
    number: 2,
    label: optional,
    type: FieldDescriptorProto_Type.MESSAGE,
    typeName: '.google.protobuf.Timestamp',
  },
  {
    name: 'schema_version',
    jsonName: 'schemaVersion',
    number: 3,
    label: optional,
    type: FieldDescriptorProto_Type.UINT32,
  },
  {
    name: 'subject_id',
    jsonName: 'subjectId',
    number: 4,
    label: optional,
    type: FieldDescriptorProto_Type.STRING,
  },
];
const file = create(FileDescriptorProtoSchema, {
  name: 'platformtest/v1/sample_events.proto',
  package: 'platformtest.v1',
  syntax: 'proto3',
  dependency: ['google/protobuf/timestamp.proto'],
  // Both types have the same fields.
  messageType: ['SampleHappened', 'SampleEnded'].map((name) => ({ name, field: sampleFields })),
});

const registry = createFileRegistry(file, (name) =>
  name === 'google/protobuf/timestamp.proto' ? file_google_protobuf_timestamp : undefined,
);

export type SampleHappened = Message<'platformtest.v1.SampleHappened'> & {
  eventId: string;
  occurredAt?: Timestamp;
  schemaVersion: number;
  subjectId: string;
};

export const SampleHappenedSchema = registry.getMessage(
  'platformtest.v1.SampleHappened',
) as GenMessage<SampleHappened>;

/** A second type with the same fields, for subscriptions that take several types. */
export type SampleEnded = Message<'platformtest.v1.SampleEnded'> & {
  eventId: string;
  occurredAt?: Timestamp;
  schemaVersion: number;
  subjectId: string;
};

export const SampleEndedSchema = registry.getMessage(
  'platformtest.v1.SampleEnded',
) as GenMessage<SampleEnded>;
