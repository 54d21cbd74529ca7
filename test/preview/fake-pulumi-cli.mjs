#!/usr/bin/env node
// A stand-in `pulumi` executable for testing scripts/preview/automation.ts through the real
// Automation API (which drives the CLI as a child process). It keeps stacks in the JSON file named
// by FAKE_PULUMI_STATE, records every command line, and answers the commands the preview backend
// uses the way the Pulumi CLI does (same JSON shapes, same "no stack named" error the Automation
// API turns into StackNotFoundError). `config set KEY` with no value on the command line reads it
// from stdin and drops one trailing newline, as the CLI does when stdin is not a terminal.
// `commands` holds each command line without --non-interactive, `argv` each one exactly as given.
// A stack with `lockedSince` (an ISO time) is held by an update that started then: `stack ls`
// says updateInProgress, `stack history` lists it as in-progress, up and destroy refuse with the
// CLI's "currently locked" error, and `cancel` ends it.
// The real CLI is not installable here.
import * as fs from "node:fs";

const stateFile = process.env.FAKE_PULUMI_STATE;
const state = JSON.parse(fs.readFileSync(stateFile, "utf8"));
const argv = process.argv.slice(2).filter((a) => a !== "--non-interactive");
state.commands.push(argv);
(state.argv ??= []).push(process.argv.slice(2));

const save = () => fs.writeFileSync(stateFile, JSON.stringify(state, null, 2));
const fail = (message, code = 255) => {
  save();
  process.stderr.write(`error: ${message}\n`);
  process.exit(code);
};
const flag = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const stackName = () => flag("--stack");
const stack = (name = stackName()) => state.stacks[name] ?? fail(`no stack named '${name}' found`);
const print = (value) => process.stdout.write(typeof value === "string" ? value : JSON.stringify(value));
const masked = (outputs) => Object.fromEntries(Object.entries(outputs).map(([k, o]) => [k, o.secret ? "[secret]" : o.value]));
const history = [{ version: 1, kind: "update", startTime: "2026-03-01T10:00:00Z", endTime: "2026-03-01T10:01:00Z", message: "", environment: {}, config: {}, result: "succeeded" }];

const [a, b] = argv;
const requireUnlocked = (s) => s.lockedSince && fail(`the stack is currently locked by 1 lock(s). Either wait for the other process(es) to end or delete the lock file with \`pulumi cancel\`.`);

if (a === "version") print("v3.270.0\n");
else if (a === "stack" && b === "ls") print(Object.entries(state.stacks).map(([name, s]) => ({ name, current: false, resourceCount: s.resources, updateInProgress: Boolean(s.lockedSince) })));
else if (a === "cancel") {
  const s = stack();
  if (!s.lockedSince) fail(`stack '${stackName()}' has no update in progress`);
  delete s.lockedSince;
}
else if (a === "stack" && b === "select") stack();
else if (a === "stack" && b === "init") {
  if (state.stacks[argv[2]]) fail(`stack '${argv[2]}' already exists`);
  state.stacks[argv[2]] = { local: {}, deployed: null, resources: 0, outputs: {} };
} else if (a === "stack" && b === "rm") {
  const name = argv.at(-1);
  if (stack(name).resources > 0) fail(`'${name}' still has resources; removal rejected. Destroy them first`);
  delete state.stacks[name];
} else if (a === "stack" && b === "output") print(argv.includes("--show-secrets") ? Object.fromEntries(Object.entries(stack().outputs).map(([k, o]) => [k, o.value])) : masked(stack().outputs));
else if (a === "stack" && b === "history") {
  const s = stack();
  print(s.lockedSince ? [{ ...history[0], version: 2, startTime: s.lockedSince, endTime: undefined, result: "in-progress" }, ...history] : history);
}
else if (a === "config" && b === "set-all") Object.assign((stack().local ??= {}), JSON.parse(flag("--json")));
else if (a === "config" && b === "set") {
  if (argv.includes("--path")) fail("fake pulumi: config set --path is not modelled", 3);
  const positional = argv.slice(2).filter((x, i, all) => !x.startsWith("--") && all[i - 1] !== "--stack");
  const [key, ...rest] = positional;
  const value = rest.length > 0 ? rest.join(" ") : fs.readFileSync(0, "utf8").replace(/\n$/, "");
  // A CLI error that quotes the value, to check that the caller's error does not repeat it.
  if (state.failConfigSet?.includes(key)) fail(`failed to encrypt '${value}' for ${key}`);
  (stack().local ??= {})[key] = { value, secret: argv.includes("--secret") };
} else if (a === "config" && b === "rm-all") {
  const s = stack();
  for (const key of argv.slice(2).filter((x) => !x.startsWith("--") && x !== stackName())) delete s.local[key];
} else if (a === "config" && b === "refresh") {
  const s = stack();
  if (!s.deployed) fail(`no previous deployment for stack '${stackName()}'`);
  s.local = structuredClone(s.deployed);
} else if (a === "config" && argv.includes("--json")) print(stack().local ?? {});
else if (a === "up" && state.hangUp) {
  // An update that never ends: holds the lock until SIGINT, which Pulumi answers by cancelling
  // cleanly (state saved, lock released) and exiting non-zero.
  const s = stack();
  requireUnlocked(s);
  s.lockedSince = new Date().toISOString();
  process.on("SIGINT", () => {
    delete s.lockedSince;
    save();
    process.stderr.write("error: update canceled\n");
    process.exit(255);
  });
  setInterval(() => {}, 1000);
} else if (a === "up") {
  const s = stack();
  requireUnlocked(s);
  if (!s.local?.["llm-fleet:fleet"]) fail(`Stack '${stackName()}' is missing configuration value 'fleet'`);
  s.deployed = structuredClone(s.local);
  s.resources = 4;
  s.outputs = state.programOutputs;
  print(`Updating (${stackName()})\n`);
} else if (a === "destroy") {
  const s = stack();
  requireUnlocked(s);
  if (!s.local?.["llm-fleet:fleet"]) fail(`Stack '${stackName()}' is missing configuration value 'fleet'`);
  s.resources = 0;
  s.outputs = {};
  print(`Destroying (${stackName()})\n`);
} else fail(`fake pulumi: unexpected command: ${argv.join(" ")}`, 3);
save();
