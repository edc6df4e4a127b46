#!/usr/bin/env node
'use strict';
// The registry these machines reach serves only the linux-x64 builds of
// platform-specific optional packages (chdb's @chdb/lib-*, jest's
// @unrs/resolver-binding-*), so `npm install` leaves the other platforms'
// entries out of package-lock.json, and `npm ci` then refuses the lock as
// out of sync. This adds those entries back (version, os, cpu, libc, marked
// optional) from the parents' optionalDependencies; npm ci skips them on
// this platform, so they are never fetched. Run after changing dependencies:
//   npm run lockfile
const fs = require('node:fs');
const path = require('node:path');

const OS = ['darwin', 'linux', 'win32', 'android', 'freebsd', 'openharmony'];
const CPU = ['arm64', 'x64', 'ia32', 'loong64', 'ppc64', 'riscv64', 's390x', 'arm'];
const lockPath = path.join(__dirname, '..', 'package-lock.json');
const lock = JSON.parse(fs.readFileSync(lockPath, 'utf8'));
const packages = lock.packages;
const added = [];
for (const [key, meta] of Object.entries(packages)) {
  if (key !== '' && !key.startsWith('node_modules/')) continue;
  for (const [name, spec] of Object.entries(meta.optionalDependencies ?? {})) {
    if (packages[`node_modules/${name}`] || packages[`${key}/node_modules/${name}`]) continue;
    const tokens = name.split('/').pop().split('-');
    const os = tokens.find((t) => OS.includes(t));
    const cpu = tokens.find((t) => CPU.includes(t));
    if (!os || !cpu) continue;
    const entry = { version: spec, optional: true, os: [os], cpu: [cpu] };
    if (tokens.includes('gnu') || tokens.includes('gnueabihf')) entry.libc = ['glibc'];
    if (tokens.includes('musl') || tokens.includes('musleabihf')) entry.libc = ['musl'];
    packages[`node_modules/${name}`] = entry;
    added.push(name);
  }
}
const sorted = Object.fromEntries(Object.entries(packages).sort(([a], [b]) => (a === '' ? -1 : b === '' ? 1 : a < b ? -1 : a > b ? 1 : 0)));
lock.packages = sorted;
fs.writeFileSync(lockPath, JSON.stringify(lock, null, 2) + '\n');
console.log(`package-lock.json: ${added.length} optional platform entries added${added.length ? `: ${added.join(', ')}` : ''}`);
