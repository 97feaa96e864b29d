import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Hono } from 'hono';

const require = createRequire(import.meta.url);
const DIST = dirname(require.resolve('swagger-ui-dist/package.json'));
const VERSION = (JSON.parse(readFileSync(join(DIST, 'package.json'), 'utf8')) as { version: string }).version;

/** The Swagger UI files the page loads, read once at import, served as-is from node_modules. */
const ASSETS = Object.fromEntries(
  Object.entries({
    'swagger-ui.css': 'text/css; charset=utf-8',
    'swagger-ui-bundle.js': 'text/javascript; charset=utf-8',
    'favicon-32x32.png': 'image/png',
  }).map(([name, type]) => [name, { type, bytes: new Uint8Array(readFileSync(join(DIST, name))) }]),
);

/**
 * Only our own origin, plus `data:` images: swagger-ui.css draws its icons as `data:` SVGs. No inline
 * script, no eval, and no inline `<style>`: React sets `style` props through the CSSOM, which CSP allows.
 */
const CSP = [
  "default-src 'self'",
  "img-src 'self' data:",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

/**
 * `GET /docs`: the admin API's OpenAPI document rendered with Swagger UI (swagger-ui-dist), plus the
 * files the page loads under `/docs/…` (`init.js`, `swagger-ui.css`, `swagger-ui-bundle.js`, the
 * favicon). Nothing comes from a CDN, and the page carries a strict Content-Security-Policy: no
 * inline script, no eval, every request to this origin. No authentication: the page and the
 * document are public, the token is typed into Swagger UI's Authorize dialog and not persisted.
 * Any other `/docs/…` path is not matched, so it gets the app's 404.
 * @param specPath where the OpenAPI 3.1 document is served, e.g. `/openapi.json`.
 * @returns a Hono app to mount at `/`.
 */
export function docsRoutes(specPath: string): Hono {
  // The version query changes with swagger-ui-dist, so browsers may keep the big files a year.
  const asset = (name: string) => `/docs/${name}?v=${VERSION}`;
  const page = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>clinic-event-bridge admin API</title>
<link rel="stylesheet" href="${asset('swagger-ui.css')}">
<link rel="icon" type="image/png" href="${asset('favicon-32x32.png')}">
<script defer src="${asset('swagger-ui-bundle.js')}"></script>
<script defer src="/docs/init.js"></script>
</head>
<body><div id="swagger-ui"></div></body>
</html>
`;
  // A file, not an inline script, so the CSP can leave out 'unsafe-inline' for scripts.
  // validatorUrl: null keeps the page from sending the document to validator.swagger.io.
  const init = `window.ui = SwaggerUIBundle(${JSON.stringify({
    url: specPath,
    dom_id: '#swagger-ui',
    deepLinking: true,
    persistAuthorization: false,
    validatorUrl: null,
  })});\n`;

  // no-cache: the page and init.js are tiny and name the current asset version and spec path.
  const fresh = { 'content-security-policy': CSP, 'cache-control': 'no-cache' };
  const app = new Hono()
    .get('/docs', (c) => c.html(page, 200, fresh))
    .get('/docs/', (c) => c.redirect('/docs', 301))
    .get('/docs/init.js', (c) => c.body(init, 200, { ...fresh, 'content-type': 'text/javascript; charset=utf-8' }));
  for (const [name, { type, bytes }] of Object.entries(ASSETS)) {
    app.get(`/docs/${name}`, (c) =>
      c.body(bytes, 200, { 'content-security-policy': CSP, 'content-type': type, 'cache-control': 'public, max-age=31536000, immutable' }),
    );
  }
  return app;
}
