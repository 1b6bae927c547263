// Snippets of docs/cli.md.

import { Phial } from "phial";

export const app = new Phial(import.meta.url);
export const tables: string[] = [];

async function createTables(options: { force: boolean }): Promise<void> {
  tables.push(options.force ? "users (forced)" : "users");
}

// #region command
app.cli.command("init-db", { help: "Create the tables" }, async (args, ctx) => {
  await createTables({ force: args.includes("--force") }); // args: what follows the command's name
  ctx.stdout.write("done\n");
  return 0; // the exit code (nothing: 0)
});
// #endregion
