/**
 * llm-fleet usage metering in the gateway (njs; same syntax limits as router.js: njs 0.7.9).
 *
 *   overQuota    router hook: 429 quota_exceeded while <dir>/blocked/key-<name> says so
 *   tierSkip     js_set of a tier with provider limits: skip it while its block file says so, else
 *                count the request's start in the usage log
 *   usageApi     router hook: GET /v1/usage → the usage service (the caller's key name, admin flag)
 *   markStream   router hook: a stream whose client did not ask for usage gets it asked for
 *   usageEdit    router hook: the body edit that adds stream_options.include_usage to such a
 *                stream ([from, to, text] on the client's bytes; router.js splices it per tier)
 *   filter       js_body_filter of tier locations: reads `usage` from the reply into $fleet_prompt_tokens,
 *                $fleet_completion_tokens and $fleet_usage (ok | missing | none), the first byte's
 *                time into $fleet_ttfb, and removes from the stream what asking for usage added
 *
 * A key without a quota costs nothing here: overQuota returns at once; with a quota, a block
 * file is looked for with one stat (read only when it exists). The usage service
 * (templates/usage/service.mjs) counts the usage log and writes the block files.
 */
import fs from 'fs';

/**
 * The block in <dir>/blocked/<file>, or null. Looked up with a stat that returns undefined for a
 * missing file: on njs 0.7.9 every failing fs call (a read of a missing file, caught or not)
 * costs ~0.9 ms of worker CPU building its error, about ten times the whole request; the stat
 * costs a syscall. statSync's throwIfNoEntry is in njs 0.7.9 and 0.9.x alike
 * (nginx/njs external/njs_fs_module.c, njs_fs_stat). Only a file that exists is read and parsed.
 * @param {NginxHTTPRequest} r
 */
function blockOf(r, file) {
    const p = fleet.usage.dir + '/blocked/' + file;
    let text;
    try {
        if (!fs.statSync(p, { throwIfNoEntry: false })) return null; // not blocked
        text = fs.readFileSync(p, 'utf8');
    } catch (e) {
        // Lifted between the stat and the read, or the directory is unreadable (logged: a fault).
        if (e.code !== 'ENOENT') r.warn('llm-fleet: cannot read block file ' + p + ': ' + e.message);
        return null;
    }
    try {
        const b = JSON.parse(text);
        // A block the service did not lift in time (it is down) ends with its window anyway.
        return typeof b.until === 'number' && b.until > Date.now() ? b : null;
    } catch (e) {
        return null; // being replaced right now: the next request sees the new file
    }
}

/**
 * js_set $fleet_skip_<tier>: "1" while the tier's provider limit is used up ($fleet_tier_block
 * names its block file). A stale file (the usage service is down) stops counting at its "until".
 * A request the tier takes is counted here, as it starts, with a line in the usage log
 * ({"t","start":<block file>}): counted at its end, every request started while the first ones
 * were still running would pass the limit (issue 14 item 3). Only tiers with limits run this.
 * @param {NginxHTTPRequest} r
 */
function tierSkip(r) {
    const file = r.variables.fleet_tier_block;
    if (blockOf(r, file)) return '1';
    const log = fleet.usage.dir + '/usage-' + r.variables.fleet_usage_hour + '.log';
    try {
        fs.appendFileSync(log, '{"t":"' + r.variables.msec + '","start":"' + file + '"}\n');
    } catch (e) {
        r.warn('llm-fleet: cannot count a request to ' + file + ' in ' + log + ': ' + e.message);
    }
    return '';
}

/** True when it answered 429 (the key used up a quota window). */
function overQuota(r, key, send) {
    if (!key.quota) return false;
    const b = blockOf(r, 'key-' + key.name);
    if (!b) return false;
    const seconds = Math.max(1, Math.ceil((b.until - Date.now()) / 1000));
    r.variables.fleet_quota_block = b.window + ':' + b.kind;
    r.variables.fleet_quota_retry_after = String(seconds);
    send(r, 429, { error: {
        message: 'this key used its ' + (b.window === 'day' ? 'daily' : 'monthly') + ' quota of ' + b.limit + ' ' + b.kind +
            '; it resets at ' + new Date(b.until).toISOString() + ' (UTC calendar ' + b.window + ')',
        type: 'rate_limit_error', code: 'quota_exceeded' } });
    return true;
}

/** GET /v1/usage[?key=NAME|*]: answered by the usage service through @fleet_usage. */
function usageApi(r, key, fail) {
    if (!fleet.usage) return fail(r, 404, 'not_found_error', 'unknown_endpoint', 'usage metering is off for this gateway (gateway.metering)');
    if (r.method !== 'GET') return fail(r, 405, 'invalid_request_error', 'method_not_allowed', 'use GET /v1/usage');
    r.variables.fleet_usage_key = key.name;
    r.variables.fleet_usage_admin = key.admin ? '1' : '0';
    r.internalRedirect('@fleet_usage');
}

/** Chat and text completions that stream without `stream_options.include_usage: true`. */
function markStream(r, body, endpoint) {
    if (!fleet.usage || body.stream !== true || endpoint === '/embeddings') return;
    const so = body.stream_options;
    if (so === undefined || so === null) r.variables.fleet_inject_usage = 'add';
    else if (typeof so === 'object' && !Array.isArray(so) && so.include_usage !== true) r.variables.fleet_inject_usage = 'merge';
}

/** Top-level body fields markStream reads (router.js reads them with its own). */
const FIELDS = ['stream', 'stream_options'];

/**
 * The edit asking a marked stream for usage, as [from, to, text] on the client's body, or null.
 * @param {NginxHTTPRequest} r
 * @param {Record<string, number[]>} spans [start, valueStart, valueEnd] of top-level members
 * @param {string} text the client's body
 */
function usageEdit(r, spans, text) {
    const how = r.variables.fleet_inject_usage;
    if (!how) return null;
    if (how === 'merge') {
        const so = spans.stream_options;
        const value = JSON.parse(text.slice(so[1], so[2]));
        value.include_usage = true;
        return [so[1], so[2], JSON.stringify(value)];
    }
    // The body is a JSON object without stream_options: one more member before its last "}".
    const end = text.lastIndexOf('}');
    const inner = text.slice(text.indexOf('{') + 1, end).trim();
    return [end, end, (inner ? ',' : '') + '"stream_options":{"include_usage":true}'];
}

const USAGE_OPEN = '"usage":{';
const TAIL = 1024;
const NULL_USAGE = ',"usage":null}';

/** JSON whitespace: space, tab, line feed, carriage return. */
function isJsonSpace(c) {
    return c === 32 || c === 9 || c === 10 || c === 13;
}

/**
 * The digits of `"<name>": <digits>` in text, or '' when absent or not (yet) followed by digits
 * and their end. Read with native searches: a regex exec costs ~4 µs in njs 0.7.9, and this runs
 * on every reply with metering.
 */
function countOf(text, name) {
    const key = '"' + name + '"';
    const at = text.indexOf(key);
    if (at < 0) return '';
    let p = at + key.length;
    while (isJsonSpace(text.charCodeAt(p))) p++;
    if (text.charCodeAt(p) !== 58) return '';
    p++;
    while (isJsonSpace(text.charCodeAt(p))) p++;
    const start = p;
    let c = text.charCodeAt(p);
    while (c >= 48 && c <= 57) c = text.charCodeAt(++p);
    // The digits must be followed by something (a "," or "}"): a number cut at a chunk's end is not read yet.
    return p > start && p < text.length ? text.slice(start, p) : '';
}

/** Reads prompt/completion tokens from text holding `"usage":{…}`; false while incomplete. */
function readUsage(r, text) {
    const at = text.lastIndexOf(USAGE_OPEN);
    if (at < 0) return false;
    const rest = text.slice(at + USAGE_OPEN.length);
    const p = countOf(rest, 'prompt_tokens');
    const c = countOf(rest, 'completion_tokens');
    if (!p || (!c && rest.indexOf('}') < 0)) return false;
    r.variables.fleet_prompt_tokens = p;
    // Embeddings report prompt tokens only.
    r.variables.fleet_completion_tokens = c || '0';
    r.variables.fleet_usage = 'ok';
    return true;
}

// Per request (njs runs each request in its own VM): the unread tail and the stream's pending event.
let tail = '';
let pending = null;
let seenFirst = false;
let found = false;

/** One SSE event (without its blank line) as the client would have had it, or null to drop it. */
function clientEvent(r, ev) {
    const text = ev.toString();
    if (text.indexOf('data: {') !== 0) return ev;
    if (text.indexOf('"choices":[]') >= 0 && text.indexOf(USAGE_OPEN) >= 0) {
        found = readUsage(r, text) || found;
        return null; // the usage chunk asking for usage added
    }
    // OpenAI adds "usage":null to every other chunk once usage is asked for.
    if (text.slice(-NULL_USAGE.length) === NULL_USAGE) return Buffer.from(text.slice(0, -NULL_USAGE.length) + '}');
    return ev;
}

/** @param {NginxHTTPRequest} r */
function filter(r, data, flags) {
    if (!seenFirst) {
        seenFirst = true;
        r.variables.fleet_usage = r.status >= 200 && r.status < 300 ? 'missing' : 'none';
    }
    if (data.length > 0 && !r.variables.fleet_ttfb) r.variables.fleet_ttfb = r.variables.request_time;
    const ok = r.status >= 200 && r.status < 300;
    if (!ok) return r.sendBuffer(data, flags);
    if (r.variables.fleet_inject_usage) {
        let buf = pending ? Buffer.concat([pending, data]) : data;
        let at = buf.indexOf('\n\n');
        while (at >= 0) {
            const ev = clientEvent(r, buf.slice(0, at));
            if (ev !== null) r.sendBuffer(Buffer.concat([ev, Buffer.from('\n\n')]), {});
            buf = buf.slice(at + 2);
            at = buf.indexOf('\n\n');
        }
        // No blank line in 64 KiB: not the SSE framing we know ("\n\n"); pass it on rather than hold the stream.
        if (buf.length > 65536) {
            r.sendBuffer(buf, {});
            buf = Buffer.from('');
        }
        pending = buf.length > 0 ? buf : null;
        if (flags.last) {
            r.sendBuffer(pending || '', flags);
            pending = null;
        }
        return;
    }
    if (!found && data.length > 0) {
        const text = tail + data.toString();
        found = readUsage(r, text);
        tail = found ? '' : text.slice(-TAIL);
    }
    r.sendBuffer(data, flags);
}

export default { tierSkip: tierSkip, overQuota: overQuota, usageApi: usageApi, markStream: markStream, usageEdit: usageEdit, FIELDS: FIELDS, filter: filter };
