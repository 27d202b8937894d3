"""The dashboard's HTTP edge: one owner, on 127.0.0.1, with a token.

Who may look: `mailer web` prints a URL with a random access token; opening
it sets a session cookie (HttpOnly, SameSite=Strict) and the token leaves the
address bar. Without the cookie every page answers 403. A request whose Host
is not this server's loopback address is refused too, so a web page elsewhere
cannot reach the dashboard by renaming its own host to 127.0.0.1 (DNS
rebinding). Every form carries the session's CSRF token; a POST without it
changes nothing.

What the forms do goes through the use cases the CLI and email use: contact
changes are command lines applied as the owner's command mail would be
(`inbox.apply_text`: same parser, same effects, a record and `undo`),
introductions are `intros.ask` / `intros.answer`, as `mailer intro` does.
The standard library's threading HTTP server is enough for one person's
browser, and adds no dependency.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

from mailer import clock
from mailer.errors import MailerError, describe

if TYPE_CHECKING:
    from jinja2 import Environment

    from mailer.app import App

HOST = "127.0.0.1"
COOKIE = "mailer_session"
MAX_FORM = 64 * 1024  # a form is a few fields; anything larger is not ours
ACTIONS = ("snooze", "tier", "tag", "log", "weed")  # contact forms: command verbs
log = logging.getLogger(__name__)


@dataclass
class Sessions:
    """The access token and the sessions it opened (session id -> CSRF token)."""

    token: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    _csrf: dict[str, str] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def open(self, offered: str) -> str | None:
        """A new session id for the right token, else None."""
        if not hmac.compare_digest(offered.encode(), self.token.encode()):
            return None
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._csrf[sid] = secrets.token_urlsafe(32)
        return sid

    def csrf(self, sid: str | None) -> str | None:
        with self._lock:
            return self._csrf.get(sid or "")


def environment() -> Environment:
    from jinja2.sandbox import SandboxedEnvironment

    from mailer.render import BuiltinLoader

    # Sandboxed and autoescaped: names and subjects in the store come from strangers' mail.
    return SandboxedEnvironment(loader=BuiltinLoader(), autoescape=True)


def contact_line(action: str, email: str, value: str) -> str:
    """The command line a contact form stands for (`snooze anna@x.example 2w`)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown action {action!r}")
    value = " ".join(value.split())
    if action != "weed" and not value:
        raise ValueError(f"{action}: a value is needed")
    return f"{action} {email} {value}".rstrip()


def make_server(app: App, port: int, sessions: Sessions | None = None) -> ThreadingHTTPServer:
    """The dashboard's server on 127.0.0.1:`port` (0: any free port); not yet serving."""
    sessions = sessions or Sessions()
    env = environment()
    handler = type("Handler", (_Handler,), {"app": app, "sessions": sessions, "env": env})
    server = ThreadingHTTPServer((HOST, port), handler)
    server.daemon_threads = True
    return server


def url(server: ThreadingHTTPServer, sessions: Sessions) -> str:
    return f"http://{HOST}:{server.server_address[1]}/?token={sessions.token}"


class _Handler(BaseHTTPRequestHandler):
    app: App
    sessions: Sessions
    env: Environment
    server_version = "mailer"
    sys_version = ""

    # -- HTTP

    def do_GET(self) -> None:
        self._serve(self._get)

    def do_POST(self) -> None:
        self._serve(self._post)

    def log_message(self, format: str, *args: Any) -> None:
        # the path only: the first request's query holds the access token
        log.debug("web: %s %s", self.command, urlsplit(self.path).path)

    # -- the checks every request passes

    def _serve(self, route: Callable[[str, dict[str, list[str]], str], None]) -> None:
        try:
            parts = urlsplit(self.path)
            query = parse_qs(parts.query)
            if not self._host_ok():
                return self._text(HTTPStatus.FORBIDDEN, "this dashboard answers on 127.0.0.1 only")
            offered = (query.get("token") or [""])[0]
            if offered:
                sid = self.sessions.open(offered)
                if sid is None:
                    return self._text(
                        HTTPStatus.FORBIDDEN, "wrong token: use the URL `mailer web` printed"
                    )
                rest = {k: v for k, v in query.items() if k != "token"}
                return self._redirect(parts.path + _query(rest), cookie=sid)
            sid = self._cookie()
            if self.sessions.csrf(sid) is None:
                return self._text(
                    HTTPStatus.FORBIDDEN, "open the URL with the token that `mailer web` printed"
                )
            route(parts.path, query, sid or "")
        except MailerError as e:
            data = {"message": describe(e), "now": clock.now()}
            self._page(HTTPStatus.BAD_REQUEST, "error.html.j2", data, self._cookie() or "")
        except (BrokenPipeError, ConnectionResetError):
            pass
        except Exception as e:  # one bad request must not end the dashboard
            where = urlsplit(self.path).path
            log.warning("web: %s %s: %s", self.command, where, describe(e), exc_info=True)
            self._text(HTTPStatus.INTERNAL_SERVER_ERROR, f"error in mailer: {describe(e)}")

    def _host_ok(self) -> bool:
        port = self.server.server_address[1]  # type: ignore[index]  # (host, port) for IPv4
        return self.headers.get("Host", "") in (f"{HOST}:{port}", f"localhost:{port}")

    def _cookie(self) -> str | None:
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value
        return None

    # -- pages

    def _get(self, path: str, query: dict[str, list[str]], sid: str) -> None:
        from mailer.web import views

        now = clock.now()
        said = (query.get("said") or [""])[0]
        if path == "/":
            return self._page(HTTPStatus.OK, "overview.html.j2", views.overview(self.app, now), sid)
        if path == "/contact":
            email = (query.get("email") or [""])[0]
            data = views.contact(self.app, email, now)
            if data is None:
                return self._text(HTTPStatus.NOT_FOUND, f"no contact {email!r}")
            return self._page(HTTPStatus.OK, "contact.html.j2", {**data, "said": said}, sid)
        if path == "/intros":
            data = views.introductions(self.app, now)
            return self._page(HTTPStatus.OK, "intros.html.j2", {**data, "said": said}, sid)
        self._text(HTTPStatus.NOT_FOUND, "no such page")

    def _post(self, path: str, query: dict[str, list[str]], sid: str) -> None:
        form = self._form()
        expected = self.sessions.csrf(sid) or ""
        if not hmac.compare_digest(form.get("csrf", "").encode(), expected.encode()):
            return self._text(HTTPStatus.FORBIDDEN, "the form is stale: reload the page")
        now = clock.now()
        if path == "/contact":
            from mailer import inbox

            email = form.get("email", "")
            try:
                line = contact_line(form.get("action", ""), email, form.get("value", ""))
            except ValueError as e:
                return self._redirect("/contact" + _query({"email": email, "said": str(e)}))
            record = inbox.apply_text(self.app, line, now, via="dashboard")
            said = "; ".join(f"{o.result}" for o in record.lines) or "nothing changed"
            return self._redirect("/contact" + _query({"email": email, "said": said}))
        if path == "/intros":
            from mailer import intros

            a, b = form.get("a", ""), form.get("b", "")
            if form.get("action") == "ask":
                intro, new = intros.ask(self.app, a, b, now, note=form.get("note", ""))
                said = f"asked {intro.a} and {intro.b}" if new else "already asked"
            else:
                said_word, by = form.get("said", ""), form.get("by", "")
                intro = intros.answer(self.app, a, b, said_word, by, now)
                said = f"{by} said {said_word}: {intro.state}"
            return self._redirect("/intros" + _query({"said": said}))
        self._text(HTTPStatus.NOT_FOUND, "no such form")

    def _form(self) -> dict[str, str]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_FORM:
            raise ValueError("form too large")
        body = self.rfile.read(length).decode("utf-8", "replace")
        return {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items()}

    # -- answers

    def _page(self, status: HTTPStatus, template: str, data: dict[str, Any], sid: str = "") -> None:
        html = self.env.get_template(f"web/{template}").render(
            **data, csrf=self.sessions.csrf(sid) or ""
        )
        self._send(status, "text/html; charset=utf-8", html.encode())

    def _text(self, status: HTTPStatus, text: str) -> None:
        self._send(status, "text/plain; charset=utf-8", (text + "\n").encode())

    def _redirect(self, to: str, cookie: str | None = None) -> None:
        self.send_response(HTTPStatus.SEE_OTHER)
        self.send_header("Location", to)
        if cookie:
            self.send_header("Set-Cookie", f"{COOKIE}={cookie}; HttpOnly; SameSite=Strict; Path=/")
        self._common_headers()
        self.send_header("Content-Length", "0")
        self.end_headers()

    def _send(self, status: HTTPStatus, kind: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self._common_headers()
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _common_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header(
            "Content-Security-Policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
            "form-action 'self'; frame-ancestors 'none'",
        )


def _query(params: dict[str, Any]) -> str:
    flat = {k: v[0] if isinstance(v, list) else v for k, v in params.items() if v}
    return "?" + urlencode(flat) if flat else ""
