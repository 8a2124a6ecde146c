# e-Mitra Plus kiosk. `make run` and `make test` install what they need and are safe to repeat.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := python3-venv python3-dev gcc swig libgl1-mesa-dri libegl1 libmtdev1 \
	fonts-noto-core fonts-lohit-deva fonts-dejavu-core libfribidi0 libzbar0 pcscd \
	libpcsclite-dev vsmartcard-vpcd socat xvfb xauth systemd espeak-ng prometheus
# What `make deb` and tests/test_deb.py need (build, check, install the Debian package).
DEB_PACKAGES := debhelper dpkg-dev lintian python3-venv python3-dev libpcsclite-dev acl
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: run test soak bench lint deps apt venv deb lock install-units clean

deps: apt venv

apt:
	@missing=""; for p in $(APT_PACKAGES) $(DEB_PACKAGES); do \
		dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing >/dev/null; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

# The kiosk on simulated hardware with the local reference central API. Without a display it
# runs the headless demo: one paid bill, receipt and voucher rendered to PNG.
run: deps
	@if [ -n "$$DISPLAY" ]; then $(PY) -m sim demo; else $(PY) -m sim demo --headless; fi

# The PC/SC tests run in a pytest process of their own: pyscard's monitor threads cannot be
# stopped and outlive those tests, and on Python 3.11 their tracebacks (which call ast.parse)
# race with ast.parse in other tests ("AST constructor recursion depth mismatch").
PCSC_TESTS := tests/test_card_pcsc.py tests/test_card_payment.py tests/test_card_flow.py \
	tests/test_ui_card.py tests/faults/test_random_kill_card.py

test: deps
	$(PY) -m pytest -q $(addprefix --ignore=,$(PCSC_TESTS))
	$(PY) -m pytest -q $(PCSC_TESTS)

# Power cuts at random moments of a payment: 300 runs over CCNET cash, eSSP cash and card (100
# each; `make test` runs 30). Every run prints its seed; EMITRA_KILL_SEED=<seed> replays it.
SOAK_RUNS ?= 300
soak: deps
	$(PY) -m pytest -q tests/faults/test_random_kill.py --runs $(SOAK_RUNS); cash=$$?; \
	$(PY) -m pytest -q tests/faults/test_random_kill_card.py --runs $(SOAK_RUNS); card=$$?; \
	exit $$(( cash || card ))

bench: deps
	$(PY) -m bench all

lint: deps
	$(VENV)/bin/ruff check .

# emitra-kiosk_<version>_all.deb here (debian/make-deb builds a copy of the tree in build/deb).
# The wheels in it are for this machine's platform and Python: build on the kiosks' kind.
deb: apt
	@deb="$$(debian/make-deb build/deb)" && mv "$$deb" . && echo "built $$(basename $$deb)"

# requirements.lock from setup.cfg's install_requires, every file pinned by its sha256.
lock: venv
	$(PY) -m pip install -q pip-tools
	$(VENV)/bin/pip-compile -q --generate-hashes --allow-unsafe --strip-extras \
		--no-emit-index-url --no-emit-find-links -o requirements.lock.new setup.cfg
	{ sed -n '1,3p' requirements.lock; grep -v '^#' requirements.lock.new | sed '1{/^$$/d}'; } \
		>requirements.lock && rm requirements.lock.new

# On a real kiosk (Raspberry Pi OS / Debian): build the .deb, install it, boot to the kiosk.
install-units:
	$(SUDO) systemd/install.sh

clean:
	rm -rf var build *.egg-info .pytest_cache emitra-kiosk_*.deb
