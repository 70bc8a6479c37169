import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, test } from 'vitest';
import {
  buildDescriptors,
  diffProtoVersions,
  findBuf,
  producersWithVersions,
} from '../src/proto-diff.js';

/**
 * The protobuf side of `orderly contracts diff` on a small buf workspace of its own (demo.v1 and
 * demo.v2), built by the repository's buf: every kind of change it judges, breaking or not.
 */
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const workspace = mkdtempSync(join(tmpdir(), 'orderly-proto-diff-'));
afterAll(() => rmSync(workspace, { recursive: true, force: true }));

function write(path: string, text: string): void {
  mkdirSync(dirname(join(workspace, path)), { recursive: true });
  writeFileSync(join(workspace, path), text);
}

describe('diffProtoVersions', () => {
  test('when demo.v2 changes demo.v1, then each change is named with its verdict', () => {
    write('buf.yaml', 'version: v2\nmodules:\n  - path: proto\n');
    write(
      'proto/demo/v1/demo_events.proto',
      `syntax = "proto3";
package demo.v1;
enum Reason { REASON_UNSPECIFIED = 0; REASON_LATE = 1; REASON_LOST = 2; }
message Line { string sku = 1; }
message Shipped {
  string event_id = 1;
  int64 amount_cents = 2;
  Line line = 3;
  string note = 4;
  Reason reason = 5;
  string carrier = 6;
}
message Dropped { string event_id = 1; }
`,
    );
    write(
      'proto/demo/v1/demo_service.proto',
      `syntax = "proto3";
package demo.v1;
message Ping { string id = 1; }
`,
    );
    write(
      'proto/demo/v2/demo_events.proto',
      `syntax = "proto3";
package demo.v2;
enum Reason { REASON_UNSPECIFIED = 0; REASON_LATE = 1; REASON_DAMAGED = 3; }
message Line { string sku = 1; }
message Money { int64 amount_minor = 1; string currency = 2; }
message Shipped {
  string event_id = 1;
  Money amount = 2;
  repeated Line line = 3;
  string remark = 4;
  Reason reason = 5;
  string tracking = 7;
}
`,
    );
    const registry = buildDescriptors(workspace, findBuf(repoRoot));
    expect(producersWithVersions(registry, '1', '2')).toEqual(['demo']);

    const diff = diffProtoVersions(registry, 'demo', '1', '2');
    expect(diff).toMatchObject({
      from: 'demo.v1',
      to: 'demo.v2',
      files: ['demo_events'],
      breaking: true,
    });
    const verdicts = diff.changes.map((change) => [
      change.breaking,
      change.kind,
      change.path,
      change.detail,
    ]);
    expect(verdicts).toEqual(
      expect.arrayContaining([
        [
          true,
          'changed',
          'demo_events Shipped.amount_cents',
          'field amount_cents = 2: renamed to amount, type int64 → Money',
        ],
        [true, 'changed', 'demo_events Shipped.line', 'field line = 3: type Line → repeated Line'],
        [true, 'changed', 'demo_events Shipped.note', 'field note = 4: renamed to remark'],
        [true, 'removed', 'demo_events Shipped.carrier', 'field carrier = 6 (string) removed'],
        [false, 'added', 'demo_events Shipped.tracking', 'field tracking = 7 (string) added'],
        [true, 'removed', 'demo_events Reason.REASON_LOST', 'enum value REASON_LOST = 2 removed'],
        [
          false,
          'added',
          'demo_events Reason.REASON_DAMAGED',
          'enum value REASON_DAMAGED = 3 added',
        ],
        [true, 'removed', 'demo_events Dropped', 'message Dropped removed'],
        [false, 'added', 'demo_events Money', 'message Money added'],
      ]),
    );
    // Unchanged: Line, Shipped.event_id and .reason; demo_service.proto has no v2 and is not compared.
    expect(diff.changes.filter((change) => change.path.startsWith('demo_events Line'))).toEqual([]);
    expect(diff.changes).toHaveLength(9);
  });
});
