# datacraft: `make demo` and `make test` set everything up themselves (Python 3.11).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= train,dev
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))
comma := ,

.PHONY: install test test-all test-ray lint format demo bench clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[$(EXTRAS)]'
	touch $@

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

# Ray executor tests (`-m ray`) need the ray extra; `make test` runs them too once it is installed.
test-ray:
	$(MAKE) install EXTRAS=$(EXTRAS),ray
	$(BIN)/python -m pytest -q -p no:cacheprovider -m ray

test-all: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -m ''

lint: install
	$(BIN)/ruff check datacraft tests bench
	$(BIN)/ruff format --check datacraft tests bench

format: install
	$(BIN)/ruff format datacraft tests bench
	$(BIN)/ruff check --fix datacraft tests bench

demo: install
	$(BIN)/datacraft run pipelines/demo.yaml
	@echo "curated Parquet in out/demo/data, dropped documents in out/demo/rejected, stats in out/demo/stats.json"

bench: install
	$(BIN)/python bench/run_all.py

clean:
	rm -rf out bench/out
