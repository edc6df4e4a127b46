#!/usr/bin/env node
'use strict';
// The project pins Node 24 through the npm package "node". When this script
// is started by an older system node directly (not through npm/npx), re-run
// it on the pinned binary so every entry point runs the same runtime.
const path = require('node:path');
const fs = require('node:fs');

const major = Number(process.versions.node.split('.')[0]);
const pinned = path.join(__dirname, '..', 'node_modules', 'node', 'bin', 'node');
if (major < 24 && fs.existsSync(pinned)) {
  const { spawnSync } = require('node:child_process');
  const result = spawnSync(pinned, [__filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  process.exit(result.status === null ? 1 : result.status);
}
const entry = path.join(__dirname, '..', 'dist', 'src', 'cli', 'main.js');
if (!fs.existsSync(entry)) {
  process.stderr.write('egress-capture: not built yet; run `npm run build` first\n');
  process.exit(1);
}
const { main } = require(entry);
main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`egress-capture: ${err && err.stack ? err.stack : String(err)}\n`);
    process.exitCode = 1;
  },
);
