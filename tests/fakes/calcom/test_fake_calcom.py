#!/usr/bin/env python3
"""Contract test of the fake Cal.com: it must enforce what the connector
relies on, or the connector's tests prove nothing."""
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
import unittest
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
V = "2024-08-13"
KEY = "cal_test_key"


class FakeCalcom(unittest.TestCase):
    def setUp(self):
        self.proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_calcom.py"),
                                      "--api-key", KEY],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        self.assertTrue(line.startswith("PORT "), line)
        self.base = "http://127.0.0.1:%d" % int(line.split()[1])

    def tearDown(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=10)
        self.proc.stdout.close()

    def call(self, method, path, body=None, key=KEY, version=V, headers=None):
        h = dict(headers or {})
        if key is not None:
            h["Authorization"] = "Bearer " + key
        if version is not None:
            h["cal-api-version"] = version
        data = json.dumps(body).encode() if body is not None else None
        if data is not None:
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data, headers=h, method=method)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read()), dict(r.headers)
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read()), dict(e.headers)

    def ctl(self, path, body=None):
        return self.call("POST" if body is not None else "GET", "/_fake/" + path, body,
                         key=None, version=None)[1]

    def create(self, start="2030-01-07T10:00:00Z", **extra):
        body = {"start": start, "eventTypeId": 101,
                "attendee": {"name": "Ann", "email": "ann@example.com", "timeZone": "UTC"}}
        body.update(extra)
        return self.call("POST", "/v2/bookings", body)

    def test_auth(self):
        st, body, _ = self.call("GET", "/v2/bookings", key=None)
        self.assertEqual(st, 401)
        self.assertEqual(body["status"], "error")
        self.assertEqual(body["error"]["code"], "UnauthorizedException")
        self.assertEqual(self.call("GET", "/v2/bookings", key="cal_live_wrong")[0], 401)
        self.assertEqual(self.call("GET", "/v2/bookings")[0], 200)

    def test_version_header(self):
        st, body, _ = self.call("GET", "/v2/bookings", version=None)
        self.assertEqual(st, 400)
        self.assertEqual(body["error"]["message"],
                         "cal-api-version header is required (this endpoint expects 2024-08-13)")
        self.assertEqual(self.call("GET", "/v2/bookings", version="2024-09-04")[0], 400)
        self.ctl("config", {"versions": {"create": "2026-02-25"}})
        self.assertEqual(self.create()[0], 400)
        st, _, _ = self.call("POST", "/v2/bookings", {
            "start": "2030-01-07T10:00:00Z", "eventTypeId": 101,
            "attendee": {"name": "A", "email": "a@x", "timeZone": "UTC"}}, version="2026-02-25")
        self.assertEqual(st, 201)

    def test_create_validation(self):
        st, body, _ = self.call("POST", "/v2/bookings", {"start": "2030-01-07T10:00:00Z",
                                                         "attendee": {"name": "A", "email": "a@x", "timeZone": "UTC"}})
        self.assertEqual(st, 400)
        self.assertIn("Either eventTypeId", body["error"]["message"])
        self.assertEqual(self.create(start="2030-01-07T10:00:00+02:00")[0], 400)
        self.assertEqual(self.create(metadata={"k" * 41: "v"})[0], 400)
        st, body, _ = self.create(metadata={"sidecalMarker": "sidecal:1"})
        self.assertEqual(st, 201)
        b = body["data"]
        self.assertEqual(b["status"], "accepted")
        self.assertEqual(b["end"], "2030-01-07T10:30:00.000Z")
        self.assertEqual(b["metadata"], {"sidecalMarker": "sidecal:1"})

    def test_pagination_and_after_updated(self):
        uids = [self.create(start="2030-01-%02dT10:00:00Z" % (d + 1))[1]["data"]["uid"] for d in range(5)]
        st, body, _ = self.call("GET", "/v2/bookings?take=2&skip=0")
        self.assertEqual([b["uid"] for b in body["data"]], uids[:2])
        self.assertTrue(body["pagination"]["hasNextPage"])
        self.assertEqual(body["pagination"]["totalItems"], 5)
        st, body, _ = self.call("GET", "/v2/bookings?take=2&skip=4")
        self.assertEqual([b["uid"] for b in body["data"]], uids[4:])
        self.assertFalse(body["pagination"]["hasNextPage"])
        self.assertEqual(self.call("GET", "/v2/bookings?take=251")[0], 400)
        self.assertEqual(self.call("GET", "/v2/bookings?limit=2")[0], 400)
        mark = body["data"][0]["updatedAt"]
        self.call("POST", "/v2/bookings/%s/cancel" % uids[1], {"cancellationReason": "x"})
        st, body, _ = self.call("GET", "/v2/bookings?afterUpdatedAt=%s&sortUpdatedAt=asc" % mark)
        self.assertEqual([b["uid"] for b in body["data"]], [uids[1]])
        self.assertEqual(body["data"][0]["status"], "cancelled")
        st, body, _ = self.call("GET", "/v2/bookings?afterStart=2030-01-02T12:00:00Z&beforeEnd=2030-01-04T12:00:00Z")
        self.assertEqual([b["uid"] for b in body["data"]], uids[2:4])

    def test_reschedule_and_cancel(self):
        old = self.create(metadata={"organizationId": "acme"})[1]["data"]
        st, body, _ = self.call("POST", "/v2/bookings/%s/reschedule" % old["uid"], {"start": "2030-01-08T11:00:00Z"})
        self.assertEqual(st, 201)
        new = body["data"]
        self.assertNotEqual(new["uid"], old["uid"])
        self.assertEqual(new["rescheduledFromUid"], old["uid"])
        self.assertEqual(new["metadata"], {"organizationId": "acme"})
        got = self.call("GET", "/v2/bookings/" + old["uid"])[1]["data"]
        self.assertEqual(got["status"], "cancelled")
        self.assertEqual(got["rescheduledToUid"], new["uid"])
        self.assertEqual(self.call("POST", "/v2/bookings/%s/reschedule" % old["uid"], {"start": "2030-01-09T11:00:00Z"})[0], 400)
        self.assertEqual(self.call("POST", "/v2/bookings/%s/cancel" % new["uid"], {})[0], 200)
        self.assertEqual(self.call("POST", "/v2/bookings/%s/cancel" % new["uid"], {})[0], 400)
        self.assertEqual(self.call("GET", "/v2/bookings/nope")[0], 404)

    def test_failures(self):
        self.ctl("fail", {"path": "/v2/bookings", "method": "GET", "status": 429, "retry_after": 7})
        self.ctl("fail", {"path": "/v2/bookings", "method": "GET", "status": 429})
        self.ctl("fail", {"path": "/v2/bookings", "method": "GET", "status": 503})
        st, body, h = self.call("GET", "/v2/bookings")
        self.assertEqual((st, h.get("Retry-After")), (429, "7"))
        self.assertEqual(body["error"]["code"], "ThrottlerException")
        st, _, h = self.call("GET", "/v2/bookings")
        self.assertEqual((st, h.get("Retry-After")), (429, None))
        self.assertIn("X-RateLimit-Reset-Default", h)
        self.assertEqual(self.call("GET", "/v2/bookings")[0], 503)
        self.assertEqual(self.call("GET", "/v2/bookings")[0], 200)
        # 500 after the write took effect: the booking exists anyway.
        self.ctl("fail", {"path": "/v2/bookings", "method": "POST", "status": 500, "after_write": True})
        self.assertEqual(self.create(metadata={"sidecalMarker": "sidecal:m"})[0], 500)
        stored = self.ctl("bookings")
        self.assertEqual([b["metadata"].get("sidecalMarker") for b in stored], ["sidecal:m"])

    def test_request_log(self):
        self.call("GET", "/v2/bookings")
        self.call("GET", "/v2/bookings", key=None)
        reqs = self.ctl("requests")
        self.assertEqual(len(reqs), 2)
        self.assertEqual(reqs[0]["version"], V)
        self.assertEqual(reqs[0]["auth"], "Bearer " + KEY)
        self.assertLessEqual(reqs[0]["t"], reqs[1]["t"])
        self.ctl("requests/reset", {})
        self.assertEqual(self.ctl("requests"), [])

    def test_oauth_rotation_and_expiry(self):
        self.ctl("tokens", {"access": "at_0", "refresh": "rt_0"})
        self.assertEqual(self.call("GET", "/v2/bookings", key="at_0")[0], 200)
        self.ctl("expire", {})
        st, body, _ = self.call("GET", "/v2/bookings", key="at_0")
        self.assertEqual((st, body["error"]["message"]), (401, "ACCESS_TOKEN_IS_EXPIRED"))
        st, body, _ = self.call("POST", "/v2/oauth/client-1/refresh", {"refreshToken": "rt_0"},
                                key=None, version=None, headers={"x-cal-secret-key": "csecret"})
        self.assertEqual(st, 200)
        d = body["data"]
        self.assertEqual(self.call("GET", "/v2/bookings", key=d["accessToken"])[0], 200)
        # rt_0 was rotated away: using it again fails.
        st, _, _ = self.call("POST", "/v2/oauth/client-1/refresh", {"refreshToken": "rt_0"},
                             key=None, version=None, headers={"x-cal-secret-key": "csecret"})
        self.assertEqual(st, 401)
        st, _, _ = self.call("POST", "/v2/oauth/client-1/refresh", {"refreshToken": d["refreshToken"]},
                             key=None, version=None, headers={"x-cal-secret-key": "wrong"})
        self.assertEqual(st, 401)

    def test_webhook_signature(self):
        b = self.create(metadata={"organizationId": "acme"})[1]["data"]
        d = self.ctl("webhook", {"trigger": "BOOKING_CREATED", "uid": b["uid"], "secret": "whsec"})
        want = hmac.new(b"whsec", d["body"].encode(), hashlib.sha256).hexdigest()
        self.assertEqual(d["headers"]["X-Cal-Signature-256"], want)
        self.assertEqual(want, want.lower())
        self.assertNotIn("\": ", d["body"])
        self.assertNotIn(", \"", d["body"])
        env = json.loads(d["body"])
        self.assertEqual(env["triggerEvent"], "BOOKING_CREATED")
        self.assertEqual(env["payload"]["status"], "ACCEPTED")
        self.assertEqual(env["payload"]["metadata"]["organizationId"], "acme")
        d = self.ctl("webhook", {"trigger": "BOOKING_CREATED", "uid": b["uid"], "secret": None})
        self.assertEqual(d["headers"]["X-Cal-Signature-256"], "no-secret-provided")
        nb = self.call("POST", "/v2/bookings/%s/reschedule" % b["uid"], {"start": "2030-02-01T09:00:00Z"})[1]["data"]
        d = self.ctl("webhook", {"trigger": "BOOKING_RESCHEDULED", "uid": nb["uid"], "secret": "s"})
        p = json.loads(d["body"])["payload"]
        self.assertEqual((p["uid"], p["rescheduleUid"]), (nb["uid"], b["uid"]))
        d = self.ctl("webhook", {"trigger": "BOOKING_NO_SHOW_UPDATED", "uid": nb["uid"], "secret": "s"})
        p = json.loads(d["body"])["payload"]
        self.assertEqual(p["bookingUid"], nb["uid"])
        self.assertTrue(p["attendees"][0]["noShow"])

    def test_webhook_delivery_to_a_url(self):
        got = {}

        class Receiver(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                got["raw"] = self.rfile.read(int(self.headers["Content-Length"]))
                got["sig"] = self.headers["X-Cal-Signature-256"]
                got["path"] = self.path
                self.send_response(204)
                self.end_headers()

        srv = HTTPServer(("127.0.0.1", 0), Receiver)
        t = threading.Thread(target=srv.handle_request)
        t.start()
        b = self.create(metadata={"organizationId": "acme"})[1]["data"]
        url = "http://127.0.0.1:%d/v1/webhooks/calcom/acme.miami.calcom" % srv.server_address[1]
        d = self.ctl("webhook", {"trigger": "BOOKING_CREATED", "uid": b["uid"], "secret": "k",
                                 "deliver_to": url})
        t.join(10)
        srv.server_close()
        self.assertEqual(d["status"], 204)
        self.assertEqual(got["path"], "/v1/webhooks/calcom/acme.miami.calcom")
        self.assertEqual(got["raw"].decode(), d["body"])
        self.assertEqual(got["sig"], hmac.new(b"k", got["raw"], hashlib.sha256).hexdigest())


if __name__ == "__main__":
    unittest.main(verbosity=1)
