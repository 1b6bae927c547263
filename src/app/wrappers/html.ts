// HTML escaping for the pages the framework writes itself (error pages, redirect bodies).

const ESCAPES: Readonly<Record<string, string>> = {
  "&": "&amp;",
  "<": "&lt;",
  ">": "&gt;",
  '"': "&quot;",
  "'": "&#39;",
};

const NEEDS_ESCAPE = /[&<>"']/;
const ESCAPE_ALL = /[&<>"']/g;

/** Escapes `& < > " '` so that text is safe in HTML content and in quoted attribute values. */
export function escapeHtml(text: string): string {
  // Most strings need nothing: test once, replace only when needed.
  if (!NEEDS_ESCAPE.test(text)) return text;
  return text.replace(ESCAPE_ALL, (c) => ESCAPES[c]!);
}
