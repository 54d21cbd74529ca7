/**
 * Golden files: every artifact of every fleet, one file snapshot each under
 * test/render/__snapshots__/<fleet>/<node>/…, so a review shows exactly what a change does to
 * what machines run. They sit on top of the tool checks (tools.test.ts), not instead of them.
 */
import { describe, expect, it } from "vitest";
import { encodeUserData, USER_DATA_LIMIT_BYTES } from "../../infra/render";
import { artifactsNamed, renderedFleets } from "./support";

describe.each(renderedFleets())("$name", ({ name, artifacts }) => {
  it.each(Object.keys(artifacts).sort())("%s", async (path) => {
    await expect(artifacts[path]!.contents).toMatchFileSnapshot(`./__snapshots__/${name}/${path}`);
  });

  const userData = artifactsNamed(artifacts, /\/user-data\.yaml$/);
  it.runIf(userData.length > 0).each(userData)("%s fits EC2's user data limit (gzipped if need be)", (_p, contents) => {
    const encoded = encodeUserData(contents);
    expect(encoded.bytes).toBeLessThanOrEqual(USER_DATA_LIMIT_BYTES);
    const decoded = Buffer.from(encoded.base64, "base64");
    expect(encoded.gzipped ? decoded[0] === 0x1f && decoded[1] === 0x8b : decoded.toString("utf8") === contents).toBe(true);
  });
});
