/**
 * llm-fleet gateway router (njs). Static logic; the fleet's data is the global `fleet`, the
 * generated fleet.json that nginx preloads once (js_preload_object): frozen, and its objects and
 * lists have no prototype, so lists are walked with loops or Array.prototype methods by `call`
 * (fleet-data.d.ts types them so). Runs on njs 0.7.9 (Debian bookworm) and 0.8/0.9 (official
 * image, njs engine: preloaded objects are not in QuickJS), so it keeps to what both parse: no
 * destructuring, spread or for-of (0.7.9 rejects them), and the body is read with r.requestText
 * (r.requestBody is gone since 0.8.0; gateway-notes.md "njs versions").
 *
 * A request, phase by phase (nginx.conf):
 *   rewrite   `clientId` (js_set, one SHA-256) names the caller; no or an unknown key is answered
 *             401 by nginx here, before the body is read (issue 13 item 4).
 *   preaccess limit_req / limit_conn on the caller's rate class.
 *   precontent mirror reads the body.
 *   content   proxy_pass to `place` (js_set): the router reads the body (once, no re-encoding:
 *             body.js) and routes; tier 0 of a model the fleet serves, sent as the client sent it,
 *             is proxied right there ("in place", nginx.conf `location /`). For anything else it
 *             names the internal listener, whose answer takes the request to @fleet_router, where
 *             `api` (js_content) does what `place` decided ($fleet_decided: an answer, or the tier
 *             location to redirect to) and routes what it did not (/v1/models, /health, /v1/usage).
 *             `$fleet_fail_<k>` / `$fleet_timeout_<k>` say where tier k goes when it fails: the
 *             next tier the key may use, or the final 503/504.
 *   tiers     proxy_pass. `tierBody` (js_set) is the body for a tier that needs another `model`;
 *             `tierAuth` (js_set) its provider key.
 *   log       the access log line: the request's end, status, key, model and tier are known there
 *             ($fleet_key_name, $fleet_model, $fleet_served, $fleet_tier, $status, $upstream_*).
 * No key, secret or Authorization value is ever logged or returned.
 */
import crypto from 'crypto';
import health from 'health.js';
import body from 'body.js';
import usage from 'usage.js';
import reply from 'reply.js';

/** Client paths (after a route prefix is removed) → upstream path after the base URL. */
const ENDPOINTS = {
    '/v1/chat/completions': '/chat/completions',
    '/v1/completions': '/completions',
    '/v1/embeddings': '/embeddings',
};

/**
 * Sampling fields only the fleet's own engines take (vLLM and llama.cpp extensions), dropped
 * before a request goes to an external provider: OpenAI-style providers answer 400 to unknown
 * fields, which would turn a failover into a failure.
 */
const ENGINE_ONLY_FIELDS = ['top_k', 'min_p', 'repetition_penalty', 'repeat_penalty'];
const TOKEN_FIELDS = ['max_tokens', 'max_completion_tokens'];
/** Top-level members the router reads (and, with metering, the ones usage.js reads). */
const READ = ['model'].concat(TOKEN_FIELDS, ENGINE_ONLY_FIELDS);
const READ_WITH_USAGE = READ.concat(usage.FIELDS);

/** @param {NginxHTTPRequest} r @param {number} status @param {unknown} data */
function send(r, status, data) {
    const text = JSON.stringify(data) + '\n';
    if (placing) {
        decided = status + ' ' + text; // `place` only decides: @fleet_router answers (answer())
        return;
    }
    r.headersOut['Content-Type'] = 'application/json';
    r.return(status, text);
}

/** Every error is an OpenAI-style body: {"error":{"message","type","code"}}. */
function fail(r, status, type, code, message) {
    send(r, status, { error: { message: message, type: type, code: code } });
}

function has(obj, name) {
    return Object.prototype.hasOwnProperty.call(obj, name);
}

/** SP, HTAB, VT, FF: the whitespace a header value may hold around a credential. */
function isSpace(c) {
    return c === 32 || c === 9 || c === 11 || c === 12;
}

/**
 * The token of "Bearer <token>" (scheme in any case, RFC 9110 section 11.1), or '' when the value
 * is not one. Read with string operations: a regex exec costs ~4 µs in njs 0.7.9, a tenth of
 * the router's whole logic. The spelling every client sends, "Bearer " then the token with no
 * space or tab in it or around it, takes native searches only; any other goes character by
 * character (~0.1 µs each). A token the fast path keeps with a VT or FF inside (the slow one
 * refuses it) matches no key either: keys are printable ASCII (router-config.ts).
 * @param {string} header
 */
function bearerToken(header) {
    const last = header.length - 1;
    if (header.slice(0, 7) === 'Bearer ' && header.charCodeAt(7) > 32 && header.charCodeAt(last) > 32 &&
        header.indexOf(' ', 8) < 0 && header.indexOf('\t', 8) < 0) {
        return header.slice(7);
    }
    if (header.length < 8 || header.slice(0, 6).toLowerCase() !== 'bearer' || !isSpace(header.charCodeAt(6))) return '';
    let start = 7;
    while (isSpace(header.charCodeAt(start))) start++;
    let end = start;
    while (end < header.length && !isSpace(header.charCodeAt(end))) end++;
    for (let p = end; p < header.length; p++) if (!isSpace(header.charCodeAt(p))) return '';
    return header.slice(start, end);
}

/**
 * js_set $fleet_client: "k:<rateClass>:<keyName>" for a known key (fleet.clients holds it by the
 * key's digest: router-config.ts clientIdOf), "ip:<addr>" otherwise, "err:<addr>" when the lookup
 * itself failed. It must always return a non-empty value: a throwing js_set leaves the variable
 * empty, and limit_req does not count empty keys (gateway-notes.md "Keys and limits"); the nginx
 * maps also treat an empty value as the client address, in case this ever throws anyway. The only
 * place a key is hashed (once per request).
 * @param {NginxHTTPRequest} r
 */
function clientId(r) {
    try {
        const header = r.headersIn.Authorization;
        const token = header ? bearerToken(header) : '';
        if (token) {
            const digest = crypto.createHash('sha256').update(token).digest('hex');
            if (has(fleet.clients, digest)) return fleet.clients[digest];
        }
        return 'ip:' + r.remoteAddress;
    } catch (e) {
        r.error('llm-fleet: key lookup failed: ' + e.message);
        return 'err:' + r.remoteAddress;
    }
}

/** The caller's key (its name and rights, fleet.json) from $fleet_client, or null after answering the request. */
function authenticate(r) {
    const id = r.variables.fleet_client || '';
    const name = id.indexOf('k:') === 0 ? id.slice(id.indexOf(':', 2) + 1) : '';
    if (name && has(fleet.keyRights, name)) return fleet.keyRights[name];
    // "ip:" never gets here (nginx answers 401 first); "err:" or empty: the lookup failed.
    fail(r, 500, 'server_error', 'key_lookup_failed', 'the gateway could not check the API key');
    return null;
}

function allows(key, modelId) {
    return key.models === '*' || Array.prototype.indexOf.call(key.models, modelId) !== -1;
}

/** Names (ids and aliases) a key may send, in fleet order; all of them under a path route's model. */
function visibleNames(key, pinned) {
    const out = [];
    Array.prototype.forEach.call(fleet.order, function (id) {
        if (!allows(key, id) || (pinned && pinned !== id)) return;
        out.push(id);
        Array.prototype.forEach.call(fleet.models[id].aliases, function (a) { out.push(a); });
    });
    return out;
}

function modelEntries(key, pinned) {
    const data = [];
    Array.prototype.forEach.call(fleet.order, function (id) {
        if (!allows(key, id) || (pinned && pinned !== id)) return;
        const m = fleet.models[id];
        const base = { object: 'model', created: 0, owned_by: 'llm-fleet' };
        const aliases = Array.prototype.slice.call(m.aliases);
        data.push(Object.assign({ id: id, aliases: aliases, max_output_tokens: m.maxOutputTokens, context_length: m.contextLength }, base));
        aliases.forEach(function (a) { data.push(Object.assign({ id: a, alias_of: id }, base)); });
    });
    return data;
}

function listModels(r, key, pinned, rest) {
    if (r.method !== 'GET') return fail(r, 405, 'invalid_request_error', 'method_not_allowed', 'use GET ' + path(r));
    const data = modelEntries(key, pinned);
    if (rest === '/v1/models') return send(r, 200, { object: 'list', data: data });
    const wanted = rest.slice('/v1/models/'.length);
    const found = data.filter(function (d) { return d.id === wanted; });
    if (found.length === 0) return unknownModel(r, key, pinned, wanted);
    send(r, 200, found[0]);
}

function unknownModel(r, key, pinned, name) {
    const names = visibleNames(key, pinned);
    // Quoted at most in part: a client's 7 MiB "model" came back whole.
    const shown = name.length > 100 ? name.slice(0, 100) + '...' : name;
    fail(r, 404, 'not_found_error', 'model_not_found', 'model "' + shown + '" does not exist; available: ' +
        (names.length ? names.join(', ') : '(none for this key)'));
}

/** [code, message] when max_tokens / max_completion_tokens is not a positive integer or over the limit. */
function tokenLimitProblem(fields, limit) {
    for (let i = 0; i < TOKEN_FIELDS.length; i++) {
        const v = fields[TOKEN_FIELDS[i]];
        if (v === undefined || v === null) continue;
        if (typeof v !== 'number' || v < 1 || Math.floor(v) !== v) return ['invalid_max_tokens', TOKEN_FIELDS[i] + ' must be a positive integer'];
        if (limit !== null && v > limit) return ['max_tokens_too_large', TOKEN_FIELDS[i] + ' is ' + v + '; this model allows at most ' + limit];
    }
    return null;
}

/**
 * The request body as text, or null after answering. On njs 0.7.9 requestText holds the body's
 * bytes one per character; later njs decode UTF-8, and a body that does not decode back to its own
 * bytes could not be spliced exactly: it is refused, as the engines refuse it.
 */
function bodyText(r) {
    if (reply.encoded(r.headersIn['Content-Encoding'])) {
        fail(r, 415, 'invalid_request_error', 'unsupported_content_encoding', 'send the JSON body uncompressed (no Content-Encoding)');
        return null;
    }
    const text = r.requestText || '';
    // Content-Length is the body's size in bytes (a chunked body has none: read the buffer).
    const declared = r.headersIn['Content-Length'];
    const bytes = declared ? Number(declared) : r.requestBuffer ? r.requestBuffer.length : text.length;
    if (text.length !== bytes && Buffer.byteLength(text) !== bytes) {
        fail(r, 400, 'invalid_request_error', 'invalid_utf8', 'the request body is not valid UTF-8');
        return null;
    }
    return text;
}

/**
 * The tiers of a model's chain this key may use, in order: a fallback model the key may not ask
 * for itself never answers it (issue 13 item 1), unless the spec opened that tier to every key
 * of the model (`{ model, anyKey: true }`).
 */
function allowedChain(key, model) {
    if (key.models === '*') return model.chain;
    const out = [];
    for (let i = 0; i < model.chain.length; i++) {
        const t = model.chain[i];
        if (t.anyKey || allows(key, t.model)) out.push(t);
    }
    return out;
}

/** "<start>,<valueStart>,<valueEnd>" of a member (body.read's span), as tierBody reads it. */
function spanText(span) {
    return span[0] + ',' + span[1] + ',' + span[2];
}

/** Checks the body, picks the model and hands the request to its first tier. */
function generate(r, key, pinned, endpoint) {
    if (r.method !== 'POST') return fail(r, 405, 'invalid_request_error', 'method_not_allowed', 'use POST ' + path(r));
    const text = bodyText(r);
    if (text === null) return;
    const read = body.read(text, fleet.usage ? READ_WITH_USAGE : READ);
    if (read.duplicate) return fail(r, 400, 'invalid_request_error', 'duplicate_key', 'the request body names "' + read.duplicate + '" more than once');
    if (read.error) return fail(r, 400, 'invalid_request_error', 'invalid_json', read.error);
    const requested = read.fields.model;
    if (requested !== undefined && typeof requested !== 'string') {
        return fail(r, 400, 'invalid_request_error', 'invalid_model', '"model" must be a string');
    }
    let id = pinned;
    if (requested !== undefined && requested !== '') {
        // Never a silent default: a name the fleet does not serve is a 404, not another model.
        if (!has(fleet.names, requested)) return unknownModel(r, key, pinned, requested);
        id = fleet.names[requested];
        if (pinned && id !== pinned) {
            return fail(r, 400, 'invalid_request_error', 'model_route_mismatch',
                'this path serves model "' + pinned + '"; the body names "' + requested + '"');
        }
    }
    if (!id) return fail(r, 400, 'invalid_request_error', 'missing_model', 'the request body has no "model"; available: ' + visibleNames(key, null).join(', '));
    if (!allows(key, id)) {
        return fail(r, 403, 'permission_error', 'model_not_allowed', 'this API key may not use model "' + id + '"');
    }
    const model = fleet.models[id];
    const problem = tokenLimitProblem(read.fields, model.maxOutputTokens);
    if (problem) return fail(r, 400, 'invalid_request_error', problem[0], problem[1]);

    const v = r.variables;
    v.fleet_model = id;
    v.fleet_endpoint = endpoint;
    // Usage metering hooks (usage.js): a key over its quota stops here; a stream is asked for usage.
    if (usage.overQuota(r, key, send)) return;
    const streamProblem = usage.markStream(r, read.fields, endpoint);
    if (streamProblem) return fail(r, 400, 'invalid_request_error', 'invalid_stream', streamProblem);
    const chain = allowedChain(key, model);
    // Spans of the engine-only fields present, "a,b,c;a,b,c" (no arrays: each costs ~1 µs in njs 0.7.9).
    let drops = '';
    for (let i = 0; i < ENGINE_ONLY_FIELDS.length; i++) {
        const span = read.spans[ENGINE_ONLY_FIELDS[i]];
        if (span) drops += (drops ? ';' : '') + spanText(span);
    }
    // Without metering no variable is read for it (a variable lookup costs µs in njs).
    const usageEdit = fleet.usage ? usage.usageEdit(r, read.spans, text) : null;
    // For tierBody, as text (cheaper than JSON): "<model span>|<members>|<drop span>;...|<usage edit JSON>".
    v.fleet_edits = (read.spans.model ? spanText(read.spans.model) : '') + '|' + read.count + '|' + drops + '|' +
        (usageEdit ? JSON.stringify(usageEdit) : '');
    // The last tier keeps the variables' defaults (@fleet_503, @fleet_504): each write costs µs.
    for (let i = 0; i + 1 < chain.length; i++) {
        v['fleet_fail_' + chain[i].tier] = chain[i + 1].location;
        v['fleet_timeout_' + chain[i].tier] = chain[i + 1].location;
    }
    const first = chain[0];
    // The client's bytes go as they are unless this tier needs another model name or fewer fields.
    const same = requested === first.upstreamModel && !(first.external && drops) && !usageEdit;
    const target = same ? first.rawLocation : first.location;
    if (!placing) return r.internalRedirect(target);
    if (same && first.inPlace) placeTier(r, first, first.inPlace, endpoint);
    else decided = target;
}

/**
 * What tier 0's raw location would set, set for `location /` to proxy it in place (this module's
 * `placed` is proxy_pass's URL): its upstream and Host, its key, where an engine's own error that
 * nginx also has a page for is asked again ($fleet_replay), and the variables the logs read.
 * @param {NginxHTTPRequest} r @param {FleetData['models'][string]['chain'][number]} tier
 * @param {NonNullable<FleetData['models'][string]['chain'][number]['inPlace']>} target
 * @param {string} endpoint the upstream path after the base URL ("/chat/completions")
 */
function placeTier(r, tier, target, endpoint) {
    const v = r.variables;
    v.fleet_tier = String(tier.tier);
    v.fleet_served = tier.model;
    v.fleet_place_host = target.host;
    v.fleet_place_auth = authFor(r, target.secret);
    v.fleet_replay = tier.rawLocation;
    if (fleet.usage) v.fleet_attempts = (v.fleet_attempts || '') + ' ' + tier.tier;
    v.fleet_placed = '1';
    placed = target.url + endpoint;
}

/**
 * The request's path as nginx normalized it ($uri), saved in $fleet_path before `location /`'s
 * try_files set r.uri to the directory it tested (nginx.conf).
 * @param {NginxHTTPRequest} r
 */
function path(r) {
    return r.variables.fleet_path || r.uri;
}

/** Path routes' prefixes, listed once per VM. */
const ROUTE_PATHS = Object.keys(fleet.routes);

/** The route whose prefix the URI is under: [model id, rest of the path], or null. */
function matchRoute(uri) {
    for (let i = 0; i < ROUTE_PATHS.length; i++) {
        const p = ROUTE_PATHS[i];
        if (uri === p) return [fleet.routes[p], '/v1/chat/completions'];
        if (uri.indexOf(p + '/') === 0) return [fleet.routes[p], uri.slice(p.length)];
    }
    return null;
}

/** @param {NginxHTTPRequest} r */
function handle(r) {
    const uri = path(r);
    const route = matchRoute(uri);
    const pinned = route ? route[0] : null;
    const rest = route ? route[1] : uri;
    const key = authenticate(r);
    if (!key) return;
    // `place` proxies generation requests only; everything else is answered at @fleet_router.
    if (placing && !has(ENDPOINTS, rest)) return;
    if (rest === '/v1/models' || rest.indexOf('/v1/models/') === 0) return listModels(r, key, pinned, rest);
    if (rest === '/health' && !route) {
        if (r.method !== 'GET') return fail(r, 405, 'invalid_request_error', 'method_not_allowed', 'use GET /health');
        return health.report(r, fleet, function (id) { return allows(key, id); }, send);
    }
    if (has(ENDPOINTS, rest)) return generate(r, key, pinned, ENDPOINTS[rest]);
    if (rest === '/v1/usage' && !route) return usage.usageApi(r, key, fail);
    fail(r, 404, 'not_found_error', 'unknown_endpoint', 'no endpoint ' + uri + '; the gateway serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models and /health');
}

/** proxy_pass's URL when the router does not proxy in place: the internal listener (nginx.conf). */
const HOP = 'http://fleet_router_hop/';

// Per request, while `place` runs (one request per VM under the njs engine; set on each call):
// `placing` turns answers and redirects off, `placed` is the URL place returns, `decided` what
// @fleet_router is to do instead: a tier location ("@...") or an answer ("<status> <JSON>").
let placing = false;
let placed = HOP;
let decided = '';

/**
 * js_set $fleet_place, proxy_pass's URL in `location /`: routes as `api` does, without answering.
 * A request for tier 0 of a model the fleet serves whose body goes as the client sent it gets its
 * upstream's URL (placeTier); anything else, a failure included, the internal listener's. What
 * it decided for such a request goes to @fleet_router in $fleet_decided, so that `api` does not
 * read and parse the body a second time (a 7 MiB body: ~50 ms of the worker); for what it did not
 * decide (no generation endpoint, or it threw), `api` routes the request itself.
 * @param {NginxHTTPRequest} r
 */
function place(r) {
    placing = true;
    placed = HOP;
    decided = '';
    try {
        handle(r);
        if (placed === HOP && decided) r.variables.fleet_decided = decided;
    } catch (e) {
        placed = HOP;
        r.variables.fleet_placed = '';
    }
    placing = false;
    return placed;
}

/** What `place` decided for @fleet_router: a jump to a tier location, or an answer. @param {NginxHTTPRequest} r @param {string} what */
function answer(r, what) {
    if (what.charAt(0) === '@') return r.internalRedirect(what);
    r.headersOut['Content-Type'] = 'application/json';
    r.return(Number(what.slice(0, 3)), what.slice(4));
}

/** js_content of @fleet_router. @param {NginxHTTPRequest} r */
function api(r) {
    try {
        const what = r.variables.fleet_decided;
        if (what) return answer(r, what);
        handle(r);
    } catch (e) {
        r.error('llm-fleet: router failed: ' + e.message);
        fail(r, 500, 'server_error', 'gateway_error', 'the gateway failed to route the request');
    }
}

/**
 * js_set $fleet_body_<k>: the body for tier k, `model` set to the tier's upstream name
 * ($fleet_tier_model) and, for an external provider, the engine-only fields removed; every
 * other byte as the client sent it. js_set values are cached per request, so each tier index
 * has its own variable.
 * @param {NginxHTTPRequest} r
 */
function tierBody(r) {
    const parts = (r.variables.fleet_edits || '|0||').split('|');
    const span = function (t) { return t.split(',').map(Number); };
    const e = {
        model: parts[0] ? span(parts[0]) : null,
        members: Number(parts[1]),
        drops: parts[2] ? parts[2].split(';').map(span) : [],
        usage: parts.length > 3 && parts.slice(3).join('|') ? JSON.parse(parts.slice(3).join('|')) : null,
    };
    return body.splice(r.requestText || '', r.variables.fleet_tier_model || '', e, r.variables.fleet_tier_external === '1');
}

/** js_set $fleet_auth_<k>: "Bearer <secret>" for the tier, read from the environment. @param {NginxHTTPRequest} r */
function tierAuth(r) {
    return authFor(r, r.variables.fleet_tier_secret);
}

/** "Bearer <value of the environment variable `name`>", or '' for no name. @param {NginxHTTPRequest} r @param {string | undefined} name */
function authFor(r, name) {
    if (!name) return '';
    const value = process.env[name];
    if (!value) {
        r.error('llm-fleet: environment variable ' + name + ' is not set; the tier is called without a key');
        return '';
    }
    return 'Bearer ' + value;
}

// The tiers' reply filters live in reply.js; nginx.conf names them through this module.
export default { clientId: clientId, place: place, api: api, tierBody: tierBody, tierAuth: tierAuth, checkReply: reply.checkReply, checkErrorReply: reply.checkErrorReply, replyBody: reply.replyBody };
