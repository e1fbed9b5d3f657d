// The floor of this design, a peer in BENCHMARKS.md: per event one KV read and one KV write of the
// call's key, and a constant reply. No signature check, no flow: whatever a worker that keeps call
// state in KV does on top of this is its own cost.

const REPLY = JSON.stringify({
  jsonrpc: "2.0",
  method: "speak",
  params: { tts: { message: "Thank you for calling Example Bank.", language: "en-US" } },
});

export default {
  async fetch(request, env) {
    const body = await request.text();
    const key = `session:${JSON.parse(body).reference_id}`;
    await env.SESSIONS.get(key);
    await env.SESSIONS.put(key, body, { expirationTtl: 5 * 3600 });
    return new Response(REPLY, { headers: { "content-type": "application/json; charset=utf-8" } });
  },
};
