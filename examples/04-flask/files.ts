// The seed's two ways to send a file:
//
//   GET /download/<path:filename>   send_from_directory(upload/, filename, as_attachment=True): the
//                                   browser saves it (Content-Disposition: attachment)
//   GET /                           app.send_static_file('homepage.html') from static/
//
// Both stream from disk with a media type, ETag and Last-Modified, answer conditional requests (304)
// and ranges (206). `sendFromDirectory` treats the name as hostile: `..`, absolute paths, backslashes,
// NUL and symlinks out of the folder are all a 404, so /download/../files.ts is never this source.
//
//   npx tsx --conditions=phial-source examples/04-flask/files.ts [port]

import { Phial, sendFromDirectory } from "phial";

const app = new Phial(import.meta.url); // static/ next to this file, at /static

// dirpath = os.path.join(app.root_path, 'upload'): a relative folder is relative to this file's folder.
app.get("/download/<path:filename>", function downloader(req) {
  return sendFromDirectory("upload", req.params.filename, { asAttachment: true });
});

app.get("/", function home() {
  return app.sendStaticFile("homepage.html"); // homepage.html is in the static folder
});

await app.run({ port: Number(process.argv[2] ?? 5000) });
