# Two commands do all the set-up on a fresh machine:
#   make book   virtual environment + install + execute every chapter (SCALE=quick) + HTML in _build/html
#   make lint   ruff over the library, tests, benchmarks and chapters (part of make test)
#   make test   ruff + unit tests + every chapter through papermill at SCALE=ci + a warnings-as-errors book build
#               + that build opened in headless Chromium
#   make regression SCALE=quick [DEVICE=cuda] [CHAPTERS="01 02 12"]   chapters against book/regression/<scale>.json
#   make regression-update SCALE=quick   rewrite that reference file from the last run (on purpose only)
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jupyter-book
RUFF := $(VENV)/bin/ruff
LINT_PATHS := circuitlib tests benchmarks book tools
# CPU path: the pinned CPU wheel. GPU users: `make TORCH_SPEC=torch ...` (CUDA build from the index).
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp
CI_SRC := _build/ci/src

# The tests' pinned values were measured on torch's AVX2 CPU kernels; an AVX-512 machine takes other
# kernels whose rounding sends long training runs elsewhere (measured: the assembly tests fail there,
# and run 10x slower). Pin the kernel path so every x86 machine reproduces them (ignored elsewhere).
export ATEN_CPU_CAPABILITY ?= avx2
export MKL_ENABLE_INSTRUCTIONS ?= AVX2

.PHONY: env book lint test unit book-check benchmark regression regression-update clean

# regression runs (tools/regression.py): the scale, the chapters' DEVICE, and which chapters (default: all)
SCALE ?= quick
DEVICE ?= auto
CHAPTERS ?=

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[book,test]"
	touch $(STAMP)

env: $(STAMP)

# Cached execution: jupyter-cache re-executes only chapters whose code cells changed, with one cache per
# scale and per library version (tools/book_config.py writes the config that says where).
BOOK_SCALE := $(or $(CIRCUITLIB_SCALE),quick)
BOOK_CONFIG = _build/_config.$(BOOK_SCALE).yml

book: $(STAMP)
	$(PY) tools/book_config.py --scale $(BOOK_SCALE) --out $(BOOK_CONFIG)
	@echo "book: each chapter logs 'Executed notebook in N seconds' or 'Using cached notebook' as it goes"
	CIRCUITLIB_SCALE=$(BOOK_SCALE) $(JB) build . --all --config $(BOOK_CONFIG)

# ruff reads the chapters' code cells too; a lint error stops the run before pytest starts
lint: $(STAMP)
	$(RUFF) check $(LINT_PATHS)

# the browser tests open the book that book-check builds, so they run last
test: lint
	$(PY) -m pytest tests -m "not browser"
	$(MAKE) book-check
	$(PY) -m pytest tests -m browser

unit: $(STAMP)
	$(PY) -m pytest tests -m "not chapter and not browser"

# Build the book from the notebooks the tests executed at SCALE=ci (no second execution),
# with every Sphinx warning an error. A chapter the tests skipped (its data file is absent)
# is left out, and the build says so.
book-check: $(STAMP)
	rm -rf $(CI_SRC) && mkdir -p $(CI_SRC)
	cp -r book _toc.yml $(CI_SRC)/
	cp _build/ci/executed/*.ipynb $(CI_SRC)/book/
	for nb in book/[0-9]*.ipynb; do name=$$(basename $$nb .ipynb); \
	  if [ ! -f _build/ci/executed/$$name.ipynb ]; then \
	    echo "book-check: $$name was not executed (its data file is absent); left out of this build"; \
	    rm $(CI_SRC)/book/$$name.ipynb; sed -i "/file: book\/$$name\$$/d" $(CI_SRC)/_toc.yml; \
	  fi; done
	sed 's/^  execute_notebooks: cache/  execute_notebooks: "off"/' _config.yml > $(CI_SRC)/_config.yml
	grep -q 'execute_notebooks: "off"' $(CI_SRC)/_config.yml
	$(JB) build $(CI_SRC) --all --warningiserror --keep-going

# exits 1, naming them, when a value regressed or a chapter failed; report in _build/regression/$(SCALE).md
regression: $(STAMP)
	$(PY) tools/regression.py run --scale $(SCALE) --device $(DEVICE) --chapters "$(CHAPTERS)"

regression-update: $(STAMP)
	$(PY) tools/regression.py update --scale $(SCALE) --chapters "$(CHAPTERS)"
	$(PY) tools/results_page.py

benchmark: $(STAMP)
	$(PY) benchmarks/ring_simulation.py
	$(PY) benchmarks/glm_fit.py
	$(PY) benchmarks/assembly.py
	$(PY) benchmarks/ring_gnn.py

clean:
	rm -rf _build
