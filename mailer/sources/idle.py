"""Watch INBOX with IMAP IDLE, so the daemon reads command mail within seconds.

The daemon scans every `daemon.scan_every_minutes`; an emailed command should
not wait that long. `InboxWatcher` keeps a connection of its own in IDLE on
INBOX (RFC 2177) in a background thread and calls `on_new()` when mail
arrives; the daemon's callback only marks the scan job to run at once, so the
scan (and the command mail in it) still runs in the daemon's thread.

The watcher is an optimisation, never a risk to the daemon: a server without
IDLE gets one log line and no watcher; a dead server, a dropped connection or
a refused login is one log line and a reconnect with backoff (1 s, 2 s, 4 s
... up to `max_backoff`; a refused login straight to `max_backoff`), and scans
go on at their interval meanwhile. After a reconnect, `on_new()` is called
once if INBOX changed while the watcher was away.

What the code below relies on (Dovecot 2.3, imapclient 4.1, checked by
tests/test_idle.py): new mail comes as `[(n, b'EXISTS'), (1, b'RECENT')]`
about half a second after it is stored; a server shutting down sends
`(b'BYE', ...)`; and once the connection is gone, `idle_check()` returns `[]`
at once instead of raising (it swallows EOF), so an empty answer on a socket
that is still readable is checked by ending IDLE, which does raise.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from imapclient.exceptions import IMAPClientError

from mailer import clock, net
from mailer.config import Account
from mailer.errors import AuthError, MailerError, SourceError, describe
from mailer.model import iso

RENEW_SECONDS = 25 * 60.0  # RFC 2177: servers may end an IDLE after 30 minutes
STEP_SECONDS = 0.5  # longest wait between looks at the stop flag
QUIET_SECONDS = 0.3  # a burst of new mail ends when the server is this quiet ...
BURST_SECONDS = 2.0  # ... or this long after it began: then one on_new()
HEALTHY_SECONDS = 60.0  # a session this long resets the backoff
_NEW = (b"EXISTS", b"RECENT")


def _keepalive(client: Any) -> None:
    """TCP keepalive: a silently dropped connection (NAT, Wi-Fi) shows within minutes.

    Without it a connection that vanished without a FIN is only noticed at the
    next IDLE renewal; best effort, as not every platform has every option.
    """
    with contextlib.suppress(Exception):
        sock = client.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (("TCP_KEEPIDLE", 60), ("TCP_KEEPINTVL", 20), ("TCP_KEEPCNT", 3)):
            if hasattr(socket, name):
                sock.setsockopt(socket.IPPROTO_TCP, getattr(socket, name), value)


def _readable(client: Any) -> bool:
    """Is there something to read (or an EOF) on the client's socket right now?"""
    try:
        poller = select.poll()
        poller.register(client.socket().fileno(), select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):  # a closed socket has fileno -1
        return True


class InboxWatcher:
    """IDLE on one folder in a daemon thread; `on_new()` when mail arrives.

    `password` / `oauth2_token` are resolved by the caller in the main thread
    (`for_account`), so a password command or keyring never runs in here.
    """

    def __init__(
        self,
        account: Account,
        on_new: Callable[[], None],
        log: logging.Logger,
        *,
        password: str | None,
        oauth2_token: str | None = None,
        folder: str = "INBOX",
        min_backoff: float = 1.0,
        max_backoff: float = 300.0,
        renew_seconds: float = RENEW_SECONDS,
        token_source: Callable[[], str | None] | None = None,
    ) -> None:
        self.account = account
        self.on_new = on_new
        self.folder = folder
        self.min_backoff = min_backoff
        self.max_backoff = max(max_backoff, min_backoff)
        self.renew_seconds = renew_seconds
        self.sessions = 0  # IDLE sessions begun so far (tests wait on it)
        self._log = log
        self._password = password
        self._token = oauth2_token
        self._token_source = token_source  # a fresh OAuth2 token for each reconnect
        self._where = f"{account.host}:{account.port}"
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="mailer-idle", daemon=True)
        self._client: Any = None
        self._idling = False  # in IDLE on self._client (imapclient does not say)
        self._inbox_state: tuple[Any, Any] | None = None  # (UIDVALIDITY, UIDNEXT) at SELECT

    @classmethod
    def for_account(
        cls,
        account: Account,
        on_new: Callable[[], None],
        log: logging.Logger,
        **options: Any,
    ) -> InboxWatcher:
        """A watcher for the account's inbox (`folder=`, folders.inbox); reads the password here.

        Raises the MailerError of a missing password or token command, as the
        scan job would.
        """
        from mailer import credentials

        token = credentials.oauth2_token(account)
        secret = None if token else credentials.password(account)
        if token:  # access tokens expire within hours: ask the command again on reconnect
            options.setdefault("token_source", lambda: credentials.oauth2_token(account))
        return cls(account, on_new, log, password=secret, oauth2_token=token, **options)

    # -- control (any thread)

    def start(self) -> InboxWatcher:
        self._thread.start()
        return self

    def stop(self, timeout: float = 2.0) -> None:
        """Ask the thread to log out and end; wait for it at most `timeout` seconds.

        Only a connection attempt in progress (up to `account.timeout`) can
        outlast that; the thread is a daemon thread, so it never holds up exit.
        """
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    # -- the thread

    def _emit(self, level: int, line: str) -> None:
        self._log.log(level, "%s", f"{iso(clock.now())} idle: {line}")

    def _main(self) -> None:
        failures = 0
        delay = 0.0
        while not self._stop.wait(delay):
            began = time.monotonic()
            try:
                if not self._session(reconnect=failures > 0 or self.sessions > 0):
                    return  # no IDLE here: the scan interval is all there is
            except Exception as e:  # the thread must outlive anything the network does
                if self._stop.is_set():
                    return  # the error was our own close, or no longer matters
                if time.monotonic() - began >= HEALTHY_SECONDS:
                    failures = 0  # a long good session: start the backoff afresh
                failures += 1
                if isinstance(e, AuthError):
                    delay = self.max_backoff  # a wrong password does not fix itself
                else:
                    delay = min(self.min_backoff * (1 << min(failures - 1, 20)), self.max_backoff)
                self._emit(logging.WARNING, f"{describe(e)}; reconnecting in {_seconds(delay)}")
                if not isinstance(e, MailerError):  # a bug: its traceback, for -v
                    self._log.debug("traceback of the idle %s", type(e).__name__, exc_info=e)
            else:
                return  # stopped
            finally:
                self._close()

    def _session(self, *, reconnect: bool) -> bool:
        """One connection: IDLE until stop(); False when the server has no IDLE."""
        from mailer.sources.imap import connect

        if reconnect and self._token_source is not None:
            self._token = self._token_source()
        client = self._client = connect(self.account, self._password, self._token)
        with self._guard():
            if not client.has_capability("IDLE"):
                self._emit(logging.INFO, "server has no IDLE; command mail is read on each scan")
                return False
            _keepalive(client)
            info = client.select_folder(self.folder, readonly=True)
            state = (info.get(b"UIDVALIDITY"), info.get(b"UIDNEXT"))
            changed = self._inbox_state is not None and state != self._inbox_state
            self._inbox_state = state
            self._begin(client)
            self.sessions += 1
            if reconnect:
                self._emit(logging.INFO, f"watching {self.folder} again")
            else:
                self._emit(logging.INFO, f"watching {self.folder} for new mail")
            if changed:
                self._notify()  # mail came while we were away: the scan should see it
            self._idle(client)
        return True

    def _idle(self, client: Any) -> None:
        """The IDLE loop; returns on stop(), raises when the connection fails."""
        renew_at = time.monotonic() + self.renew_seconds
        burst_start: float | None = None  # first new-mail response of a burst not yet told
        last_new = 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            wait = STEP_SECONDS
            if burst_start is not None:
                wait = min(wait, last_new + QUIET_SECONDS - now, burst_start + BURST_SECONDS - now)
            responses = client.idle_check(max(wait, 0.01))
            if not responses and _readable(client):
                # idle_check swallows EOF: ending IDLE raises if the connection is gone
                responses = self._end(client)
                self._begin(client)
                renew_at = time.monotonic() + self.renew_seconds
            now = time.monotonic()
            if self._read(responses):
                burst_start = burst_start if burst_start is not None else now
                last_new = now
            if burst_start is not None and (
                now - last_new >= QUIET_SECONDS or now - burst_start >= BURST_SECONDS
            ):
                burst_start = None
                self._notify()
            if now >= renew_at:
                if self._read(self._end(client)):
                    self._notify()
                    burst_start = None
                self._begin(client)
                renew_at = time.monotonic() + self.renew_seconds
        if burst_start is not None:
            self._notify()

    @contextlib.contextmanager
    def _guard(self) -> Iterator[None]:
        """imapclient and socket failures -> one-line SourceError, an EOF said plainly."""
        try:
            yield
        except (OSError, IMAPClientError) as e:  # ssl.SSLError is an OSError
            eof = isinstance(e, ssl.SSLEOFError | ConnectionError) or "EOF" in str(e)
            why = "the server closed the connection" if eof else net.reason(e)
            raise SourceError(f"{self._where}: watching {self.folder} failed: {why}") from None

    def _begin(self, client: Any) -> None:
        client.idle()
        self._idling = True

    def _end(self, client: Any) -> list[Any]:
        """Leave IDLE; the responses that came since the last idle_check()."""
        self._idling = False
        return list(client.idle_done()[1])

    def _read(self, responses: list[Any]) -> bool:
        """Did new mail come? Raises on BYE (the server is going away)."""
        new = False
        for response in responses:
            if not isinstance(response, tuple) or len(response) < 2:
                continue
            if response[0] == b"BYE":
                words = b" ".join(w for w in response[1:] if isinstance(w, bytes))
                text = words.decode("utf-8", "replace").rstrip(".") or "no reason given"
                raise SourceError(f"{self._where}: the server ended the session: {text}")
            if isinstance(response[0], int) and response[1] in _NEW:
                new = True
        return new

    def _notify(self) -> None:
        try:
            self.on_new()
        except Exception as e:  # the callback's bug must not end the watching
            self._emit(logging.WARNING, f"on_new failed: {describe(e)}")
            self._log.debug("traceback of the on_new error", exc_info=e)

    def _close(self) -> None:
        """End IDLE and log out politely if the server is still there, quickly in any case."""
        client, self._client = self._client, None
        idling, self._idling = self._idling, False
        if client is None:
            return
        try:
            client.socket().settimeout(1.0)  # stop() must not wait for a dead server
            if idling:
                client.idle_done()
            client.logout()
        except Exception:
            with contextlib.suppress(Exception):
                client.shutdown()


def start(
    account: Account, folder: str, on_new: Callable[[], None], log: logging.Logger
) -> InboxWatcher | None:
    """A running watcher on `folder` for `mailer run`; None (and a log line) without a password.

    The daemon goes on without it: the scan job reports the same problem.
    """
    try:
        watcher = InboxWatcher.for_account(account, on_new, log, folder=folder)
    except MailerError as e:
        log.warning("%s", f"{iso(clock.now())} idle: off: {describe(e)}")
        return None
    return watcher.start()


def _seconds(delay: float) -> str:
    return f"{delay:g} s" if delay < 120 else f"{delay / 60:.0f} min"
