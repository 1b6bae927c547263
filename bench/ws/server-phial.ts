// Phial's WebSocket echo (app.websocket on its own wire) for bench/ws/run.ts.
import { Phial } from "phial";
import { serveControl } from "../lib/control.ts";

const app = new Phial(import.meta.url, { fromEnv: false, staticFolder: null });
app.websocket("/echo", { pingInterval: 0 }, async (ws) => {
  for await (const m of ws) ws.send(m);
});
const server = app.listen();
const { port } = await server.listen(0, "127.0.0.1");
serveControl(port);
