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
  runOnPinnedNode();
} else {
  runHere();
}

/**
 * Node cannot exec(), so the pinned Node runs as a child. The PID the user
 * sees is this process, so it must behave as the server would: every signal
 * that stops a service is passed on (the child drains and exits on its own
 * terms), and this process ends the way the child ended, with its exit code
 * or by the same signal. A Ctrl-C in a terminal reaches both processes; the
 * serve command takes a repeated signal as the same request.
 */
function runOnPinnedNode() {
  const { spawn } = require('node:child_process');
  const child = spawn(pinned, [__filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  const forwarded = ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT', 'SIGUSR2'];
  const forward = (signal) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const signal of forwarded) process.on(signal, forward);
  child.on('error', (err) => {
    process.stderr.write(`egress-capture: cannot start ${pinned}: ${err.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    for (const name of forwarded) process.off(name, forward);
    if (signal !== null) {
      // Die of the same signal, so a shell or supervisor sees what the server saw.
      process.kill(process.pid, signal);
      // A signal whose default is not to terminate still ends this process, with the shell's 128+n.
      setTimeout(() => process.exit(128 + (require('node:os').constants.signals[signal] || 0)), 100);
      return;
    }
    process.exit(code === null ? 1 : code);
  });
}

function runHere() {
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
}
