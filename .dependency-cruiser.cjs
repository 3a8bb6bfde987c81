// @ts-check
// The layering of src/, enforced by `npm run lint` (`depcruise src`).
// docs/architecture.md states the same rules in prose; change both together.
//
// A "room" is a top-level folder of src/ or a root file. Rooms are stacked in
// LAYERS, top to bottom: a room may import rooms of lower layers only, never a
// room of its own layer or of a higher one. Three kinds of file sit below every
// room, whatever folder they live in, and have rules of their own:
//   - the leaves (shared, import nothing but leaves),
//   - the core (pure: the outage state machine and its parts),
//   - the option face (option shapes and resolvers, validated once into the
//     resolved options every room reads).
// Type-only imports count: a loop of types is still a loop.

/** @param {string[]} parts */
const any = (parts) => `^src/(${parts.join('|')})`;

const LEAVES = any([
  'events/',
  'errors/',
  'common/',
  'clock/',
  'options/',
  'audit-alert[.](constants|messages|logger)[.]ts$',
  '.+/[^/]+[.]messages[.]ts$', // a room's own log and error texts
  'package-manifest[.]ts$',
]);

// The pure core: the outage state machine and its parts, with the error classifiers.
const CORE = any(['tracker/']);

// Option shapes and their resolvers, in whichever room they belong to.
const OPTION_FACE = any([
  'audit-alert[.]options[.]ts$',
  'interfaces/',
  'test-alert/',
  'probes/',
  '.+[.]options[.]ts$',
  '.+-options[.]interface[.]ts$',
  'silences/audit-alert-silence[.]interface[.]ts$',
]);

/** Rooms, top to bottom; rooms on one line are siblings and do not import each other. */
const LAYERS = [
  ['index[.]ts$', 'terminus/', 'typeorm/', 'pg/', 'mongo/', 'cli/'], // entry points (the package's exports, its bin)
  ['audit-alert[.]module[.]ts$'], // the module
  ['audit-alert[.]providers[.]ts$', 'audit-alert[.]module-definition[.]ts$'], // wiring
  ['guard/', 'heartbeat/', 'capacity/', 'hooks/', 'webhooks/'], // features that read the monitors
  ['monitor/'], // monitors, their registry, @TrackAuditWrite
  ['spool/', 'silences/', 'gap/'], // what a monitor keeps; the dispatcher's gate; the gap records of outages
  ['cluster/'], // the fleet's AlertSink: claim in Redis, then dispatch
  ['sink/'], // the AlertSink port and the local sink
  ['state/', 'channels/'], // the state file; channels (recipients)
  ['dispatch/'], // dispatcher, invoker, recipient binding, receipts
  ['metrics/', 'ledger/'], // counters and histograms; the evidence ledger: what the dispatcher and monitors feed
];

const BELOW_ROOMS = `${LEAVES}|${CORE}|${OPTION_FACE}`;

/** @type {import('dependency-cruiser').IForbiddenRuleType[]} */
const layerRules = LAYERS.flatMap((layer, i) =>
  layer.map((room) => {
    const sameOrHigher = LAYERS.slice(0, i + 1)
      .flat()
      .filter((other) => other !== room);
    return {
      name: `layer:${room.replace(/[[\]$\\]/g, '').replace(/\/$/, '')}`,
      comment: `${room} imports only rooms of lower layers (see docs/architecture.md): not ${sameOrHigher.join(', ')}`,
      severity: 'error',
      from: { path: `^src/${room}`, pathNot: BELOW_ROOMS },
      to: { path: any(sameOrHigher), pathNot: BELOW_ROOMS },
    };
  }),
);

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'No import cycle in src/, counting type-only imports.',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'leaves-import-leaves',
      comment: 'A leaf (events, errors, common, clock, options readers, constants, messages, logger) imports no room.',
      severity: 'error',
      from: { path: LEAVES },
      to: { path: '^src/', pathNot: LEAVES },
    },
    {
      name: 'core-is-pure',
      comment: 'The core imports only the core and the leaves.',
      severity: 'error',
      from: { path: CORE },
      to: { path: '^src/', pathNot: `${CORE}|${LEAVES}` },
    },
    {
      name: 'core-has-no-framework',
      comment: 'The core never imports Nest, Redis or the file system.',
      severity: 'error',
      from: { path: CORE },
      to: { path: '^(node_modules/)?(@nestjs/|ioredis/)|^(node:)?fs(/promises)?$' },
    },
    {
      name: 'option-face-below-rooms',
      comment: 'Option shapes and resolvers import only leaves, the core and other option files.',
      severity: 'error',
      from: { path: OPTION_FACE },
      to: { path: '^src/', pathNot: BELOW_ROOMS },
    },
    {
      name: 'module-only-from-index',
      comment: 'Nothing imports the module file except src/index.ts.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/index[.]ts$' },
      to: { path: '^src/audit-alert[.]module[.]ts$' },
    },
    {
      name: 'entry-points-not-imported',
      comment: 'The entry points (src/index.ts and the subpath index files) are for users only.',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^src/(index|[^/]+/index)[.]ts$' },
    },
    {
      name: 'sink-through-its-interface',
      comment: 'Outside the wiring, the sink is reached through AlertSink (sink/alert-sink.interface.ts) only.',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/(sink/|audit-alert[.]providers[.]ts$)' },
      to: { path: '^src/sink/', pathNot: '^src/sink/alert-sink[.]interface[.]ts$' },
    },
    {
      name: 'recipients-through-binding',
      comment: 'Hooks and channels reach the dispatcher through the recipient binding interface only.',
      severity: 'error',
      from: { path: '^src/(hooks|channels)/' },
      to: { path: '^src/dispatch/', pathNot: '^src/dispatch/(recipient-binding|delivery-receipt)[.]interface[.]ts$' },
    },
    {
      name: 'room-is-placed',
      comment: 'A new folder of src/ gets a place in LAYERS (or among the leaves, the core or the option face) first.',
      severity: 'error',
      from: { path: '^src/', pathNot: `${any(LAYERS.flat())}|${BELOW_ROOMS}` },
      to: { path: '^src/' },
    },
    ...layerRules,
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
