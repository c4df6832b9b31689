#!/usr/bin/env python3
"""A fake Cal.com API v2 (bookings, platform OAuth refresh, webhooks) for tests.

Contract followed: ../../../shared research notes, "Cal.com API v2" (summarised
in plugins/calcom/README.md). Where the real behaviour is unverified the fake
has a switch in its config instead of a guess baked in.

Start: python3 fake_calcom.py [--api-key KEY]... ; it binds 127.0.0.1 on a
random port, prints "PORT <n>" on stdout and serves until its stdin closes
(so a crashed test never leaves it running).

The API (all under /v2, Bearer auth, cal-api-version required):
  GET  /v2/bookings                      take/skip + filters, pagination object
  GET  /v2/bookings/{uid}
  POST /v2/bookings                      201, booking
  POST /v2/bookings/{uid}/reschedule     201, the NEW booking (new uid)
  POST /v2/bookings/{uid}/cancel         200
  POST /v2/oauth/{clientId}/refresh      x-cal-secret-key; rotates both tokens

Control (no auth), for tests:
  POST /_fake/config     merge JSON into the config (see DEFAULT_CONFIG)
  POST /_fake/fail       add a failure rule {method, path (regex), status,
                         times, after_write, retry_after, message}
  GET  /_fake/requests   every /v2 request so far: method, path, query,
                         version, auth, body, t (monotonic seconds)
  POST /_fake/requests/reset
  GET  /_fake/bookings   every stored booking
  POST /_fake/bookings   store a booking (fields default like a create)
  POST /_fake/expire     expire every access token now
  POST /_fake/webhook    {trigger, uid, secret|null, deliver_to?, no_show?}:
                         the delivery exactly as Cal.com sends it:
                         {"headers": {...}, "body": "<raw body>"}, and POSTs
                         it to deliver_to when given (adds "status").
"""
import hashlib
import hmac
import json
import re
import secrets
import sys
import threading
import time
import urllib.parse
import urllib.request
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

DEFAULT_CONFIG = {
    # cal-api-version each endpoint demands; a missing header or another
    # value is a 400 (the real API silently falls back to an old version,
    # which the fake turns into an error so a wrong header cannot pass).
    "versions": {"bookings": "2024-08-13", "create": "2024-08-13"},
    # event type id -> length in minutes; unknown ids are a 400 on create.
    "event_types": {"101": 30, "202": 60},
    "slugs": {"101": "consult", "202": "checkup"},
    # [U] does a rescheduled booking keep the original's metadata?
    "reschedule_copies_metadata": True,
    # [U] status of a cancel on an already cancelled booking.
    "cancel_twice_status": 400,
    # [U] status code of a successful create/reschedule (201 vs 200).
    "create_status": 201,
    "oauth": {"client_id": "client-1", "client_secret": "csecret",
              "access_ttl_s": 3600},
    "rate_limit": 120,
}

LOCK = threading.RLock()
STATE = {
    "config": json.loads(json.dumps(DEFAULT_CONFIG)),
    "api_keys": set(),
    "access": {},      # token -> expiry (epoch seconds)
    "refresh": set(),  # valid refresh tokens
    "bookings": {},    # uid -> booking (API v2 shape)
    "next_id": 1000,
    "requests": [],
    "rules": [],
}


def now_iso(dt=None):
    dt = dt or datetime.now(timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (dt.microsecond // 1000)


def parse_iso(s):
    if not isinstance(s, str):
        raise ValueError("not a string")
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


class ApiError(Exception):
    def __init__(self, status, code, message, headers=None):
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.headers = headers or {}


def bad(msg):
    return ApiError(400, "BadRequestException", msg)


def new_booking(fields):
    """A stored booking from create input or a seed, filling Cal.com's defaults."""
    cfg = STATE["config"]
    et = str(fields.get("eventTypeId"))
    start = parse_iso(fields["start"])
    length = fields.get("lengthInMinutes") or cfg["event_types"].get(et, 30)
    end = parse_iso(fields["end"]) if "end" in fields else start + timedelta(minutes=length)
    STATE["next_id"] += 1
    stamp = now_iso()
    att = fields.get("attendee") or {}
    attendees = fields.get("attendees") or [{
        "name": att.get("name"), "email": att.get("email"),
        "displayEmail": att.get("email"), "timeZone": att.get("timeZone"),
        "language": att.get("language", "en"), "absent": False,
        "phoneNumber": att.get("phoneNumber")}]
    b = {
        "id": STATE["next_id"], "uid": fields.get("uid") or "bk_" + secrets.token_hex(8),
        "title": fields.get("title") or "%s between Host and %s" % (
            cfg["slugs"].get(et, "Meeting"), attendees[0].get("name")),
        "description": fields.get("description", ""),
        "hosts": [{"id": 1, "name": "Host", "email": "host@example.com",
                   "username": "host", "timeZone": "UTC"}],
        "status": fields.get("status", "accepted"),
        "start": now_iso(start.astimezone(timezone.utc)),
        "end": now_iso(end.astimezone(timezone.utc)),
        "duration": int((end - start).total_seconds() // 60),
        "eventTypeId": int(et) if et.isdigit() else et,
        "eventType": {"id": int(et) if et.isdigit() else et, "slug": cfg["slugs"].get(et, "meeting")},
        "location": fields.get("location_text", "https://meet.example.com/x"),
        "absentHost": False,
        "createdAt": fields.get("createdAt", stamp), "updatedAt": fields.get("updatedAt", stamp),
        "metadata": fields.get("metadata") or {},
        "attendees": attendees, "guests": fields.get("guests", []),
        "bookingFieldsResponses": fields.get("bookingFieldsResponses", {}),
    }
    for k in ("rescheduledFromUid", "rescheduledToUid", "cancellationReason"):
        if k in fields:
            b[k] = fields[k]
    STATE["bookings"][b["uid"]] = b
    # Distinct updatedAt values, so afterUpdatedAt polling is deterministic.
    time.sleep(0.002)
    return b


def touch(b):
    time.sleep(0.002)
    b["updatedAt"] = now_iso()


def validate_create(body):
    cfg = STATE["config"]
    if not isinstance(body, dict):
        raise bad("body must be a JSON object")
    if "eventTypeId" not in body and not ("eventTypeSlug" in body and
                                          ("username" in body or "teamSlug" in body)):
        raise bad("Either eventTypeId or eventTypeSlug + username or eventTypeSlug + teamSlug must be provided")
    if str(body.get("eventTypeId")) not in cfg["event_types"]:
        raise ApiError(404, "NotFoundException", "Event type with id=%s not found" % body.get("eventTypeId"))
    start = body.get("start")
    if not isinstance(start, str) or not start.endswith("Z"):
        raise bad("start must be an ISO 8601 date in UTC (ending in Z)")
    try:
        parse_iso(start)
    except ValueError:
        raise bad("start must be an ISO 8601 date in UTC (ending in Z)")
    att = body.get("attendee")
    if not isinstance(att, dict) or not att.get("name") or not att.get("timeZone"):
        raise bad("attendee needs name and timeZone")
    if not att.get("email") and not att.get("phoneNumber"):
        raise bad("attendee needs email or phoneNumber")
    md = body.get("metadata", {})
    if not isinstance(md, dict) or len(md) > 50:
        raise bad("metadata: at most 50 keys")
    for k, v in md.items():
        if len(k) > 40 or not isinstance(v, str) or len(v) > 500:
            raise bad("metadata: keys up to 40 characters, string values up to 500")


def list_bookings(q):
    allowed = {"status", "attendeeEmail", "attendeeName", "bookingUid", "eventTypeIds",
               "eventTypeId", "teamsIds", "teamId", "afterStart", "beforeEnd",
               "afterCreatedAt", "beforeCreatedAt", "afterUpdatedAt", "beforeUpdatedAt",
               "sortStart", "sortEnd", "sortCreated", "sortUpdatedAt", "take", "skip"}
    for k in q:
        if k not in allowed:
            raise bad("property %s should not exist" % k)
    one = lambda k: q[k][0] if k in q else None
    try:
        take = int(one("take") or 100)
        skip = int(one("skip") or 0)
    except ValueError:
        raise bad("take and skip must be integers")
    if take < 1 or take > 250 or skip < 0:
        raise bad("take must be between 1 and 250 and skip >= 0")
    items = list(STATE["bookings"].values())
    try:
        if one("afterUpdatedAt"):
            t = parse_iso(one("afterUpdatedAt"))
            items = [b for b in items if parse_iso(b["updatedAt"]) > t]
        if one("afterStart"):
            t = parse_iso(one("afterStart"))
            items = [b for b in items if parse_iso(b["end"]) > t]
        if one("beforeEnd"):
            t = parse_iso(one("beforeEnd"))
            items = [b for b in items if parse_iso(b["start"]) < t]
    except ValueError:
        raise bad("dates must be ISO 8601")
    if one("eventTypeIds"):
        ids = set(one("eventTypeIds").split(","))
        items = [b for b in items if str(b["eventTypeId"]) in ids]
    if one("bookingUid"):
        items = [b for b in items if b["uid"] == one("bookingUid")]
    if one("sortUpdatedAt"):
        items.sort(key=lambda b: b["updatedAt"], reverse=one("sortUpdatedAt") == "desc")
    else:
        items.sort(key=lambda b: (b["start"], b["id"]), reverse=one("sortStart") == "desc")
    page = items[skip:skip + take]
    total = len(items)
    pages = (total + take - 1) // take
    return page, {
        "totalItems": total, "remainingItems": max(0, total - skip - len(page)),
        "returnedItems": len(page), "itemsPerPage": take,
        "currentPage": skip // take + 1, "totalPages": pages,
        "hasNextPage": skip + len(page) < total, "hasPreviousPage": skip > 0}


def webhook_delivery(req):
    """The body and headers Cal.com would send for a trigger on a stored booking."""
    trigger = req["trigger"]
    b = STATE["bookings"].get(req.get("uid"))
    if b is None:
        raise bad("no booking %s" % req.get("uid"))
    if trigger == "BOOKING_NO_SHOW_UPDATED":
        flag = bool(req.get("no_show", True))
        payload = {"message": "x1 attendees no showed", "bookingUid": b["uid"],
                   "bookingId": b["id"],
                   "attendees": [{"email": a.get("email"), "noShow": flag} for a in b["attendees"]]}
    else:
        payload = {
            "type": b["eventType"]["slug"], "title": b["title"], "description": b["description"],
            "additionalNotes": "", "startTime": b["start"].replace(".000Z", "Z"),
            "endTime": b["end"].replace(".000Z", "Z"),
            "organizer": {"id": 1, "name": "Host", "email": "host@example.com",
                          "username": "host", "timeZone": "UTC",
                          "language": {"locale": "en"}, "timeFormat": "h:mma", "utcOffset": 0},
            "attendees": [{"name": a.get("name"), "email": a.get("email"),
                           "timeZone": a.get("timeZone"), "language": {"locale": "en"},
                           "utcOffset": 0} for a in b["attendees"]],
            "uid": b["uid"], "bookingId": b["id"], "eventTypeId": b["eventTypeId"],
            "status": b["status"].upper(), "location": b["location"], "responses": {},
            "metadata": dict(b["metadata"], videoCallUrl="https://meet.example.com/x")}
        if trigger == "BOOKING_RESCHEDULED":
            old = STATE["bookings"].get(b.get("rescheduledFromUid"), {})
            payload.update({"rescheduleUid": b.get("rescheduledFromUid"),
                            "rescheduleStartTime": old.get("start"),
                            "rescheduleEndTime": old.get("end"),
                            "rescheduledBy": "host@example.com"})
        if trigger == "BOOKING_CANCELLED":
            payload.update({"cancellationReason": b.get("cancellationReason", ""),
                            "cancelledBy": "host@example.com"})
    payload.update(req.get("payload_extra", {}))
    # JSON.stringify: no spaces.
    body = json.dumps({"triggerEvent": trigger, "createdAt": now_iso(), "payload": payload},
                      separators=(",", ":"))
    secret = req.get("secret")
    sig = (hmac.new(secret.encode(), body.encode(), hashlib.sha256).hexdigest()
           if secret else "no-secret-provided")
    return {"headers": {"Content-Type": "application/json", "X-Cal-Signature-256": sig},
            "body": body}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def send_json(self, status, obj, headers=None):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        limit = STATE["config"]["rate_limit"]
        self.send_header("X-RateLimit-Limit-Default", str(limit))
        self.send_header("X-RateLimit-Remaining-Default", str(max(0, limit - len(STATE["requests"]))))
        self.send_header("X-RateLimit-Reset-Default", str(int(time.time()) + 60))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def error_json(self, e, path):
        self.send_json(e.status, {"status": "error", "timestamp": now_iso(), "path": path,
                                  "error": {"code": e.code, "message": e.message}}, e.headers)

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        return raw

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        raw = self.read_body()
        with LOCK:
            try:
                if url.path.startswith("/_fake/"):
                    return self.control(method, url.path, raw)
                return self.api(method, url, raw)
            except ApiError as e:
                return self.error_json(e, url.path)

    # ---- control -------------------------------------------------------
    def control(self, method, path, raw):
        body = json.loads(raw) if raw else {}
        if path == "/_fake/config" and method == "POST":
            for k, v in body.items():
                if isinstance(v, dict) and isinstance(STATE["config"].get(k), dict):
                    STATE["config"][k].update(v)
                else:
                    STATE["config"][k] = v
            return self.send_json(200, STATE["config"])
        if path == "/_fake/fail" and method == "POST":
            rule = {"method": "*", "path": ".*", "status": 500, "times": 1,
                    "after_write": False, "retry_after": None}
            rule.update(body)
            rule.setdefault("message", "Too Many Requests" if rule["status"] == 429
                            else "Internal server error")
            STATE["rules"].append(rule)
            return self.send_json(200, rule)
        if path == "/_fake/requests":
            return self.send_json(200, STATE["requests"])
        if path == "/_fake/requests/reset":
            STATE["requests"].clear()
            return self.send_json(200, {})
        if path == "/_fake/bookings" and method == "GET":
            return self.send_json(200, list(STATE["bookings"].values()))
        if path == "/_fake/bookings" and method == "POST":
            return self.send_json(201, new_booking(body))
        if path == "/_fake/expire":
            for t in STATE["access"]:
                STATE["access"][t] = 0
            return self.send_json(200, {})
        if path == "/_fake/tokens" and method == "POST":
            ttl = STATE["config"]["oauth"]["access_ttl_s"]
            if body.get("access"):
                STATE["access"][body["access"]] = time.time() + ttl
            if body.get("refresh"):
                STATE["refresh"].add(body["refresh"])
            return self.send_json(200, {})
        if path == "/_fake/webhook":
            d = webhook_delivery(body)
            if body.get("deliver_to"):
                r = urllib.request.Request(body["deliver_to"], data=d["body"].encode(),
                                           headers=d["headers"], method="POST")
                try:
                    with urllib.request.urlopen(r, timeout=10) as resp:
                        d["status"] = resp.status
                except urllib.error.HTTPError as e:
                    d["status"] = e.code
            return self.send_json(200, d)
        raise ApiError(404, "NotFoundException", "no control endpoint %s %s" % (method, path))

    # ---- API -----------------------------------------------------------
    def api(self, method, url, raw):
        path = url.path
        hdr = {k.lower(): v for k, v in self.headers.items()}
        auth = hdr.get("authorization", "")
        self.record(method, url, hdr, raw)
        for rule in STATE["rules"]:
            if rule["times"] > 0 and rule["method"] in ("*", method) and re.fullmatch(rule["path"], path):
                rule["times"] -= 1
                if rule["after_write"]:
                    self.route(method, path, url, raw, hdr, auth)  # the write happens ...
                extra = {}
                if rule["retry_after"] is not None:
                    extra["Retry-After"] = str(rule["retry_after"])
                code = "ThrottlerException" if rule["status"] == 429 else "InternalServerErrorException"
                raise ApiError(rule["status"], code, rule["message"], extra)  # ... then it fails
        status, data, extra = self.route(method, path, url, raw, hdr, auth)
        return self.send_json(status, data, extra)

    def record(self, method, url, hdr, raw):
        STATE["requests"].append({
            "t": time.monotonic(), "method": method, "path": url.path, "query": url.query,
            "version": hdr.get("cal-api-version"), "auth": hdr.get("authorization"),
            "secret_key": hdr.get("x-cal-secret-key"),
            "body": raw.decode("utf-8", "replace")})

    def check_auth(self, auth):
        tok = auth[7:] if auth.startswith("Bearer ") else None
        if tok and tok in STATE["api_keys"]:
            return
        if tok and STATE["access"].get(tok, 0) > time.time():
            return
        if tok and tok in STATE["access"]:
            raise ApiError(401, "UnauthorizedException", "ACCESS_TOKEN_IS_EXPIRED")
        raise ApiError(401, "UnauthorizedException", "Invalid or missing credentials")

    def check_version(self, hdr, which):
        want = STATE["config"]["versions"][which]
        got = hdr.get("cal-api-version")
        if got is None:
            raise bad("cal-api-version header is required (this endpoint expects %s)" % want)
        if got != want:
            raise bad("cal-api-version %s is not served here (this endpoint expects %s)" % (got, want))

    def route(self, method, path, url, raw, hdr, auth):
        m = re.fullmatch(r"/v2/oauth/([^/]+)/refresh", path)
        if m and method == "POST":
            return self.refresh(m.group(1), hdr, raw)
        self.check_auth(auth)
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            raise bad("body is not valid JSON")
        if path == "/v2/bookings" and method == "GET":
            self.check_version(hdr, "bookings")
            items, pag = list_bookings(urllib.parse.parse_qs(url.query, keep_blank_values=True))
            return 200, {"status": "success", "data": items, "pagination": pag}, {}
        if path == "/v2/bookings" and method == "POST":
            self.check_version(hdr, "create")
            validate_create(body)
            b = new_booking(body)
            return STATE["config"]["create_status"], {"status": "success", "data": b}, {}
        m = re.fullmatch(r"/v2/bookings/([^/]+)(/reschedule|/cancel)?", path)
        if not m:
            raise ApiError(404, "NotFoundException", "Cannot %s %s" % (method, path))
        self.check_version(hdr, "bookings")
        b = STATE["bookings"].get(m.group(1))
        if b is None:
            raise ApiError(404, "NotFoundException", "Booking with uid=%s was not found in the database" % m.group(1))
        action = m.group(2)
        if action is None and method == "GET":
            return 200, {"status": "success", "data": b}, {}
        if action == "/reschedule" and method == "POST":
            if b["status"] == "cancelled":
                raise bad("Can't reschedule booking with uid=%s because it has been cancelled" % b["uid"])
            try:
                start = body["start"]
                parse_iso(start)
            except (KeyError, ValueError, TypeError):
                raise bad("start must be an ISO 8601 date in UTC")
            length = b["duration"]
            nb = new_booking({
                "start": start, "eventTypeId": b["eventTypeId"], "lengthInMinutes": length,
                "attendees": json.loads(json.dumps(b["attendees"])), "title": b["title"],
                "metadata": dict(b["metadata"]) if STATE["config"]["reschedule_copies_metadata"] else {},
                "rescheduledFromUid": b["uid"]})
            b["status"] = "cancelled"
            b["rescheduledToUid"] = nb["uid"]
            touch(b)
            touch(nb)
            return STATE["config"]["create_status"], {"status": "success", "data": nb}, {}
        if action == "/cancel" and method == "POST":
            if b["status"] == "cancelled":
                st = STATE["config"]["cancel_twice_status"]
                if st != 200:
                    raise ApiError(st, "BadRequestException", "This booking has already been cancelled.")
                return 200, {"status": "success", "data": b}, {}
            b["status"] = "cancelled"
            b["cancellationReason"] = body.get("cancellationReason", "")
            touch(b)
            return 200, {"status": "success", "data": b}, {}
        raise ApiError(404, "NotFoundException", "Cannot %s %s" % (method, path))

    def refresh(self, client_id, hdr, raw):
        o = STATE["config"]["oauth"]
        if client_id != o["client_id"] or hdr.get("x-cal-secret-key") != o["client_secret"]:
            raise ApiError(401, "UnauthorizedException", "Invalid client credentials")
        try:
            rt = json.loads(raw).get("refreshToken")
        except (ValueError, AttributeError):
            rt = None
        if rt not in STATE["refresh"]:
            raise ApiError(401, "UnauthorizedException", "Invalid refresh token")
        STATE["refresh"].discard(rt)  # rotation: a refresh token works once
        access, refresh = "at_" + secrets.token_hex(8), "rt_" + secrets.token_hex(8)
        STATE["access"][access] = time.time() + o["access_ttl_s"]
        STATE["refresh"].add(refresh)
        exp = int((time.time() + o["access_ttl_s"]) * 1000)
        return 200, {"status": "success", "data": {
            "accessToken": access, "refreshToken": refresh,
            "accessTokenExpiresAt": exp, "refreshTokenExpiresAt": exp + 365 * 86400 * 1000}}, {}


def main(argv):
    keys = [argv[i + 1] for i, a in enumerate(argv) if a == "--api-key" and i + 1 < len(argv)]
    STATE["api_keys"].update(keys or ["cal_test_key"])
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    print("PORT %d" % srv.server_address[1], flush=True)
    sys.stdin.read()  # until the test closes our stdin (or dies)
    srv.shutdown()


if __name__ == "__main__":
    main(sys.argv[1:])
