"""`mailer web`: the network to look at, served on 127.0.0.1 to its owner only.

`charts` draws (pure SVG text), `views` gathers what each page shows from the
App, `server` speaks HTTP: the access token, the session cookie, CSRF, and
the forms, whose changes go through the same use cases as the CLI and email.
"""
