// Bundles the capture browser's page into dist/ui (run by `npm run build`):
// one script and one stylesheet, minified, named by content hash so the
// server can let browsers keep them for a year (src/admin/capture-browser/static-ui.ts),
// and an index.html that loads them. No inline script or style: the page's
// Content-Security-Policy allows neither.
import * as esbuild from 'esbuild';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';

const here = path.dirname(new URL(import.meta.url).pathname);
const out = path.resolve(here, '..', 'dist', 'ui');
fs.rmSync(out, { recursive: true, force: true });

const result = await esbuild.build({
  entryPoints: { app: path.join(here, 'src', 'main.js') },
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['chrome110', 'firefox110', 'safari16'],
  entryNames: '[name]-[hash]',
  outdir: out,
  metafile: true,
  legalComments: 'none',
  logLevel: 'warning',
});

const outputs = Object.keys(result.metafile.outputs).map((file) => path.basename(file));
const script = outputs.find((name) => name.endsWith('.js'));
const style = outputs.find((name) => name.endsWith('.css'));
const html = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>egress-capture</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="${style}">
<script type="module" src="${script}"></script>
</head>
<body><noscript>The capture browser needs JavaScript; the same data is at /api/exchanges.</noscript><div id="app"></div></body>
</html>
`;
fs.writeFileSync(path.join(out, 'index.html'), html);

// The page weight a first visit downloads, compressed as the server sends it (brotli).
let total = 0;
for (const name of fs.readdirSync(out)) total += zlib.brotliCompressSync(fs.readFileSync(path.join(out, name))).length;
console.log(`capture browser: dist/ui, ${(total / 1024).toFixed(1)} KiB compressed`);
