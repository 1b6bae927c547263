// The demo's chat: one room, live messages between signed-in users over a WebSocket. With a shared
// broker (createApp() makes one on Redis when $REDIS_URL is set) a message reaches the users connected
// to every instance and worker, not only this process's.
//
//   GET  /chat/         the page (signed-in users; others go to the sign-in form)
//   WS   /chat/socket   the socket the page opens: text in, JSON `{ user, text, at }` out
//
// Nothing is stored: who is connected when a message is sent sees it.

import {
  Blueprint,
  type Phial,
  type Request,
  type Response,
  renderTemplate,
  type WebSocketConnection,
} from "phial";

/** Longest message, in characters; longer ones are refused with a notice. */
export const MAX_CHAT_MESSAGE = 500;
/** Messages one connection may send per `CHAT_WINDOW_MS`; the rest are dropped with a notice. */
export const CHAT_BURST = 10;
const CHAT_WINDOW_MS = 5_000;
const ROOM = "lobby";

export interface ChatMessage {
  /** Who sent it; absent for the server's own notices. */
  user?: string;
  text: string;
  /** When the server took it, ISO 8601. */
  at: string;
}

/**
 * Adds the chat blueprint to `app`. `currentUser` reads the signed-in user from the session (and
 * `signInPage` gives the redirect for those who are not). Rooms go through `app.websockets.rooms.pubsub`:
 * set it to a shared bus (`roomsBus(broker)`) for several instances.
 */
export function addChat(
  app: Phial,
  currentUser: (req: Request) => string | undefined,
  signInPage: (req: Request) => Response,
): void {
  const chat = new Blueprint("chat", { urlPrefix: "/chat" });

  // The page and the socket are for signed-in users. A refused upgrade is an ordinary HTTP answer: the
  // browser's WebSocket fails to open and the page says so.
  chat.beforeRequest(function chat_requires_user(req) {
    if (currentUser(req) !== undefined) return undefined;
    if (req.endpoint === "chat.socket") return ["Sign in to chat.", 401];
    return signInPage(req);
  });

  chat.get("/", function room() {
    return renderTemplate("chat.html", { maxLength: MAX_CHAT_MESSAGE });
  });

  chat.websocket(
    "/socket",
    // A message is text of at most MAX_CHAT_MESSAGE characters (4 bytes each at most in UTF-8); a larger
    // frame closes the connection with 1009.
    { maxMessageSize: MAX_CHAT_MESSAGE * 4 + 64, pingInterval: 25 },
    async function socket(ws: WebSocketConnection, req) {
      const user = currentUser(req)!;
      ws.join(ROOM);
      await ws.sendJson(notice(`Connected as ${user}. Messages are not kept: only who is here sees them.`));
      let windowStart = Date.now();
      let sent = 0;
      for await (const raw of ws) {
        if (typeof raw !== "string") {
          await ws.sendJson(notice("Only text messages are accepted."));
          continue;
        }
        const text = raw.trim();
        if (text === "") continue;
        if (text.length > MAX_CHAT_MESSAGE) {
          await ws.sendJson(notice(`Messages are at most ${MAX_CHAT_MESSAGE} characters.`));
          continue;
        }
        const now = Date.now();
        if (now - windowStart > CHAT_WINDOW_MS) {
          windowStart = now;
          sent = 0;
        }
        if (++sent > CHAT_BURST) {
          await ws.sendJson(notice("Slow down: that message was not sent."));
          continue;
        }
        const message: ChatMessage = { user, text, at: new Date(now).toISOString() };
        const json = JSON.stringify(message);
        await ws.publish(ROOM, json); // everyone else in the room, on every instance
        await ws.send(json); // and the sender, so every page shows the same order of its own messages
      }
    },
  );

  app.registerBlueprint(chat);
}

function notice(text: string): ChatMessage {
  return { text, at: new Date().toISOString() };
}
