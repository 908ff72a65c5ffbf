#!/usr/bin/env python3
"""OCPI 2.2.1 test partner for Plugway's interop tests.

An independent OCPI party (a CPO or an eMSP) that Rust integration tests spawn
as a subprocess and steer over stdin/stdout, to check Plugway's OCPI
implementation over real HTTP. Every OCPI object it receives from or pulls
out of Plugway is checked with the strict 2.2.1 pydantic models of the
`extrawest-ocpi` package (import name `py_ocpi`), which nobody here wrote.

    partner.py --role CPO|EMSP --country-code NL --party-id XWP --port 0

It serves its own OCPI API on 127.0.0.1 (port 0: a free one), then prints

    {"ready": true, "versions_url": "http://127.0.0.1:PORT/ocpi/versions"}

and reads commands, one JSON object a line, from stdin. Each command gets
exactly one JSON line on stdout: {"ok": true, ...} or {"ok": false,
"error": "..."} (saying which object, which field, which HTTP status or OCPI
status_code). All logging goes to stderr. It exits on {"op": "quit"} or at the
end of stdin.

Checks: an object is valid when the package's model accepts it AND its JSON
types are the spec's (pydantic 1 would take "230" for an integer or "0.30"
for a number) AND it passes the few 2.2.1 rules the models lack (SPEC_EXTRAS).
Fields a model does not know, missing X-Request-ID/X-Correlation-ID and raw
(not base64) tokens are only collected as warnings (op "warnings").
Invalid pushes to this partner get HTTP 400 with OCPI status_code 2001 and are
not stored; a missing or unknown token gets HTTP 401.

Commands (see the op_* functions below for details):
  expect_token_a   {token}                 token A Plugway may register with
  register         {versions_url, token_a} register WITH Plugway
  registration     {}                      who is registered, with which tokens
  unregister       {}                      DELETE Plugway's credentials
  pull             {module, limit, date_from?, date_to?}  page through a list
  request          {method, path_or_url, body?, token?, headers?}  raw call
  push             {module, object}        PUT (POST for cdrs) to Plugway
  push_token       {token}                 = push module tokens (EMSP only)
  push_location    {location}              = push module locations (CPO only)
  patch            {module, id, evse_uid?, connector_id?, patch}
  patch_evse       {location_id, evse_uid, patch}
  command          {command, body, wait_seconds?}  (EMSP only)
  add_object       {module, object}        data this partner serves (Sender)
  add_location     {location}              = add_object module locations
  received         {module}                what Plugway pushed to us
  warnings         {}                      spec deviations noticed, cleared
  quit             {}

Tokens: Authorization is "Token <base64(token)>" both ways (a raw token is
accepted from Plugway too, with a warning). When this partner registers with
Plugway it makes token B for Plugway to call it with and uses the returned
token C; when Plugway registers with it (token A set by expect_token_a), it
uses Plugway's token from the POST body and gives Plugway a fresh token C.
"""

import argparse
import base64
import json
import logging
import os
import re
import socket
import sys
import threading
import time
import traceback
import uuid
from datetime import datetime, timezone
from enum import Enum
from urllib.parse import urljoin, urlsplit

import httpx
import uvicorn
from fastapi import Body, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ValidationError
from pydantic.fields import SHAPE_LIST, SHAPE_SINGLETON
from starlette.exceptions import HTTPException as StarletteHTTPException

# The independent 2.2.1 models every OCPI object is checked with.
from py_ocpi.core.data_types import DisplayText, Number, Price
from py_ocpi.modules.cdrs.v_2_2_1.schemas import Cdr, CdrLocation
from py_ocpi.modules.commands.v_2_2_1.schemas import (
    CancelReservation,
    CommandResponse,
    CommandResult,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from py_ocpi.modules.credentials.v_2_2_1.schemas import Credentials
from py_ocpi.modules.locations.v_2_2_1.schemas import (
    EVSE,
    Connector,
    ConnectorPartialUpdate,
    EVSEPartialUpdate,
    Location,
    LocationPartialUpdate,
)
from py_ocpi.modules.locations.schemas import GeoLocation
from py_ocpi.modules.sessions.v_2_2_1.schemas import Session, SessionPartialUpdate
from py_ocpi.modules.tariffs.v_2_2_1.schemas import Tariff
from py_ocpi.modules.tokens.v_2_2_1.schemas import (
    AuthorizationInfo,
    Token,
    TokenPartialUpdate,
)
from py_ocpi.modules.versions.schemas import Version
from py_ocpi.modules.versions.v_2_2_1.schemas import VersionDetail

log = logging.getLogger("ocpi-partner")

VERSION = "2.2.1"
MODULES = ("locations", "sessions", "cdrs", "tariffs", "tokens")
MODELS = {"locations": Location, "sessions": Session, "cdrs": Cdr,
          "tariffs": Tariff, "tokens": Token}
PATCH_MODELS = {"locations": LocationPartialUpdate, "sessions": SessionPartialUpdate,
                "tokens": TokenPartialUpdate}
COMMAND_MODELS = {"START_SESSION": StartSession, "STOP_SESSION": StopSession,
                  "RESERVE_NOW": ReserveNow, "CANCEL_RESERVATION": CancelReservation,
                  "UNLOCK_CONNECTOR": UnlockConnector}
# Which role owns (sends) each module's objects.
OWNER = {"locations": "CPO", "sessions": "CPO", "cdrs": "CPO", "tariffs": "CPO",
         "tokens": "EMSP"}
# The largest page this partner serves as a Sender.
MAX_LIMIT = 50


class Fail(Exception):
    """A check failed: the message becomes the command's "error"."""


# ---------------------------------------------------------------- helpers

def now():
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_dt(value):
    dt = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def b64(token):
    return base64.b64encode(token.encode()).decode()


def validation_error(model, obj, what):
    """None if obj is a valid `model`, else a message naming each bad field.

    The package's pydantic-1 model decides, then json_type_errors adds what
    pydantic 1 lets through. Fields the model does not know are only warned of."""
    head = f"{what} is not a valid OCPI {VERSION} {model.__name__}"
    try:
        model.parse_obj(obj)
    except ValidationError as e:
        fields = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(object)'}: {err['msg']}"
            for err in e.errors())
        return f"{head}: {fields}"
    except Exception as e:  # some of the package's validators raise other errors
        return f"{head}: {type(e).__name__}: {e}"
    unknown = []
    errors = json_type_errors(model, obj, "", unknown)
    if unknown and S:
        S.warn(f"{what}: fields unknown to {model.__name__}: {', '.join(unknown)}")
    return f"{head}: {'; '.join(errors)}" if errors else None


# Checks from the 2.2.1 text that the package's models lack, by class.
LATITUDE, LONGITUDE = re.compile(r"-?[0-9]{1,2}\.[0-9]{5,7}"), re.compile(r"-?[0-9]{1,3}\.[0-9]{5,7}")
SPEC_EXTRAS = {
    GeoLocation: lambda v, p: (
        [f"{p}.latitude: {v.get('latitude')!r} does not match {LATITUDE.pattern}"]
        if not LATITUDE.fullmatch(str(v.get("latitude"))) else []) + (
        [f"{p}.longitude: {v.get('longitude')!r} does not match {LONGITUDE.pattern}"]
        if not LONGITUDE.fullmatch(str(v.get("longitude"))) else []),
    CdrLocation: lambda v, p: [] if isinstance(v.get("evse_uid"), str) else [f"{p}.evse_uid: field required"],
}


def json_type_errors(model, obj, path, unknown):
    """pydantic 1 coerces ("5" -> 5, "true" -> True, "0.30" -> 0.3, 9.9 -> 9): insist
    on the JSON types the spec gives, walking obj along the model's fields."""
    if not isinstance(obj, dict):
        return []
    errors = []
    unknown += [f"{path}{k}" for k in obj if k not in model.__fields__]
    for name, field in model.__fields__.items():
        value, where = obj.get(name), f"{path}{name}"
        if value is None:
            continue
        if field.shape == SHAPE_LIST:
            if not isinstance(value, list):
                errors.append(f"{where}: expected a JSON array, got {value!r}")
                continue
            items = [(f"{where}.{i}", v) for i, v in enumerate(value)]
        elif field.shape == SHAPE_SINGLETON:
            items = [(where, value)]
        else:
            continue
        for where, v in items:
            errors += value_type_errors(field.type_, v, where, unknown)
    return errors


def value_type_errors(t, v, where, unknown):
    if not isinstance(t, type):
        return []
    if issubclass(t, BaseModel):
        extra = SPEC_EXTRAS.get(t)
        return json_type_errors(t, v, where + ".", unknown) + (extra(v, where) if extra and isinstance(v, dict) else [])
    number = lambda x: isinstance(x, (int, float)) and not isinstance(x, bool)  # noqa: E731
    if t is bool:
        ok, want = isinstance(v, bool), "a JSON boolean"
    elif t is int:
        ok, want = isinstance(v, int) and not isinstance(v, bool), "a JSON integer"
    elif t is float or issubclass(t, Number):
        ok, want = number(v), "a JSON number"
    elif issubclass(t, Price):
        ok = isinstance(v, dict) and all(number(v[k]) for k in ("excl_vat", "incl_vat") if v.get(k) is not None)
        want = "a Price with JSON numbers"
    elif issubclass(t, DisplayText):
        ok = isinstance(v, dict) and all(isinstance(v.get(k), str) for k in ("language", "text"))
        want = "a DisplayText with string language and text"
    elif issubclass(t, (str, Enum)):
        ok, want = isinstance(v, str), "a JSON string"
    else:
        return []
    return [] if ok else [f"{where}: expected {want}, got {json.dumps(v)}"]


def check(model, obj, what):
    err = validation_error(model, obj, what)
    if err:
        raise Fail(err)


def describe(obj):
    if isinstance(obj, dict):
        key = obj.get("id") or obj.get("uid")
        return f"{key!r}" if key else "object"
    return "object"


def short(text, n=600):
    text = str(text)
    return text if len(text) <= n else text[:n] + "..."


def object_key(obj):
    return (str(obj.get("country_code", "")).upper(), str(obj.get("party_id", "")).upper(),
            str(obj.get("id") or obj.get("uid") or ""))


# ---------------------------------------------------------------- state

class State:
    """Everything both threads (HTTP server, stdin loop) share; guarded by lock."""

    def __init__(self, role, country_code, party_id):
        self.lock = threading.RLock()
        self.role, self.cc, self.pid = role, country_code, party_id
        self.base = ""                # http://127.0.0.1:PORT, set once bound
        self.token_a = None           # token A Plugway may register with
        self.server_tokens = {}       # tokens Plugway may call us with -> "B" or "C"
        self.peer = None              # Plugway: {versions_url, token, endpoints, credentials}
        self.calls = []               # (method, path, token label) of calls to our API
        self.own = {m: {} for m in MODULES}       # objects we serve as Sender
        self.received = {m: {} for m in MODULES}  # objects Plugway pushed to us
        self.requests = {m: [] for m in MODULES + ("commands",)}  # push log per module
        self.callbacks = {}           # command id -> CommandResult body or {"error"}
        self.warnings = []

    @property
    def versions_url(self):
        return f"{self.base}/ocpi/versions"

    def warn(self, msg):
        log.warning(msg)
        with self.lock:
            self.warnings.append(msg)

    def own_credentials(self, token):
        return {"token": token, "url": self.versions_url,
                "roles": [{"role": self.role,
                           "business_details": {"name": f"Plugway OCPI test partner ({self.role})"},
                           "party_id": self.pid, "country_code": self.cc}]}

    def endpoints(self):
        """Our version details: the modules and interface roles of our role."""
        v = f"{self.base}/ocpi/{VERSION}"
        eps = [("credentials", "SENDER", f"{v}/credentials"),
               ("credentials", "RECEIVER", f"{v}/credentials")]
        if self.role == "EMSP":
            eps += [(m, "RECEIVER", f"{v}/{m}") for m in ("locations", "sessions", "cdrs", "tariffs")]
            eps += [("tokens", "SENDER", f"{v}/tokens"),
                    ("commands", "SENDER", f"{self.base}/ocpi/callbacks/commands")]
        else:
            eps += [(m, "SENDER", f"{v}/{m}") for m in ("locations", "tariffs", "sessions", "cdrs")]
            eps += [("tokens", "RECEIVER", f"{v}/tokens"), ("commands", "RECEIVER", f"{v}/commands")]
        return [{"identifier": i, "role": r, "url": u} for i, r, u in eps]

    def peer_endpoint(self, module, role):
        with self.lock:
            if not self.peer:
                raise Fail("not registered with Plugway (no register op done, and Plugway has not registered with us)")
            for ep in self.peer["endpoints"]:
                if ep["identifier"] == module and (role is None or ep["role"] == role):
                    return ep["url"].rstrip("/")
        raise Fail(f"Plugway's version details list no {module} endpoint with role {role}: "
                   f"{[(e['identifier'], e['role']) for e in self.peer['endpoints']]}")


S = None  # the State, set in main()


# ---------------------------------------------------------------- HTTP client side

def call(method, url, token=None, body=None, params=None, headers=None):
    """One request to Plugway. token None = the current peer token; "none" = no auth."""
    if token is None:
        with S.lock:
            token = S.peer["token"] if S.peer else "none"
    request_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
    hdrs = {"X-Request-ID": request_id, "X-Correlation-ID": correlation_id,
            "OCPI-from-country-code": S.cc, "OCPI-from-party-id": S.pid}
    with S.lock:
        roles = (S.peer or {}).get("credentials", {}).get("roles") or []
    if roles:
        hdrs["OCPI-to-country-code"] = roles[0].get("country_code", "")
        hdrs["OCPI-to-party-id"] = roles[0].get("party_id", "")
    if token != "none":
        hdrs["Authorization"] = f"Token {b64(token)}"
    hdrs.update(headers or {})
    kwargs = {}
    if isinstance(body, str):
        kwargs["content"] = body.encode()
        hdrs.setdefault("Content-Type", "application/json")
    elif body is not None:
        kwargs["json"] = body
    try:
        resp = httpx.request(method, url, headers=hdrs, params=params, timeout=15,
                             trust_env=False, **kwargs)
    except httpx.HTTPError as e:
        raise Fail(f"{method} {url}: no HTTP answer: {type(e).__name__}: {e}")
    log.info("-> %s %s: HTTP %s", method, resp.request.url, resp.status_code)
    for name, sent in (("X-Request-ID", request_id), ("X-Correlation-ID", correlation_id)):
        if resp.headers.get(name) != sent:
            S.warn(f"{method} {url}: response did not echo {name} (sent {sent}, got {resp.headers.get(name)})")
    return resp


def json_body(resp):
    try:
        return resp.json()
    except ValueError:
        return resp.text


def envelope_data(resp, what):
    """Check an OCPI response envelope (HTTP 200, status_code 1000) and return its data."""
    body = json_body(resp)
    if resp.status_code != 200 or not isinstance(body, dict) or body.get("status_code") != 1000:
        code = body.get("status_code") if isinstance(body, dict) else None
        msg = body.get("status_message") if isinstance(body, dict) else None
        raise Fail(f"{what}: HTTP {resp.status_code}, OCPI status_code {code} ({msg!r}); "
                   f"expected HTTP 200 with status_code 1000; body: {short(body)}")
    try:
        parse_dt(body["timestamp"])
    except Exception:
        raise Fail(f"{what}: envelope timestamp {body.get('timestamp')!r} is missing or not an RFC 3339 date")
    return body.get("data")


def discover(versions_url, token):
    """GET versions, pick 2.2.1, GET its details: -> (versions, details)."""
    versions = envelope_data(call("GET", versions_url, token=token), f"GET versions {versions_url}")
    if not isinstance(versions, list):
        raise Fail(f"GET versions {versions_url}: data is not a list: {short(versions)}")
    ours = [v for v in versions if isinstance(v, dict) and v.get("version") == VERSION]
    if not ours:
        raise Fail(f"GET versions {versions_url}: no version {VERSION} in {short(versions)}")
    check(Version, ours[0], f"version entry {VERSION}")
    details_url = ours[0]["url"]
    details = envelope_data(call("GET", details_url, token=token), f"GET version details {details_url}")
    check(VersionDetail, details, f"version details at {details_url}")
    if details["version"] != VERSION:
        raise Fail(f"version details at {details_url} are for version {details['version']!r}")
    return versions, details


# ---------------------------------------------------------------- HTTP server side

class Reply(Exception):
    """Ends a request with an OCPI envelope (raised from anywhere in a handler)."""

    def __init__(self, http_status, status_code, message, data=None):
        super().__init__(message)
        self.http_status, self.status_code, self.message, self.data = http_status, status_code, message, data


def respond(request, data, http_status=200, status_code=1000, message="Success", headers=None):
    hdrs = dict(headers or {})
    for name in ("X-Request-ID", "X-Correlation-ID"):
        if request.headers.get(name):
            hdrs[name] = request.headers[name]
    return JSONResponse({"data": data, "status_code": status_code, "status_message": message,
                         "timestamp": now()}, status_code=http_status, headers=hdrs)


def auth(request, allow_token_a=False):
    """Check the caller's token: -> "A", "B" or "C", else a 401 reply."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    value = value.strip()
    label = None
    if scheme.lower() == "token" and value:
        try:
            decoded = base64.b64decode(value, validate=True).decode()
        except Exception:
            decoded = None
        with S.lock:
            for cand, raw in ((decoded, False), (value, True)):
                if cand is None:
                    continue
                if cand in S.server_tokens:
                    label = S.server_tokens[cand]
                elif allow_token_a and S.token_a and cand == S.token_a:
                    label = "A"
                if label:
                    if raw:
                        S.warn(f"{request.method} {request.url.path}: token sent raw, not base64-encoded")
                    break
    for name in ("X-Request-ID", "X-Correlation-ID"):
        if not request.headers.get(name):
            S.warn(f"{request.method} {request.url.path}: request without {name}")
    with S.lock:
        S.calls.append((request.method, request.url.path, label))
    if not label:
        raise Reply(401, 2000, "Invalid or missing credentials token")
    return label


def needs_body_model(model, body, what, patch=False):
    err = validation_error(model, body, what)
    if err:
        raise Reply(400, 2001, err)
    if patch and not body.get("last_updated"):
        raise Reply(400, 2001, f"{what}: a PATCH must contain last_updated")


def logged(module, request, fn):
    """Run a push handler, recording the outcome in S.requests[module]."""
    entry = {"method": request.method, "path": request.url.path}
    try:
        result = fn()
        entry.update(http_status=200, status_code=1000)
        return result
    except Reply as r:
        entry.update(http_status=r.http_status, status_code=r.status_code, error=r.message)
        log.warning("rejected %s %s: %s", request.method, request.url.path, r.message)
        raise
    finally:
        with S.lock:
            S.requests[module].append(entry)


def check_owner(request, cc, pid, obj=None, what="object"):
    """The path's party must match the object's, and should be the peer's."""
    if obj is not None:
        if (str(obj.get("country_code", "")).upper(), str(obj.get("party_id", "")).upper()) != (cc.upper(), pid.upper()):
            raise Reply(400, 2001, f"{what}: country_code/party_id {obj.get('country_code')}/{obj.get('party_id')} "
                                   f"differ from the URL's {cc}/{pid}")
    with S.lock:
        roles = (S.peer or {}).get("credentials", {}).get("roles") or []
    if roles and not any(r.get("country_code", "").upper() == cc.upper() and r.get("party_id", "").upper() == pid.upper()
                         for r in roles):
        S.warn(f"{request.method} {request.url.path}: party {cc}/{pid} is not one of Plugway's credentials roles")


def serve_list(request, module):
    """A Sender's paginated GET: offset/limit/date_from/date_to, Link, X-Total-Count, X-Limit."""
    auth(request)
    q = request.query_params
    try:
        offset = int(q.get("offset", 0))
        limit = min(int(q.get("limit", MAX_LIMIT)), MAX_LIMIT)
        date_from = parse_dt(q["date_from"]) if q.get("date_from") else None
        date_to = parse_dt(q["date_to"]) if q.get("date_to") else None
    except ValueError as e:
        raise Reply(400, 2001, f"bad paging parameter: {e}")
    with S.lock:
        items = list(S.own[module].values())
    items = [o for o in items
             if (not date_from or parse_dt(o.get("last_updated")) >= date_from)
             and (not date_to or parse_dt(o.get("last_updated")) < date_to)]
    page = items[offset:offset + limit]
    headers = {"X-Total-Count": str(len(items)), "X-Limit": str(limit)}
    if offset + limit < len(items):
        nxt = request.url.include_query_params(offset=offset + limit, limit=limit)
        headers["Link"] = f'<{nxt}>; rel="next"'
    return respond(request, page, headers=headers)


def cdr_url(key):
    return f"{S.base}/ocpi/{VERSION}/cdrs/{key[0]}/{key[1]}/{key[2]}"


def build_app():
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    v = f"/ocpi/{VERSION}"

    @app.exception_handler(Reply)
    def on_reply(request, r):
        return respond(request, r.data, r.http_status, r.status_code, r.message)

    @app.exception_handler(RequestValidationError)
    def on_bad_json(request, e):
        return respond(request, None, 400, 2001, f"request body is not valid JSON: {e}")

    @app.exception_handler(StarletteHTTPException)
    def on_http(request, e):
        return respond(request, None, e.status_code, 2000, f"{e.detail}: {request.method} {request.url.path}")

    @app.exception_handler(Exception)
    def on_crash(request, e):
        log.error("handler crashed: %s", traceback.format_exc())
        return respond(request, None, 500, 3000, f"partner error: {type(e).__name__}: {e}")

    # -- versions
    @app.get("/ocpi/versions")
    def get_versions(request: Request):
        label = auth(request, allow_token_a=True)
        log.info("<- GET versions with token %s", label)
        return respond(request, [{"version": VERSION, "url": f"{S.base}{v}"}])

    @app.get(v)
    def get_details(request: Request):
        auth(request, allow_token_a=True)
        return respond(request, {"version": VERSION, "endpoints": S.endpoints()})

    # -- credentials (Plugway registering with us)
    def accept_peer(request, body, verb):
        """Validate Plugway's credentials, discover its API, issue a fresh token C."""
        needs_body_model(Credentials, body, f"{verb} credentials body")
        try:
            versions, details = discover(body["url"], body["token"])
        except Fail as e:
            raise Reply(400, 3001, f"could not use Plugway's API with the credentials given: {e}")
        token_c = str(uuid.uuid4())
        with S.lock:
            S.peer = {"versions_url": body["url"], "token": body["token"], "credentials": body,
                      "endpoints": details["endpoints"], "registered_by": "plugway"}
            S.server_tokens = {token_c: "C"}
            S.token_a = None
        return respond(request, S.own_credentials(token_c))

    @app.post(f"{v}/credentials")
    def post_credentials(request: Request, body: dict = Body(...)):
        label = auth(request, allow_token_a=True)
        if label != "A":
            raise Reply(405, 2000, "already registered: use PUT to update or DELETE to unregister")
        return accept_peer(request, body, "POST")

    @app.get(f"{v}/credentials")
    def get_credentials(request: Request):
        auth(request)
        token = next(t for t in S.server_tokens)  # the one token Plugway calls us with
        return respond(request, S.own_credentials(token))

    @app.put(f"{v}/credentials")
    def put_credentials(request: Request, body: dict = Body(...)):
        auth(request)
        return accept_peer(request, body, "PUT")

    @app.delete(f"{v}/credentials")
    def delete_credentials(request: Request):
        auth(request)
        with S.lock:
            S.peer, S.server_tokens = None, {}
        return respond(request, None)

    # -- command results: the response_url of the commands we send
    @app.post("/ocpi/callbacks/commands/{cid}")
    def command_callback(request: Request, cid: str, body: dict = Body(...)):
        auth(request)
        err = validation_error(CommandResult, body, f"CommandResult posted to callback {cid}")
        with S.lock:
            known = cid in S.callbacks
            S.callbacks[cid] = {"error": err} if err else body
        if err:
            raise Reply(400, 2001, err)
        if not known:
            S.warn(f"CommandResult for unknown command id {cid}")
        return respond(request, None)

    if S.role == "EMSP":
        add_emsp_routes(app, v)
    else:
        add_cpo_routes(app, v)
    return app


def add_emsp_routes(app, v):
    """Receiver interfaces of locations, sessions, cdrs, tariffs; Sender of tokens."""

    def find_location(cc, pid, loc_id):
        loc = S.received["locations"].get((cc.upper(), pid.upper(), loc_id))
        if loc is None:
            raise Reply(404, 2003, f"Unknown Location {cc}/{pid}/{loc_id}")
        return loc

    def find_evse(loc, evse_uid):
        for evse in loc.get("evses") or []:
            if evse.get("uid") == evse_uid:
                return evse
        raise Reply(404, 2003, f"Unknown EVSE {evse_uid} in Location {loc.get('id')}")

    def find_connector(evse, connector_id):
        for conn in evse.get("connectors") or []:
            if conn.get("id") == connector_id:
                return conn
        raise Reply(404, 2003, f"Unknown Connector {connector_id} in EVSE {evse.get('uid')}")

    def upsert(items, key, obj):
        for i, old in enumerate(items):
            if old.get(key) == obj.get(key):
                items[i] = obj
                return
        items.append(obj)

    @app.get(v + "/locations/{cc}/{pid}/{loc_id}")
    @app.get(v + "/locations/{cc}/{pid}/{loc_id}/{evse_uid}")
    @app.get(v + "/locations/{cc}/{pid}/{loc_id}/{evse_uid}/{conn_id}")
    def get_location(request: Request, cc: str, pid: str, loc_id: str, evse_uid: str = None, conn_id: str = None):
        auth(request)
        with S.lock:
            obj = find_location(cc, pid, loc_id)
            if evse_uid:
                obj = find_evse(obj, evse_uid)
                if conn_id:
                    obj = find_connector(obj, conn_id)
            return respond(request, obj)

    @app.put(v + "/locations/{cc}/{pid}/{loc_id}")
    @app.put(v + "/locations/{cc}/{pid}/{loc_id}/{evse_uid}")
    @app.put(v + "/locations/{cc}/{pid}/{loc_id}/{evse_uid}/{conn_id}")
    def put_location(request: Request, cc: str, pid: str, loc_id: str, evse_uid: str = None,
                     conn_id: str = None, body: dict = Body(...)):
        def run():
            auth(request)
            with S.lock:
                if not evse_uid:
                    needs_body_model(Location, body, f"Location {loc_id}")
                    check_owner(request, cc, pid, body, f"Location {loc_id}")
                    if body.get("id") != loc_id:
                        raise Reply(400, 2001, f"Location id {body.get('id')!r} differs from the URL's {loc_id!r}")
                    S.received["locations"][(cc.upper(), pid.upper(), loc_id)] = body
                    return respond(request, None)
                check_owner(request, cc, pid)
                loc = find_location(cc, pid, loc_id)
                if not conn_id:
                    needs_body_model(EVSE, body, f"EVSE {evse_uid}")
                    if body.get("uid") != evse_uid:
                        raise Reply(400, 2001, f"EVSE uid {body.get('uid')!r} differs from the URL's {evse_uid!r}")
                    upsert(loc.setdefault("evses", []), "uid", body)
                else:
                    needs_body_model(Connector, body, f"Connector {conn_id}")
                    if body.get("id") != conn_id:
                        raise Reply(400, 2001, f"Connector id {body.get('id')!r} differs from the URL's {conn_id!r}")
                    evse = find_evse(loc, evse_uid)
                    upsert(evse.setdefault("connectors", []), "id", body)
                    evse["last_updated"] = body["last_updated"]
                loc["last_updated"] = body["last_updated"]
                return respond(request, None)
        return logged("locations", request, run)

    @app.patch(v + "/locations/{cc}/{pid}/{loc_id}")
    @app.patch(v + "/locations/{cc}/{pid}/{loc_id}/{evse_uid}")
    @app.patch(v + "/locations/{cc}/{pid}/{loc_id}/{evse_uid}/{conn_id}")
    def patch_location(request: Request, cc: str, pid: str, loc_id: str, evse_uid: str = None,
                       conn_id: str = None, body: dict = Body(...)):
        def run():
            auth(request)
            check_owner(request, cc, pid)
            model = (ConnectorPartialUpdate if conn_id else EVSEPartialUpdate if evse_uid
                     else LocationPartialUpdate)
            needs_body_model(model, body, f"PATCH {request.url.path}", patch=True)
            with S.lock:
                loc = find_location(cc, pid, loc_id)
                target = loc
                if evse_uid:
                    evse = target = find_evse(loc, evse_uid)
                    if conn_id:
                        target = find_connector(evse, conn_id)
                        evse["last_updated"] = body["last_updated"]
                target.update(body)
                loc["last_updated"] = body["last_updated"]  # a changed child updates its parents
            return respond(request, None)
        return logged("locations", request, run)

    def simple_receiver(module, model):
        """PUT/PATCH/GET (and DELETE for tariffs) of {module}/{cc}/{pid}/{id}."""
        path = v + "/" + module + "/{cc}/{pid}/{oid}"

        @app.get(path)
        def get_obj(request: Request, cc: str, pid: str, oid: str):
            auth(request)
            with S.lock:
                obj = S.received[module].get((cc.upper(), pid.upper(), oid))
            if obj is None:
                raise Reply(404, 2001, f"unknown {module} object {cc}/{pid}/{oid}")
            return respond(request, obj)

        @app.put(path)
        def put_obj(request: Request, cc: str, pid: str, oid: str, body: dict = Body(...)):
            def run():
                auth(request)
                needs_body_model(model, body, f"{model.__name__} {oid}")
                check_owner(request, cc, pid, body, f"{model.__name__} {oid}")
                if body.get("id") != oid:
                    raise Reply(400, 2001, f"{model.__name__} id {body.get('id')!r} differs from the URL's {oid!r}")
                with S.lock:
                    S.received[module][(cc.upper(), pid.upper(), oid)] = body
                return respond(request, None)
            return logged(module, request, run)

        if module in PATCH_MODELS:
            @app.patch(path)
            def patch_obj(request: Request, cc: str, pid: str, oid: str, body: dict = Body(...)):
                def run():
                    auth(request)
                    check_owner(request, cc, pid)
                    needs_body_model(PATCH_MODELS[module], body, f"PATCH {request.url.path}", patch=True)
                    with S.lock:
                        obj = S.received[module].get((cc.upper(), pid.upper(), oid))
                        if obj is None:
                            raise Reply(404, 2001, f"unknown {module} object {cc}/{pid}/{oid}")
                        obj.update(body)
                    return respond(request, None)
                return logged(module, request, run)

        if module == "tariffs":
            @app.delete(path)
            def delete_obj(request: Request, cc: str, pid: str, oid: str):
                def run():
                    auth(request)
                    with S.lock:
                        if S.received[module].pop((cc.upper(), pid.upper(), oid), None) is None:
                            raise Reply(404, 2001, f"unknown tariff {cc}/{pid}/{oid}")
                    return respond(request, None)
                return logged(module, request, run)

    simple_receiver("sessions", Session)
    simple_receiver("tariffs", Tariff)

    @app.post(v + "/cdrs")
    def post_cdr(request: Request, body: dict = Body(...)):
        def run():
            auth(request)
            needs_body_model(Cdr, body, f"CDR {describe(body)}")
            key = object_key(body)
            check_owner(request, key[0], key[1])
            with S.lock:
                if key in S.received["cdrs"]:
                    S.warn(f"CDR {key} posted again")
                S.received["cdrs"][key] = body
            return respond(request, None, headers={"Location": cdr_url(key)})
        return logged("cdrs", request, run)

    @app.get(v + "/cdrs/{cc}/{pid}/{oid}")
    def get_cdr(request: Request, cc: str, pid: str, oid: str):
        auth(request)
        with S.lock:
            obj = S.received["cdrs"].get((cc.upper(), pid.upper(), oid))
        if obj is None:
            raise Reply(404, 2001, f"unknown CDR {cc}/{pid}/{oid}")
        return respond(request, obj)

    # -- tokens Sender: the tokens added with add_object
    @app.get(v + "/tokens")
    def list_tokens(request: Request):
        return serve_list(request, "tokens")

    @app.post(v + "/tokens/{uid}/authorize")
    def authorize(request: Request, uid: str, body: dict = Body(None)):
        auth(request)
        ttype = request.query_params.get("type", "RFID")
        with S.lock:
            token = next((t for t in S.own["tokens"].values()
                          if t.get("uid") == uid and t.get("type", "RFID") == ttype), None)
        if token is None:
            raise Reply(404, 2004, f"Unknown Token {uid} ({ttype})")
        info = {"allowed": "ALLOWED" if token.get("valid") else "BLOCKED", "token": token}
        if body and body.get("location_id"):  # a LocationReferences body
            info["location"] = body
        check(AuthorizationInfo, info, "our own AuthorizationInfo")
        return respond(request, info)


def add_cpo_routes(app, v):
    """Sender interfaces of locations, tariffs, sessions, cdrs; Receiver of tokens, commands."""
    def lister(module):
        def list_objects(request: Request):
            return serve_list(request, module)
        return list_objects

    for module in ("locations", "tariffs", "sessions", "cdrs"):
        app.get(f"{v}/{module}")(lister(module))

    @app.get(v + "/locations/{loc_id}")
    @app.get(v + "/locations/{loc_id}/{evse_uid}")
    @app.get(v + "/locations/{loc_id}/{evse_uid}/{conn_id}")
    def get_location(request: Request, loc_id: str, evse_uid: str = None, conn_id: str = None):
        auth(request)
        with S.lock:
            obj = next((o for o in S.own["locations"].values() if o.get("id") == loc_id), None)
            if obj and evse_uid:
                obj = next((e for e in obj.get("evses") or [] if e.get("uid") == evse_uid), None)
            if obj and conn_id:
                obj = next((c for c in obj.get("connectors") or [] if c.get("id") == conn_id), None)
        if obj is None:
            raise Reply(404, 2003, f"Unknown Location/EVSE/Connector {request.url.path}")
        return respond(request, obj)

    path = v + "/tokens/{cc}/{pid}/{uid}"

    @app.get(path)
    def get_token(request: Request, cc: str, pid: str, uid: str):
        auth(request)
        with S.lock:
            obj = S.received["tokens"].get((cc.upper(), pid.upper(), uid))
        if obj is None:
            raise Reply(404, 2004, f"Unknown Token {cc}/{pid}/{uid}")
        return respond(request, obj)

    @app.put(path)
    def put_token(request: Request, cc: str, pid: str, uid: str, body: dict = Body(...)):
        def run():
            auth(request)
            needs_body_model(Token, body, f"Token {uid}")
            check_owner(request, cc, pid, body, f"Token {uid}")
            if body.get("uid") != uid:
                raise Reply(400, 2001, f"Token uid {body.get('uid')!r} differs from the URL's {uid!r}")
            with S.lock:
                S.received["tokens"][(cc.upper(), pid.upper(), uid)] = body
            return respond(request, None)
        return logged("tokens", request, run)

    @app.patch(path)
    def patch_token(request: Request, cc: str, pid: str, uid: str, body: dict = Body(...)):
        def run():
            auth(request)
            needs_body_model(TokenPartialUpdate, body, f"PATCH {request.url.path}", patch=True)
            with S.lock:
                obj = S.received["tokens"].get((cc.upper(), pid.upper(), uid))
                if obj is None:
                    raise Reply(404, 2004, f"Unknown Token {cc}/{pid}/{uid}")
                obj.update(body)
            return respond(request, None)
        return logged("tokens", request, run)

    @app.post(v + "/commands/{command}")
    def receive_command(request: Request, command: str, body: dict = Body(...)):
        """Accept any valid command; post CommandResult ACCEPTED to its response_url soon after."""
        def run():
            auth(request)
            model = COMMAND_MODELS.get(command)
            if model is None:
                raise Reply(404, 2000, f"unknown command {command}")
            needs_body_model(model, body, f"{command} command")
            with S.lock:
                S.received.setdefault("commands", {})[str(uuid.uuid4())] = {"command": command, "body": body}
            threading.Thread(target=send_command_result, args=(body["response_url"],), daemon=True).start()
            return respond(request, {"result": "ACCEPTED", "timeout": 30})
        return logged("commands", request, run)


def send_command_result(url):
    time.sleep(0.2)
    try:
        envelope_data(call("POST", url, body={"result": "ACCEPTED"}), f"POST CommandResult to {url}")
    except Fail as e:
        S.warn(str(e))


# ---------------------------------------------------------------- ops (stdin commands)

def op_expect_token_a(cmd):
    with S.lock:
        S.token_a = cmd["token"]
    return {}


def op_register(cmd):
    """Register WITH Plugway: discover with token A, POST our credentials, keep its token C."""
    versions_url, token_a = cmd["versions_url"], cmd["token_a"]
    _, details = discover(versions_url, token_a)
    cred_eps = [e["url"] for e in details["endpoints"] if e["identifier"] == "credentials"]
    if not cred_eps:
        raise Fail(f"Plugway's version details list no credentials endpoint: {details['endpoints']}")
    token_b = str(uuid.uuid4())
    with S.lock:
        S.server_tokens = {token_b: "B"}
        calls_before = len(S.calls)
    resp = call("POST", cred_eps[0], token=token_a, body=S.own_credentials(token_b))
    creds = envelope_data(resp, f"POST credentials to {cred_eps[0]} with token A")
    check(Credentials, creds, "Credentials in Plugway's POST credentials reply")
    with S.lock:
        calls = S.calls[calls_before:]
    called_back = any(m == "GET" and p == "/ocpi/versions" and label == "B" for m, p, label in calls)
    fetched_details = any(m == "GET" and p == f"/ocpi/{VERSION}" and label == "B" for m, p, label in calls)
    if creds["token"] == token_a:
        raise Fail("Plugway's reply gives token A back as token C")
    if creds["url"] != versions_url:
        S.warn(f"Plugway's credentials url {creds['url']} differs from the versions URL registered with {versions_url}")
    # Token C must work at once: discover again with it, and use those endpoints.
    try:
        _, details = discover(versions_url, creds["token"])
    except Fail as e:
        raise Fail(f"Plugway does not accept the token C it just gave: {e}")
    with S.lock:
        S.peer = {"versions_url": versions_url, "token": creds["token"], "credentials": creds,
                  "endpoints": details["endpoints"], "registered_by": "partner"}
    return {"token_c": creds["token"], "roles": creds["roles"], "endpoints": details["endpoints"],
            "called_back": called_back, "fetched_details": fetched_details}


def op_registration(cmd):
    with S.lock:
        peer = S.peer
        return {"registered": peer is not None,
                "registered_by": peer and peer["registered_by"],
                "peer_token": peer and peer["token"],
                "peer_credentials": peer and peer["credentials"],
                "peer_endpoints": peer and peer["endpoints"],
                "server_tokens": S.server_tokens, "token_a": S.token_a}


def op_unregister(cmd):
    url = S.peer_endpoint("credentials", None)
    with S.lock:
        token, versions_url = S.peer["token"], S.peer["versions_url"]
    resp = call("DELETE", url, token=token)
    body = json_body(resp)
    code = body.get("status_code") if isinstance(body, dict) else None
    after = call("GET", versions_url, token=token)
    with S.lock:
        S.peer, S.server_tokens = None, {}
    out = {"delete_status": resp.status_code, "delete_status_code": code, "after_status": after.status_code}
    if resp.status_code != 200 or code != 1000:
        raise Fail(f"DELETE credentials {url}: HTTP {resp.status_code}, OCPI status_code {code}; body: {short(body)}", out)
    return out


def op_pull(cmd):
    """Page through one of Plugway's Sender lists, checking every page and object."""
    module = cmd["module"]
    model = MODELS.get(module)
    if model is None:
        raise Fail(f"unknown module {module!r}")
    limit = cmd.get("limit")
    params = {k: cmd[k] for k in ("date_from", "date_to") if cmd.get(k)}
    if limit is not None:
        params["limit"] = limit
    url = S.peer_endpoint(module, "SENDER")
    objects, pages, total, seen_urls, seen_keys = [], 0, None, set(), set()
    while url:
        if url in seen_urls or pages >= 1000:
            raise Fail(f"{module} paging loops: next link {url} already followed (page {pages + 1})")
        seen_urls.add(url)
        resp = call("GET", url, params=params if pages == 0 else None)
        pages += 1
        what = f"{module} page {pages} (GET {resp.request.url})"
        data = envelope_data(resp, what)
        if not isinstance(data, list):
            raise Fail(f"{what}: data is not a list: {short(data)}")
        try:
            page_total = int(resp.headers["X-Total-Count"])
            x_limit = int(resp.headers["X-Limit"])
        except (KeyError, ValueError):
            raise Fail(f"{what}: X-Total-Count and X-Limit must be integer headers; got "
                       f"X-Total-Count={resp.headers.get('X-Total-Count')!r}, X-Limit={resp.headers.get('X-Limit')!r}")
        if total is None:
            total = page_total
        elif page_total != total:
            raise Fail(f"{what}: X-Total-Count {page_total} differs from the first page's {total}")
        if limit is not None and x_limit > limit:
            raise Fail(f"{what}: X-Limit {x_limit} is above the limit {limit} asked for")
        if len(data) > x_limit:
            raise Fail(f"{what}: {len(data)} objects on a page with X-Limit {x_limit}")
        for i, obj in enumerate(data):
            check(model, obj, f"{what}, object {i} ({describe(obj)})")
            key = object_key(obj)
            if key in seen_keys:
                raise Fail(f"{what}: object {key} was already on an earlier page")
            seen_keys.add(key)
            objects.append(obj)
        nxt = resp.links.get("next", {}).get("url")
        url = urljoin(str(resp.url), nxt) if nxt else None
        if nxt and not data:
            raise Fail(f"{what}: an empty page with a next link")
    if len(objects) != total:
        raise Fail(f"{module}: paged through {len(objects)} objects but X-Total-Count says {total}")
    return {"count": len(objects), "pages": pages, "total": total,
            "ids": [o.get("id") or o.get("uid") for o in objects], "objects": objects}


def op_request(cmd):
    """A raw request to Plugway, for negative tests: nothing is checked."""
    target = cmd["path_or_url"]
    if not urlsplit(target).scheme:
        with S.lock:
            base = (S.peer or {}).get("versions_url") or cmd.get("base_url")
        if not base:
            raise Fail("relative path but no Plugway versions_url known yet (register first)")
        parts = urlsplit(base)
        target = f"{parts.scheme}://{parts.netloc}/{target.lstrip('/')}"
    resp = call(cmd.get("method", "GET").upper(), target, token=cmd.get("token"),
                body=cmd.get("body"), headers=cmd.get("headers"))
    return {"http_status": resp.status_code, "body": json_body(resp),
            "headers": {k.lower(): v for k, v in resp.headers.items()}}


def pushed(resp, what, extra=None):
    """The answer of a push: ok only for HTTP 2xx with OCPI status_code 1000."""
    body = json_body(resp)
    code = body.get("status_code") if isinstance(body, dict) else None
    out = {"http_status": resp.status_code, "status_code": code,
           "status_message": body.get("status_message") if isinstance(body, dict) else None,
           "body": body, **(extra or {})}
    if not (200 <= resp.status_code < 300 and code == 1000):
        raise Fail(f"{what}: HTTP {resp.status_code}, OCPI status_code {code} "
                   f"({out['status_message']!r}); body: {short(body)}", out)
    return out


def op_push(cmd):
    """PUT an object we own to Plugway's Receiver endpoint (POST for a CDR)."""
    module, obj = cmd["module"], cmd["object"]
    if module not in MODELS:
        raise Fail(f"unknown module {module!r}")
    if OWNER[module] != S.role:
        raise Fail(f"only a {OWNER[module]} pushes {module}; this partner is {S.role}")
    check(MODELS[module], obj, f"{module} object {describe(obj)} to push")
    url = S.peer_endpoint(module, "RECEIVER")
    if module == "cdrs":
        resp = call("POST", url, body=obj)
        out = pushed(resp, f"POST {url}", {"location": resp.headers.get("Location")})
        if not out["location"]:
            raise Fail(f"POST {url}: no Location header in the reply to a CDR", out)
        return out
    cc, pid, oid = object_key(obj)
    target = f"{url}/{obj['country_code']}/{obj['party_id']}/{obj.get('uid') if module == 'tokens' else obj['id']}"
    params = {"type": obj.get("type", "RFID")} if module == "tokens" else None
    return pushed(call("PUT", target, body=obj, params=params), f"PUT {target}")


def op_push_token(cmd):
    return op_push({"module": "tokens", "object": cmd["token"]})


def op_push_location(cmd):
    return op_push({"module": "locations", "object": cmd["location"]})


def op_patch(cmd):
    """PATCH an object we own (or a Location's EVSE/Connector) at Plugway's Receiver."""
    module, patch = cmd["module"], cmd["patch"]
    if OWNER.get(module) != S.role:
        raise Fail(f"only a {OWNER.get(module)} patches {module}; this partner is {S.role}")
    evse_uid, conn_id = cmd.get("evse_uid"), cmd.get("connector_id")
    model = (ConnectorPartialUpdate if conn_id else EVSEPartialUpdate if evse_uid
             else PATCH_MODELS.get(module))
    if model is None:
        raise Fail(f"{module} cannot be patched")
    check(model, patch, f"PATCH of {module} {cmd['id']}")
    if not patch.get("last_updated"):
        raise Fail("a PATCH must contain last_updated")
    target = "/".join([S.peer_endpoint(module, "RECEIVER"), S.cc, S.pid, cmd["id"]]
                      + [p for p in (evse_uid, conn_id) if p])
    return pushed(call("PATCH", target, body=patch), f"PATCH {target}")


def op_patch_evse(cmd):
    return op_patch({"module": "locations", "id": cmd["location_id"], "evse_uid": cmd["evse_uid"],
                     "patch": cmd["patch"]})


def op_command(cmd):
    """Send a command to Plugway (as CPO) and wait for its CommandResult callback."""
    if S.role != "EMSP":
        raise Fail("only an EMSP partner sends commands")
    command = cmd["command"]
    model = COMMAND_MODELS.get(command)
    if model is None:
        raise Fail(f"unknown command {command!r}")
    cid = str(uuid.uuid4())
    body = dict(cmd.get("body") or {}, response_url=f"{S.base}/ocpi/callbacks/commands/{cid}")
    check(model, body, f"{command} body")
    with S.lock:
        S.callbacks[cid] = None
    url = f"{S.peer_endpoint('commands', 'RECEIVER')}/{command}"
    response = envelope_data(call("POST", url, body=body), f"POST {url}")
    check(CommandResponse, response, f"CommandResponse to {command}")
    deadline = time.monotonic() + float(cmd.get("wait_seconds", 20))
    result = None
    if response["result"] == "ACCEPTED":
        while time.monotonic() < deadline:
            with S.lock:
                result = S.callbacks.get(cid)
            if result is not None:
                break
            time.sleep(0.05)
    if result and "error" in result and "result" not in result:
        raise Fail(result["error"], {"response": response})
    return {"response": response, "result": result, "command_id": cid}


def op_add_object(cmd):
    """Add (or replace) an object this partner serves as a Sender. Not validated on
    purpose, so tests can serve broken data; "validation_error" says what is wrong."""
    module, obj = cmd["module"], cmd["object"]
    if module not in MODELS:
        raise Fail(f"unknown module {module!r}")
    with S.lock:
        S.own[module][object_key(obj)] = obj
    err = validation_error(MODELS[module], obj, f"{module} object {describe(obj)}")
    return {"valid": err is None, "validation_error": err}


def op_add_location(cmd):
    return op_add_object({"module": "locations", "object": cmd["location"]})


def op_received(cmd):
    module = cmd["module"]
    with S.lock:
        if module == "commands":
            objects = list(S.received.get("commands", {}).values())
        elif module in MODULES:
            objects = list(S.received[module].values())
        else:
            raise Fail(f"unknown module {module!r}")
        return {"objects": json.loads(json.dumps(objects)), "requests": list(S.requests[module])}


def op_warnings(cmd):
    with S.lock:
        out, S.warnings = S.warnings, []
    return {"warnings": out}


OPS = {name[3:]: fn for name, fn in globals().items() if name.startswith("op_")}


# ---------------------------------------------------------------- main

def main():
    global S
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--role", required=True, choices=["CPO", "EMSP"])
    ap.add_argument("--country-code", default="NL")
    ap.add_argument("--party-id", default="XWP")
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()

    # stdout carries the protocol only: anything else printed goes to stderr.
    out = sys.stdout
    sys.stdout = sys.stderr
    logging.basicConfig(stream=sys.stderr, level=logging.INFO,
                        format=f"partner {args.role}: %(levelname)s %(message)s")

    def answer(obj):
        out.write(json.dumps(obj) + "\n")
        out.flush()

    S = State(args.role, args.country_code, args.party_id)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", args.port))
    S.base = f"http://127.0.0.1:{sock.getsockname()[1]}"

    server = uvicorn.Server(uvicorn.Config(build_app(), log_config=None, access_log=False,
                                           lifespan="off", log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    else:
        answer({"ready": False, "error": "the HTTP server did not start"})
        return 1
    answer({"ready": True, "versions_url": S.versions_url})

    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            cmd = json.loads(line)
            if not isinstance(cmd, dict):
                raise ValueError("a command must be a JSON object")
        except ValueError as e:
            answer({"ok": False, "error": f"bad command line {short(line.strip(), 200)!r}: {e}"})
            continue
        op = cmd.get("op")
        if op == "quit":
            answer({"ok": True})
            break
        reply = {}
        try:
            if op not in OPS:
                raise Fail(f"unknown op {op!r}; known: {sorted(OPS) + ['quit']}")
            reply.update(ok=True, **OPS[op](cmd))
        except Fail as e:
            reply.update(ok=False, error=e.args[0], **(e.args[1] if len(e.args) > 1 else {}))
        except KeyError as e:
            reply.update(ok=False, error=f"op {op}: missing field {e}")
        except Exception as e:
            log.error("op %s crashed: %s", op, traceback.format_exc())
            reply.update(ok=False, error=f"op {op}: partner error: {type(e).__name__}: {e}")
        log.info("op %s -> ok=%s%s", op, reply["ok"], "" if reply["ok"] else f": {reply['error']}")
        answer(reply)

    server.should_exit = True
    thread.join(timeout=5)
    return 0


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)  # don't wait for HTTP worker threads
