/**
 * Calls one API command and turns every failure into a message for the panel that asked: the UI shows errors,
 * never throws them unhandled.
 */
import type { ClearskyApi, CommandName } from '../../../native/api/contract.ts';

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
    const method = api[name] as (...a: unknown[]) => Promise<Awaited<ReturnType<Commands[K]>>>;
    return { ok: true, value: await method.apply(api, args) };
  } catch (error) {
    return { ok: false, error: message(error) };
  }
}
