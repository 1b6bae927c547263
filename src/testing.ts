// phial/testing — the in-process test client.
export { sessionTransaction } from "./app/sessions/app-sessions.ts";
export { TestClient, type TestRequestOptions, TestResponse } from "./app/testing.ts";
