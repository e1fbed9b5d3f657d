// Languages per call, end to end in workerd (the `bilingual` test flow of
// tests/flows/bilingual.rs, routed from +15555550400): the caller chooses Spanish at the menu and
// hears the rest of the call in it, from the choice to goodbye; the record, GET /calls and the
// flow's stats keep the language.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { SECRETS, startWorker } from "../../scripts/harness/worker.mjs";
import { Call } from "../../scripts/harness/events.mjs";

const CLINIC = "+15555550400";
const auth = { authorization: `Bearer ${SECRETS.API_TOKEN}` };

let w;
before(async () => {
  w = await startWorker();
});
after(() => w?.dispose());

/** What a speak action says, and in which language. */
const said = (reply) => [reply.action.params.tts.message, reply.action.params.tts.language];

test("a caller who chooses Spanish hears the rest of the call in Spanish, and the record says es-US", async () => {
  const call = new Call(w, { to: CLINIC });
  const welcome = await call.incoming();
  assert.deepEqual(said(welcome), ["Welcome to Example Clinic.", "en-US"]);
  const first = await call.completed(welcome.action);
  assert.deepEqual(said(first), ["For appointments, press 1. For our hours, press 2.", "en-US"]);
  // The end of the first part has the bytes of the end of the welcome: the second part follows.
  const second = await call.completed(first.action);
  assert.deepEqual(said(second), ["Para español, oprima 8.", "es-US"]);
  const menu = await call.completed(second.action, "8");
  assert.deepEqual(said(menu), ["Para citas, oprima 1. Para nuestro horario, oprima 2.", "es-US"]);
  const again = await call.completed(menu.action);
  const patient = await call.completed(again.action, "1");
  assert.deepEqual(said(patient), ["Marque su número de paciente de cuatro dígitos y luego la tecla numeral.", "es-US"]);
  const noted = await call.completed(patient.action, "1234#");
  assert.deepEqual(said(noted), ["Gracias, paciente 1 2 3 4. Le llamaremos.", "es-US"]);
  const bye = await call.completed(noted.action);
  assert.deepEqual(said(bye), ["Adiós.", "es-US"]);
  const hangup = await call.completed(bye.action);
  assert.equal(hangup.action.method, "hangup");
  await call.hangup();
  const record = await w.record(call.reference);
  assert.equal(record.language, "es-US");

  // An English call of the same flow, for the filters.
  const english = new Call(w, { to: CLINIC });
  const hi = await english.incoming();
  await english.completed(hi.action);
  await english.hangup();

  const list = async (query) => (await (await w.fetch(`/calls?flow=bilingual&${query}`, { headers: auth })).json()).calls;
  assert.deepEqual(
    (await list("language=es-US")).map((c) => c.reference_id),
    [call.reference],
  );
  assert.deepEqual(
    (await list("language=en-US")).map((c) => c.reference_id),
    [english.reference],
  );
  const bad = await w.fetch("/calls?language=klingon", { headers: auth });
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error.code, "invalid_query");
  const stats = async (query) => (await w.fetch(`/flows/bilingual/stats?${query}`, { headers: auth })).json();
  assert.equal((await stats("language=es-US")).calls, 1);
  assert.equal((await stats("")).calls, 2);
});
