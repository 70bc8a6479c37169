import {
  createLogger,
  loadConfigDocument,
  parseServiceConfig,
  type Telemetry,
} from '@orderly/platform';
import { gatewayConfigSchema } from '../../config.js';
import type { AccessTokenVerifier } from '../auth/access-token-verifier.js';
import type { OperatorPorts } from '../console/operator-ports.js';
import { combinedDocument } from './contract-openapi.js';
import { buildHttpApp, type HttpAppDeps } from './http-app.js';

/**
 * The public API's OpenAPI document as the gateway serves it at /openapi.json with the built-in
 * defaults (config/default.yaml): what `npm run generate` writes to tools/client/openapi.json for
 * the typed client. No service is called: the app is built and described, never asked.
 */
export async function openApiDocument(): Promise<unknown> {
  const config = parseServiceConfig(
    loadConfigDocument({ argv: [], env: {} }),
    'gateway',
    gatewayConfigSchema,
  );
  const unused = new Proxy(
    {},
    {
      get: () => {
        throw new Error('the OpenAPI document is built without calling any service');
      },
    },
  );
  const app = await buildHttpApp({
    config: config.service,
    log: createLogger({ service: 'gateway', level: 'silent' }),
    telemetry: unused as Telemetry,
    orderClient: unused as HttpAppDeps['orderClient'],
    inventoryClient: unused as HttpAppDeps['inventoryClient'],
    identityClient: unused as HttpAppDeps['identityClient'],
    riskClient: unused as HttpAppDeps['riskClient'],
    verifier: unused as AccessTokenVerifier,
    // Only its presence matters here: it adds the console's routes to the document.
    operatorPorts: unused as OperatorPorts,
  });
  try {
    return combinedDocument(app.swagger(), config.service.contract);
  } finally {
    await app.close();
  }
}
