"""Sending mail to the owner through their SMTP server, with smtplib.

mailer mostly reads mail; SMTP is how it reaches the owner at once: the digest
and the confirmations of command mails (SPEC 8, 9). Like the IMAP edge, this is
the one place where smtplib's and ssl's exceptions become one-line
MailerErrors that say what to fix (SPEC 10). TLS is verified by default, and
plain text is allowed only to a loopback address, so a password never crosses
the network in the clear.
"""

from __future__ import annotations

import contextlib
import email.utils
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from mailer import credentials, net
from mailer.config import Smtp
from mailer.errors import AuthError, ConfigError, ConnectError, MailerError, one_line

DEFAULT_PORTS = {"tls": 465, "starttls": 587, "none": 25}
_CONNECT_HINT = "check smtp.host, smtp.port and smtp.security, and that the server is up"


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    security: str  # "tls" (implicit, 465) | "starttls" (587) | "none" (loopback only)
    username: str | None  # None: no login
    password_env: str
    password_command: str | None
    keyring: bool
    ca_file: Path | None
    timeout: int
    sender: str  # the envelope sender: the owner's own address


def from_section(section: Smtp, sender: str) -> SmtpSettings | None:
    """The [smtp] section as settings from `sender`, or None when no smtp.host is set."""
    if not section.host:
        return None
    return SmtpSettings(
        host=section.host,
        port=section.port or DEFAULT_PORTS[section.security],
        security=section.security,
        username=section.username,
        password_env=section.password_env,
        password_command=section.password_command,
        keyring=section.keyring,
        ca_file=section.ca_file,
        timeout=section.timeout,
        sender=sender,
    )


def password_for(settings: SmtpSettings) -> str | None:
    """The SMTP password by the IMAP rules, or None when there is no login.

    Order: smtp.password_command, the keyring (service 'mailer', smtp.username),
    then the environment variable smtp.password_env. Errors name smtp.* keys.
    """
    if settings.username is None:
        return None
    return credentials.resolve_password(
        section="smtp",
        username=settings.username,
        password_env=settings.password_env,
        password_command=settings.password_command,
        keyring=settings.keyring,
        timeout=settings.timeout,
    )


def tls_context(settings: SmtpSettings) -> ssl.SSLContext:
    return net.tls_context(settings.ca_file, "smtp.ca_file")


def _reply(code: int, msg: bytes | str) -> str:
    text = msg.decode(errors="replace") if isinstance(msg, bytes) else str(msg)
    return one_line(f"{code} {text}")


def _reason(e: BaseException) -> str:
    if isinstance(e, smtplib.SMTPResponseException):
        return _reply(e.smtp_code, e.smtp_error)
    if isinstance(e, smtplib.SMTPServerDisconnected) and isinstance(e.__context__, OSError):
        return _reason(e.__context__)  # smtplib wraps a read timeout as "unexpectedly closed"
    return net.reason(e)


def _recipients(message: EmailMessage) -> list[str]:
    if message.get_all("Bcc") or message.get_all("Resent-Bcc"):
        # send_message would mail them too; mailer never sends blind copies
        raise ValueError("send(): the message must not have Bcc")
    pairs = email.utils.getaddresses(message.get_all("To", []) + message.get_all("Cc", []))
    addresses = [addr for _name, addr in pairs if addr]
    if not addresses:
        raise ValueError("send(): the message has no To or Cc")
    return addresses


def send(settings: SmtpSettings, message: EmailMessage, *, password: str | None) -> None:
    """Deliver `message` to its To and Cc, from settings.sender; MailerError on any failure.

    `password` is required when settings.username is set (see password_for).
    A message without recipients, or with Bcc, is the caller's bug: ValueError.
    """
    _recipients(message)
    if settings.username is not None and password is None:
        raise ValueError("send(): smtp.username is set but no password was given")
    _session(settings, message, password, lambda line: None)


def check(settings: SmtpSettings, *, password: str | None, report: Callable[[str], None]) -> None:
    """What `send` does up to the message, for `mailer check`: connect, TLS or STARTTLS,
    log in when smtp.username is set, QUIT. Never sends. `report` gets one line a step;
    the first failure is the MailerError `send` would raise."""
    if settings.username is not None and password is None:
        raise ValueError("check(): smtp.username is set but no password was given")
    _session(settings, None, password, report)
    report("smtp: QUIT, nothing sent")


def _session(
    settings: SmtpSettings,
    message: EmailMessage | None,
    password: str | None,
    report: Callable[[str], None],
) -> None:
    if settings.security == "none" and not net.is_loopback(settings.host):
        raise ConfigError(
            f"smtp.security = none sends your mail in plain text to {settings.host}",
            hint="use tls or starttls; none is allowed only to a loopback address",
        )
    ctx = tls_context(settings) if settings.security != "none" else None
    client = _connect(settings, ctx)
    tls = " (TLS, certificate verified)" if settings.security == "tls" else ""
    report(f"smtp: connected to {_where(settings)}{tls}")
    try:
        _deliver(client, settings, ctx, message, password, report)
    finally:
        _close(client)


def _where(settings: SmtpSettings) -> str:
    return f"{settings.host}:{settings.port}"


def _cert_error(settings: SmtpSettings, e: ssl.SSLCertVerificationError) -> ConnectError:
    return ConnectError(
        f"the TLS certificate of {_where(settings)} does not verify: {_reason(e)}",
        hint="if the server uses its own CA, set smtp.ca_file to it",
    )


def _connect(settings: SmtpSettings, ctx: ssl.SSLContext | None) -> smtplib.SMTP:
    """Connected and greeted: the implicit TLS handshake is part of this."""
    try:
        if settings.security == "tls":
            return smtplib.SMTP_SSL(
                settings.host, settings.port, timeout=settings.timeout, context=ctx
            )
        return smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    except ssl.SSLCertVerificationError as e:
        raise _cert_error(settings, e) from None
    except (OSError, smtplib.SMTPException) as e:
        raise ConnectError(
            f"cannot connect to {_where(settings)}: {_reason(e)}", hint=_hint(settings, e)
        ) from None


def _hint(settings: SmtpSettings, e: BaseException) -> str:
    if _reason(e) == "timed out":
        # the usual cause: starttls against the implicit-TLS port, or the reverse
        return (
            f"no answer within smtp.timeout = {settings.timeout} s; check smtp.port and"
            " smtp.security (tls on 465, starttls on 587), or raise smtp.timeout"
        )
    return _CONNECT_HINT


def _deliver(
    client: smtplib.SMTP,
    settings: SmtpSettings,
    ctx: ssl.SSLContext | None,
    message: EmailMessage | None,
    password: str | None,
    report: Callable[[str], None],
) -> None:
    """EHLO, STARTTLS, login, then the message (None: stop before it)."""
    where = _where(settings)
    step = "EHLO"  # what was being done, for the error line
    try:
        client.ehlo()
        if settings.security == "starttls":
            if not client.has_extn("starttls"):
                raise ConnectError(
                    f"{where} does not offer STARTTLS, so smtp.security = starttls cannot be used",
                    hint="check smtp.port (587 for starttls), or use security = tls on port 465",
                )
            step = "STARTTLS"
            client.starttls(context=ctx)
            client.ehlo()
            report("smtp: STARTTLS, certificate verified")
        if settings.username is not None:
            step = "login"
            if not client.has_extn("auth"):
                raise AuthError(
                    f"{where} offers no login (AUTH) here, but smtp.username is set",
                    hint="remove smtp.username if the server needs no login, or use tls/starttls",
                )
            client.login(settings.username, password or "")
            report(f"smtp: logged in as {settings.username}")
        else:
            report("smtp: no login (smtp.username is not set)")
        if message is None:
            return
        step = "sending"
        refused = client.send_message(message, from_addr=settings.sender)
    except MailerError:
        raise
    except ssl.SSLCertVerificationError as e:
        raise _cert_error(settings, e) from None
    except smtplib.SMTPAuthenticationError as e:
        raise AuthError(
            f"{where} refused the login of {settings.username}: {_reason(e)}",
            hint="check smtp.username and the SMTP password",
        ) from None
    except smtplib.SMTPSenderRefused as e:
        raise MailerError(
            f"{where} refused the sender {settings.sender}: {_reason(e)}",
            hint="the sender is the first of me.addresses; smtp.username must be allowed to use it",
        ) from None
    except smtplib.SMTPRecipientsRefused as e:
        raise _refused(where, e.recipients, delivered=[]) from None
    except smtplib.SMTPDataError as e:
        raise MailerError(f"{where} refused the message: {_reason(e)}") from None
    except smtplib.SMTPServerDisconnected as e:
        raise ConnectError(
            f"lost the connection to {where} during {step}: {_reason(e)}",
            hint=_hint(settings, e),
        ) from None
    except smtplib.SMTPResponseException as e:
        raise MailerError(f"{where} refused {step}: {_reason(e)}") from None
    except smtplib.SMTPException as e:
        # e.g. "No suitable authentication method found", SMTPUTF8 not supported
        error = AuthError if step == "login" else MailerError
        raise error(f"{where}: {step} failed: {_reason(e)}") from None
    except OSError as e:
        raise ConnectError(
            f"lost the connection to {where} during {step}: {_reason(e)}",
            hint=_hint(settings, e),
        ) from None
    if refused:
        # smtplib sends to the accepted ones and returns the rest: not silent here
        delivered = [a for a in _recipients(message) if a not in refused]
        raise _refused(where, refused, delivered)


def _refused(where: str, refused: dict[str, Any], delivered: list[str]) -> MailerError:
    each = "; ".join(f"{addr}: {_reply(*reply)}" for addr, reply in refused.items())
    sent = f" (delivered to {', '.join(delivered)})" if delivered else ""
    return MailerError(
        f"{where} refused the recipient {each}{sent}",
        hint="check the address, and that the server accepts mail for it from smtp.username",
    )


def _close(client: smtplib.SMTP) -> None:
    # after a failure the server may already be gone; nothing more to tell
    try:
        client.quit()
    except (OSError, smtplib.SMTPException):
        with contextlib.suppress(OSError):
            client.close()
