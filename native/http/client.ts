/**
 * The Clearsky API over HTTP: a `ClearskyApi` that talks to `clearsky serve` (native/http/server.ts), for the
 * command line, tests and the renderer in browser mode. Only `fetch`, `AbortController` and `TextDecoder`,
 * so it runs in Node and in browsers alike; events come from the server-sent event stream, parsed here
 * because Node has no EventSource.
 *
 * The server's token: the `token` option, or the `?token=` of the address `clearsky serve` printed (pass
 * that address as it is); it goes in an `Authorization: Bearer` header. Without one (the app's page), the
 * browser's cookie carries it.
 *
 * Errors: a 400 (invalid arguments) or 422 (the API's InputError) becomes an `InputError` with the
 * server's one-line message; anything else an `HttpApiError` with the status.
 */
import { COMMANDS, type ApiEvent, type ClearskyApi, type CommandName } from '../api/contract.ts';
import { CancelledError, InputError } from '../errors.ts';

/** The header that marks a cancelled command's answer: 200 (browsers log 4xx as console errors) with `{error}`. */
export const OUTCOME_HEADER = 'Clearsky-Outcome';

export class HttpApiError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'HttpApiError';
    this.status = status;
  }
}

export interface HttpClientOptions {
  /** The fetch to use (default the global one). */
  fetch?: typeof fetch;
  /** Wait before reconnecting a dropped event stream, in ms (default 1000). Events in the gap are lost. */
  reconnectMs?: number;
  /** Told about event-stream failures (default: ignored; the stream reconnects). */
  onStreamError?: (error: unknown) => void;
  /** The server's token (default: the `token` query parameter of `baseUrl`, if any). */
  token?: string;
}

export interface HttpClient extends ClearskyApi {
  /** Ends the event stream, if any, for all subscribers. */
  close(): void;
}

export function createHttpClient(baseUrl: string, options: HttpClientOptions = {}): HttpClient {
  const given = new URL(baseUrl);
  const token = options.token ?? given.searchParams.get('token') ?? undefined;
  given.search = '';
  given.hash = '';
  const base = given.href.endsWith('/') ? given.href : `${given.href}/`;
  const auth: Record<string, string> = token === undefined ? {} : { Authorization: `Bearer ${token}` };
  const fetchImpl = options.fetch ?? globalThis.fetch.bind(globalThis);
  const reconnectMs = options.reconnectMs ?? 1000;

  async function call<T>(name: CommandName, args: unknown[]): Promise<T> {
    const response = await fetchImpl(new URL(`api/${name}`, base), {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(args),
    });
    const text = await response.text();
    let body: unknown;
    try {
      body = text === '' ? null : JSON.parse(text);
    } catch {
      body = undefined;
    }
    const cancelled = response.headers.get(OUTCOME_HEADER) === 'cancelled';
    if (response.ok && body !== undefined && !cancelled) return body as T;
    const error = body !== null && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : undefined;
    const message = error ?? `${name}: the server answered ${response.status} ${response.statusText}`.trim();
    if (cancelled) throw new CancelledError(message);
    if (response.status === 400 || response.status === 422) throw new InputError(undefined, message);
    throw new HttpApiError(response.status, message);
  }

  const listeners = new Set<(event: ApiEvent) => void>();
  let stream: AbortController | undefined;

  function dispatch(data: string): void {
    let event: ApiEvent;
    try {
      event = JSON.parse(data) as ApiEvent;
    } catch (error) {
      options.onStreamError?.(error);
      return;
    }
    for (const listener of [...listeners]) {
      try {
        listener(event);
      } catch (error) {
        options.onStreamError?.(error);
      }
    }
  }

  async function follow(controller: AbortController): Promise<void> {
    const { signal } = controller;
    while (!signal.aborted) {
      try {
        const response = await fetchImpl(new URL('api/events', base), { headers: { ...auth, Accept: 'text/event-stream' }, signal });
        if (!response.ok || !response.body) throw new HttpApiError(response.status, `events: the server answered ${response.status}`);
        await readServerSentEvents(response.body, (message) => dispatch(message.data));
      } catch (error) {
        if (!signal.aborted) options.onStreamError?.(error);
      }
      if (!signal.aborted) await delay(reconnectMs, signal);
    }
  }

  function stop(): void {
    stream?.abort();
    stream = undefined;
  }

  // One method per command of COMMANDS, as the Electron preload builds its API: new commands need nothing here.
  const commands = Object.fromEntries((Object.keys(COMMANDS) as CommandName[]).map((name) => [name, (...args: unknown[]) => call(name, args)]));
  return {
    ...(commands as unknown as Omit<ClearskyApi, 'subscribe'>),
    subscribe(listener) {
      listeners.add(listener);
      if (!stream) {
        stream = new AbortController();
        void follow(stream);
      }
      return () => {
        if (listeners.delete(listener) && listeners.size === 0) stop();
      };
    },
    close() {
      listeners.clear();
      stop();
    },
  };
}

export interface ServerSentEvent {
  /** The `event:` field; `message` when absent. */
  event: string;
  data: string;
}

/**
 * Reads a `text/event-stream` body to its end, calling `onEvent` for each event (WHATWG HTML §9.2.6: lines
 * end in CR, LF or CRLF; `:` starts a comment; `data:` lines are joined with newlines; an empty line
 * dispatches). Ids and `retry:` are ignored. Cancel the stream (or abort its fetch) to stop early.
 */
export async function readServerSentEvents(body: ReadableStream<Uint8Array>, onEvent: (event: ServerSentEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  let name = '';
  const line = (text: string): void => {
    if (text === '') {
      if (data.length > 0) onEvent({ event: name || 'message', data: data.join('\n') });
      data = [];
      name = '';
      return;
    }
    if (text.startsWith(':')) return;
    const colon = text.indexOf(':');
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? '' : text.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') data.push(value);
    else if (field === 'event') name = value;
  };
  const drain = (final: boolean): void => {
    const pattern = /\r\n|\r|\n/g;
    let start = 0;
    for (let match = pattern.exec(buffer); match; match = pattern.exec(buffer)) {
      // A CR at the very end may be the first half of a CRLF split across chunks: wait for the next one.
      if (!final && match[0] === '\r' && match.index === buffer.length - 1) break;
      line(buffer.slice(start, match.index));
      start = match.index + match[0].length;
    }
    buffer = buffer.slice(start);
  };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      drain(false);
    }
    buffer += decoder.decode();
    drain(true);
  } finally {
    reader.releaseLock();
  }
}

function delay(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
