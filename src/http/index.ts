// phial/http — the wire: a strict HTTP/1.1 parser, serializer and server on node:net / node:tls.
export {};
