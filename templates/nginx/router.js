/**
 * llm-fleet gateway router (njs). Static logic; the fleet's data comes from the generated
 * fleet.js. Runs on njs 0.7.9 (Debian bookworm) and 0.8/0.9 (official image), so it keeps to
 * what both parse: no destructuring, spread or for-of (0.7.9 rejects them), and the body is read
 * with r.requestText (r.requestBody is gone since 0.8.0; gateway-notes.md "njs versions").
 *
 * Entry points:
 *   clientId   js_set: who is calling, for limit_req/limit_conn keys and the access log
 *   api        js_content: auth, path routes, /v1/models, /health, body checks, model routing
 *   tierBody   js_set: the body with the tier's upstream model name
 *   tierAuth   js_set: "Bearer <secret>" for the tier, read from the environment
 * No key, secret or Authorization value is ever logged or returned.
 */
import crypto from 'crypto';
import fleet from 'fleet.js';
import health from 'health.js';
import usage from 'usage.js';

/** Client paths (after a route prefix is removed) → upstream path after the base URL. */
const ENDPOINTS = {
    '/v1/chat/completions': '/chat/completions',
    '/v1/completions': '/completions',
    '/v1/embeddings': '/embeddings',
};

/** @param {NginxHTTPRequest} r */
function send(r, status, body) {
    r.headersOut['Content-Type'] = 'application/json';
    r.return(status, JSON.stringify(body) + '\n');
}

/** Every error is an OpenAI-style body: {"error":{"message","type","code"}}. */
function fail(r, status, type, code, message) {
    if (status === 401) r.headersOut['WWW-Authenticate'] = 'Bearer';
    send(r, status, { error: { message: message, type: type, code: code } });
}

function has(obj, name) {
    return Object.prototype.hasOwnProperty.call(obj, name);
}

/** The key record for the request's Bearer token, or null. Only its SHA-256 digest is compared. */
function lookupKey(r) {
    const header = r.headersIn.Authorization;
    if (!header) return null;
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) return null;
    const digest = crypto.createHash('sha256').update(m[1]).digest('hex');
    return has(fleet.keys, digest) ? fleet.keys[digest] : null;
}

/**
 * "k:<rateClass>:<keyName>" for a known key, "ip:<addr>" otherwise, "err:<addr>" when the lookup
 * itself failed. It must always return a non-empty value: a throwing js_set leaves the variable
 * empty, and limit_req does not count empty keys (gateway-notes.md "Keys and limits"). The
 * nginx maps also treat an empty value as the client address, in case this ever throws anyway.
 * @param {NginxHTTPRequest} r
 */
function clientId(r) {
    try {
        const key = lookupKey(r);
        return key ? 'k:' + key.rateClass + ':' + key.name : 'ip:' + r.remoteAddress;
    } catch (e) {
        r.error('llm-fleet: key lookup failed: ' + e.message);
        return 'err:' + r.remoteAddress;
    }
}

/** The caller's key record from $fleet_client, or null after it answered the request itself. */
function authenticate(r) {
    const id = r.variables.fleet_client || '';
    if (id.indexOf('k:') === 0) {
        const key = lookupKey(r);
        if (key) return key;
    }
    if (id.indexOf('ip:') === 0) {
        fail(r, 401, 'authentication_error', 'invalid_api_key',
            'missing or unknown API key: send "Authorization: Bearer <key>"');
        return null;
    }
    fail(r, 500, 'server_error', 'key_lookup_failed', 'the gateway could not check the API key');
    return null;
}

function allows(key, modelId) {
    return key.models === '*' || key.models.indexOf(modelId) !== -1;
}

/** Names (ids and aliases) a key may send, in fleet order; all of them under a path route's model. */
function visibleNames(key, pinned) {
    const out = [];
    fleet.order.forEach(function (id) {
        if (!allows(key, id) || (pinned && pinned !== id)) return;
        out.push(id);
        fleet.models[id].aliases.forEach(function (a) { out.push(a); });
    });
    return out;
}

function modelEntries(key, pinned) {
    const data = [];
    fleet.order.forEach(function (id) {
        if (!allows(key, id) || (pinned && pinned !== id)) return;
        const m = fleet.models[id];
        const base = { object: 'model', created: 0, owned_by: 'llm-fleet' };
        data.push(Object.assign({ id: id, aliases: m.aliases, max_output_tokens: m.maxOutputTokens, context_length: m.contextLength }, base));
        m.aliases.forEach(function (a) { data.push(Object.assign({ id: a, alias_of: id }, base)); });
    });
    return data;
}

function listModels(r, key, pinned, rest) {
    if (r.method !== 'GET') return fail(r, 405, 'invalid_request_error', 'method_not_allowed', 'use GET ' + r.uri);
    const data = modelEntries(key, pinned);
    if (rest === '/v1/models') return send(r, 200, { object: 'list', data: data });
    const wanted = rest.slice('/v1/models/'.length);
    const found = data.filter(function (d) { return d.id === wanted; });
    if (found.length === 0) return unknownModel(r, key, pinned, wanted);
    send(r, 200, found[0]);
}

function unknownModel(r, key, pinned, name) {
    const names = visibleNames(key, pinned);
    fail(r, 404, 'not_found_error', 'model_not_found', 'model "' + name + '" does not exist; available: ' +
        (names.length ? names.join(', ') : '(none for this key)'));
}

/** Positive integer, or undefined/null (engine default); anything else is a client error. */
function tokenLimitProblem(body, limit) {
    const fields = ['max_tokens', 'max_completion_tokens'];
    for (let i = 0; i < fields.length; i++) {
        const v = body[fields[i]];
        if (v === undefined || v === null) continue;
        if (typeof v !== 'number' || v < 1 || Math.floor(v) !== v) return fields[i] + ' must be a positive integer';
        if (limit !== null && v > limit) return fields[i] + ' is ' + v + '; this model allows at most ' + limit;
    }
    return null;
}

/** Checks the body, picks the model and hands the request to its first tier. */
function generate(r, key, pinned, endpoint) {
    if (r.method !== 'POST') return fail(r, 405, 'invalid_request_error', 'method_not_allowed', 'use POST ' + r.uri);
    let body;
    try {
        body = JSON.parse(r.requestText || '');
    } catch (e) {
        return fail(r, 400, 'invalid_request_error', 'invalid_json', 'the request body is not valid JSON: ' + e.message);
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) {
        return fail(r, 400, 'invalid_request_error', 'invalid_json', 'the request body must be a JSON object');
    }
    const requested = body.model;
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
    const problem = tokenLimitProblem(body, model.maxOutputTokens);
    if (problem) return fail(r, 400, 'invalid_request_error', 'max_tokens_too_large', problem);
    r.variables.fleet_model = id;
    r.variables.fleet_requested = typeof requested === 'string' ? requested : '';
    r.variables.fleet_endpoint = endpoint;
    if (usage.overQuota(r, key, send)) return;
    usage.markStream(r, body, endpoint);
    // The named location forwards the body already read into memory (gateway-notes.md "Routing").
    r.internalRedirect(model.entry);
}

/** The route whose prefix the URI is under: [model id, rest of the path], or null. */
function matchRoute(uri) {
    const paths = Object.keys(fleet.routes);
    for (let i = 0; i < paths.length; i++) {
        const p = paths[i];
        if (uri === p) return [fleet.routes[p], '/v1/chat/completions'];
        if (uri.indexOf(p + '/') === 0) return [fleet.routes[p], uri.slice(p.length)];
    }
    return null;
}

/** @param {NginxHTTPRequest} r */
function handle(r) {
    const route = matchRoute(r.uri);
    const pinned = route ? route[0] : null;
    const rest = route ? route[1] : r.uri;
    const key = authenticate(r);
    if (!key) return;
    if (rest === '/v1/models' || rest.indexOf('/v1/models/') === 0) return listModels(r, key, pinned, rest);
    if (rest === '/health' && !route) {
        if (r.method !== 'GET') return fail(r, 405, 'invalid_request_error', 'method_not_allowed', 'use GET /health');
        return health.report(r, fleet, function (id) { return allows(key, id); }, send);
    }
    if (has(ENDPOINTS, rest)) return generate(r, key, pinned, ENDPOINTS[rest]);
    if (rest === '/v1/usage' && !route) return usage.usageApi(r, key, fail);
    fail(r, 404, 'not_found_error', 'unknown_endpoint', 'no endpoint ' + r.uri + '; the gateway serves /v1/chat/completions, /v1/completions, /v1/embeddings, /v1/models and /health');
}

/** @param {NginxHTTPRequest} r */
function api(r) {
    try {
        handle(r);
    } catch (e) {
        r.error('llm-fleet: router failed: ' + e.message);
        fail(r, 500, 'server_error', 'gateway_error', 'the gateway failed to route the request');
    }
}

/** Sampling fields only the fleet's own engines take (vLLM, llama.cpp), never sent to a provider. */
const ENGINE_ONLY_FIELDS = ['top_k', 'min_p', 'repetition_penalty', 'repeat_penalty'];

/**
 * The body for the current tier: `model` set to the tier's upstream name ($fleet_tier_model, set
 * in the tier's location). A js_set variable is cached per request, so each tier index has its own
 * variable ($fleet_body_<tier>) bound to this function.
 * @param {NginxHTTPRequest} r
 */
function tierBody(r) {
    return usage.askForUsage(r, tierModelBody(r));
}

/** @param {NginxHTTPRequest} r */
function tierModelBody(r) {
    const target = r.variables.fleet_tier_model;
    const text = r.requestText || '';
    if (r.variables.fleet_requested === target) return text;
    const body = JSON.parse(text);
    body.model = target;
    // OpenAI-style providers answer 400 to unknown fields, which would turn a failover into a failure.
    if (r.variables.fleet_tier_external === '1') ENGINE_ONLY_FIELDS.forEach(function (f) { delete body[f]; });
    return JSON.stringify(body);
}

/** @param {NginxHTTPRequest} r */
function tierAuth(r) {
    const name = r.variables.fleet_tier_secret;
    if (!name) return '';
    const value = process.env[name];
    if (!value) {
        r.error('llm-fleet: environment variable ' + name + ' is not set; the tier is called without a key');
        return '';
    }
    return 'Bearer ' + value;
}

export default { clientId: clientId, api: api, tierBody: tierBody, tierAuth: tierAuth };
