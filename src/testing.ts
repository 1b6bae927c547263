// phial/testing — the in-process test client.
export { sessionTransaction } from "./app/sessions/index.ts";
export { TestClient, type TestRequestOptions, TestResponse } from "./app/testing.ts";
