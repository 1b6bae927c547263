// Snippets of docs/files.md (files in docs/snippets/static/ and docs/snippets/uploads/).

import { join } from "node:path";
import { Phial, secureFilename, sendFile, sendFromDirectory } from "phial";

// #region basic
const app = new Phial(import.meta.url); // static/ next to this file, served at /static/<path:filename>

app.get("/download/<path:filename>", (req) =>
  sendFromDirectory("uploads", req.params.filename, { asAttachment: true }),
);
// #endregion

// #region sendfile
app.get("/readme", () => sendFile("uploads/readme.txt", { maxAge: 60 })); // trusted path only
app.get("/report.csv", () =>
  sendFile(Buffer.from("a,b\n1,2\n"), { downloadName: "report.csv", asAttachment: true }),
);
// #endregion

// #region uploads
app.post("/upload", { maxContentLength: 50 * 1024 * 1024 }, async (req) => {
  const file = req.files.get("photo");
  if (file === undefined || file.filename === "") return ["No file sent", 400];
  const name = secureFilename(file.filename) || "upload.bin"; // "../../etc/passwd" → "etc_passwd"
  await file.save(join(app.root, "uploads", name));
  return [{ saved: name, size: file.size, type: file.mimetype, caption: req.form.get("caption") }, 201];
});

// #endregion

export { app };
