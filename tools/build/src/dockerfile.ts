import { readFileSync } from 'node:fs';

/**
 * A small Dockerfile reader for the checks CI can make without a Docker engine: base images against
 * the allowlist, a non-root final user, the OCI labels, and which build-context files are copied.
 */
export interface Instruction {
  readonly keyword: string;
  readonly args: string;
  readonly line: number;
}

/** Instructions with continuation lines joined; comments and parser directives dropped. */
export function parseDockerfile(text: string): Instruction[] {
  const instructions: Instruction[] = [];
  let pending = '';
  let startLine = 0;
  text.split('\n').forEach((raw, index) => {
    const line = raw.trim();
    if (!pending && (line === '' || line.startsWith('#'))) return;
    if (pending && line.startsWith('#')) return;
    if (!pending) startLine = index + 1;
    const continued = line.endsWith('\\');
    pending += `${continued ? line.slice(0, -1) : line} `;
    if (continued) return;
    const [keyword = '', ...rest] = pending.trim().split(/\s+/);
    instructions.push({ keyword: keyword.toUpperCase(), args: rest.join(' '), line: startLine });
    pending = '';
  });
  return instructions;
}

export interface Stage {
  readonly image: string;
  readonly name?: string;
  readonly instructions: readonly Instruction[];
}

export function stagesOf(instructions: readonly Instruction[]): Stage[] {
  const stages: { image: string; name?: string; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const words = instruction.args.split(/\s+/).filter((w) => !w.startsWith('--platform'));
      const asIndex = words.findIndex((w) => w.toUpperCase() === 'AS');
      stages.push({
        image: words[0] ?? '',
        ...(asIndex > 0 ? { name: words[asIndex + 1] } : {}),
        instructions: [],
      });
    } else {
      stages.at(-1)?.instructions.push(instruction);
    }
  }
  return stages;
}

export function readAllowlist(file: string): Set<string> {
  return new Set(
    readFileSync(file, 'utf8')
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith('#')),
  );
}

const requiredLabels = [
  'org.opencontainers.image.source',
  'org.opencontainers.image.revision',
  'org.opencontainers.image.created',
];

/** Everything wrong with a Dockerfile by the project's rules; empty when it passes. */
export function dockerfileProblems(text: string, allowlist: ReadonlySet<string>): string[] {
  const problems: string[] = [];
  const stages = stagesOf(parseDockerfile(text));
  if (stages.length === 0) return ['no FROM instruction'];
  const stageNames = new Set<string>();
  for (const stage of stages) {
    if (!stageNames.has(stage.image) && !allowlist.has(stage.image)) {
      problems.push(`FROM ${stage.image}: not in deploy/base-images.allowlist`);
    }
    const isStage = stageNames.has(stage.image);
    if (
      !isStage &&
      (/:latest$/.test(stage.image) || !/[:@]/.test(stage.image.split('/').at(-1) ?? ''))
    ) {
      problems.push(`FROM ${stage.image}: a moving tag; name a version`);
    }
    if (stage.name) stageNames.add(stage.name);
    for (const i of stage.instructions) {
      if (i.keyword === 'ADD' && /https?:\/\//.test(i.args))
        problems.push(`line ${i.line}: ADD of a URL; download in a reviewed step instead`);
    }
  }
  const final = stages.at(-1)!;
  const user = final.instructions
    .filter((i) => i.keyword === 'USER')
    .at(-1)
    ?.args.split(':')[0];
  if (!user) problems.push('final stage: no USER (it would run as root)');
  else if (user === 'root' || user === '0') problems.push(`final stage: USER ${user} is root`);
  const labels = final.instructions
    .filter((i) => i.keyword === 'LABEL')
    .map((i) => i.args)
    .join(' ');
  for (const label of requiredLabels)
    if (!labels.includes(`${label}=`)) problems.push(`final stage: no LABEL ${label}`);
  if (!final.instructions.some((i) => i.keyword === 'ENTRYPOINT' && i.args.startsWith('['))) {
    problems.push('final stage: ENTRYPOINT must be in exec form (there is no shell)');
  }
  return problems;
}

/**
 * Paths in the build context that COPY/ADD instructions read (not `--from` another stage), with
 * `${ARG}` replaced by `args` or the ARG's default.
 */
export function dockerfileCopySources(
  text: string,
  args: Readonly<Record<string, string>> = {},
): string[] {
  const instructions = parseDockerfile(text);
  const values = new Map<string, string>();
  const sources: string[] = [];
  for (const i of instructions) {
    if (i.keyword === 'ARG') {
      const [name = '', value] = i.args.split('=');
      const given = args[name.toLowerCase()] ?? args[name];
      if (given !== undefined) values.set(name, given);
      else if (value !== undefined && !values.has(name)) values.set(name, value);
    }
    if (i.keyword !== 'COPY' && i.keyword !== 'ADD') continue;
    const words = i.args.split(/\s+/);
    if (words.some((w) => w.startsWith('--from'))) continue;
    const paths = words.filter((w) => !w.startsWith('--'));
    for (const source of paths.slice(0, -1)) {
      sources.push(
        source.replace(
          /\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g,
          (_, name: string) => values.get(name) ?? '',
        ),
      );
    }
  }
  return sources;
}
