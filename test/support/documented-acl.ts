import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';

/** The page that gives operators the `ACL SETUSER` line. */
export const ACL_DOCS = fileURLToPath(new URL('../../docs/cluster.md', import.meta.url));

/** The user the documented line creates, and the password the suites give it. */
export const ACL_USER = 'audit-alert';
export const ACL_PASSWORD = 'acl-test-password';

/**
 * The one `ACL SETUSER` line of docs/cluster.md, as the arguments of `ACL`
 * (`SETUSER audit-alert reset on >… ~… +…`), its `>change-me` replaced by
 * {@link ACL_PASSWORD}: suites create the user from the page, so the rights
 * documented and the rights tested cannot drift apart.
 * @throws Error when the page does not hold exactly one such line, for that user, with that placeholder.
 */
export async function documentedAclLine(): Promise<string[]> {
  const lines = (await readFile(ACL_DOCS, 'utf8')).split('\n').filter((line) => line.startsWith('ACL SETUSER '));
  if (lines.length !== 1) throw new Error(`${ACL_DOCS} must hold one "ACL SETUSER" line; it holds ${lines.length}`);
  const args = lines[0]!.trim().split(/\s+/).slice(1);
  if (args[1] !== ACL_USER || !args.includes('>change-me')) {
    throw new Error(`the "ACL SETUSER" line of ${ACL_DOCS} must create "${ACL_USER}" with the password ">change-me"`);
  }
  return args.map((arg) => (arg === '>change-me' ? `>${ACL_PASSWORD}` : arg));
}
