"""The seeds' approach as a peer in BENCHMARKS.md: the bottle handler of Telesign's "Play and
Collect Digits in Python" page, grown into the same bank phone tree (flows/bank_menu.rs).

As on that page it is one bottle process; it is served by cheroot (bottle's adapter, HTTP/1.1
keep-alive, a pool of threads) rather than the page's wsgiref, which closes every connection
(BOTTLE_SERVER=wsgiref restores it). There is no KV here: sessions are JSON text in a dict in memory, under the same keys the
workers use. It checks the signature (HMAC-SHA256) and remembers recent events as the workers do.
Usage: python3 app.py PORT  (TELESIGN_CUSTOMER_ID and TELESIGN_API_KEY in the environment).
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import time
import urllib.request
from json import dumps, loads

from bottle import ServerAdapter, post, request, response, run

CUSTOMER_ID = os.environ["TELESIGN_CUSTOMER_ID"]
API_KEY = base64.b64decode(os.environ["TELESIGN_API_KEY"])
BALANCE_API = os.environ.get("BALANCE_API", "https://bank.example.com/v1/accounts")
RECENT_EVENTS = 8
MAX_RETRIES = 2
MENU = {"max": 1, "timeout": 5000, "inter_digit_timeout": 3000}

STEPS = {
    "welcome": {"say": "Thank you for calling Example Bank.", "next": "main_menu"},
    "main_menu": {
        "menu": "For your account balance, press 1. For cards, press 2. "
        "To hear these options again, press 9.",
        "options": {"1": "account_number", "2": "cards_menu"},
        "repeat": "9",
        "no_input": "Sorry, I didn't hear a choice.",
        "invalid": "Sorry, that is not one of the options.",
        "fallback": "goodbye",
    },
    "account_number": {
        "gather": "Please enter your eight digit account number, followed by the pound key.",
        "var": "account", "min": 8, "max": 8, "terminators": "#",
        "timeout": 10000, "inter_digit_timeout": 4000,
        "invalid": "Sorry, that account number is not valid.",
        "fallback": "goodbye", "next": "check_account",
    },
    "check_account": {"run": lambda s: "balance_lookup" if luhn_valid(s["vars"].get("account", "")) else None},
    "balance_lookup": {"run": lambda s: look_up_balance(s)},
    "balance": {
        "say": "The balance of the account ending in {account|last4} is {balance} dollars.",
        "next": "main_menu",
    },
    "balance_unavailable": {"say": "Sorry, we cannot look up your balance right now.", "next": "main_menu"},
    "cards_menu": {
        "menu": "To report a lost or stolen card, press 1. To activate a new card, press 2. "
        "To go back to the main menu, press star.",
        "options": {"1": "card_lost", "2": "card_activation", "*": "main_menu"},
        "fallback": "goodbye",
    },
    "card_lost": {
        "say": "Your cards are now blocked. We will call you back at {caller|digits} "
        "within one business day.",
        "next": "goodbye",
    },
    "card_activation": {
        "gather": "Enter the last four digits of your new card.",
        "var": "card_last4", "min": 4, "max": 4, "terminators": "#", "fallback": "goodbye", "next": "card_activated",
    },
    "card_activated": {"say": "Your card ending in {card_last4|digits} is now active.", "next": "main_menu"},
    "goodbye": {"say": "Thank you for banking with Example Bank. Goodbye."},
}

STORE = {}


class Response:
    def __init__(self, method, params=None):
        if params is None:
            params = {}
        self.jsonrpc = "2.0"
        self.method = method
        self.params = params

    def to_json(self):
        return dumps(self.__dict__, separators=(",", ":"))


def now_ms():
    return int(time.time() * 1000)


def signature_valid(body):
    presented = request.headers.get("X-TS-Authorization", "")
    auth = request.headers.get("Authorization", "")
    if auth and not auth.startswith("TSA " + CUSTOMER_ID + ":"):
        return False
    expected = base64.b64encode(hmac.new(API_KEY, body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, presented.strip())


@post("/webhook")
def telesign_event():
    body = request.body.read()
    if not signature_valid(body):
        response.status = 401
        return dumps({"error": {"code": "bad_signature", "message": "bad signature"}})
    event = loads(body)
    ref = event["reference_id"]
    data = event.get("data") or {}
    fp = hashlib.sha256(body).hexdigest()[:32]
    stored = STORE.get("session:" + ref)
    s = loads(stored) if stored else None
    response.content_type = "application/json; charset=utf-8"

    if event["event"] == "call_completed":
        if s is not None or ("call:" + ref) not in STORE:
            STORE["call:" + ref] = dumps(call_record(s, event, data))
            STORE.pop("session:" + ref, None)
        response.status = 204
        return ""
    if s is None:
        if event["event"] != "incoming_call":
            return Response("hangup").to_json()
        s = new_session(ref, data)
        return save(s, event, fp, follow(s, "welcome"))
    last = s["recent"][-1] if s["recent"] else None
    if not expects(s, event) and last and last["fingerprint"] == fp:
        return last["reply"]
    if event["event"] != "speak_completed" or s["wait"] != "speak":
        response.status = 204
        return ""
    return save(s, event, fp, media_completed(s, data))


def new_session(ref, data):
    t = now_ms()
    return {"reference_id": ref, "flow": "bank_menu", "direction": "inbound", "from": data.get("from"),
            "to": data.get("to"), "step": "", "wait": "speak", "vars": {}, "answers": [], "visited": [],
            "retries": 0, "hunt": 0, "started_ms": t, "updated_ms": t, "events": 0, "recent": []}


def expects(s, event):
    if s["wait"] != "speak" or event["event"] != "speak_completed":
        return False
    step = STEPS[s["step"]]
    data = event.get("data") or {}
    collecting = "menu" in step or "gather" in step
    return not (collecting and data.get("status") == "speak_successful" and not data.get("collected_digits"))


def save(s, event, fp, reply):
    s["recent"] = (s["recent"] + [{"fingerprint": fp, "event": event["event"], "reply": reply}])[-RECENT_EVENTS:]
    s["events"] += 1
    s["updated_ms"] = now_ms()
    STORE["session:" + s["reference_id"]] = dumps(s)
    return reply


def media_completed(s, data):
    name = s["step"]
    step = STEPS[name]
    if "say" in step:
        return follow(s, step["next"]) if "next" in step else hangup(s)
    terminators = step.get("terminators", "")
    digits = "".join(c for c in data.get("collected_digits", "") if c not in terminators)

    def answer(result):
        s["answers"].append({"step": name, "digits": digits, "result": result, "at_ms": now_ms()})

    if not digits:
        answer("no_input")
        return retry(s, step, step.get("no_input"))
    if "menu" in step:
        if digits == step.get("repeat"):
            answer("repeat")
            return prompt(s, step)
        target = step["options"].get(digits)
        if target is None:
            answer("invalid")
            return retry(s, step, step.get("invalid"))
        answer("accepted")
        return follow(s, target)
    if not step["min"] <= len(digits) <= step["max"]:
        answer("invalid")
        return retry(s, step, step.get("invalid"))
    answer("accepted")
    s["vars"][step["var"]] = digits
    return follow(s, step["next"])


def follow(s, name):
    for _ in range(32):
        if name is None:
            s["step"] = s["input_step"]
            step = STEPS[s["step"]]
            return retry(s, step, step.get("invalid"))
        step = STEPS[name]
        s["step"] = name
        s["visited"].append(name)
        s["retries"] = 0
        if "say" in step:
            return speak(s, render(step["say"], s))
        if "menu" in step or "gather" in step:
            s["input_step"] = name
            return prompt(s, step)
        name = step["run"](s)
    raise RuntimeError("the flow loops")


def hangup(s):
    s["wait"] = "hangup"
    s.setdefault("outcome", "completed")
    return Response("hangup").to_json()


def prompt(s, step, notice=None):
    text = render(step.get("menu") or step.get("gather"), s)
    if notice:
        text = notice.strip() + " " + text
    if "menu" in step:
        collect = MENU
    else:
        collect = {"max": step["max"], "timeout": step.get("timeout", 8000),
                   "inter_digit_timeout": step.get("inter_digit_timeout", 3000)}
        if step.get("terminators"):
            collect["terminators"] = step["terminators"]
    return speak(s, text, collect)


def retry(s, step, notice):
    s["retries"] += 1
    if s["retries"] > MAX_RETRIES:
        return follow(s, step["fallback"])
    return prompt(s, step, notice)


def speak(s, message, collect=None):
    s["wait"] = "speak"
    params = {"tts": {"message": message, "language": "en-US"}}
    if collect:
        params["collect_digits"] = collect
    return Response("speak", params).to_json()


def render(text, s):
    values = dict(s["vars"], caller=s.get("from") or "", called=s.get("to") or "")
    out, rest = [], text
    while "{" in rest:
        head, _, tail = rest.partition("{")
        inner, _, rest = tail.partition("}")
        name, _, flt = inner.partition("|")
        value = values.get(name, "")
        out.append(head + (" ".join(value) if flt == "digits" else value[-4:] if flt == "last4" else value))
    return "".join(out) + rest


def luhn_valid(number):
    if not number.isdigit():
        return False
    total = 0
    for i, c in enumerate(reversed(number)):
        d = int(c) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def look_up_balance(s):
    url = "%s/%s/balance" % (BALANCE_API, s["vars"]["account"])
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers={"accept": "application/json"}),
                                    timeout=3) as res:
            balance = json.load(res).get("balance")
    except Exception:  # any failure is told to the caller, as the workers do
        return "balance_unavailable"
    if not isinstance(balance, (str, int, float)):
        return "balance_unavailable"
    s["vars"]["balance"] = str(balance)
    return "balance"


def call_record(s, event, data):
    s = s or {}
    outcome = "unknown_call" if not s else s.get("outcome") or (
        "completed" if s["wait"] == "hangup" else "caller_hung_up")
    return {"reference_id": event["reference_id"], "flow": s.get("flow"),
            "direction": s.get("direction") or data.get("direction"), "from": s.get("from") or data.get("from"),
            "to": s.get("to") or data.get("to"), "external_id": event.get("external_id"),
            "created_on_utc": data.get("created_on_utc"), "answered_on_utc": data.get("answered_on_utc"),
            "ended_on_utc": data.get("ended_on_utc"), "duration": data.get("duration"),
            "audio_recording_file_name": data.get("audio_recording_file_name"), "vars": s.get("vars", {}),
            "answers": s.get("answers", []), "visited": s.get("visited", []), "outcome": outcome,
            "status": data.get("status"), "started_ms": s.get("started_ms"), "ended_ms": now_ms()}


class Cheroot(ServerAdapter):
    """bottle's cheroot adapter, sized for the load: a thread per connection and no cap on
    keep-alive connections. cheroot's defaults (10 threads, at most 10 kept-alive connections)
    close the connections past ten after each reply, and a client that already sent its next
    event on such a connection loses it: the call then misses a key press."""

    def run(self, handler):
        from cheroot import wsgi

        server = wsgi.Server((self.host, self.port), handler, numthreads=THREADS)
        server.keep_alive_conn_limit = None
        try:
            server.start()
        finally:
            server.stop()


THREADS = int(os.environ.get("BOTTLE_THREADS", "64"))

if __name__ == "__main__":
    # The page runs bottle's default server, wsgiref, which answers one request per connection and
    # closes it; cheroot keeps connections alive as Telesign's would be.
    server = os.environ.get("BOTTLE_SERVER", "cheroot")
    run(host="127.0.0.1", port=int(sys.argv[1]), quiet=True, server=Cheroot if server == "cheroot" else server)
