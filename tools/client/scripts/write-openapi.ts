import { writeFileSync } from 'node:fs';
import { openApiDocument } from '@orderly/gateway/openapi-document';

/** Writes the gateway's OpenAPI document to the path given (run by tools/scripts/generate.mjs). */
const [out] = process.argv.slice(2);
if (!out) throw new Error('usage: write-openapi.ts <out.json>');
writeFileSync(out, `${JSON.stringify(await openApiDocument(), null, 2)}\n`);
