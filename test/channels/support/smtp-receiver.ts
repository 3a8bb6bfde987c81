import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { type ParsedMail, simpleParser } from 'mailparser';
import { SMTPServer, type SMTPServerAuthentication, type SMTPServerSession } from 'smtp-server';

const run = promisify(execFile);

const INSTALL_HINT = 'apt-get install -y openssl';

/** A certificate for 127.0.0.1 and localhost, signed by itself, made with the openssl CLI. */
export interface SelfSignedCertificate {
  readonly key: string;
  readonly cert: string;
}

/** Makes a throwaway self-signed certificate; fails with the install command when openssl is missing. */
export async function selfSignedCertificate(): Promise<SelfSignedCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'audit-alert-smtp-'));
  try {
    const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
    try {
      await run('openssl', [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-keyout',
        key,
        '-out',
        cert,
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
      ]);
    } catch (error) {
      if ((error as { code?: unknown }).code === 'ENOENT') {
        throw new Error(`The openssl CLI is needed to make the SMTP test server's certificate: ${INSTALL_HINT}`, {
          cause: error,
        });
      }
      throw error;
    }
    return { key: await readFile(key, 'utf8'), cert: await readFile(cert, 'utf8') };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** An SMTP reply the server gives instead of accepting a stage. */
export interface SmtpReply {
  readonly stage: 'rcpt' | 'data';
  readonly responseCode: number;
  readonly message: string;
}

/** A message as the server received it. */
export interface ReceivedMail {
  readonly parsed: ParsedMail;
  /** The raw message, headers and all. */
  readonly raw: string;
  /** Whether the session had been upgraded with STARTTLS when the message came. */
  readonly secure: boolean;
  /** The user the session logged in as. */
  readonly user: string | undefined;
}

/**
 * A real SMTP server (the npm package smtp-server) on 127.0.0.1: STARTTLS
 * with a self-signed certificate, AUTH PLAIN and LOGIN only over TLS, and a
 * queue of replies that fail a stage (`451`, `550`…) before it accepts again.
 */
export class SmtpReceiver {
  readonly mails: ReceivedMail[] = [];
  /** Every RCPT TO seen, failed ones included: how many attempts were made. */
  readonly recipients: string[] = [];
  readonly logins: { readonly method: string; readonly user: string }[] = [];
  private readonly replies: SmtpReply[] = [];

  private constructor(
    private readonly server: SMTPServer,
    readonly port: number,
    readonly certificate: SelfSignedCertificate,
  ) {}

  static async start({ user, pass }: { user: string; pass: string }): Promise<SmtpReceiver> {
    const certificate = await selfSignedCertificate();
    let receiver: SmtpReceiver | null = null;
    const server = new SMTPServer({
      secure: false,
      key: certificate.key,
      cert: certificate.cert,
      authMethods: ['PLAIN', 'LOGIN'],
      // AUTH only once STARTTLS has upgraded the session.
      allowInsecureAuth: false,
      logger: false,
      onAuth(auth: SMTPServerAuthentication, _session, callback) {
        receiver!.logins.push({ method: auth.method, user: auth.username ?? '' });
        if (auth.username === user && auth.password === pass) callback(null, { user });
        else callback(Object.assign(new Error('Invalid username or password'), { responseCode: 535 }));
      },
      onRcptTo(address, _session, callback) {
        receiver!.recipients.push(address.address);
        const reply = receiver!.takeReply('rcpt');
        callback(reply ? Object.assign(new Error(reply.message), { responseCode: reply.responseCode }) : undefined);
      },
      onData(stream, session: SMTPServerSession, callback) {
        const chunks: Buffer[] = [];
        stream.on('data', (chunk: Buffer) => chunks.push(chunk));
        stream.on('end', () => {
          const reply = receiver!.takeReply('data');
          if (reply) {
            callback(Object.assign(new Error(reply.message), { responseCode: reply.responseCode }));
            return;
          }
          const raw = Buffer.concat(chunks);
          simpleParser(raw).then(
            (parsed) => {
              receiver!.mails.push({
                parsed,
                raw: raw.toString('utf8'),
                secure: session.secure,
                user: session.user as string | undefined,
              });
              callback();
            },
            (error: Error) => callback(error),
          );
        });
      },
    });
    server.on('error', () => undefined);
    const port = await new Promise<number>((resolve, reject) => {
      server.server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.server.address() as { port: number }).port));
    });
    receiver = new SmtpReceiver(server, port, certificate);
    return receiver;
  }

  /** Fails the next `stage` reached with `responseCode`. */
  reply(reply: SmtpReply): void {
    this.replies.push(reply);
  }

  private takeReply(stage: SmtpReply['stage']): SmtpReply | undefined {
    const index = this.replies.findIndex((reply) => reply.stage === stage);
    return index === -1 ? undefined : this.replies.splice(index, 1)[0];
  }

  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
