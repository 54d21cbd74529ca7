/**
 * llm-fleet gateway: the reply filters of tier locations (njs; the syntax limits of router.js:
 * njs 0.7.9). nginx.conf installs them through router.js's exports (router.checkReply,
 * router.checkErrorReply, router.replyBody); which tiers get which is nginx-context.ts
 * checksErrorBody's decision.
 *
 *   checkReply       a reply without an HTTP status line, or with a 1xx, closes the connection (issue 13 items 3, 9)
 *   checkErrorReply  that, and an upstream error whose body is not JSON becomes a JSON error
 *   replyBody        the body side of checkErrorReply, then usage metering when it is on
 */
import usage from 'usage.js';

/**
 * True when a Content-Encoding header names an encoding other than identity (a body that cannot be
 * read as it is): for the request's body (router.js) and for an upstream's error body.
 * @param {string | undefined} value
 */
function encoded(value) {
    return !!value && !/^\s*identity\s*$/i.test(value);
}

/** A Content-Type that says JSON: application/json, or a +json type (RFC 6839). */
const JSON_TYPE = /^\s*application\/(?:[^;\s]*\+)?json\s*(?:;|$)/i;
/** How much of an error body labelled JSON is held to check that it parses; a longer one passes unchecked. */
const HELD_MAX = 4 * 1024 * 1024;

// Per response, set by checkErrorReply and reset there: with `js_engine qjs` one JS context, module state
// included, serves request after request (js_context_reuse, njs 0.8.6+; nginx/njs ngx_js.c).
// `replacement`: the JSON error that replaces an upstream's non-JSON error body, or null.
// `held`: the parts of an error body labelled JSON, held until its end to check that it is JSON.
let replacement = null;
let held = null;
let heldSize = 0;
let heldType = '';

/** The OpenAI-style error that stands for an upstream's error body that is not JSON. */
function notJsonError(status, type) {
    // The media type only, in characters a media type may hold: the rest is the upstream's to say.
    const media = type.split(';')[0].replace(/[^A-Za-z0-9.+\/-]/g, '').slice(0, 60);
    return Buffer.from(JSON.stringify({ error: {
        message: 'the model\'s server answered ' + status + ' with a body that is not JSON' + (media ? ' (' + media + ')' : ''),
        type: status >= 500 ? 'server_error' : 'invalid_request_error',
        code: 'upstream_error',
    } }) + '\n');
}

function parses(buf) {
    try {
        JSON.parse(buf.toString());
        return true;
    } catch (e) {
        return false;
    }
}

/**
 * The upstream whose reply this is: the last of $upstream_addr (", " between replicas, " : "
 * between the locations a request went through, the router's internal listener included).
 */
function answering(r) {
    const all = String(r.variables.upstream_addr);
    const replica = all.lastIndexOf(', ');
    const location = all.lastIndexOf(' : ');
    if (location > replica) return all.slice(location + 3);
    return replica >= 0 ? all.slice(replica + 2) : all;
}

/**
 * js_header_filter of tier locations.
 * An upstream reply without an HTTP status line (a port taken by another service) is taken by
 * nginx for HTTP/0.9 and passed on raw, with no status and no headers (nginx
 * ngx_http_proxy_process_status_line; nginx/nginx issue #378, PR #723, unmerged); it cannot be
 * failed over any more. Closing the connection instead gives the client a transport error, never
 * another service's bytes as the answer (issue 13 item 9).
 * @param {NginxHTTPRequest} r
 */
function checkReply(r) {
    if (r.httpVersion === '0.9') {
        r.error('llm-fleet: upstream ' + answering(r) + ' answered without an HTTP status line; connection closed');
        throw new Error('non-HTTP upstream reply');
    }
    // nginx 1.22 takes an upstream's interim reply (103 Early Hints, an unasked 100 Continue) for
    // the final one and sends the real reply after it as its body: the upstream's own headers
    // (Set-Cookie, account ids) unhidden, its usage unread, and an HTTP client reads those bytes as
    // the answer (nginx CHANGES 1.29.0: "support for response code 103 from proxy and gRPC
    // backends"; Debian's 1.22 and the official image's 1.28 have none). A status under 100 is no
    // HTTP status at all (RFC 9110 section 15). Closed as above, in one error-log entry; the logs
    // say 502 (the client got no answer: not a request served, not a quota's).
    if (r.status < 200) {
        const status = r.status;
        r.status = 502;
        throw new Error('llm-fleet: upstream ' + answering(r) + ' answered ' + status + ' (an interim or invalid status); connection closed');
    }
}

/**
 * js_header_filter of tier locations whose error bodies are checked (provider tiers, and every
 * tier with metering: nginx-context.ts checksErrorBody), beside replyBody: checkReply, and then
 * an error the upstream answers with a body that is not JSON (a provider's or proxy's HTML 400,
 * 413 or 422 page) reaches the client as an OpenAI-style JSON error with the same status
 * (`replyBody` swaps the body). An error body labelled JSON is held to its end and passes as the
 * engine sent it when it parses (vLLM's context-length 400 tells the client what to shorten),
 * else it is swapped too (a proxy's HTML page sent as application/json); its length is known only
 * then, so it goes chunked. A compressed one cannot be read here and passes as it came.
 * @param {NginxHTTPRequest} r
 */
function checkErrorReply(r) {
    replacement = null;
    held = null;
    checkReply(r);
    if (r.status < 400) return;
    const type = r.headersOut['Content-Type'] || '';
    if (JSON_TYPE.test(type)) {
        if (encoded(r.headersOut['Content-Encoding'])) return;
        held = [];
        heldSize = 0;
        heldType = type;
        delete r.headersOut['Content-Length'];
        return;
    }
    replacement = notJsonError(r.status, type);
    r.headersOut['Content-Type'] = 'application/json';
    r.headersOut['Content-Length'] = String(replacement.length);
    delete r.headersOut['Content-Encoding'];
}

/**
 * js_body_filter of tier locations: the replacement error body when checkErrorReply made one (the
 * upstream's bytes are dropped), an error body labelled JSON once it is known to parse (else its
 * replacement), else the reply as it comes; through usage metering when it is on.
 * @param {NginxHTTPRequest} r @param {Buffer} data @param {NginxHTTPSendBufferOptions} flags
 */
function replyBody(r, data, flags) {
    let out = data;
    if (replacement !== null) {
        if (!flags.last) return;
        out = replacement;
    } else if (held !== null) {
        held.push(data);
        heldSize += data.length;
        if (!flags.last && heldSize <= HELD_MAX) return;
        out = Buffer.concat(held);
        held = null;
        if (flags.last && !parses(out)) out = notJsonError(r.status, heldType);
    }
    if (fleet.usage) return usage.filter(r, out, flags);
    r.sendBuffer(out, flags);
}

export default { encoded: encoded, checkReply: checkReply, checkErrorReply: checkErrorReply, replyBody: replyBody };
