// phial/testing — the in-process test client.
export { TestClient, type TestRequestOptions, TestResponse } from "./app/testing.ts";
