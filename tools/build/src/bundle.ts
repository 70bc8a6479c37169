import { readdirSync, readFileSync, statSync } from 'node:fs';
import { relative } from 'node:path';
import { build, type Plugin } from 'esbuild';
import type { BuildMetadata } from './build-metadata.js';
import { distDir, repoRoot, type ShippedService } from './services.js';

/** Where the bundle pretends its modules live (see platform/src/packaging/embedded-files.ts). */
const virtualRoot = '/orderly-bundle/';

/**
 * What the gateway serves to browsers (services/gateway/src/entry-points/web/web-routes.ts): the
 * console's build (text: HTML, JS, CSS) and the two files of Swagger UI it uses. All text, so they
 * embed like the rest; a missing console build fails the bundle rather than shipping without it.
 */
const browserFiles = {
  'tools/console/dist': ['', 'assets'],
  'node_modules/swagger-ui-dist': ['swagger-ui.css', 'swagger-ui-bundle.js'],
} as const;

function browserFilesOf(embed: (repoPath: string) => void): void {
  const consoleBuild = 'tools/console/dist';
  if (!isDirectory(`${repoRoot}${consoleBuild}`))
    throw new Error(`${consoleBuild} is missing: run npm run generate (it builds the console)`);
  for (const sub of browserFiles[consoleBuild]) {
    const folder = sub ? `${consoleBuild}/${sub}` : consoleBuild;
    for (const name of readdirSync(`${repoRoot}${folder}`).sort())
      if (!isDirectory(`${repoRoot}${folder}/${name}`)) embed(`${folder}/${name}`);
  }
  const swaggerUi = 'node_modules/swagger-ui-dist';
  for (const name of browserFiles[swaggerUi]) embed(`${swaggerUi}/${name}`);
}

/**
 * Files a service reads next to its source: the configuration defaults and the migrations (the
 * platform's and its own), and the gateway's pages for browsers. The bundle embeds them under the
 * virtual paths its code computes.
 */
function embeddedFilesOf(service: ShippedService): Record<string, string> {
  const files: Record<string, string> = {};
  const embed = (repoPath: string) =>
    (files[`${virtualRoot}${repoPath}`] = readFileSync(`${repoRoot}${repoPath}`, 'utf8'));
  embed('config/default.yaml');
  for (const folder of [
    'platform/src/db/migrations',
    `services/${service}/src/data-access/migrations`,
  ]) {
    if (!isDirectory(`${repoRoot}${folder}`)) continue;
    for (const name of readdirSync(`${repoRoot}${folder}`)
      .filter((n) => n.endsWith('.sql'))
      .sort())
      embed(`${folder}/${name}`);
  }
  if (service === 'gateway') browserFilesOf(embed);
  if (service === 'risk')
    files[`${virtualRoot}${riskPlugins}/shipped-plugins.json`] = shippedRulePlugins();
  return files;
}

const riskPlugins = 'services/risk/plugins';

/**
 * The risk service's shipped rule plugins (<name>/<version>/{plugin.wasm,golden.json}) as one JSON
 * text, the .wasm in base64: a binary started where that folder does not exist writes them out and
 * serves them (services/risk/src/plugins/shipped-plugins.ts). A plugin folder mounted at
 * services.risk.plugins.dir takes precedence, and is where live swaps happen.
 */
function shippedRulePlugins(): string {
  const plugins: Record<string, Record<string, { wasm: string; golden: string }>> = {};
  const root = `${repoRoot}${riskPlugins}`;
  for (const name of readdirSync(root).sort()) {
    if (!isDirectory(`${root}/${name}`)) continue;
    for (const version of readdirSync(`${root}/${name}`).sort()) {
      const folder = `${root}/${name}/${version}`;
      if (!/^\d+\.\d+\.\d+$/.test(version) || !isDirectory(folder)) continue;
      (plugins[name] ??= {})[version] = {
        wasm: readFileSync(`${folder}/plugin.wasm`).toString('base64'),
        golden: readFileSync(`${folder}/golden.json`, 'utf8'),
      };
    }
  }
  if (Object.keys(plugins).length === 0) throw new Error(`${riskPlugins} holds no rule plugin`);
  return JSON.stringify(plugins);
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * CommonJS has no `import.meta`: each of our modules gets its own virtual `import.meta.url`
 * (file:///orderly-bundle/<repo path>), so paths computed from it stay distinct per module and
 * match the keys of the embedded files.
 */
const virtualImportMetaUrl: Plugin = {
  name: 'orderly-virtual-import-meta-url',
  setup(esbuild) {
    esbuild.onLoad({ filter: /\.ts$/ }, (args) => {
      const path = relative(repoRoot, args.path);
      if (path.startsWith('..') || path.includes('node_modules')) return undefined;
      const source = readFileSync(args.path, 'utf8');
      const url = JSON.stringify(`file://${virtualRoot}${path}`);
      return { contents: source.replaceAll('import.meta.url', url), loader: 'ts' };
    });
  },
};

export interface BundleResult {
  readonly service: ShippedService;
  readonly file: string;
  readonly bytes: number;
  readonly embeddedFiles: number;
}

/** One CommonJS file per service, the format the single-file binaries start (see sea.ts). */
export async function bundleService(
  service: ShippedService,
  metadata: BuildMetadata,
): Promise<BundleResult> {
  const file = `${distDir}/bundles/${service}.cjs`;
  const embedded = embeddedFilesOf(service);
  const result = await build({
    entryPoints: [`${repoRoot}services/${service}/src/main.ts`],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node26',
    // Whitespace and syntax only: identifiers stay, so stack traces remain readable.
    minifyWhitespace: true,
    minifySyntax: true,
    legalComments: 'none',
    // pg loads pg-native only when asked for (`pg.native`); Orderly never does.
    external: ['pg-native'],
    define: {
      __ORDERLY_BUILD_INFO__: JSON.stringify(metadata),
      __ORDERLY_EMBEDDED_FILES__: JSON.stringify(embedded),
    },
    plugins: [virtualImportMetaUrl],
    logLevel: 'silent',
    metafile: false,
  });
  if (result.errors.length > 0)
    throw new Error(`bundle of ${service} failed: ${result.errors.map((e) => e.text).join('; ')}`);
  for (const warning of result.warnings) process.stderr.write(`${service}: ${warning.text}\n`);
  return { service, file, bytes: statSync(file).size, embeddedFiles: Object.keys(embedded).length };
}
