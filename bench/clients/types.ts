// The interface of a client row: one file in bench/clients/ exporting `create`.

export interface BenchClient {
  /** GETs `path` on the origin over a kept-alive connection; resolves with the status and the body text. */
  get(path: string): Promise<{ status: number; body: string }>;
  /** Closes the connections. */
  close(): Promise<void>;
}

/** Makes a client for `origin` (e.g. `http://127.0.0.1:8080`) that may open up to `connections` sockets. */
export type CreateClient = (origin: string, connections: number) => BenchClient | Promise<BenchClient>;
