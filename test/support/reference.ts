import * as path from "node:path";

/** The reference data the tests check against (a copy of the shared reference, see reference/README.md). */
export const REFERENCE_DIR = path.resolve(__dirname, "../../reference");
