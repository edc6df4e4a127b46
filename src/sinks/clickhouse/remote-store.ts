/**
 * A remote ClickHouse server through @clickhouse/client, behind the same Sink
 * contract as the embedded store.
 *
 * The URL carries credentials and the database
 * (http(s)://user:password@host:8123/database). Inserts are synchronous
 * (async_insert=0, the server default changed to 1 in 26.2) so a batch is
 * acknowledged only when stored, and its deduplication token keeps a retried
 * batch from being stored twice.
 */
import { performance } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { CaptureError, describeError } from '../../errors';
import type { RowBatch, Sink, WriteResult } from '../sink';
import { TABLE, schemaStatements } from './schema';

export interface RemoteStoreOptions {
  url: string;
  ttlDays: number;
  /** PEM CA bundle for https URLs ('' or absent = the system roots). */
  caFile?: string;
}

export class RemoteStore implements Sink {
  readonly name = 'clickhouse';
  private client: ClickHouseClient | undefined;
  lastWriteMs = 0;

  constructor(private readonly options: RemoteStoreOptions) {}

  async open(): Promise<void> {
    const url = new URL(this.options.url);
    const database = decodeURIComponent(url.pathname.replace(/^\/+/, '')) || 'default';
    this.client = createClient({
      url: `${url.protocol}//${url.host}`,
      username: decodeURIComponent(url.username) || 'default',
      password: decodeURIComponent(url.password),
      database,
      compression: { request: true, response: true },
      clickhouse_settings: { async_insert: 0 },
    });
    for (const statement of schemaStatements(this.options.ttlDays)) {
      try {
        await this.client.command({ query: statement });
      } catch (err) {
        if (statement.endsWith('REMOVE TTL')) continue;
        throw new CaptureError('CAP_ERR_STORE_OPEN', `ClickHouse at ${url.host} (database ${database}): ${describeError(err)}`, { cause: err });
      }
    }
  }

  async write(batch: RowBatch): Promise<WriteResult> {
    const client = this.requireClient();
    const started = performance.now();
    try {
      await client.insert({
        table: TABLE,
        values: Readable.from([batch.jsonEachRow]),
        format: 'JSONEachRow',
        clickhouse_settings: { insert_deduplication_token: batch.batchId, async_insert: 0, input_format_skip_unknown_fields: 1 },
      });
      this.lastWriteMs = performance.now() - started;
      return { ok: true };
    } catch (err) {
      return { ok: false, retryable: true, error: new CaptureError('CAP_ERR_STORE_WRITE', describeError(err), { cause: err }) };
    }
  }

  async query(sql: string, format = 'JSONEachRow'): Promise<string> {
    const client = this.requireClient();
    try {
      const result = await client.exec({ query: `${sql}\nFORMAT ${format}` });
      const chunks: Buffer[] = [];
      for await (const chunk of result.stream) chunks.push(Buffer.from(chunk as Buffer));
      return Buffer.concat(chunks).toString('utf8');
    } catch (err) {
      throw new CaptureError('CAP_ERR_QUERY_FAILED', describeError(err), { cause: err });
    }
  }

  async close(): Promise<void> {
    await this.client?.close();
    this.client = undefined;
  }

  private requireClient(): ClickHouseClient {
    if (this.client === undefined) throw new CaptureError('CAP_ERR_STORE_OPEN', 'the ClickHouse client is not open');
    return this.client;
  }
}
