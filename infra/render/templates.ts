/**
 * Template loading for every renderer. Templates hold layout only: they are compiled with
 * `strict` (a missing field throws) and `noEscape` (nothing is HTML-escaped); the context is
 * built and quoted in TypeScript. Helpers are few and named.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import Handlebars from "handlebars";

export const TEMPLATES_DIR = path.resolve(__dirname, "../../templates");

/** POSIX shell single-quoting: safe for any string, including quotes and newlines. */
export function shellQuote(value: string | number): string {
  const s = String(value);
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(s)) return s;
  return `'${s.replace(/'/g, `'"'"'`)}'`;
}

const hbs = Handlebars.create();
hbs.registerHelper("join", (items: unknown[], sep: unknown) => items.join(typeof sep === "string" ? sep : ","));
hbs.registerHelper("json", (value: unknown) => JSON.stringify(value));
hbs.registerHelper("shellQuote", (value: string | number) => shellQuote(value));

const cache = new Map<string, Handlebars.TemplateDelegate>();

/** Renders `templates/<name>` (e.g. "vllm/vllm.service.hbs") with a ready context. */
export function renderTemplate(name: string, context: object): string {
  let compiled = cache.get(name);
  if (!compiled) {
    const source = fs.readFileSync(path.join(TEMPLATES_DIR, name), "utf8");
    compiled = hbs.compile(source, { strict: true, noEscape: true });
    cache.set(name, compiled);
  }
  return compiled(context);
}

/** Reads a static file under templates/ (e.g. the njs router) as is. */
export function readTemplateFile(name: string): string {
  return fs.readFileSync(path.join(TEMPLATES_DIR, name), "utf8");
}

/** Rendered files of a stack: relative path → contents (and the mode they need). */
export interface Artifact {
  contents: string;
  /** File mode, e.g. 0o755 for scripts, 0o600 for env files. @default 0o644 */
  mode?: number;
  /** True for files that carry secrets at run time (written on the machine, never rendered with values). */
  secret?: boolean;
}
export type Artifacts = Record<string, Artifact>;
