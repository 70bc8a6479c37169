import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { AppError } from '@orderly/platform';
import { routeNotFound } from '../http/http-errors.js';
import { generatedFile, loadStaticFolder, type StaticFile } from './static-files.js';

/**
 * The pages the gateway serves to browsers, public like the login form they start with (every API
 * call they make needs a token, and the console's the admin role):
 * - `/console`: the operator console, the build of tools/console (`npm run generate` writes it);
 * - `/docs`: the API reference, Swagger UI (swagger-ui-dist, served from the package) reading
 *   /openapi.json.
 * Nothing is loaded from another origin (Content-Security-Policy says so).
 */
// From services/gateway/src/entry-points/web/ to the repository root (the bundle keeps these paths).
const repoRoot = new URL('../../../../../', import.meta.url);
const consoleBuild = new URL('tools/console/dist/', repoRoot);
const swaggerUi = new URL('node_modules/swagger-ui-dist/', repoRoot);
const swaggerFiles = new Set(['swagger-ui.css', 'swagger-ui-bundle.js']);

/** The files of both pages, read once per process (they do not change while it runs). */
let pages: { console: Map<string, StaticFile>; docs: Map<string, StaticFile> } | undefined;
function loadPages() {
  pages ??= {
    console: loadStaticFolder(consoleBuild, ['assets']),
    docs: new Map([
      ...loadStaticFolder(swaggerUi, [], (name) => swaggerFiles.has(name)),
      ['', generatedFile('index.html', docsPage)],
      ['init.js', generatedFile('init.js', docsInit)],
    ]),
  };
  return pages;
}

const docsPage = `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <meta name="viewport" content="width=device-width, initial-scale=1" />
    <title>Orderly API reference</title>
    <link rel="stylesheet" href="/docs/swagger-ui.css" />
  </head>
  <body>
    <div id="swagger-ui"></div>
    <script src="/docs/swagger-ui-bundle.js"></script>
    <script src="/docs/init.js"></script>
  </body>
</html>
`;

const docsInit = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
});
`;

// Swagger UI sets inline styles and shows data: images; nothing comes from elsewhere.
const contentSecurityPolicy =
  "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
  "connect-src 'self'; font-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

const consoleNotBuilt = () =>
  new AppError(
    'CONSOLE_NOT_BUILT',
    'the console is not built: run `npm run generate` (it builds tools/console into tools/console/dist)',
    { kind: 'unavailable' },
  );

function send(request: FastifyRequest, reply: FastifyReply, file: StaticFile, immutable: boolean) {
  reply
    .header('content-type', file.contentType)
    .header('etag', file.etag)
    .header('content-security-policy', contentSecurityPolicy)
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('cache-control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
  if (request.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.send(file.body);
}

export function registerWebRoutes(app: FastifyInstance): void {
  const page = { schema: { hide: true }, config: { access: 'public' as const } };

  app.get('/console', page, (_request, reply) => reply.redirect('/console/', 302));
  app.get('/console/', page, (request, reply) => {
    const file = loadPages().console.get('index.html');
    if (!file) throw consoleNotBuilt();
    return send(request, reply, file, false);
  });
  app.get<{ Params: { '*': string } }>('/console/*', page, (request, reply) => {
    const files = loadPages().console;
    const path = request.params['*'];
    const file = files.get(path);
    // The console routes in the page (#/orders/...): any other path is the page itself.
    if (file) return send(request, reply, file, path.startsWith('assets/'));
    const index = files.get('index.html');
    if (!index) throw consoleNotBuilt();
    return send(request, reply, index, false);
  });

  app.get('/docs', page, (_request, reply) => reply.redirect('/docs/', 302));
  app.get<{ Params: { '*': string } }>('/docs/*', page, (request, reply) => {
    const file = loadPages().docs.get(request.params['*']);
    if (!file) throw routeNotFound();
    return send(request, reply, file, false);
  });
}
