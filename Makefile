# Hypertube: `make run` starts the demo server, `make test` runs every check.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# wapiti (the web scanner the security tests run) pins its own aiohttp and cryptography: own venv.
SCANNERS := .venv-scanners

.PHONY: setup run test lint bench static clean browser messages cluster cluster-stop scanners screens

setup: $(STAMP) static

$(STAMP): setup.cfg pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[test]'
	touch $(STAMP)

static: static/vendor/.built static/vendor/.compressed

static/vendor/.built: package.json package-lock.json
	npm install --no-audit --no-fund --loglevel=error
	mkdir -p static/vendor
	cp node_modules/socket.io-client/dist/socket.io.esm.min.js static/vendor/socket.io.esm.min.js
	cp node_modules/hls.js/dist/hls.mjs static/vendor/hls.mjs
	mkdir -p static/vendor/swagger-ui
	cp node_modules/swagger-ui-dist/swagger-ui.css node_modules/swagger-ui-dist/swagger-ui-bundle.js static/vendor/swagger-ui/
	cp node_modules/swagger-themes/themes/dark.css static/vendor/swagger-ui/swagger-ui-dark.css
	touch static/vendor/.built

# The bundles are large (hls.js 1.3 MB, Swagger UI 1.5 MB); the static route serves a file's .gz beside it
# to browsers that accept gzip. Only these built files: a hand-edited script must never meet a stale copy.
static/vendor/.compressed: static/vendor/.built
	gzip -9 -k -f static/vendor/*.js static/vendor/*.mjs static/vendor/swagger-ui/*.js static/vendor/swagger-ui/*.css
	touch static/vendor/.compressed

scanners: $(SCANNERS)/.installed

$(SCANNERS)/.installed:
	test -x $(SCANNERS)/bin/python || $(PY) -m venv $(SCANNERS)
	$(SCANNERS)/bin/pip install -q --upgrade pip
	$(SCANNERS)/bin/pip install -q 'wapiti3==3.2.3'
	touch $@

run: setup
	$(BIN)/hypertube serve --demo

browser:
	@if [ ! -x /usr/bin/chromium ]; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-dejavu-core >/dev/null; \
	  else echo "chromium missing: install Debian's chromium package" >&2; fi; fi

lint: setup
	$(BIN)/ruff check hypertube tests bench scripts
	$(BIN)/mypy

test: setup browser scanners lint
	$(BIN)/python -m pytest -q -p no:cacheprovider $(PYTEST_ARGS)

bench: setup
	@if ! command -v ffmpeg >/dev/null; then \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null; \
	  else echo "ffmpeg missing (the transcoding benchmark compares with it): install Debian's ffmpeg package" >&2; fi; fi
	$(BIN)/python -m bench

# Traefik on $$HYPERTUBE_CLUSTER_PORT (8080) in front of nodes n1 and n2; see README "Several nodes".
cluster: setup
	$(BIN)/python -m hypertube.cluster.local start

cluster-stop:
	$(BIN)/python -m hypertube.cluster.local stop

# Screenshots of every page, dark and light, 1280 and 360 px wide, into docs/screens/ (WebP), taken from a
# demo server it starts (data in var/screens). `SCREENS_ARGS="--url http://127.0.0.1:8000"` uses a running one.
screens: setup browser
	$(BIN)/python scripts/screens.py $(SCREENS_ARGS)

# Translations: extract every marked string, then merge it into each catalog (translate the new empty
# msgstr entries in locales/*/LC_MESSAGES/messages.po; the app reads .po files directly, nothing to compile).
messages: setup
	$(BIN)/pybabel extract -F babel.cfg --ignore-dirs='.* _* node_modules var static tests bench' \
	  -k N_ --sort-by-file --no-wrap --project=Hypertube --version=0.1 -o locales/messages.pot .
	$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages --no-wrap --no-fuzzy-matching \
	  --ignore-obsolete

clean:
	rm -rf $(VENV) $(SCANNERS) node_modules static/vendor
