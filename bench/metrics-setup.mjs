/**
 * Child process of benchmark 7: measures the hot path under one metrics setup
 * (`off` or `on`, the first argument) with a JIT that has seen no other, and
 * prints the table rows as JSON.
 */
import { measureMetricsSetup } from './benchmarks.mjs';
import { sink } from './measure.mjs';

const which = process.argv[2];
if (which !== 'off' && which !== 'on') {
  console.error(`Usage: node bench/metrics-setup.mjs off|on (received ${which})`);
  process.exit(2);
}
const rows = await measureMetricsSetup(which);
process.stdout.write(JSON.stringify(rows));
// Reading the sink keeps every measured loop observable.
if (Number.isNaN(sink.value)) console.error('(sink)');
