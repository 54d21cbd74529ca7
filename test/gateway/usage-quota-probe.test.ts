/**
 * A skeptic's review of the key quota probe (location /'s try_files tests the key's block file;
 * the router reads it only when r.uri names it): where the path nginx tests and the path the
 * router and the usage service use could part, the quota would silently not be enforced.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { renderGateway } from "../../infra/render/gateway";
import { QUOTA_FIELDS } from "../../infra/spec/usage";
import { USAGE_LAYOUT, USAGE_LOG_FIELDS } from "../../infra/render/usage/gateway";
import { USAGE_KEYS, usagePlan } from "./usage-fleet";
// @ts-expect-error -- tsc sees this test as CommonJS and refuses a static import of ESM (TS1479); vitest loads it fine.
import { startUsageService } from "../../templates/usage/service.mjs";

describe("the usage directory as nginx.conf and fleet.json spell it", () => {
  // nginx's config parser turns "\t", "\n", "\r" in a bare word into the control character
  // (ngx_conf_read_token, src/core/ngx_conf_file.c): `root` and the key's try_files probe named
  // another directory than fleet.json and the service; a key's block file was there and its
  // requests were served (measured: 200 with /tmp/…\tq/blocked/key-capped present), and the usage
  // log went nowhere.
  it("refuses a directory with a backslash, saying why", () => {
    const render = (dir: string) => () => renderGateway(usagePlan(true), { clientKeys: { ...USAGE_KEYS }, listen: { address: "127.0.0.1", port: 8080 }, resolveEndpoint: () => ({ host: "127.0.0.1", port: 9, tls: false }), usage: { dir } });
    expect(render("/var/lib/fleet\\tq/usage")).toThrow(/usage directory "\/var\/lib\/fleet\\tq\/usage" must be an absolute path without .*backslash/);
    expect(render("/var/lib/fleet-usage")).not.toThrow();
  });
});

describe("the usage service with a config.json whose keys name no block file", () => {
  let dir = "";
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A config.json rendered before keys carried their block file's name (blockFile): the service
  // started, and once the key was over its quota every poll threw on path.join(…, undefined), so
  // no block was published (the tiers' neither) and nothing was ever lifted.
  it("refuses to start, naming the key and what to do", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-usage-"));
    const cfg = {
      dir, pollMs: 20, metrics: null, quotaFields: QUOTA_FIELDS, recordFields: Object.keys(USAGE_LOG_FIELDS), layout: USAGE_LAYOUT,
      keys: { org: { quota: { requestsPerDay: 1 }, admin: false } }, chains: { chat: ["chat"] }, tierLimits: {},
    };
    let started: { close(): Promise<void> } | undefined;
    try {
      // As the file on disk: the type says blockFile is there, which is what this config lacks.
      expect(() => (started = startUsageService(cfg as unknown as Parameters<typeof startUsageService>[0]))).toThrow(/config\.json: keys\.org\.blockFile is missing .*render the gateway again/);
    } finally {
      void started?.close();
    }
  });
});

describe("the usage service with a directory inside blocked/", () => {
  let dir = "";
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));
  // Made by hand (or by a tool): removing it threw on every tick, so the blocks after it in the
  // directory listing were never lifted and the state was not saved.
  it("lifts every stale block file, leaves the directory, and reports nothing", async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "fleet-usage-"));
    const blocked = path.join(dir, USAGE_LAYOUT.blockedDir);
    fs.mkdirSync(path.join(blocked, "stray"), { recursive: true });
    for (const name of ["key-a", "key-b", "tier-0", "zz"]) fs.writeFileSync(path.join(blocked, name), "{}");
    const cfg = {
      dir, pollMs: 20, metrics: null, quotaFields: QUOTA_FIELDS, recordFields: Object.keys(USAGE_LOG_FIELDS), layout: USAGE_LAYOUT,
      keys: { org: { quota: { requestsPerDay: 1 }, admin: false, blockFile: "key-org" } }, chains: { chat: ["chat"] }, tierLimits: {},
    };
    const errors: string[] = [];
    const spy = vi.spyOn(console, "error").mockImplementation((m: unknown) => void errors.push(String(m)));
    const service = startUsageService(cfg as Parameters<typeof startUsageService>[0]);
    try {
      await new Promise((r) => setTimeout(r, 100));
      expect(fs.readdirSync(blocked)).toEqual(["stray"]);
      expect(errors).toEqual([]);
    } finally {
      spy.mockRestore();
      await service.close();
    }
  });
});
