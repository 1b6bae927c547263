// A blueprint in its own file: a small JSON API under /notes.
import { Blueprint } from "phial";

export interface Note {
  id: number;
  text: string;
}

const saved: Note[] = [];

export const notes = new Blueprint("notes");

notes.get("/", function list() {
  return { notes: saved };
});

notes.post("/", async function add(req) {
  const text = req.form.get("text");
  if (text === undefined || text === "") return ["text is required", 400];
  const note: Note = { id: saved.length + 1, text };
  saved.push(note);
  return [note, 201];
});
