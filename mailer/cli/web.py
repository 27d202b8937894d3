"""`mailer web`: start the dashboard (mailer/web/) and print its one URL."""

from __future__ import annotations

import click

from mailer.cli.base import Ctx, cli, pass_ctx
from mailer.errors import UsageError

DEFAULT_PORT = 8765


@cli.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=DEFAULT_PORT,
    show_default=True,
    help="port on 127.0.0.1 (0: any free one)",
)
@click.option("--dry-run", is_flag=True, help="print the URL it would serve, and exit")
@pass_ctx
def web(obj: Ctx, port: int, dry_run: bool) -> None:
    """Serve the dashboard on 127.0.0.1 until Ctrl-C; open the URL it prints (it holds
    the access token: only that browser gets in)."""
    from mailer.web import server

    sessions = server.Sessions()
    if dry_run:
        click.echo(f"http://{server.HOST}:{port}/?token={sessions.token}")
        return
    app = obj.app
    app.store.stats()  # a missing or damaged store is one line now, not an error page later
    try:
        httpd = server.make_server(app, port, sessions)
    except OSError as e:
        raise UsageError(
            f"cannot listen on {server.HOST}:{port}: {e.strerror}", hint="try another --port"
        ) from None
    click.echo(server.url(httpd, sessions), nl=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        httpd.server_close()
