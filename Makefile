# Venn: `make serve` runs the server on embedded defaults, `make test` runs the whole suite.
PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8000

.PHONY: serve test lint lock install install-dev web bench soak clean

# Exact versions with hashes, the ones CI tested: `make serve` and `make test` install
# from them; `make lock` refreshes them from pyproject.toml (README, "Dependencies").
LOCK     := requirements.lock
LOCK_DEV := requirements-dev.lock

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml $(LOCK) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml $(LOCK_DEV) | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r $(LOCK_DEV)
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@ $(VENV)/.installed

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

# The web client's npm packages (web/node_modules), and the SQL agent's chart libraries
# (plugins/sql_agent/web/node_modules: Vega, Vega-Lite, vega-embed, served with the plugin's
# web files). Without npm the server still starts: the API works, / says how to install
# the client, and SQL results show as tables (their charts as PNG/SVG from the API).
# $(call npm_install,FOLDER,FILE IT INSTALLS,WHAT)
define npm_install
	@if [ -f $(2) ] && [ $(1)/node_modules/.package-lock.json -nt $(1)/package-lock.json ]; then :; \
	elif command -v npm >/dev/null 2>&1; then \
		echo "web: installing $(3) (npm ci in $(1))"; \
		(cd $(1) && (npm ci --no-audit --no-fund --loglevel=error || npm install --no-audit --no-fund --loglevel=error)) \
		|| echo "web: npm failed in $(1); the API works, and / says how to install the web client"; \
	else echo "web: npm is not installed; the API works, and / says how to install the web client"; fi
endef
WEB_ASSET := web/node_modules/socket.io-client/dist/socket.io.esm.min.js
SQL_WEB := plugins/sql_agent/web
SQL_WEB_ASSET := $(SQL_WEB)/node_modules/vega-embed/build/vega-embed.min.js
web:
	$(call npm_install,web,$(WEB_ASSET),the web client's packages)
	$(call npm_install,$(SQL_WEB),$(SQL_WEB_ASSET),the SQL agent's chart libraries)

serve: $(VENV)/.installed web
	$(BIN)/venn serve --host $(HOST) --port $(PORT)

# pytest exits 5 when it collects nothing (e.g. a filtered run); that is not a failure.
# With VENN_TEST_WEB_DATABASE_URL (and VENN_TEST_WEB_REDIS_URL) set, as .ci/run sets them,
# the browser and plugin tests (SIDE_TESTS) run beside the others, on a database and Redis db
# of their own; their report follows the others'. The split is by measured time (about 5 + 4
# minutes against 8 + 2.5 with the reliability tests on two cores). pytest's exit 5 (nothing
# collected) is not a failure.
SIDE_TESTS := tests/web tests/plugins
test: $(VENV)/.installed-dev web
	@if [ -n "$(PYTEST_ARGS)" ] || [ -z "$$VENN_TEST_WEB_DATABASE_URL" ]; then \
		$(BIN)/python -m pytest $(PYTEST_ARGS); rc=$$?; \
		if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; rc=0; fi; exit $$rc; \
	fi; \
	log=$$(mktemp); \
	( VENN_TEST_DATABASE_URL="$$VENN_TEST_WEB_DATABASE_URL" \
	  VENN_TEST_REDIS_URL="$${VENN_TEST_WEB_REDIS_URL:-$$VENN_TEST_REDIS_URL}" \
	  $(BIN)/python -m pytest -p no:cacheprovider $(SIDE_TESTS) >"$$log" 2>&1; echo $$? >"$$log.rc" ) & \
	$(BIN)/python -m pytest $(addprefix --ignore=,$(SIDE_TESTS)); rc=$$?; \
	wait; echo; echo "== $(SIDE_TESTS), run beside the others =="; cat "$$log"; \
	web=$$(cat "$$log.rc"); rm -f "$$log" "$$log.rc"; \
	[ $$rc -eq 5 ] && rc=0; [ $$web -eq 5 ] && web=0; \
	[ $$rc -ne 0 ] && exit $$rc; exit $$web

# Layer contract (import-linter), lint and import order (ruff), types (mypy; it reads the
# packages through .typecheck/, links named as they are installed: venn_bots -> bots/).
lint: $(VENV)/.installed-dev
	$(BIN)/lint-imports
	$(BIN)/ruff check .
	@mkdir -p .typecheck && ln -sfn ../venn .typecheck/venn && ln -sfn ../bots .typecheck/venn_bots \
		&& ln -sfn ../plugins .typecheck/venn_plugins
	cd .typecheck && ../$(BIN)/mypy --config-file ../pyproject.toml -p venn -p venn_bots -p venn_plugins

# Re-resolve the newest versions pyproject.toml allows and write both lock files.
lock: $(VENV)/.installed-dev
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --upgrade \
		--quiet -o $(LOCK)
	$(BIN)/uv pip compile pyproject.toml --universal --python-version 3.11 --generate-hashes --upgrade \
		--extra dev --quiet -o $(LOCK_DEV)

bench: $(VENV)/.installed-dev
	$(BIN)/python -m bench $(BENCH_ARGS)

soak: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -m soak tests/reliability; rc=$$?; \
	if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis .typecheck .mypy_cache .ruff_cache
