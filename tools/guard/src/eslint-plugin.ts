import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';
import type { ESLint, Rule } from 'eslint';
import { configFileName, loadConfig } from './config-loader.ts';
import type { RawFinding } from './finding.ts';
import { rules } from './guard-check.ts';
import { ImportResolver } from './import-resolver.ts';
import { RepoModel } from './repo-model.ts';
import { ruleCatalog } from './rule-catalog.ts';
import type { RuleContext } from './rule-context.ts';
import { SourceIndex } from './source-index.ts';

/** The rules that look at one file at a time, so an editor can show them as you type. */
export const perFileRules = ['layering', 'no-scattered-telemetry', 'no-hardcoded-config'] as const;
type PerFileRule = (typeof perFileRules)[number];

const models = new Map<string, RepoModel>();

/** The repository a file belongs to: the nearest orderly-guard config, else the nearest workspace root or package. */
function repositoryRootOf(file: string): string | undefined {
  let nearestPackage: string | undefined;
  let workspaceRoot: string | undefined;
  for (let dir = dirname(file); ; dir = dirname(dir)) {
    if (existsSync(join(dir, configFileName))) return dir;
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest)) {
      nearestPackage ??= dir;
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown }).workspaces)
          workspaceRoot ??= dir;
      } catch {
        // An unreadable manifest says nothing about the layout.
      }
    }
    if (dirname(dir) === dir) return workspaceRoot ?? nearestPackage;
  }
}

/** Runs one guard rule on one file, reading the editor's text for it and the disk for the rest. */
export function findingsForFile(rule: PerFileRule, file: string, text: string): RawFinding[] {
  const root = repositoryRootOf(file);
  if (!root) return [];
  let model = models.get(root);
  if (!model) {
    model = new RepoModel(root, loadConfig(root));
    models.set(root, model);
  }
  const path = relative(root, file).split(sep).join('/');
  const base = model;
  if (!base.sourceFiles().includes(path)) return [];
  const view = Object.create(base) as RepoModel;
  view.sourceFiles = () => [path];
  view.readText = (candidate: string) => (candidate === path ? text : base.readText(candidate));
  const context: RuleContext = {
    model: view,
    index: new SourceIndex(view),
    resolver: new ImportResolver(view),
    config: base.config,
    callGraph: () => {
      throw new Error(`${rule} is a per-file rule and has no call graph`);
    },
  };
  return rules[rule](context).filter((finding) => finding.file === path);
}

function eslintRule(id: PerFileRule): Rule.RuleModule {
  return {
    meta: {
      type: 'problem',
      docs: { description: ruleCatalog[id].summary },
      schema: [],
    },
    create(context) {
      return {
        'Program:exit'() {
          for (const finding of findingsForFile(id, context.filename, context.sourceCode.text)) {
            context.report({
              loc: { line: finding.line, column: finding.column - 1 },
              message: `${finding.message} → ${finding.fix}`,
            });
          }
        },
      };
    },
  };
}

/**
 * `orderly-guard`'s per-file rules as an ESLint plugin (flat config):
 * `import guard from '@orderly/guard/eslint-plugin'; export default [guard.configs.recommended];`
 * The repository rules (call chains, shared databases, ...) need the whole program: run
 * `orderly-guard check` for those.
 */
const plugin: ESLint.Plugin & { configs: Record<string, unknown> } = {
  meta: { name: '@orderly/guard/eslint-plugin', version: '0.1.0' },
  rules: Object.fromEntries(perFileRules.map((id) => [id, eslintRule(id)])),
  configs: {},
};
plugin.configs.recommended = {
  plugins: { 'orderly-guard': plugin },
  rules: Object.fromEntries(perFileRules.map((id) => [`orderly-guard/${id}`, 'error'])),
};

export default plugin;
