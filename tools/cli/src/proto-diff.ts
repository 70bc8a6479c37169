import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import {
  ScalarType,
  createFileRegistry,
  fromBinary,
  type DescEnum,
  type DescField,
  type DescFile,
  type DescMessage,
  type FileRegistry,
} from '@bufbuild/protobuf';
import { FileDescriptorSetSchema } from '@bufbuild/protobuf/wkt';

/** One difference between two versions of a producer's protobuf package, e.g. `order.OrderPlaced.total_cents`. */
export interface ProtoChange {
  kind: 'added' | 'removed' | 'changed';
  target: 'message' | 'field' | 'enum' | 'enum value';
  /** `<file> <Message>.<field>`, without the version: `order_events OrderPlaced.total_cents`. */
  path: string;
  /** The full name in the old version (or the new one for an addition): `order.v1.OrderPlaced`. */
  typeName: string;
  breaking: boolean;
  detail: string;
}

export interface ProtoDiff {
  /** Proto packages compared, e.g. `order.v1` → `order.v2`. */
  from: string;
  to: string;
  /** The files (by name) both versions have; only they are compared. */
  files: string[];
  breaking: boolean;
  changes: ProtoChange[];
}

export class ProtoBuildError extends Error {}

/** The repository's buf workspace as descriptors, built by `buf build` (the same modules CI lints and gates). */
export function buildDescriptors(repoRoot: string, buf = findBuf(repoRoot)): FileRegistry {
  const result = spawnSync(buf, ['build', '--exclude-source-info', '-o', '-'], {
    cwd: repoRoot,
    maxBuffer: 64 * 1024 * 1024,
  });
  if (result.error || result.status !== 0) {
    throw new ProtoBuildError(
      `buf build failed: ${result.error?.message ?? String(result.stderr).trim()}`,
    );
  }
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, result.stdout));
}

export function findBuf(root: string): string {
  for (let dir = root; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', '.bin', 'buf');
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) return 'buf';
  }
}

/** Producers with a package in both versions: `order` when `order.v1` and `order.v2` exist. */
export function producersWithVersions(registry: FileRegistry, from: string, to: string): string[] {
  const packages = new Set([...registry.files].map((file) => file.proto.package));
  return [...packages]
    .filter((name) => name.endsWith(`.v${from}`))
    .map((name) => name.slice(0, -`.v${from}`.length))
    .filter((producer) => packages.has(`${producer}.v${to}`))
    .sort();
}

/**
 * Compares `<producer>.v<from>` with `<producer>.v<to>` file by file (same file name), message by
 * message (same name) and field by field (same number), as protobuf's wire and JSON encodings see
 * them: a removed message, field or enum value, a field renamed (its JSON name) or retyped, or moved
 * between singular and repeated is breaking; additions are not.
 */
export function diffProtoVersions(
  registry: FileRegistry,
  producer: string,
  from: string,
  to: string,
): ProtoDiff {
  const before = `${producer}.v${from}`;
  const after = `${producer}.v${to}`;
  const filesOf = (pkg: string) =>
    new Map(
      [...registry.files]
        .filter((file) => file.proto.package === pkg)
        .map((file) => [baseName(file), file] as const),
    );
  const oldFiles = filesOf(before);
  const newFiles = filesOf(after);
  const shared = [...oldFiles.keys()].filter((name) => newFiles.has(name)).sort();
  // A type the new file has may live in another file of the old package (an enum moved next to
  // the events that use it): it is the same type, compared, not added.
  const oldPackage = [...oldFiles.values()];
  const changes: ProtoChange[] = [];
  for (const name of shared) {
    const oldFile = oldFiles.get(name)!;
    const newFile = newFiles.get(name)!;
    const moved = <T extends DescEnum | DescMessage>(mine: T[], anywhere: T[], theirs: T[]) => [
      ...mine,
      ...anywhere.filter(
        (type) =>
          !mine.includes(type) &&
          theirs.some(
            (other) =>
              localName(other.typeName, [before, after]) ===
              localName(type.typeName, [before, after]),
          ),
      ),
    ];
    diffEnums(
      changes,
      name,
      moved(
        oldFile.enums,
        oldPackage.flatMap((file) => file.enums),
        newFile.enums,
      ),
      newFile.enums,
      [before, after],
    );
    diffMessages(
      changes,
      name,
      moved(allMessages(oldFile), oldPackage.flatMap(allMessages), allMessages(newFile)),
      allMessages(newFile),
      [before, after],
    );
  }
  return {
    from: before,
    to: after,
    files: shared,
    breaking: changes.some((change) => change.breaking),
    changes,
  };
}

function baseName(file: DescFile): string {
  return file.name.split('/').pop() ?? file.name;
}

function allMessages(file: DescFile): DescMessage[] {
  const out: DescMessage[] = [];
  const visit = (message: DescMessage): void => {
    out.push(message);
    message.nestedMessages.forEach(visit);
  };
  file.messages.forEach(visit);
  return out;
}

/** A type's name without its package, so `order.v1.Money` and `order.v2.Money` compare equal. */
function localName(typeName: string, packages: readonly string[]): string {
  for (const pkg of packages) {
    if (typeName.startsWith(`${pkg}.`)) return typeName.slice(pkg.length + 1);
  }
  return typeName;
}

function diffMessages(
  changes: ProtoChange[],
  file: string,
  oldMessages: DescMessage[],
  newMessages: DescMessage[],
  packages: readonly string[],
): void {
  const byName = (messages: DescMessage[]) =>
    new Map(messages.map((message) => [localName(message.typeName, packages), message] as const));
  const olds = byName(oldMessages);
  const news = byName(newMessages);
  for (const [name, message] of olds) {
    const next = news.get(name);
    if (!next) {
      changes.push({
        kind: 'removed',
        target: 'message',
        path: `${file} ${name}`,
        typeName: message.typeName,
        breaking: true,
        detail: `message ${name} removed`,
      });
      continue;
    }
    diffFields(changes, `${file} ${name}`, message, next, packages);
  }
  for (const [name, message] of news) {
    if (olds.has(name)) continue;
    changes.push({
      kind: 'added',
      target: 'message',
      path: `${file} ${name}`,
      typeName: message.typeName,
      breaking: false,
      detail: `message ${name} added`,
    });
  }
}

function diffFields(
  changes: ProtoChange[],
  where: string,
  oldMessage: DescMessage,
  newMessage: DescMessage,
  packages: readonly string[],
): void {
  const newByNumber = new Map(newMessage.fields.map((field) => [field.number, field] as const));
  const oldNumbers = new Set(oldMessage.fields.map((field) => field.number));
  for (const field of oldMessage.fields) {
    const next = newByNumber.get(field.number);
    const path = `${where}.${field.name}`;
    if (!next) {
      changes.push({
        kind: 'removed',
        target: 'field',
        path,
        typeName: oldMessage.typeName,
        breaking: true,
        detail: `field ${field.name} = ${field.number} (${typeOf(field, packages)}) removed`,
      });
      continue;
    }
    const differences: string[] = [];
    if (next.name !== field.name) differences.push(`renamed to ${next.name}`);
    const [oldType, newType] = [typeOf(field, packages), typeOf(next, packages)];
    if (oldType !== newType) differences.push(`type ${oldType} → ${newType}`);
    if (differences.length > 0) {
      changes.push({
        kind: 'changed',
        target: 'field',
        path,
        typeName: oldMessage.typeName,
        breaking: true,
        detail: `field ${field.name} = ${field.number}: ${differences.join(', ')}`,
      });
    }
  }
  for (const field of newMessage.fields) {
    if (oldNumbers.has(field.number)) continue;
    changes.push({
      kind: 'added',
      target: 'field',
      path: `${where}.${field.name}`,
      typeName: newMessage.typeName,
      breaking: false,
      detail: `field ${field.name} = ${field.number} (${typeOf(field, packages)}) added`,
    });
  }
}

function diffEnums(
  changes: ProtoChange[],
  file: string,
  oldEnums: DescEnum[],
  newEnums: DescEnum[],
  packages: readonly string[],
): void {
  const news = new Map(newEnums.map((e) => [localName(e.typeName, packages), e] as const));
  const olds = new Map(oldEnums.map((e) => [localName(e.typeName, packages), e] as const));
  for (const [name, oldEnum] of olds) {
    const next = news.get(name);
    if (!next) {
      changes.push({
        kind: 'removed',
        target: 'enum',
        path: `${file} ${name}`,
        typeName: oldEnum.typeName,
        breaking: true,
        detail: `enum ${name} removed`,
      });
      continue;
    }
    const newValues = new Map(next.values.map((value) => [value.number, value] as const));
    for (const value of oldEnum.values) {
      const match = newValues.get(value.number);
      if (!match || match.name !== value.name) {
        changes.push({
          kind: match ? 'changed' : 'removed',
          target: 'enum value',
          path: `${file} ${name}.${value.name}`,
          typeName: oldEnum.typeName,
          breaking: true,
          detail: match
            ? `enum value ${value.name} = ${value.number} renamed to ${match.name}`
            : `enum value ${value.name} = ${value.number} removed`,
        });
      }
    }
    const oldValues = new Set(oldEnum.values.map((value) => value.number));
    for (const value of next.values) {
      if (oldValues.has(value.number)) continue;
      changes.push({
        kind: 'added',
        target: 'enum value',
        path: `${file} ${name}.${value.name}`,
        typeName: next.typeName,
        breaking: false,
        detail: `enum value ${value.name} = ${value.number} added`,
      });
    }
  }
  for (const [name, newEnum] of news) {
    if (olds.has(name)) continue;
    changes.push({
      kind: 'added',
      target: 'enum',
      path: `${file} ${name}`,
      typeName: newEnum.typeName,
      breaking: false,
      detail: `enum ${name} added`,
    });
  }
}

/** `int64`, `repeated OrderedLine`, `map<string, int64>`, `Money` (package dropped for this producer's types). */
function typeOf(field: DescField, packages: readonly string[]): string {
  const scalar = (type: ScalarType) => ScalarType[type].toLowerCase();
  switch (field.fieldKind) {
    case 'scalar':
      return scalar(field.scalar);
    case 'enum':
      return localName(field.enum.typeName, packages);
    case 'message':
      return localName(field.message.typeName, packages);
    case 'list': {
      const item =
        field.listKind === 'scalar'
          ? scalar(field.scalar)
          : field.listKind === 'enum'
            ? localName(field.enum.typeName, packages)
            : localName(field.message.typeName, packages);
      return `repeated ${item}`;
    }
    case 'map': {
      const value =
        field.mapKind === 'scalar'
          ? scalar(field.scalar)
          : field.mapKind === 'enum'
            ? localName(field.enum.typeName, packages)
            : localName(field.message.typeName, packages);
      return `map<${scalar(field.mapKey)}, ${value}>`;
    }
  }
}
