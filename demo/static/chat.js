// The chat page's client: one WebSocket to /chat/socket, reconnecting with a growing delay when the
// connection drops (a restarted server, a lost network). Messages are shown with textContent, never as HTML.

(() => {
  const box = document.getElementById("chat");
  const log = document.getElementById("chat-log");
  const status = document.getElementById("chat-status");
  const form = document.getElementById("chat-form");
  const input = document.getElementById("chat-text");
  const url = `${location.protocol === "https:" ? "wss:" : "ws:"}//${location.host}${box.dataset.socket}`;
  let ws;
  let delay = 500;

  function show(m) {
    const li = document.createElement("li");
    if (m.user === undefined) li.className = "notice";
    const time = document.createElement("time");
    time.dateTime = m.at;
    time.textContent = new Date(m.at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    li.append(time, " ");
    if (m.user !== undefined) {
      const who = document.createElement("strong");
      who.textContent = m.user;
      li.append(who, ": ");
    }
    li.append(m.text);
    log.append(li);
    while (log.children.length > 200) log.firstElementChild.remove();
    li.scrollIntoView({ block: "nearest" });
  }

  function connect() {
    ws = new WebSocket(url);
    ws.addEventListener("open", () => {
      delay = 500;
      status.textContent = "Connected";
      box.dataset.state = "open";
    });
    ws.addEventListener("message", (e) => {
      try {
        show(JSON.parse(e.data));
      } catch {
        // not ours: ignore
      }
    });
    ws.addEventListener("close", (e) => {
      box.dataset.state = "closed";
      // 401 on the upgrade (signed out elsewhere) shows as a failed connection: the page says what to do.
      status.textContent =
        e.code === 1006 && delay > 8000
          ? "Cannot connect. Reload the page (are you still signed in?)."
          : "Disconnected; reconnecting…";
      setTimeout(connect, delay);
      delay = Math.min(delay * 2, 15000);
    });
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (text === "" || ws.readyState !== WebSocket.OPEN) return;
    ws.send(text);
    input.value = "";
    input.focus();
  });

  connect();
})();
