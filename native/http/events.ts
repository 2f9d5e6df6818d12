/**
 * `GET /api/events`: the API's events as server-sent events, one per `ApiEvent` (`event: <type>` and
 * `data: <json>`), with a comment line every `heartbeatMs` so that idle connections stay open. A client that
 * falls `MAX_EVENT_BACKLOG_BYTES` behind is disconnected rather than buffered without end.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiEvent, ClearskyApi } from '../api/contract.ts';
import { describe } from '../api/dispatch.ts';
import { sendJson } from './reply.ts';

export const DEFAULT_HEARTBEAT_MS = 15_000;
/** An event-stream client that has this much unsent data is too slow to follow: it is disconnected. */
const MAX_EVENT_BACKLOG_BYTES = 8 * 1024 * 1024;

interface EventStream {
  res: ServerResponse;
  unsubscribe: () => void;
  end?: () => void;
}

export interface EventStreams {
  /** Answers one request for the stream (GET only), subscribed to the API until the client goes. */
  serve(req: IncomingMessage, res: ServerResponse, method: string): void;
  /** Stops the heartbeat and ends every open stream (unsubscribing it). */
  close(): void;
}

export function createEventStreams(api: ClearskyApi, heartbeatMs: number, log: (message: string) => void): EventStreams {
  const streams = new Set<EventStream>();
  const heartbeat = setInterval(() => {
    for (const stream of streams) stream.res.write(': ping\n\n');
  }, heartbeatMs);
  heartbeat.unref();

  function serve(req: IncomingMessage, res: ServerResponse, method: string): void {
    if (method !== 'GET') {
      sendJson(res, 405, { error: 'the event stream answers GET' }, { Allow: 'GET' });
      return;
    }
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-store',
      Connection: 'keep-alive',
      'X-Accel-Buffering': 'no',
    });
    req.socket.setNoDelay(true);
    req.socket.setTimeout(0);
    res.write(': clearsky events\n\n');
    const stream: EventStream = { res, unsubscribe: () => undefined };
    streams.add(stream);
    let closed = false;
    const end = (): void => {
      if (closed) return;
      closed = true;
      streams.delete(stream);
      stream.unsubscribe();
      if (!res.writableEnded) res.end();
    };
    stream.end = end;
    res.on('close', end);
    try {
      stream.unsubscribe = api.subscribe((event: ApiEvent) => {
        if (closed) return;
        if (res.writableLength > MAX_EVENT_BACKLOG_BYTES) {
          log('clearsky serve: an event-stream client fell too far behind and was disconnected');
          end();
          res.destroy();
          return;
        }
        res.write(`event: ${String(event.type).replace(/[\r\n]/g, '')}\ndata: ${JSON.stringify(event)}\n\n`);
      });
    } catch (error) {
      log(`clearsky serve: subscribing to events failed: ${describe(error)}`);
      end();
      return;
    }
    if (closed) stream.unsubscribe();
  }

  return {
    serve,
    close: () => {
      clearInterval(heartbeat);
      for (const stream of [...streams]) stream.end?.();
    },
  };
}
