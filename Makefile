# mmsim: `make lab` launches the course, `make test` sets up and runs every test.
SHELL  := /bin/bash
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: help venv lab test browser-deps uml-deps qemu-deps build-deps kernels lint bench strip clean

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

# The 6.1 differential tests boot Debian's user-mode Linux kernel (/usr/bin/linux.uml), installed the same
# polite way; without it the uml tests skip (fail under CI=true).
uml-deps:
	@if command -v linux.uml >/dev/null 2>&1 || [ -x /usr/bin/linux.uml ]; then \
	  echo "uml-deps: linux.uml is installed"; \
	elif [ "$$(uname -m)" != x86_64 ]; then echo "uml-deps: user-mode-linux is x86-64 only: the uml tests skip"; \
	else bash .ci/install-system-packages "the Linux 6.1 differential tests (tests/test_live_uml.py skip without it; \
	  under CI=true they fail)" user-mode-linux; fi

# The qemu target (mmsim.live.qemu) boots Debian's kernels under qemu's TCG with a static busybox initramfs; the
# kernels mmsim builds from Debian's source (mmsim.live.build) need flex, bison and bc besides make and gcc.
# Installed the same polite way; without them the qemu tests skip (fail under CI=true).
qemu-deps:
	@bash .ci/install-system-packages "the qemu live target (5.10, 6.1 and 6.12 under qemu; the qemu tests skip \
	  without it, under CI=true they fail)" qemu-system-x86 busybox-static

build-deps:
	@bash .ci/install-system-packages "building the 5.10 guest kernels with and without ea2c3f6f5545 (their tests \
	  skip without them, under CI=true they fail)" make gcc flex bison bc

# The guest kernels, once: Debian's 5.10, 6.1 and 6.12 images (~235 MB from Debian's archive, with a private apt
# state) and the two 5.10 kernels built from linux-source-5.10 (~120 MB; ~2.5 min on 2 cores), all cached in
# $$MMSIM_CACHE or ~/.cache/mmsim. Off a Debian-like host this fails; the qemu tests then skip (fail under CI=true).
kernels: venv
	@$(BIN)/mmsim kernels --fetch || { [ "$$CI" != true ] && echo "kernels: not available here; the qemu tests skip"; }

# Tiers, fastest first, so that a failure shows within a minute and the run never looks stalled:
#   1. ruff and mypy, doctests and the fast unit/property tests;  2. system packages (what apt would change is
#      printed first) and the guest kernels (make kernels), so that the notebooks' live parts can run too;
#   3. the fast tests again on the mypyc-compiled core (.ci/compiled-tier; gcc comes with tier 2), the slow tests
#      and the notebooks (nbval);  4. the website build;
#   5. the live differential tests (this kernel; 5.10, 6.1, 6.12 and the reverted 5.10 under qemu; 6.1 under user-mode
#      Linux where it boots);  6. the browser tier.
# Each tier is one pytest run; make stops at the first tier that fails.
PYTEST := $(BIN)/python -m pytest -p no:cacheprovider
test: venv
	@echo "== tier 1/6: lint (ruff, mypy), doctests, unit and property tests"
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(PYTEST) --doctest-modules mmsim -q
	$(PYTEST) tests -q -m "not live and not browser and not slow" --ignore=tests/browser
	@echo "== tier 2/6: system packages for the live and browser tiers, and the guest kernels"
	$(MAKE) --no-print-directory browser-deps uml-deps qemu-deps build-deps
	$(MAKE) --no-print-directory kernels
	@echo "== tier 3/6: the fast tests on the compiled core (mypyc), slow tests and the notebooks (nbval)"
	bash .ci/compiled-tier
	$(PYTEST) tests -q -m "slow and not live and not browser" --ignore=tests/browser
	$(PYTEST) notebooks -q --nbval-lax --nbval-current-env
	@echo "== tier 4/6: the website (make site)"
	$(MAKE) --no-print-directory site
	@echo "== tier 5/6: live differential tests (this kernel; guest kernels under qemu and user-mode Linux)"
	$(PYTEST) tests -q -m "live" --ignore=tests/browser
	@echo "== tier 6/6: the browser tier (JupyterLab and the website in chromium)"
	$(PYTEST) tests/browser -q -m "browser"

# The course website: stages site/, docs/, notebooks/ and the API pages in build/site-src/, then runs
# sphinx-build -W --keep-going (MyST-NB executes the notebooks, cached in build/site-cache/). Offline.
.PHONY: site
site: venv
	$(BIN)/python site/build.py

# docs/semantics.md carries two tables generated from mmsim.profiles (the profiles and the releases they model;
# the features): this rewrites them between their markers; tests/test_semantics_doc.py checks they are current.
.PHONY: docs-tables
docs-tables: venv
	$(BIN)/python -c "from mmsim.profiles import update_doc_tables; update_doc_tables('docs/semantics.md')"

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
