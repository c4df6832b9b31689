#!/usr/bin/env python3
"""A contract-faithful fake of the GoHighLevel (LeadConnector v2) calendar API.

Serves, on 127.0.0.1 with a random port, the endpoints plugins/ghl uses
(research: shared/research/api-contracts.md section 1), enforcing:
  - Authorization: Bearer <access token> (401 NestJS body without / wrong /
    expired token); Version header (400 without it; the accepted value per
    endpoint; missing-Version status is a switch because it is [U]);
  - GET /contacts/{id} ({"contact":{...}}, 404 when unknown; counted in
    the contact's location's budget);
  - OAuth refresh with rotation (POST /oauth/token, form-encoded): the old
    refresh token is consumed, a reused one is rejected;
  - a per-location request budget (X-RateLimit-* headers; 429 over budget);
  - injected faults: 429 with or without Retry-After, 5xx, and 500 AFTER the
    write took effect;
  - no pagination: GHL documents none for /calendars/events (research 1.2),
    so the whole window comes back in one answer;
  - webhook deliveries signed like GHL signs (base64 RSA-SHA256 PKCS#1 v1.5
    over the exact body bytes) with a test key pair made at start with the
    openssl command-line tool.

Control endpoints live under /_fake/ (no auth, not counted):
  GET  /_fake/state              appointments, contacts, current tokens
  GET  /_fake/requests           the request log [{method,path,t_ms,status}]
  POST /_fake/config  {...}      merge into the config (see CONFIG below)
  POST /_fake/faults  [{...}]    append faults: {match:"POST /calendars/...",
                                 status:500|429|503|403, retry_after:"2"|null,
                                 message:"..." (else a default for the status),
                                 after_write:bool, count:1}
  POST /_fake/seed    {appointments:[...], contacts:[...]}  insert as stored
  POST /_fake/expire             expire the current access token now
  POST /_fake/webhook {type, appointment_id | appointment, with_webhook_id,
                       deliver_to}  build (and optionally POST) a signed delivery
  GET|POST /_fake/inbox          a webhook receiver: POST records, GET lists
  POST /_fake/reset {data:bool}  clear the request log, faults, rate
                                 windows (and the data when asked)
  POST /_fake/token              a fresh access token (contract tests)

Started as: fake_ghl.py --keydir DIR [--client-id ID --client-secret S
--refresh-token RT]; prints one JSON line {"port":N,"public_key":PATH} on
stdout once listening, then serves until stdin closes or SIGTERM.
"""
import argparse
import base64
import json
import os
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
import uuid
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

CONFIG = {
    "client_id": "test-client",
    "client_secret": "test-secret",
    "token_lifetime_s": 86399,
    "rate_max": 100,             # requests per window per location
    "rate_window_ms": 10000,
    "rate_enforce": True,        # answer 429 over budget
    "missing_version_status": 400,
    "calendar_version": "2021-04-15",
    "contacts_version": "2021-07-28",
    "contacts_enabled": True,    # the upsert endpoint is [3P]: can be switched off
    "contact_shape": "nested",   # "nested": {"contact":{"id"}}, "flat": {"id"}
    "create_status": 200,        # 200 documented; 201 tolerated by the connector
    "send_webhook_id": True,
}

LOCK = threading.RLock()
STATE = {
    "appointments": {},          # id -> appointment dict
    "contacts": {},              # id -> contact dict
    "access_tokens": {},         # token -> expiry epoch seconds
    "refresh_token": "rt-0",
    "refresh_serial": 0,
    "requests": [],              # the log
    "faults": [],
    "rate": {},                  # locationId -> [t_ms, ...] accepted in window
    "inbox": [],                 # deliveries POSTed to /_fake/inbox
}
KEYS = {}


def now_ms():
    return int(time.time() * 1000)


def iso(ms):
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_iso(text):
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def new_id():
    return uuid.uuid4().hex[:20]


def issue_access_token():
    token = "at-" + uuid.uuid4().hex
    STATE["access_tokens"][token] = time.time() + CONFIG["token_lifetime_s"]
    return token


def sign(body):
    proc = subprocess.run(
        ["openssl", "dgst", "-sha256", "-sign", KEYS["private"]],
        input=body, capture_output=True, check=True)
    return base64.b64encode(proc.stdout).decode()


def make_keys(keydir):
    os.makedirs(keydir, exist_ok=True)
    priv = os.path.join(keydir, "ghl-test-private.pem")
    pub = os.path.join(keydir, "ghl-test-public.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048",
                    "-out", priv], check=True, capture_output=True)
    subprocess.run(["openssl", "pkey", "-in", priv, "-pubout", "-out", pub], check=True,
                   capture_output=True)
    KEYS["private"], KEYS["public"] = priv, pub


class Reply(Exception):
    def __init__(self, status, body, headers=None):
        super().__init__(status)
        self.status, self.body, self.headers = status, body, headers or {}


def nest_error(status, message, error=None):
    body = {"statusCode": status, "message": message}
    if error:
        body["error"] = error
    return Reply(status, body)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # quiet: the test log is ours
        pass

    # ---- plumbing ---------------------------------------------------------
    def _body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, status, body, headers=None):
        raw = body if isinstance(body, bytes) else json.dumps(body, separators=(",", ":")).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(raw)

    def _dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        path, query = url.path, urllib.parse.parse_qs(url.query)
        raw = self._body()
        if path.startswith("/_fake/"):
            try:
                status, body = control(method, path, raw, self.headers)
            except Exception as e:  # a broken control call is the test's bug: say so
                status, body = 500, {"error": repr(e)}
            return self._send(status, body)
        t = now_ms()
        try:
            api(method, path, query, raw, self.headers)
            reply = Reply(500, {"statusCode": 500, "message": "fake bug: no reply"})
        except Reply as r:
            reply = r
        except Exception as e:  # a fake bug must still answer, and say what broke
            reply = Reply(500, {"statusCode": 500, "message": "fake bug: " + repr(e)})
        # Logged before answering, so a test reading the log after its
        # request returned always finds it.
        with LOCK:
            STATE["requests"].append({"method": method, "path": path, "t_ms": t,
                                      "status": reply.status})
        self._send(reply.status, reply.body, reply.headers)

    def do_GET(self):
        self._dispatch("GET")

    def do_POST(self):
        self._dispatch("POST")

    def do_PUT(self):
        self._dispatch("PUT")

    def do_DELETE(self):
        self._dispatch("DELETE")


# ---- the API --------------------------------------------------------------

def take_fault(method, path):
    key = method + " " + path
    with LOCK:
        for f in STATE["faults"]:
            if f.get("count", 1) > 0 and key.startswith(f.get("match", "")):
                f["count"] = f.get("count", 1) - 1
                return dict(f)
    return None


def require_version(headers, want):
    v = headers.get("Version")
    if v is None:
        raise nest_error(CONFIG["missing_version_status"], "version header was not found",
                         "Bad Request")
    if v != want:
        raise nest_error(400, "version header is invalid: expected %s" % want, "Bad Request")


def require_token(headers):
    auth = headers.get("Authorization") or ""
    if not auth.startswith("Bearer "):
        raise nest_error(401, "Invalid token: access token is invalid", "Unauthorized")
    with LOCK:
        exp = STATE["access_tokens"].get(auth[7:])
    if exp is None:
        raise nest_error(401, "Invalid token: access token is invalid", "Unauthorized")
    if exp < time.time():
        raise nest_error(401, "Invalid JWT: token expired", "Unauthorized")


def rate_headers(location):
    """Counts the request against the location's window; 429 over budget."""
    t = now_ms()
    with LOCK:
        win = [x for x in STATE["rate"].get(location, []) if x > t - CONFIG["rate_window_ms"]]
        over = len(win) >= CONFIG["rate_max"]
        if not over:
            win.append(t)
        STATE["rate"][location] = win
        remaining = max(0, CONFIG["rate_max"] - len(win))
    headers = {"X-RateLimit-Max": str(CONFIG["rate_max"]),
               "X-RateLimit-Remaining": str(remaining),
               "X-RateLimit-Interval-Milliseconds": str(CONFIG["rate_window_ms"]),
               "X-RateLimit-Limit-Daily": "200000",
               "X-RateLimit-Daily-Remaining": "199000"}
    if over and CONFIG["rate_enforce"]:
        raise Reply(429, {"statusCode": 429, "message": "Too many requests"}, headers)
    return headers


def json_body(raw):
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise nest_error(400, "Unexpected token in JSON", "Bad Request")
    if not isinstance(body, dict):
        raise nest_error(400, "body must be an object", "Bad Request")
    return body


def api(method, path, query, raw, headers):
    if method == "POST" and path == "/oauth/token":
        return oauth(raw, headers)
    require_token(headers)
    is_contacts = path.startswith("/contacts/")
    require_version(headers, CONFIG["contacts_version"] if is_contacts else CONFIG["calendar_version"])
    body = json_body(raw) if method in ("POST", "PUT") else {}
    location = (query.get("locationId", [None])[0] or body.get("locationId")
                or (contact_location(path) if is_contacts else appointment_location(path)) or "-")
    rh = rate_headers(location)
    fault = take_fault(method, path)
    if fault and not fault.get("after_write"):
        raise fault_reply(fault, rh)
    status, out = route(method, path, query, body, is_contacts)
    if fault:
        raise fault_reply(fault, rh)
    raise Reply(status, out, rh)


def fault_reply(fault, rh):
    h = dict(rh)
    if fault.get("retry_after") is not None:
        h["Retry-After"] = str(fault["retry_after"])
    st = fault["status"]
    msg = fault.get("message") or ("Too many requests" if st == 429 else "Internal server error")
    return Reply(st, {"statusCode": st, "message": msg}, h)


def appointment_location(path):
    parts = path.rstrip("/").split("/")
    with LOCK:
        a = STATE["appointments"].get(parts[-1])
    return a["locationId"] if a else None


def contact_location(path):
    """A contact read counts against the contact's location, like its other calls."""
    with LOCK:
        c = STATE["contacts"].get(path[len("/contacts/"):])
    return c.get("locationId") if c else None


def route(method, path, query, body, is_contacts):
    if is_contacts:
        if method == "POST" and path == "/contacts/upsert" and CONFIG["contacts_enabled"]:
            return upsert_contact(body)
        if method == "GET" and CONFIG["contacts_enabled"]:
            with LOCK:
                c = STATE["contacts"].get(path[len("/contacts/"):])
            if not c:
                raise nest_error(404, "Contact not found", "Not Found")
            return 200, {"contact": dict(c)}
        raise nest_error(404, "Cannot %s %s" % (method, path), "Not Found")
    if method == "GET" and path == "/calendars/events":
        return list_events(query)
    if path == "/calendars/events/appointments" and method == "POST":
        return create_appointment(body)
    prefix = "/calendars/events/appointments/"
    if path.startswith(prefix) and method == "GET":
        return 200, {"event": get_appointment(path[len(prefix):])}
    if path.startswith(prefix) and method == "PUT":
        return update_appointment(path[len(prefix):], body)
    if path.startswith("/calendars/events/") and method == "DELETE":
        return delete_event(path[len("/calendars/events/"):])
    raise nest_error(404, "Cannot %s %s" % (method, path), "Not Found")


def list_events(query):
    q = {k: v[0] for k, v in query.items()}
    if "locationId" not in q:
        raise nest_error(422, ["locationId should not be empty"], "Unprocessable Entity")
    selectors = [k for k in ("calendarId", "userId", "groupId") if k in q]
    if len(selectors) != 1:
        raise nest_error(422, ["exactly one of calendarId, userId, groupId is required"],
                         "Unprocessable Entity")
    try:
        start, end = int(q["startTime"]), int(q["endTime"])
    except (KeyError, ValueError):
        raise nest_error(422, ["startTime and endTime must be epoch milliseconds"],
                         "Unprocessable Entity")
    sel = selectors[0]
    field = {"calendarId": "calendarId", "userId": "assignedUserId", "groupId": "groupId"}[sel]
    with LOCK:
        events = [dict(a) for a in STATE["appointments"].values()
                  if a["locationId"] == q["locationId"] and a.get(field) == q[sel]
                  and parse_iso(a["startTime"]) < end and parse_iso(a["endTime"]) > start]
    events.sort(key=lambda a: parse_iso(a["startTime"]))
    return 200, {"events": events}


def get_appointment(eid):
    with LOCK:
        a = STATE["appointments"].get(eid)
    if not a:
        raise nest_error(404, "Event not found", "Not Found")
    return dict(a)


STATUSES = ("new", "confirmed", "cancelled", "showed", "noshow", "invalid")
FIELDS = ("calendarId", "startTime", "endTime", "title", "appointmentStatus", "assignedUserId",
          "address", "description", "meetingLocationType", "notes")


def check_fields(body):
    for k in ("startTime", "endTime"):
        if k in body:
            try:
                parse_iso(body[k])
            except (TypeError, ValueError):
                raise nest_error(422, ["%s must be an ISO-8601 date with offset" % k],
                                 "Unprocessable Entity")
    if "appointmentStatus" in body and body["appointmentStatus"] not in STATUSES:
        raise nest_error(422, ["appointmentStatus must be one of " + ", ".join(STATUSES)],
                         "Unprocessable Entity")


def create_appointment(body):
    missing = [k for k in ("calendarId", "locationId", "contactId", "startTime") if not body.get(k)]
    if missing:
        raise nest_error(422, ["%s should not be empty" % k for k in missing], "Unprocessable Entity")
    check_fields(body)
    t = iso(now_ms())
    a = {k: body[k] for k in FIELDS if k in body}
    a.update({"id": new_id(), "locationId": body["locationId"], "contactId": body["contactId"],
              "dateAdded": t, "dateUpdated": t})
    a.setdefault("appointmentStatus", "new")
    if "endTime" not in a:
        a["endTime"] = iso(parse_iso(a["startTime"]) + 30 * 60000)
    with LOCK:
        STATE["appointments"][a["id"]] = a
    return CONFIG["create_status"], dict(a)


def update_appointment(eid, body):
    check_fields(body)
    with LOCK:
        a = STATE["appointments"].get(eid)
        if not a:
            raise nest_error(404, "Event not found", "Not Found")
        for k in FIELDS:
            if k in body:
                a[k] = body[k]
        a["dateUpdated"] = iso(max(now_ms(), parse_iso(a["dateUpdated"]) + 1))
        return 200, dict(a)


def delete_event(eid):
    with LOCK:
        if STATE["appointments"].pop(eid, None) is None:
            raise nest_error(404, "Event not found", "Not Found")
    return 201, {"succeeded": True}


def upsert_contact(body):
    if not body.get("locationId"):
        raise nest_error(422, ["locationId should not be empty"], "Unprocessable Entity")
    email, phone = body.get("email"), body.get("phone")
    if not email and not phone:
        raise nest_error(400, "email or phone is required", "Bad Request")
    with LOCK:
        for c in STATE["contacts"].values():
            if c["locationId"] == body["locationId"] and (
                    (email and c.get("email") == email) or (phone and c.get("phone") == phone)):
                c.update({k: v for k, v in body.items() if v})
                found, new = c, False
                break
        else:
            found = dict(body, id=new_id())
            STATE["contacts"][found["id"]] = found
            new = True
    if CONFIG["contact_shape"] == "flat":
        return 200, dict(found, new=new)
    return 200, {"new": new, "contact": dict(found)}


def oauth(raw, headers):
    if not (headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
        raise nest_error(400, "Content-Type must be application/x-www-form-urlencoded", "Bad Request")
    form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode()).items()}
    if form.get("client_id") != CONFIG["client_id"] or form.get("client_secret") != CONFIG["client_secret"]:
        raise Reply(401, {"error": "invalid_client", "error_description": "Invalid client credentials"})
    if form.get("grant_type") != "refresh_token" or form.get("user_type") != "Location":
        raise Reply(422, {"statusCode": 422, "message": ["grant_type/user_type invalid"],
                          "error": "Unprocessable Entity"})
    fault = take_fault("POST", "/oauth/token")
    if fault:
        raise fault_reply(fault, {})
    with LOCK:
        if form.get("refresh_token") != STATE["refresh_token"]:
            raise Reply(400, {"error": "invalid_grant",
                              "error_description": "refresh token is invalid or was already used"})
        STATE["refresh_serial"] += 1
        STATE["refresh_token"] = "rt-%d-%s" % (STATE["refresh_serial"], uuid.uuid4().hex[:8])
        token = issue_access_token()
        out = {"access_token": token, "token_type": "Bearer",
               "expires_in": CONFIG["token_lifetime_s"], "refresh_token": STATE["refresh_token"],
               "scope": "calendars.readonly calendars/events.write", "userType": "Location",
               "locationId": "loc-1", "companyId": "co-1", "userId": "u-admin"}
    raise Reply(200, out)


# ---- control --------------------------------------------------------------

def webhook(spec):
    with LOCK:
        appt = spec.get("appointment") or dict(STATE["appointments"].get(spec.get("appointment_id"), {}))
    if not appt:
        return 404, {"error": "no such appointment"}
    payload = {"type": spec.get("type", "AppointmentCreate"),
               "locationId": spec.get("locationId", appt.get("locationId")),
               "appointment": appt}
    if spec.get("with_webhook_id", CONFIG["send_webhook_id"]):
        payload["webhookId"] = spec.get("webhookId") or str(uuid.uuid4())
        payload["timestamp"] = iso(now_ms())
    raw = json.dumps(payload, separators=(",", ":")).encode()
    sig = sign(raw)
    out = {"body": raw.decode(), "signature": sig}
    if spec.get("deliver_to"):
        req = urllib.request.Request(spec["deliver_to"], data=raw, method="POST", headers={
            "Content-Type": "application/json", "x-wh-signature": sig})
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                out["delivery_status"] = r.status
        except urllib.error.HTTPError as e:
            out["delivery_status"] = e.code
    return 200, out


def control(method, path, raw, headers):
    if path == "/_fake/inbox":  # a webhook receiver, to test deliveries
        with LOCK:
            if method == "POST":
                STATE["inbox"].append({"signature": headers.get("x-wh-signature"),
                                       "body": raw.decode()})
            return 200, STATE["inbox"]
    body = json.loads(raw) if raw else None
    with LOCK:
        if path == "/_fake/state":
            return 200, {"appointments": list(STATE["appointments"].values()),
                         "contacts": list(STATE["contacts"].values()),
                         "refresh_token": STATE["refresh_token"],
                         "refresh_serial": STATE["refresh_serial"],
                         "faults_left": sum(f.get("count", 1) for f in STATE["faults"])}
        if path == "/_fake/requests":
            return 200, STATE["requests"]
        if path == "/_fake/config" and method == "POST":
            CONFIG.update(body or {})
            if body and "refresh_token" in body:
                STATE["refresh_token"] = body["refresh_token"]
            return 200, CONFIG
        if path == "/_fake/faults" and method == "POST":
            STATE["faults"].extend(body or [])
            return 200, {"faults": len(STATE["faults"])}
        if path == "/_fake/seed" and method == "POST":
            for a in (body or {}).get("appointments", []):
                a = dict(a)
                a.setdefault("id", new_id())
                a.setdefault("dateAdded", iso(now_ms()))
                a.setdefault("dateUpdated", a["dateAdded"])
                STATE["appointments"][a["id"]] = a
            for c in (body or {}).get("contacts", []):
                c = dict(c)
                c.setdefault("id", new_id())
                STATE["contacts"][c["id"]] = c
            return 200, {"appointments": len(STATE["appointments"])}
        if path == "/_fake/token" and method == "POST":
            return 200, {"access_token": issue_access_token()}
        if path == "/_fake/expire" and method == "POST":
            for t in STATE["access_tokens"]:
                STATE["access_tokens"][t] = time.time() - 1
            return 200, {}
        if path == "/_fake/reset" and method == "POST":
            STATE["requests"].clear()
            STATE["rate"].clear()
            STATE["faults"].clear()
            if body and body.get("data"):
                STATE["appointments"].clear()
                STATE["contacts"].clear()
            return 200, {}
    if path == "/_fake/webhook" and method == "POST":
        return webhook(body or {})
    if path == "/_fake/public-key":
        with open(KEYS["public"], "rb") as f:
            return 200, {"pem": f.read().decode()}
    return 404, {"error": "unknown control path " + path}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--keydir", required=True)
    ap.add_argument("--client-id")
    ap.add_argument("--client-secret")
    ap.add_argument("--refresh-token")
    args = ap.parse_args()
    if args.client_id:
        CONFIG["client_id"] = args.client_id
    if args.client_secret:
        CONFIG["client_secret"] = args.client_secret
    if args.refresh_token:
        STATE["refresh_token"] = args.refresh_token
    make_keys(args.keydir)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(json.dumps({"port": server.server_address[1], "public_key": KEYS["public"]}), flush=True)
    # The test owns our lifetime: when its end of stdin closes, we go.
    try:
        sys.stdin.read()
    except KeyboardInterrupt:
        pass
    server.shutdown()


if __name__ == "__main__":
    main()
