/**
 * llm-fleet usage metering in the gateway (njs; same syntax limits as router.js: njs 0.7.9).
 *
 *   overQuota    router hook: 429 quota_exceeded while the key's block file says so
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
 * A key without a quota costs nothing here: overQuota returns at once; for a key with one, nginx
 * looks for its block file (location /'s try_files, through its open file cache) and the file is
 * read here only when nginx found it. The usage service
 * (templates/usage/service.mjs) counts the usage log and writes the block files.
 */
import fs from 'fs';
import body from 'body.js';

/**
 * The block in the block file at `p` (an absolute path), or null. Looked up with a stat that returns undefined for a
 * missing file: on njs 0.7.9 every failing fs call (a read of a missing file, caught or not)
 * costs ~0.9 ms of worker CPU building its error, about ten times the whole request; the stat
 * costs a syscall. statSync's throwIfNoEntry is in njs 0.7.9 and 0.9.x alike
 * (nginx/njs external/njs_fs_module.c, njs_fs_stat). Only a file that exists is read and parsed.
 * @param {NginxHTTPRequest} r
 */
function blockOf(r, p) {
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
    if (blockOf(r, fleet.usage.blockedDir + '/' + file)) return '1';
    const log = fleet.usage.logPrefix + r.variables.fleet_usage_hour + fleet.usage.logSuffix;
    try {
        fs.appendFileSync(log, '{"t":"' + r.variables.msec + '","start":"' + file + '"}\n');
    } catch (e) {
        r.warn('llm-fleet: cannot count a request to ' + file + ' in ' + log + ': ' + e.message);
    }
    return '';
}

/** True when it answered 429 (the key used up a quota window). */
function overQuota(r, key, send) {
    // location /'s try_files tests the key's block file before anything else: r.uri names the file
    // only when nginx found it (a stat per second at most: its open file cache). A njs statSync per
    // request cost ~7 µs of worker CPU (bench:gateway with a quota key).
    if (key.quotaBlock === null || r.uri !== key.quotaBlock) return false;
    const b = blockOf(r, key.quotaBlock);
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

/**
 * Marks chat and text completions that stream without `stream_options.include_usage: true`.
 * Returns why the request is refused when `stream` is not a boolean, else null: vLLM reads requests
 * with pydantic in lax mode, so "true", 1 or "yes" stream there, and a stream not seen as one here
 * would not be asked for its usage (served uncounted).
 */
function markStream(r, fields, endpoint) {
    if (!fleet.usage || endpoint === '/embeddings') return null;
    const stream = fields.stream;
    if (stream !== true) {
        return stream === undefined || stream === null || stream === false ? null : '"stream" must be true or false';
    }
    const so = fields.stream_options;
    if (so === undefined || so === null) r.variables.fleet_inject_usage = 'add';
    else if (typeof so === 'object' && !Array.isArray(so) && so.include_usage !== true) r.variables.fleet_inject_usage = 'merge';
    return null;
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
        // vLLM puts usage in every event only when include_usage is true as well
        // (should_include_usage, vllm/entrypoints/openai/utils.py): this client asked for none.
        if (value.continuous_usage_stats) value.continuous_usage_stats = false;
        return [so[1], so[2], JSON.stringify(value)];
    }
    // The body is a JSON object without stream_options: one more member before its last "}".
    const end = text.lastIndexOf('}');
    const inner = text.slice(text.indexOf('{') + 1, end).trim();
    return [end, end, (inner ? ',' : '') + '"stream_options":{"include_usage":true}'];
}

const USAGE_KEY = '"usage"';
const TAIL = 1024;

/**
 * Index after the object whose "{" is at `open`, or -1 while it is cut. Walks the braces with
 * native searches (a usage object holds numbers and nested objects, no strings).
 */
function objectEnd(text, open) {
    let depth = 0;
    let p = open;
    let o = -1;
    for (;;) {
        if (o !== -2 && o < p) {
            o = text.indexOf('{', p);
            if (o < 0) o = -2;
        }
        const c = text.indexOf('}', p);
        if (c < 0) return -1;
        if (o >= 0 && o < c) {
            depth++;
            p = o + 1;
        } else {
            depth--;
            p = c + 1;
            if (depth === 0) return p;
        }
    }
}

/**
 * The text of the last `"usage": {…}` in text (JSON whitespace allowed around the colon: OpenAI
 * pretty-prints its plain replies, proxies re-encode them with ", " and ": "), or null when there
 * is none or it is cut. `"usage": null` (a stream's other events) is passed over.
 */
function usageObject(text) {
    let at = text.lastIndexOf(USAGE_KEY);
    while (at >= 0) {
        const open = body.valueAfterName(text, at + USAGE_KEY.length);
        if (open >= 0 && text.charCodeAt(open) === 123) {
            const end = objectEnd(text, open);
            return end < 0 ? null : text.slice(open, end);
        }
        at = at > 0 ? text.lastIndexOf(USAGE_KEY, at - 1) : -1;
    }
    return null;
}

/**
 * The digits of `"<name>": <digits>` in a whole usage object, or '' when absent. Read with native
 * searches: a regex exec costs ~4 µs in njs 0.7.9, and this runs on every reply with metering.
 */
function countOf(usage, name) {
    const key = '"' + name + '"';
    const at = usage.indexOf(key);
    if (at < 0) return '';
    let p = body.valueAfterName(usage, at + key.length);
    if (p < 0) return '';
    const start = p;
    let c = usage.charCodeAt(p);
    while (c >= 48 && c <= 57) c = usage.charCodeAt(++p);
    return usage.slice(start, p);
}

/**
 * Reads prompt/completion tokens from text holding `"usage": {…}`; false while there is none or
 * it is cut (a count or a member read from half an object would be wrong: it waits for the "}").
 */
function readUsage(r, text) {
    const usage = usageObject(text);
    if (usage === null) return false;
    const p = countOf(usage, 'prompt_tokens');
    if (!p) return false;
    r.variables.fleet_prompt_tokens = p;
    // Embeddings report prompt tokens only.
    r.variables.fleet_completion_tokens = countOf(usage, 'completion_tokens') || '0';
    r.variables.fleet_usage = 'ok';
    return true;
}

/** True when the value of the last `"<name>":` in text is an empty list (`[]`, spaces allowed). */
function emptyList(text, name) {
    const key = '"' + name + '"';
    const at = text.lastIndexOf(key);
    if (at < 0) return false;
    const open = body.valueAfterName(text, at + key.length);
    return open >= 0 && text.charCodeAt(open) === 91 && text.charCodeAt(body.skipWs(text, open + 1)) === 93;
}

/**
 * The event's JSON without its last member when that is `"usage": null` (OpenAI adds it to every
 * other chunk once usage is asked for), or null when it is not there. Read backwards from the end.
 */
function withoutNullUsage(text) {
    const close = body.skipWsBack(text, text.length - 1);
    if (text.charCodeAt(close) !== 125) return null;
    let e = body.skipWsBack(text, close - 1);
    if (text.slice(e - 3, e + 1) !== 'null') return null;
    e = body.skipWsBack(text, e - 4);
    if (text.charCodeAt(e) !== 58) return null;
    e = body.skipWsBack(text, e - 1);
    if (text.slice(e - USAGE_KEY.length + 1, e + 1) !== USAGE_KEY) return null;
    e = body.skipWsBack(text, e - USAGE_KEY.length);
    if (text.charCodeAt(e) !== 44) return null;
    return text.slice(0, e) + text.slice(close);
}

// Per request (njs runs each request in its own VM): the unread tail and the stream's pending event.
let tail = '';
let pending = null;
let seenFirst = false;
let found = false;
let eventStream = false;

/** One SSE event (without its blank line) as the client would have had it, or null to drop it. */
function clientEvent(r, ev) {
    const text = ev.toString();
    // "data:" then an optional space (the SSE format); only JSON events carry usage.
    if (text.indexOf('data:') !== 0 || text.charCodeAt(body.skipWs(text, 5)) !== 123) return ev;
    if (emptyList(text, 'choices') && readUsage(r, text)) {
        found = true;
        return null; // the usage chunk asking for usage added
    }
    const stripped = withoutNullUsage(text);
    return stripped === null ? ev : Buffer.from(stripped);
}

/** @param {NginxHTTPRequest} r */
function filter(r, data, flags) {
    if (!seenFirst) {
        seenFirst = true;
        r.variables.fleet_usage = r.status >= 200 && r.status < 300 ? 'missing' : 'none';
        eventStream = (r.headersOut['Content-Type'] || '').indexOf('text/event-stream') >= 0;
    }
    if (data.length > 0 && !r.variables.fleet_ttfb) r.variables.fleet_ttfb = r.variables.request_time;
    const ok = r.status >= 200 && r.status < 300;
    if (!ok) return r.sendBuffer(data, flags);
    if (r.variables.fleet_inject_usage) {
        let buf = pending ? Buffer.concat([pending, data]) : data;
        // Events end with a blank line: "\n\n", or "\r\n\r\n" (the SSE format allows CRLF line ends;
        // sse-starlette writes them), kept as the upstream wrote it.
        for (;;) {
            const lf = buf.indexOf('\n\n');
            const crlf = buf.indexOf('\r\n\r\n');
            const at = crlf >= 0 && (lf < 0 || crlf < lf) ? crlf : lf;
            if (at < 0) break;
            const end = at + (at === crlf ? 4 : 2);
            const ev = clientEvent(r, buf.slice(0, at));
            if (ev !== null) r.sendBuffer(Buffer.concat([ev, buf.slice(at, end)]), {});
            buf = buf.slice(end);
        }
        // No blank line in 64 KiB: not the SSE framing we know; pass it on rather than hold the stream.
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
    // A stream keeps being read: with vLLM's stream_options.continuous_usage_stats every event has a
    // usage object, growing to the last one's (the first would count one completion token).
    if ((!found || eventStream) && data.length > 0) {
        const text = tail + data.toString();
        const read = readUsage(r, text);
        found = found || read;
        tail = read ? '' : text.slice(-TAIL);
    }
    r.sendBuffer(data, flags);
}

export default { tierSkip: tierSkip, overQuota: overQuota, usageApi: usageApi, markStream: markStream, usageEdit: usageEdit, FIELDS: FIELDS, filter: filter };
