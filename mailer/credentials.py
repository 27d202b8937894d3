"""Where the IMAP password comes from, so it never has to sit in the config file.

Order: `password_command`, then the keyring (when `keyring = true`), then the
environment variable `password_env` (default MAILER_PASSWORD).
"""

from __future__ import annotations

import os
import shlex
import subprocess

from mailer.config import Account
from mailer.errors import ConfigError


def _run(command: str, what: str, timeout: int) -> str:
    try:
        out = subprocess.run(
            shlex.split(command), capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, ValueError) as e:
        raise ConfigError(f"{what} {command!r} cannot run: {e}") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(f"{what} {command!r} did not finish within {timeout} s") from None
    if out.returncode != 0:
        err = (out.stderr.strip().splitlines() or [""])[-1]
        raise ConfigError(f"{what} {command!r} failed with exit code {out.returncode}: {err}")
    line = out.stdout.splitlines()[0] if out.stdout else ""
    if not line:
        raise ConfigError(f"{what} {command!r} printed nothing")
    return line


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
        secret = keyring_module.get_password("mailer", username)
        if not secret:
            raise ConfigError(
                f"no password in the keyring for service 'mailer', user {username!r}",
                hint=f"store one with: keyring set mailer {username}",
            )
        return str(secret)
    secret = os.environ.get(password_env)
    if not secret:
        raise ConfigError(
            f"no password: the environment variable {password_env} is not set",
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
