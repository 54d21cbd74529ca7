import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["infra/**/*.test.ts", "scripts/**/*.test.ts", "test/**/*.test.ts"],
    // Gateway and render tests start real processes (nginx, test servers, shellcheck).
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    reporters: ["default", ["json", { outputFile: ".vitest-results.json" }]],
  },
});
