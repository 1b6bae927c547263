// phial/client — an HTTP/1.1 client on phial's own parser.
export {};
