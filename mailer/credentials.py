"""Where the IMAP password comes from, so it never has to sit in the config file.

Order: `password_command`, then the keyring (when `keyring = true`), then the
environment variable `password_env` (default MAILER_PASSWORD).

No message from here carries a secret: errors go to the terminal, the
daemon's log and `mailer status`, and a password pasted into the wrong key
(`password_env = "hunter2"`) or printed by a failing command must not land
there. So an environment variable is named only when its name looks like
one, a command that cannot run is not quoted, and what a command printed on
its standard output is cut out of the error line it wrote.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess

from mailer.config import Account
from mailer.errors import ConfigError

# How environment variables are named by convention; anything else (lower case,
# say) may be the password itself, so it is not shown.
_PLAIN_ENV_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")
_MAX_ERROR = 200  # characters of a command's error line shown


def _run(command: str, what: str, timeout: int) -> str:
    try:
        out = subprocess.run(
            shlex.split(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except OSError as e:
        # Not quoted: a command that is not a program may be a pasted password.
        raise ConfigError(
            f"{what} cannot run: {e.strerror or type(e).__name__}",
            hint="its first word must be a program (e.g. pass show mail)",
        ) from None
    except ValueError as e:  # shlex: unbalanced quotes
        raise ConfigError(f"{what} cannot run: {e}") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{what} {command!r} did not finish within {timeout} s") from None
    if out.returncode != 0:
        err = (out.stderr.strip().splitlines() or [""])[-1]
        for printed in out.stdout.splitlines():  # what it printed as the password
            if printed.strip():
                err = err.replace(printed.strip(), "[...]")
        err = " ".join(err.split())[:_MAX_ERROR]
        raise ConfigError(f"{what} {command!r} failed with exit code {out.returncode}: {err}")
    line = out.stdout.splitlines()[0] if out.stdout else ""
    if not line:
        raise ConfigError(f"{what} {command!r} printed nothing")
    return line


def _env_name(section: str, name: str) -> str:
    if _PLAIN_ENV_NAME.fullmatch(name):
        return f"the environment variable {name}"
    return f"the environment variable named by {section}.password_env (name not shown)"


def resolve_password(
    *,
    section: str,
    username: str,
    password_env: str,
    password_command: str | None,
    keyring: bool,
    timeout: int,
) -> str:
    """The password by the one rule of this module; errors name `section`'s keys."""
    if password_command:
        return _run(password_command, f"{section}.password_command", timeout)
    if keyring:
        try:
            import keyring as keyring_module
        except ImportError:
            raise ConfigError(
                f"{section}.keyring is true but the keyring package is not installed",
                hint=f"pip install keyring, or use {section}.password_env / password_command",
            ) from None
        try:
            secret = keyring_module.get_password("mailer", username)
        except Exception as e:  # keyring.errors.KeyringError and the backends' own
            raise ConfigError(
                f"the keyring cannot be read ({type(e).__name__})",
                hint=f"check the keyring, or use {section}.password_env / password_command",
            ) from None
        if not secret:
            raise ConfigError(
                f"no password in the keyring for service 'mailer', user {username!r}",
                hint=f"store one with: keyring set mailer {username}",
            )
        return str(secret)
    secret = os.environ.get(password_env)
    if not secret:
        raise ConfigError(
            f"no password: {_env_name(section, password_env)} is not set",
            hint=f"set it, or configure {section}.password_command or {section}.keyring",
        )
    return secret


def password(account: Account) -> str:
    return resolve_password(
        section="account",
        username=account.username,
        password_env=account.password_env,
        password_command=account.password_command,
        keyring=account.keyring,
        timeout=account.timeout,
    )


def oauth2_token(account: Account) -> str | None:
    if not account.oauth2_token_command:
        return None
    return _run(account.oauth2_token_command, "account.oauth2_token_command", account.timeout)
