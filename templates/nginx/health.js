/**
 * GET /health: asks every replica of the models the key may use, now, and reports per model how
 * many answer. Open-source nginx has no active health checks (gateway-notes.md "Streaming and
 * retries"), so this is a live probe with ngx.fetch, bounded by js_fetch_timeout in nginx.conf.
 * External providers are listed but not probed (a probe would need their key and cost a call).
 * Only models and fallback tiers the key may use are listed.
 */

/** @param {{url: string, host: string}} probe */
function probe(probe) {
    return ngx.fetch(probe.url, { headers: { Host: probe.host }, max_response_body_size: 65536 })
        .then(function (res) { return res.status === 200; }, function () { return false; });
}

/**
 * @param {NginxHTTPRequest} r
 * @param {FleetData} fleet the fleet's data (fleet.json: its lists have no methods)
 * @param {(id: string) => boolean} allowed models the caller may see
 * @param {(r: NginxHTTPRequest, status: number, body: unknown) => void} send
 */
function report(r, fleet, allowed, send) {
    const ids = Array.prototype.filter.call(fleet.order, allowed);
    const pending = [];
    ids.forEach(function (id) {
        Array.prototype.forEach.call(fleet.models[id].probes, function (p) { pending.push(probe(p)); });
    });
    Promise.all(pending).then(function (answers) {
        // No prototype: on njs 0.7.9 `obj['constructor'] = v` on a plain object makes a property that
        // JSON.stringify and Object.keys skip, so a model named constructor vanished from /health.
        const models = Object.create(null);
        let next = 0;
        let allUp = true;
        ids.forEach(function (id) {
            const m = fleet.models[id];
            if (m.engine === 'external') {
                models[id] = { engine: 'external', probed: false, tiers: Array.prototype.filter.call(m.tiers, allowed) };
                return;
            }
            let healthy = 0;
            for (let i = 0; i < m.probes.length; i++) if (answers[next++]) healthy++;
            if (healthy === 0) allUp = false;
            models[id] = { engine: m.engine, replicas: m.probes.length, healthy: healthy, tiers: Array.prototype.filter.call(m.tiers, allowed) };
        });
        send(r, allUp ? 200 : 503, { status: allUp ? 'ok' : 'degraded', models: models });
    }).catch(function (e) {
        r.error('llm-fleet: health probe failed: ' + e.message);
        send(r, 500, { error: { message: 'the health check failed', type: 'server_error', code: 'health_failed' } });
    });
}

export default { report: report };
