# datacraft: `make demo` and `make test` set everything up themselves (Python 3.11).
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
EXTRAS ?= train,dev
comma := ,
STAMP := $(VENV)/.installed-$(subst $(comma),-,$(EXTRAS))

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

# Only the tests marked slow (heavy trainings, subprocess TensorFlow, end-to-end docs runs): `make test` skips them.
.PHONY: bench-tests
bench-tests: install
	$(BIN)/python -m pytest -q -p no:cacheprovider -m slow

lint: install
	$(BIN)/ruff check datacraft tests bench
	$(BIN)/ruff format --check datacraft tests bench

format: install
	$(BIN)/ruff format datacraft tests bench
	$(BIN)/ruff check --fix datacraft tests bench

demo: install
	$(BIN)/datacraft run pipelines/demo.yaml
	@echo "curated Parquet: out/demo/data (after dedup: out/demo-dedup/data); dropped documents with stage and"
	@echo "reason: out/demo/rejected and out/demo-dedup/rejected; counts: out/demo/stats.json. Next: make report-demo"

bench: install
	$(BIN)/python bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf out bench/out

# --- workflow targets (issue 8) ---
# curate → dedup → train → evaluate → report, chained through the files each step writes, so that
# `make -j4 workflow-demo` runs independent steps in parallel and a rerun redoes only what is out of
# date. A step's stamp is the file written last and atomically by its command (stats.json, report.html;
# `touch` after training, `mv` after evaluation), so a killed step never looks done; rerun it and the
# command itself resumes. Stamps track the pipeline YAML, the bundled inputs and the train config, not
# the code: after changing datacraft itself, force with `make -B`.
#   make curate-demo     out/demo/stats.json            datacraft run pipelines/demo.yaml
#   make dedup-demo      out/demo-dedup/stats.json      datacraft dedup out/demo out/demo-dedup
#   make train-demo      out/demo-model.done            datacraft train out/demo-dedup --config … --out out/demo-model
#   make evaluate-demo   out/demo-eval.json             datacraft evaluate out/demo-model out/demo-dedup --json
#   make report-demo     out/demo/report.html           datacraft report out/demo
#   make workflow-demo   all of the above (and the report of the deduplicated run)
#   make report-screenshot                             PNG of a report in headless Chromium
WORKFLOWS ?= demo books
WORKFLOW_INPUTS ?= $(wildcard data/sample/*)
TRAIN_CONFIG ?= configs/train-demo.yaml
DATACRAFT := $(BIN)/datacraft

define WORKFLOW_TARGETS
.PHONY: curate-$(1) dedup-$(1) train-$(1) evaluate-$(1) report-$(1) workflow-$(1)
curate-$(1): out/$(1)/stats.json
dedup-$(1): out/$(1)-dedup/stats.json
train-$(1): out/$(1)-model.done
evaluate-$(1): out/$(1)-eval.json
report-$(1): out/$(1)/report.html
workflow-$(1): out/$(1)/report.html out/$(1)-dedup/report.html out/$(1)-eval.json
endef
$(foreach w,$(WORKFLOWS),$(eval $(call WORKFLOW_TARGETS,$(w))))

# A changed pipeline replaces the earlier output (--force); an interrupted run resumes (no stats.json yet).
out/%/stats.json: pipelines/%.yaml $(WORKFLOW_INPUTS) | $(STAMP)
	$(DATACRAFT) run $< --output $(@D) --quiet $(if $(wildcard $@),--force)

out/%-dedup/stats.json: out/%/stats.json | $(STAMP)
	$(DATACRAFT) dedup out/$* $(@D)

out/%-model.done: out/%-dedup/stats.json $(wildcard $(TRAIN_CONFIG)) | $(STAMP)
	$(DATACRAFT) train out/$*-dedup --config $(TRAIN_CONFIG) --out out/$*-model --quiet
	touch $@

out/%-eval.json: out/%-model.done | $(STAMP)
	$(DATACRAFT) evaluate out/$*-model out/$*-dedup --split val --json > $@.tmp
	mv $@.tmp $@

out/%/report.html: out/%/stats.json | $(STAMP)
	$(DATACRAFT) report $(@D) --quiet

CHROMIUM ?= $(shell command -v chromium || command -v chromium-browser || command -v google-chrome)
SCREENSHOT_RUN ?= out/demo
SCREENSHOT_SIZE ?= 1280,16000
# A tall window captures the whole page (up to 16000 px); the blank bottom is trimmed afterwards.
.PHONY: report-screenshot
report-screenshot: $(SCREENSHOT_RUN)/report.png

%/report.png: %/report.html
	@test -n "$(CHROMIUM)" || { echo "no Chromium found: apt-get install chromium, or set CHROMIUM=/path" >&2; exit 1; }
	profile=$$(mktemp -d); \
	$(CHROMIUM) --headless --no-sandbox --disable-gpu --disable-quic --no-first-run --disable-background-networking \
	  --disable-component-update --disable-sync --hide-scrollbars --user-data-dir=$$profile \
	  --window-size=$(SCREENSHOT_SIZE) --screenshot=$(abspath $@.tmp.png) file://$(abspath $<) 2>/dev/null; \
	rc=$$?; rm -rf $$profile; test $$rc -eq 0 && $(BIN)/python -m datacraft.report.trim $@.tmp.png >/dev/null \
	  && mv $@.tmp.png $@ && echo "screenshot: $@"

# --- ablation and model-based quality filtering (issue 9) ---
#   make ablate-demo          raw vs curated LM, same token budget, held-out Gutenberg chapters → out/ablate/runs
#   make quality-model        quality classifier on ../shared/data/quality (label 1 good / 0 bad) → out/quality-model
#   make model-quality-demo   pipelines/model-quality.yaml with that classifier → out/model-quality
ABLATE_TOKENS ?= 200000
.PHONY: ablate-demo quality-model model-quality-demo
ablate-demo: install
	$(BIN)/python bench/ablate_bench.py --out out/ablate --tokens $(ABLATE_TOKENS)

quality-model: out/quality-model.done

out/quality-model.done: out/quality-data/stats.json configs/train-quality.yaml | $(STAMP)
	$(DATACRAFT) train out/quality-data --config configs/train-quality.yaml --out out/quality-model --quiet
	touch $@

model-quality-demo: out/quality-model.done
	$(DATACRAFT) run pipelines/model-quality.yaml $(if $(wildcard out/model-quality/stats.json),--force)
