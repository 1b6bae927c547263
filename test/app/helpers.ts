// Shared by the framework tests: an app whose logger records instead of printing.

import { type Logger, Phial, type PhialOptions } from "phial";

export interface LogLine {
  level: "info" | "warn" | "error";
  message: string;
  error?: unknown;
}

export function makeApp(options: PhialOptions = {}): { app: Phial; logs: LogLine[] } {
  const app = new Phial(import.meta.url, { fromEnv: false, ...options });
  const logs: LogLine[] = [];
  const logger: Logger = {
    info: (message) => logs.push({ level: "info", message }),
    warn: (message) => logs.push({ level: "warn", message }),
    error: (message, error) => logs.push({ level: "error", message, error }),
  };
  app.logger = logger;
  return { app, logs };
}
