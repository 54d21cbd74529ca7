// Prints vitest's totals as one closing line, `N passed, N failed`, for CI to count.
// When the run stopped before vitest reported (lint or typecheck failed), it says so and counts 1 failure.
import * as fs from "node:fs";

const file = process.argv[2] ?? ".vitest-results.json";
if (!fs.existsSync(file)) {
  console.log("vitest did not report (an earlier step of npm test failed)");
  console.log("0 passed, 1 failed");
  process.exit(0);
}
const r = JSON.parse(fs.readFileSync(file, "utf8"));
// Suites that failed to load count as failures too.
const failedSuites = (r.testResults ?? []).filter((s) => s.status === "failed" && (s.assertionResults ?? []).length === 0).length;
console.log(`${r.numPassedTests} passed, ${r.numFailedTests + failedSuites} failed`);
