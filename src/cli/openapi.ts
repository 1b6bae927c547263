// `phial openapi [APP] [-o FILE]`: writes the app's OpenAPI 3.1 document (as `serveOpenAPI` would
// serve it, with the options given there) to a file or stdout.

import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { openAPIOptionsOf, openapiDocument } from "../app/validation/index.ts";
import type { Io } from "./io.ts";
import { loadApp, parseAppSpec } from "./load-app.ts";
import { UsageError } from "./run.ts";

export const OPENAPI_HELP = `Usage: phial openapi [APP] [-o FILE] [--title T] [--version V]

Writes the app's OpenAPI 3.1 document (JSON), built from its rules and schemas, to FILE or stdout.
APP is found as for "phial run". The title, version and description given to serveOpenAPI() are used
unless --title / --version are given.
  -o, --output    the file to write (default: stdout)
  --title         the API's title (default: the app's name)
  --version       the API's version (default: 0.1.0)
`;

export async function openapiCommand(argv: readonly string[], io: Io): Promise<number> {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        output: { type: "string", short: "o" },
        title: { type: "string" },
        version: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.values.help === true) {
    io.stdout.write(OPENAPI_HELP);
    return 0;
  }
  if (parsed.positionals.length > 1) throw new UsageError("phial openapi takes one APP");
  process.env.PHIAL_RUN_FROM_CLI = "1";
  const app = await loadApp(parseAppSpec(parsed.positionals[0], io.cwd));
  const options = { ...openAPIOptionsOf(app) };
  if (typeof parsed.values.title === "string") options.title = parsed.values.title;
  if (typeof parsed.values.version === "string") options.version = parsed.values.version;
  const text = `${JSON.stringify(openapiDocument(app, options), null, 2)}\n`;
  const out = parsed.values.output;
  if (typeof out === "string") {
    const file = resolve(io.cwd, out);
    writeFileSync(file, text);
    io.stderr.write(`Wrote the OpenAPI document of "${app.name}" to ${file}\n`);
  } else {
    io.stdout.write(text);
  }
  return 0;
}
