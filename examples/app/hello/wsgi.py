"""A tiny WSGI application with endpoints useful for hardening tests.

Routes:
  /                 -> "hello"
  /env              -> JSON of selected WSGI environ keys
  /whoami           -> JSON: uid, gid, groups, pid, ppid, umask, cwd, tmpdir
  /write?path=P     -> try to create file P; JSON {ok, errno, error, mode}
  /sleep?s=N        -> sleep N seconds (float, capped at 600), then reply
  /block?name=N[&dir=D][&cap=S]
                    -> write D/N.started (D: a writable dir, default
                       /var/lib/hello), then wait until D/N.release or
                       D/all.release exists (the test decides when a request
                       ends); JSON {name, released, waited}; 503 when S
                       seconds (default 120, at most 600) pass first
  /upload           -> read the request body; JSON {length}
  /healthz          -> "ok"
  /status?code=N    -> an application-generated response with status N
  /raise            -> raises RuntimeError (unhandled: the server answers 500)
Anything else -> 404 with a fixed body.

Standard library only; no framework.
"""

import json
import os
import re
import tempfile
import time
from urllib.parse import parse_qs

ENV_KEYS = (
    "HTTP_AUTHORIZATION",
    "HTTP_PROXY_AUTHORIZATION",
    "HTTP_PROXY",
    "REMOTE_ADDR",
    "HTTP_X_FORWARDED_FOR",
    "HTTP_X_REAL_IP",
    "HTTP_X_FORWARDED_PROTO",
    "HTTP_X_FORWARDED_HOST",
    "HTTP_X_REQUEST_ID",
    "HTTP_HOST",
    "SERVER_NAME",
    "wsgi.url_scheme",
    "wsgi.multithread",
    "wsgi.multiprocess",
    "mod_wsgi.process_group",
    "mod_wsgi.application_group",
    "mod_wsgi.version",
)


def _json(start_response, obj, status="200 OK"):
    body = json.dumps(obj, sort_keys=True).encode("utf-8") + b"\n"
    start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _text(start_response, text, status="200 OK"):
    body = text.encode("utf-8")
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def _query(environ):
    return parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)


def _umask():
    # os.umask can only be read by setting it; threads are racy but this is a
    # test endpoint.
    old = os.umask(0o022)
    os.umask(old)
    return old


def env(environ, start_response):
    out = {}
    for key in ENV_KEYS:
        if key in environ:
            value = environ[key]
            out[key] = value if isinstance(value, (str, int, bool)) else repr(value)
    return _json(start_response, out)


def whoami(environ, start_response):
    return _json(
        start_response,
        {
            "uid": os.getuid(),
            "gid": os.getgid(),
            "euid": os.geteuid(),
            "egid": os.getegid(),
            "groups": os.getgroups(),
            "pid": os.getpid(),
            "ppid": os.getppid(),
            "umask": "%04o" % _umask(),
            "cwd": os.getcwd(),
            "home": os.environ.get("HOME"),
            "tmpdir": tempfile.gettempdir(),
        },
    )


def write(environ, start_response):
    path = _query(environ).get("path", [""])[0]
    if not path:
        return _json(start_response, {"ok": False, "error": "path required"}, "400 Bad Request")
    result = {"path": path, "ok": False, "errno": None, "error": None, "mode": None}
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        try:
            os.write(fd, b"written by hello\n")
            result["mode"] = "%04o" % (os.fstat(fd).st_mode & 0o7777)
        finally:
            os.close(fd)
        result["ok"] = True
    except OSError as exc:
        result["errno"] = exc.errno
        result["error"] = exc.strerror
    return _json(start_response, result)


def sleep(environ, start_response):
    try:
        seconds = float(_query(environ).get("s", ["1"])[0])
    except ValueError:
        return _json(start_response, {"error": "s must be a number"}, "400 Bad Request")
    seconds = max(0.0, min(seconds, 600.0))
    started = time.monotonic()
    time.sleep(seconds)
    return _json(start_response, {"slept": round(time.monotonic() - started, 3), "pid": os.getpid()})


BLOCK_DIR = "/var/lib/hello"
_BLOCK_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def block(environ, start_response):
    query = _query(environ)
    name = query.get("name", [""])[0]
    directory = query.get("dir", [BLOCK_DIR])[0]
    if not _BLOCK_NAME.match(name) or not directory.startswith("/"):
        return _json(
            start_response, {"error": "name must match [A-Za-z0-9_-]{1,64}, dir be absolute"}, "400 Bad Request"
        )
    try:
        cap = max(0.0, min(float(query.get("cap", ["120"])[0]), 600.0))
    except ValueError:
        return _json(start_response, {"error": "cap must be a number"}, "400 Bad Request")
    started = time.monotonic()
    with open(os.path.join(directory, name + ".started"), "w") as marker:
        marker.write("%d\n" % os.getpid())
    releases = [os.path.join(directory, name + ".release"), os.path.join(directory, "all.release")]
    while not any(os.path.exists(r) for r in releases):
        if time.monotonic() - started > cap:
            return _json(
                start_response,
                {"name": name, "released": False, "waited": round(time.monotonic() - started, 3)},
                "503 Service Unavailable",
            )
        time.sleep(0.05)
    return _json(
        start_response,
        {"name": name, "released": True, "waited": round(time.monotonic() - started, 3), "pid": os.getpid()},
    )


def upload(environ, start_response):
    stream = environ["wsgi.input"]
    length = 0
    while True:
        chunk = stream.read(65536)
        if not chunk:
            break
        length += len(chunk)
    return _json(start_response, {"length": length})


def status(environ, start_response):
    try:
        code = int(_query(environ).get("code", ["500"])[0])
    except ValueError:
        code = 400
    if not 200 <= code <= 599:
        code = 400
    return _text(start_response, "application says %d" % code, "%d Status %d" % (code, code))


def raise_error(environ, start_response):
    raise RuntimeError("hello: deliberate failure with secret=do-not-leak")


def index(environ, start_response):
    return _text(start_response, "hello")


def healthz(environ, start_response):
    return _text(start_response, "ok")


ROUTES = {
    "/": index,
    "/env": env,
    "/whoami": whoami,
    "/write": write,
    "/sleep": sleep,
    "/block": block,
    "/upload": upload,
    "/healthz": healthz,
    "/status": status,
    "/raise": raise_error,
}


def application(environ, start_response):
    handler = ROUTES.get(environ.get("PATH_INFO") or "/")
    if handler is None:
        return _text(start_response, "not found", "404 Not Found")
    return handler(environ, start_response)
