// phial/testing — the in-process test client.
export { sessionTransaction } from "./app/sessions/index.ts";
export {
  type ResponseOf,
  TestClient,
  type TestRequestOptions,
  TestResponse,
  type TestWebSocket,
  type TypedRequestOptions,
  type TypedTestClient,
} from "./app/testing.ts";
