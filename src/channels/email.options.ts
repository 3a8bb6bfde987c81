import { AuditAlertConfigError } from '../errors/audit-alert-config.error.js';
import { describeKind, invalidSecretOption } from '../audit-alert.messages.js';
import { fail, ownProperties, readBoolean, rejectUnknownKeys } from '../options/option-readers.util.js';
import type { AuditAlertEmailTransporter, AuditAlertSmtpOptions } from './channel-options.interface.js';

/** The transport of a validated email channel. */
export type ResolvedEmailTransport =
  | {
      /** A transporter of the application's, used as it is. */
      readonly kind: 'transporter';
      readonly transporter: AuditAlertEmailTransporter;
    }
  | {
      /** SMTP settings, from which the channel builds a nodemailer transporter at bootstrap. */
      readonly kind: 'smtp';
      readonly smtp: Readonly<AuditAlertSmtpOptions> & { readonly port: number };
      /** Where the settings were given, such as `channels[2].transport`: the error of a missing nodemailer names it. */
      readonly path: string;
    };

/** What a validated email channel sends, and with what. */
export interface ResolvedEmailFields {
  readonly to: readonly string[];
  readonly from: string;
  readonly cc: readonly string[];
  readonly transport: ResolvedEmailTransport;
}

const SMTP_KEYS = ['host', 'port', 'secure', 'requireTLS', 'auth', 'tls', 'name'] as const;

/** An address as a header carries it: something@somewhere, with an optional display name; no line break. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ADDRESS = /^[^\x00-\x1f\x7f]*@[^\x00-\x1f\x7f]*$/;
/** RFC 5322's longest line. */
const MAX_ADDRESS = 998;

function readAddress(value: unknown, path: string): string {
  if (typeof value !== 'string' || !ADDRESS.test(value) || value.trim().length < 3 || value.length > MAX_ADDRESS) {
    fail(path, value, 'an email address (ops@example.com, or "On call" <oncall@example.com>) without line breaks');
  }
  return value.trim();
}

function readAddresses(source: Record<string, unknown>, key: 'to' | 'cc', path: string): readonly string[] {
  const value = source[key];
  if (value === undefined && key === 'cc') return [];
  if (Array.isArray(value)) {
    if (value.length === 0) fail(`${path}.${key}`, value, 'an address or a non-empty array of addresses');
    return value.map((address, index) => readAddress(address, `${path}.${key}[${index}]`));
  }
  return [readAddress(value, `${path}.${key}`)];
}

/** Whether `value` can send mail itself: a nodemailer transporter, or anything with its `sendMail`. */
function isTransporter(value: object): value is AuditAlertEmailTransporter {
  return typeof (value as { sendMail?: unknown }).sendMail === 'function';
}

function readAuth(value: unknown, path: string): AuditAlertSmtpOptions['auth'] {
  if (value === undefined) return undefined;
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AuditAlertConfigError(invalidSecretOption(path, describeKind(value), 'an object { user, pass }'), path);
  }
  const auth = ownProperties(value);
  rejectUnknownKeys(auth, ['user', 'pass'], `${path}.`);
  if (typeof auth.user !== 'string' || auth.user.trim() === '') fail(`${path}.user`, auth.user, 'a non-empty string');
  if (typeof auth.pass !== 'string' || auth.pass === '') {
    // Never the password itself, nor its length.
    const received = typeof auth.pass === 'string' ? 'an empty string' : describeKind(auth.pass);
    throw new AuditAlertConfigError(
      invalidSecretOption(`${path}.pass`, received, 'a non-empty string'),
      `${path}.pass`,
    );
  }
  return { user: auth.user, pass: auth.pass };
}

function readSmtp(value: object, path: string): ResolvedEmailTransport {
  const source = ownProperties(value);
  rejectUnknownKeys(source, SMTP_KEYS, `${path}.`);
  const { host, port, tls, name } = source;
  if (typeof host !== 'string' || !/^[^\s/@]+$/.test(host)) {
    fail(`${path}.host`, host, 'the host name or address of the SMTP server');
  }
  const secure = readBoolean(source, 'secure', false, `${path}.secure`);
  if (port !== undefined && (!Number.isInteger(port) || (port as number) < 1 || (port as number) > 65_535)) {
    fail(`${path}.port`, port, 'a whole number from 1 to 65535');
  }
  if (tls !== undefined && (tls === null || typeof tls !== 'object' || Array.isArray(tls))) {
    fail(`${path}.tls`, tls, "an object of Node's TLS options");
  }
  if (name !== undefined && (typeof name !== 'string' || !/^[^\s]+$/.test(name))) {
    fail(`${path}.name`, name, 'a host name without spaces');
  }
  const smtp = {
    host,
    port: (port as number | undefined) ?? (secure ? 465 : 587),
    secure,
    requireTLS: readBoolean(source, 'requireTLS', false, `${path}.requireTLS`),
    ...(source.auth === undefined ? {} : { auth: readAuth(source.auth, `${path}.auth`) }),
    ...(tls === undefined ? {} : { tls: { ...(tls as Record<string, unknown>) } }),
    ...(name === undefined ? {} : { name: name as string }),
  };
  return { kind: 'smtp', smtp, path };
}

function readTransport(value: unknown, path: string): ResolvedEmailTransport {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new AuditAlertConfigError(
      invalidSecretOption(
        path,
        describeKind(value),
        'a transporter with a sendMail(message) method (such as nodemailer.createTransport(…)), or SMTP settings { host, port, secure, requireTLS, auth }',
      ),
      path,
    );
  }
  return isTransporter(value) ? { kind: 'transporter', transporter: value } : readSmtp(value, path);
}

/**
 * Reads the fields of a `{ type: 'email' }` channel: its addresses, and its
 * transport. Passwords are never quoted in an error.
 */
export function readEmailFields(source: Record<string, unknown>, path: string): ResolvedEmailFields {
  return {
    to: readAddresses(source, 'to', path),
    from: readAddress(source.from, `${path}.from`),
    cc: readAddresses(source, 'cc', path),
    transport: readTransport(source.transport, `${path}.transport`),
  };
}
