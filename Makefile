# mailer: `make demo` runs it on a bundled sample; `make test` installs what it needs and tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
DEMO := demo-out
DEMO_NOW := 2026-11-20T09:00:00Z

.PHONY: all venv deps check test test-unit demo bench clean

all: test

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml constraints.txt | $(BIN)/python
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c constraints.txt -e '.[test]'
	touch $@

venv: $(VENV)/.installed

# Dovecot is the real IMAP server the tests start on 127.0.0.1; Chromium and its driver run
# the dashboard's browser test; systemd-analyze (Debian's systemd package, not started)
# verifies the unit `mailer init --systemd` writes. Installing needs root or sudo; without
# them those tests skip (fail in CI).
deps: venv
	@missing=""; \
	if ! command -v dovecot >/dev/null 2>&1 && [ ! -x /usr/sbin/dovecot ]; then missing="$$missing dovecot-imapd openssl"; fi; \
	if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then missing="$$missing chromium chromium-driver"; fi; \
	if ! command -v systemd-analyze >/dev/null 2>&1; then missing="$$missing systemd"; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "missing Debian packages:$$missing: run 'sudo apt-get install$$missing' (their tests skip without them)"; \
	  fi; \
	fi

check: venv
	$(BIN)/ruff check mailer tests
	$(BIN)/ruff format --check mailer tests
	$(BIN)/mypy mailer

# unit: no server, no subprocess (fast); system: Dovecot, SMTP, subprocesses, the corpus
test: deps check
	$(BIN)/pytest -q tests/unit
	$(BIN)/pytest -q tests/system

test-unit: venv
	$(BIN)/pytest -q tests/unit

demo: venv
	@rm -rf $(DEMO) && mkdir -p $(DEMO)
	$(BIN)/python tests/support/mailgen.py maildir $(DEMO)/Maildir
	@printf '[me]\nname = "Pat Doe"\naddresses = ["pat.doe@example.org"]\n\n[store]\npath = "%s/mailer.json"\n\n[drafts]\nmaildir = "%s/Drafts"\n\n[rules]\ntimezone = "Europe/Berlin"\n\n[commands]\naddress = "pat.doe+mailer-demo7q@example.org"\n' "$(CURDIR)/$(DEMO)" "$(CURDIR)/$(DEMO)" > $(DEMO)/config.toml
	@echo; echo "== import the sample mailbox"
	MAILER_NOW=$(DEMO_NOW) $(BIN)/mailer --config $(DEMO)/config.toml import maildir $(DEMO)/Maildir
	@echo; echo "== what mailer learned"
	MAILER_NOW=$(DEMO_NOW) $(BIN)/mailer --config $(DEMO)/config.toml contacts list
	@echo; echo "== who is due, and why"
	MAILER_NOW=$(DEMO_NOW) $(BIN)/mailer --config $(DEMO)/config.toml due
	@echo; echo "== write the drafts (into $(DEMO)/Drafts, a Maildir)"
	MAILER_NOW=$(DEMO_NOW) $(BIN)/mailer --config $(DEMO)/config.toml drafts run
	@echo; echo "== one of them"
	@$(BIN)/python tests/support/mailgen.py show $(DEMO)/Drafts
	@echo; echo "== the digest you would get this morning (reply to it with the indented lines)"
	MAILER_NOW=$(DEMO_NOW) $(BIN)/mailer --config $(DEMO)/config.toml digest preview
	@echo; echo "== status"
	MAILER_NOW=$(DEMO_NOW) $(BIN)/mailer --config $(DEMO)/config.toml status
	@echo; echo "== the dashboard (\`mailer web\` serves it until Ctrl-C; this only prints its URL)"
	MAILER_NOW=$(DEMO_NOW) $(BIN)/mailer --config $(DEMO)/config.toml web --dry-run

# BENCH_ARGS, e.g. "--messages 1000000 --contacts 20000" (long; needs a few GB of /dev/shm)
bench: deps
	$(BIN)/python tests/bench/bench.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) $(DEMO) .pytest_cache .mypy_cache .ruff_cache .hypothesis
