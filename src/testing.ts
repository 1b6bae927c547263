// phial/testing — the in-process test client.
export { sessionTransaction } from "./app/sessions/index.ts";
export {
  type CliResult,
  CliRunner,
  TestClient,
  type TestRequestOptions,
  TestResponse,
  type TestWebSocket,
} from "./app/testing.ts";
