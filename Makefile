# mmsim: `make lab` launches the course, `make test` sets up and runs every test.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv lab test browser-deps lint bench strip clean

help:
	@echo "make lab    - create .venv if needed and launch JupyterLab on notebooks/"
	@echo "make test   - create .venv if needed and run every test (unit, property, live, notebooks, browser)"
	@echo "make site   - build the course website (executed notebooks, docs, API and CLI reference) into build/site/"
	@echo "make lint   - ruff check and mypy"
	@echo "make bench  - run the benchmarks"
	@echo "make strip  - strip outputs from notebooks/*.ipynb"
	@echo "make clean  - remove .venv and build/test debris"

# Reinstalls only when pyproject.toml changes.
venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install -e '.[test,lab,dev]'
	touch $@

# Jupyter refuses to run as root unless told to (as on the project's machines).
LAB_ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root)

lab: venv
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.root_dir=notebooks $(LAB_ROOT_FLAG)

# The browser tier uses Debian's chromium at /usr/bin/chromium (playwright downloads no browser).
# .ci/install-system-packages prints what apt would install before installing it, installs without
# recommends and with every installed package pinned at its version (it never upgrades one unless a
# dependency needs it and MMSIM_SYSTEM_PACKAGES_UPGRADE=1 or CI=true allows it), and only as root with
# apt-get. MMSIM_NO_SYSTEM_PACKAGES=1 skips it; without chromium the browser tests skip (fail under CI=true).
browser-deps:
	@if [ -x /usr/bin/chromium ]; then echo "browser-deps: /usr/bin/chromium is installed"; \
	else bash .ci/install-system-packages "the browser tests (tests/browser skip without it; under CI=true they fail)" \
	  chromium; fi

# One pytest run over tests/ and the notebooks: it fails if anything fails,
# and pytest's exit 5 (no tests collected) is non-zero, so it fails too.
test: venv browser-deps
	$(BIN)/python -m pytest tests notebooks --nbval-lax --nbval-current-env
	$(BIN)/python -m pytest --doctest-modules mmsim -q

# The course website: stages site/, docs/, notebooks/ and the API pages in build/site-src/, then runs
# sphinx-build -W --keep-going (MyST-NB executes the notebooks, cached in build/site-cache/). Offline.
.PHONY: site
site: venv
	$(BIN)/python site/build.py

lint: venv
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: venv
	@if [ ! -f benchmarks/run_all.py ]; then echo "benchmarks/run_all.py does not exist yet"; exit 1; fi
	$(BIN)/python benchmarks/run_all.py

strip: venv
	$(BIN)/nbstripout notebooks/*.ipynb

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .hypothesis .ruff_cache test-artifacts
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +

# The slide deck (slides/core-story.ipynb: the bug, the fix, the trade-off) as reveal.js HTML, offline: reveal.js
# comes from the sphinx-revealjs package (a test dependency) and is copied beside the HTML. Output: build/slides/.
.PHONY: slides
slides: venv
	$(BIN)/python slides/build.py
