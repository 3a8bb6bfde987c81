/**
 * Checks a Teams Workflows message against the Adaptive Card schema, for the
 * elements the module uses: the envelope Teams expects, the card's required
 * fields (`type`, `version`), each element's required fields (`TextBlock.text`,
 * `FactSet.facts`, `Fact.title`/`value`), the enumerations of their
 * properties, and the schema version each property appeared in. Returns every
 * problem found, so a test shows them all at once.
 */
export function adaptiveCardProblems(message: unknown, version = '1.4'): string[] {
  const problems: string[] = [];
  const at = (path: string, problem: string): void => void problems.push(`${path}: ${problem}`);
  const envelope = message as { type?: unknown; attachments?: unknown };
  if (envelope?.type !== 'message') at('type', "must be 'message'");
  if (!Array.isArray(envelope?.attachments) || envelope.attachments.length !== 1) {
    at('attachments', 'must hold one attachment');
    return problems;
  }
  const attachment = envelope.attachments[0] as { contentType?: unknown; content?: unknown };
  if (attachment.contentType !== 'application/vnd.microsoft.card.adaptive') {
    at('attachments[0].contentType', "must be 'application/vnd.microsoft.card.adaptive'");
  }
  const card = attachment.content as Record<string, unknown> | undefined;
  if (card?.type !== 'AdaptiveCard') at('card.type', "must be 'AdaptiveCard'");
  if (typeof card?.version !== 'string' || !/^\d+\.\d+$/.test(card.version))
    at('card.version', 'required, "major.minor"');
  else if (newer(card.version, version)) at('card.version', `${card.version} is newer than ${version}`);
  if (card?.$schema !== 'http://adaptivecards.io/schemas/adaptive-card.json') at('card.$schema', 'unexpected');
  if (!Array.isArray(card?.body) || card.body.length === 0) {
    at('card.body', 'must be a non-empty array');
    return problems;
  }
  card.body.forEach((element, index) => checkElement(element, `card.body[${index}]`, version, at));
  if (card.actions !== undefined) checkActions(card.actions, at);
  return problems;
}

/** Properties of each element type: the enumeration allowed (or the value type), and the version that added it. */
const ELEMENTS: Record<
  string,
  Record<string, { since: string; allowed: readonly unknown[] | 'string' | 'boolean' | 'array' }>
> = {
  TextBlock: {
    type: { since: '1.0', allowed: ['TextBlock'] },
    text: { since: '1.0', allowed: 'string' },
    size: { since: '1.0', allowed: ['Default', 'Small', 'Medium', 'Large', 'ExtraLarge'] },
    weight: { since: '1.0', allowed: ['Default', 'Lighter', 'Bolder'] },
    color: { since: '1.0', allowed: ['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention'] },
    wrap: { since: '1.0', allowed: 'boolean' },
    isSubtle: { since: '1.0', allowed: 'boolean' },
    fontType: { since: '1.2', allowed: ['Default', 'Monospace'] },
  },
  FactSet: {
    type: { since: '1.0', allowed: ['FactSet'] },
    facts: { since: '1.0', allowed: 'array' },
  },
};

const REQUIRED: Record<string, readonly string[]> = { TextBlock: ['text'], FactSet: ['facts'] };

function checkElement(
  element: unknown,
  path: string,
  version: string,
  at: (path: string, problem: string) => void,
): void {
  const fields = element as Record<string, unknown>;
  const spec = ELEMENTS[String(fields?.type)];
  if (!spec) {
    at(`${path}.type`, `unknown element ${String(fields?.type)}`);
    return;
  }
  for (const name of REQUIRED[String(fields.type)] ?? []) {
    if (fields[name] === undefined) at(`${path}.${name}`, 'required');
  }
  for (const [name, value] of Object.entries(fields)) {
    const property = spec[name];
    if (!property) {
      at(`${path}.${name}`, 'not a property of this element');
      continue;
    }
    if (newer(property.since, version)) at(`${path}.${name}`, `needs version ${property.since}`);
    const { allowed } = property;
    const fits =
      allowed === 'string' || allowed === 'boolean'
        ? typeof value === allowed
        : allowed === 'array'
          ? Array.isArray(value)
          : allowed.includes(value);
    if (!fits) at(`${path}.${name}`, `invalid value ${JSON.stringify(value)}`);
  }
  if (fields.type === 'TextBlock' && fields.text === '') at(`${path}.text`, 'empty');
  if (fields.type === 'FactSet' && Array.isArray(fields.facts)) {
    fields.facts.forEach((fact: unknown, index) => {
      const { title, value, ...rest } = (fact ?? {}) as Record<string, unknown>;
      if (typeof title !== 'string') at(`${path}.facts[${index}].title`, 'required string');
      if (typeof value !== 'string') at(`${path}.facts[${index}].value`, 'required string');
      if (Object.keys(rest).length > 0) at(`${path}.facts[${index}]`, `unknown ${Object.keys(rest).join(', ')}`);
    });
  }
}

/** The card's `actions`: `Action.OpenUrl` (since 1.0), whose `url` is required and absolute, its `title` a string. */
function checkActions(actions: unknown, at: (path: string, problem: string) => void): void {
  if (!Array.isArray(actions) || actions.length === 0) {
    at('card.actions', 'must be a non-empty array');
    return;
  }
  actions.forEach((action: unknown, index) => {
    const { type, title, url, ...rest } = (action ?? {}) as Record<string, unknown>;
    const path = `card.actions[${index}]`;
    if (type !== 'Action.OpenUrl') at(`${path}.type`, `unexpected ${JSON.stringify(type)}`);
    if (typeof title !== 'string' || title === '') at(`${path}.title`, 'required non-empty string');
    if (typeof url !== 'string' || !URL.canParse(url)) at(`${path}.url`, 'required absolute URL');
    if (Object.keys(rest).length > 0) at(path, `unknown ${Object.keys(rest).join(', ')}`);
  });
}

function newer(a: string, b: string): boolean {
  const [aMajor = 0, aMinor = 0] = a.split('.').map(Number);
  const [bMajor = 0, bMinor = 0] = b.split('.').map(Number);
  return aMajor > bMajor || (aMajor === bMajor && aMinor > bMinor);
}
