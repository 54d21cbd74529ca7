// @ts-check
/**
 * UTC calendar windows of quotas and upstream limits: a day starts at 00:00 UTC, a month on the
 * 1st at 00:00 UTC; a "minute" limit is a rolling 60 s. Pure: every function takes the time.
 */

/** @param {number} ms */
export function dayWindow(ms) {
  const d = new Date(ms);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
  return { id: new Date(start).toISOString().slice(0, 10), start, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1) };
}

/** @param {number} ms */
export function monthWindow(ms) {
  const d = new Date(ms);
  const start = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1);
  return { id: new Date(start).toISOString().slice(0, 7), start, end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

/**
 * A window function that gives the last window it made again while `ms` is inside it: the usage
 * service asks for the same day and month for every usage-log line (a Date and an ISO string each
 * time cost ~1 µs a line). The window objects it returns are shared: read them, never change them.
 * @param {typeof dayWindow} make
 * @returns {typeof dayWindow}
 */
function lastOf(make) {
  /** @type {ReturnType<typeof dayWindow> | null} */
  let last = null;
  return (ms) => {
    if (last === null || !(ms >= last.start && ms < last.end)) last = make(ms);
    return last;
  };
}

/** @type {{ day: typeof dayWindow, month: typeof monthWindow }} */
export const WINDOWS = { day: lastOf(dayWindow), month: lastOf(monthWindow) };

export const MINUTE_MS = 60_000;

/** How far ahead of the usage service's clock a log line's time may be (the same host's clock, read a moment apart). */
export const FUTURE_SLACK_MS = 60_000;
