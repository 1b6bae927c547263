# Jinja2 rendering the bench's template page (bench/servers/templates/page.html) behind a minimal
# HTTP/1.1 keep-alive server on asyncio (the standard library only): what a Python app pays to render
# the same page with Jinja2, with as little server around it as Python allows. Started by jinja2.ts:
#
#   python3 jinja2_server.py <template dir> <template name> <context json file>
#
# prints the port it listens on (127.0.0.1, a free one), then serves until stdin closes or SIGTERM.

import asyncio
import json
import signal
import sys

from jinja2 import Environment, FileSystemLoader, select_autoescape

folder, name, context_file = sys.argv[1], sys.argv[2], sys.argv[3]
with open(context_file, encoding="utf-8") as f:
    context = json.load(f)

# Flask's settings: autoescape by extension, compiled templates cached, no reload checks in production.
env = Environment(
    loader=FileSystemLoader(folder),
    autoescape=select_autoescape(["html", "htm", "xml", "xhtml", "svg"]),
    auto_reload=False,
    keep_trailing_newline=False,
)


def page() -> bytes:
    body = env.get_template(name).render(context).encode("utf-8")
    head = (
        "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode("latin-1")
    return head + body


NOT_FOUND = b"HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nnot found"
BAD = b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
MAX_HEAD = 16384


class Http(asyncio.Protocol):
    def connection_made(self, transport):
        self.transport = transport
        self.buf = b""

    def data_received(self, data):
        self.buf += data
        out = []
        while True:
            end = self.buf.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buf) > MAX_HEAD:
                    out.append(BAD)
                    self.transport.write(b"".join(out))
                    self.transport.close()
                    return
                break
            head = self.buf[:end]
            self.buf = self.buf[end + 4 :]
            line = head.split(b"\r\n", 1)[0].split(b" ")
            if len(line) != 3:
                out.append(BAD)
                self.transport.write(b"".join(out))
                self.transport.close()
                return
            # GET only (the bench sends no bodies here)
            out.append(page() if line[0] == b"GET" and line[1] == b"/page" else NOT_FOUND)
        if out:
            self.transport.write(b"".join(out))


async def main():
    loop = asyncio.get_running_loop()
    server = await loop.create_server(Http, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    stop = loop.create_future()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, lambda: stop.done() or stop.set_result(None))
    loop.add_reader(sys.stdin.fileno(), lambda: stop.done() or stop.set_result(None))
    await stop
    server.close()


asyncio.run(main())
