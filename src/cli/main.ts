#!/usr/bin/env node
import { runCli } from './cli.runner.js';

// The exit code is set rather than exited with, so that stdout is flushed first.
void runCli(process.argv.slice(2), {
  stdout: (text) => void process.stdout.write(text),
  stderr: (text) => void process.stderr.write(text),
}).then((code) => {
  process.exitCode = code;
});

// A reader that stops early (`| head`) is no error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
});
