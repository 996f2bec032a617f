# Tsunagi. `make demo` and `make test` are the two commands; both install first.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
APT_PACKAGES := etcd-server etcd-client nginx-light nghttp2-client openssl
STAMP := $(VENV)/.installed

.PHONY: install demo test test-unit test-integration test-e2e soak bench proto check-proto clean

install: $(STAMP)

# System packages first (only the missing ones), then the venv with the package in editable mode.
$(STAMP): pyproject.toml
	@missing=""; for p in $(APT_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "install ok installed" || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "apt-get install:$$missing"; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get update -qq && apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# Debian starts nginx on port 80 after install; the mesh only runs its own nginx in bench/.
	@if command -v service >/dev/null && pgrep -x nginx >/dev/null; then service nginx stop >/dev/null 2>&1 || true; fi
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	@touch $(STAMP)

demo: install
	$(PY) -m scripts.demo

test: install
	$(PY) -m pytest -q -p no:cacheprovider tests

test-unit: install
	$(PY) -m pytest -q tests/unit

test-integration: install
	$(PY) -m pytest -q tests/integration

test-e2e: install
	$(PY) -m pytest -q tests/e2e

soak: install
	$(PY) -m pytest -q -m soak tests

bench: install
	$(PY) -m bench.datapath

# Regenerate the committed code under mesh/v1/ from proto/.
proto: install
	$(PY) -m scripts.genproto

clean:
	rm -rf $(VENV) build *.egg-info
