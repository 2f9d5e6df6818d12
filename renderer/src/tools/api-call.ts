/**
 * Calls one API command and turns every failure into a message for the panel that asked: the UI shows errors,
 * never throws them unhandled. A command the transport does not offer yet (an older back end) is sent as
 * `POST api/<command>` in browser mode, which the server validates like any other; in Electron it is an error.
 */
import type { ClearskyApi, CommandName } from '../../../native/api.ts';

type Commands = Omit<ClearskyApi, 'subscribe'>;

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: string };

export function message(error: unknown): string {
  const text = error instanceof Error ? error.message : String(error);
  return text.split('\n')[0] || 'something went wrong';
}

export async function call<K extends keyof Commands & CommandName>(
  api: ClearskyApi,
  name: K,
  ...args: Parameters<Commands[K]>
): Promise<Outcome<Awaited<ReturnType<Commands[K]>>>> {
  try {
    const method = api[name] as unknown;
    if (typeof method === 'function') {
      const value = (await (method as (...a: unknown[]) => Promise<unknown>).apply(api, args)) as Awaited<ReturnType<Commands[K]>>;
      return { ok: true, value };
    }
    if (window.clearsky) return { ok: false, error: `${name}: not available in this version of Clearsky` };
    const response = await fetch(new URL(`api/${name}`, window.location.href), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(args),
    });
    const body = (await response.json().catch(() => null)) as unknown;
    if (!response.ok) {
      const error = body && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string' ? (body as { error: string }).error : `${name}: the server answered ${response.status}`;
      return { ok: false, error };
    }
    return { ok: true, value: body as Awaited<ReturnType<Commands[K]>> };
  } catch (error) {
    return { ok: false, error: message(error) };
  }
}
