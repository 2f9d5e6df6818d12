/**
 * The `--queue` URL: `redis://[user:password@]host:port[/db]` or `rediss://…` (TLS), turned into ioredis
 * options. The password travels only inside those options: everything that may be printed (the display form,
 * error messages) shows it as `***`.
 */
import { Redis, type RedisOptions } from 'ioredis';
import { InputError } from '../../errors.ts';

export interface QueueUrl {
  /** The URL with the password as `***`: the only form to log or show. */
  display: string;
  /** For ioredis (and BullMQ's `connection`): host, port, db, credentials, TLS. */
  connection: RedisOptions;
  /** A message with the password (should it ever appear in one) replaced by `***`. */
  redact(text: string): string;
}

const DEFAULT_PORT = 6379;

/** Parses a queue URL; anything but a plain redis:// or rediss:// address is refused, naming `flag`. */
export function parseQueueUrl(text: string, flag = '--queue'): QueueUrl {
  // Parts of the text are never quoted on their own: with an unencoded `/` or `@`, a password lands in the path.
  const refuse = (problem: string) => new InputError(flag, `${problem} (expected redis://[user:password@]host:port[/db] or rediss://…, got '${redactText(text)}')`);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw refuse('not a URL');
  }
  const tls = url.protocol === 'rediss:';
  if (url.protocol !== 'redis:' && !tls) throw refuse('the scheme must be redis or rediss');
  if (!url.hostname) throw refuse('no host');
  if (url.search || url.hash) throw refuse('query strings and fragments are not supported');
  const dbText = url.pathname.replace(/^\//, '');
  if (dbText !== '' && !/^\d{1,5}$/.test(dbText)) throw refuse('the path can only be a database number');
  const db = dbText === '' ? 0 : Number(dbText);
  const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
  // WHATWG URLs keep IPv6 hosts in brackets; ioredis wants the bare address.
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  let username: string;
  let password: string;
  try {
    username = decodeURIComponent(url.username);
    password = decodeURIComponent(url.password);
  } catch {
    throw refuse('the user or password is not valid percent-encoding');
  }
  const credentials = username && password ? `${url.username}:***@` : password ? ':***@' : username ? `${url.username}@` : '';
  const display = `${url.protocol}//${credentials}${url.host}/${db}`;
  return {
    display,
    connection: {
      host,
      port,
      db,
      ...(username ? { username } : {}),
      ...(password ? { password } : {}),
      ...(tls ? { tls: { servername: host } } : {}),
    },
    redact: (message) => (password ? message.split(password).join('***') : message),
  };
}

/**
 * Connects once and pings, so that a wrong host, port, password or TLS setting is one clear error at start
 * (naming the display form) instead of endless reconnection attempts in the background.
 */
export async function checkQueueReachable(url: QueueUrl, timeoutMs = 10_000): Promise<void> {
  const client = new Redis({ ...url.connection, lazyConnect: true, connectTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
  // The cause (ECONNREFUSED, a TLS failure) arrives as an event; connect() then rejects with only 'Connection is closed'.
  let cause: string | undefined;
  client.on('error', (error: Error) => (cause ??= error.message));
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new Error(`cannot reach the queue at ${url.display}: ${url.redact(cause ?? (error as Error).message)}`);
  } finally {
    client.disconnect();
  }
}

/**
 * A URL-like text that did not parse, with whatever stands between `scheme://` and the last `@` hidden:
 * a password with an unencoded `/` or `@` must not leak through a refusal either.
 */
function redactText(text: string): string {
  const at = text.lastIndexOf('@');
  if (at < 0) return text;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? '';
  return `${scheme}***${text.slice(at)}`;
}
