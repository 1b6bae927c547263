// phial/testing — the in-process test client.
export {};
