#!/usr/bin/env node
// npm bin entry: runs the TypeScript CLI through tsx (a dependency), so `npx fleet` works without a build.
require("tsx/cjs");
require("./fleet.ts");
