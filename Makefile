# Two commands do all the set-up on a fresh machine:
#   make book   virtual environment + install + execute every chapter (SCALE=quick) + HTML in _build/html
#   make lint   ruff over the library, tests, benchmarks and chapters (part of make test)
#   make test   ruff + unit tests + every chapter through papermill at SCALE=ci + a warnings-as-errors book build
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
JB := $(VENV)/bin/jupyter-book
RUFF := $(VENV)/bin/ruff
LINT_PATHS := circuitlib tests benchmarks book
# CPU path: the pinned CPU wheel. GPU users: `make TORCH_SPEC=torch ...` (CUDA build from the index).
TORCH_SPEC ?= torch==2.13.0
STAMP := $(VENV)/.installed-stamp
CI_SRC := _build/ci/src

.PHONY: env book lint test unit book-check benchmark clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[book,test]"
	touch $(STAMP)

env: $(STAMP)

book: $(STAMP)
	$(JB) build . --all

# ruff reads the chapters' code cells too; a lint error stops the run before pytest starts
lint: $(STAMP)
	$(RUFF) check $(LINT_PATHS)

test: lint
	$(PY) -m pytest tests
	$(MAKE) book-check

unit: $(STAMP)
	$(PY) -m pytest tests -m "not chapter"

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
	sed 's/^  execute_notebooks: force/  execute_notebooks: "off"/' _config.yml > $(CI_SRC)/_config.yml
	grep -q 'execute_notebooks: "off"' $(CI_SRC)/_config.yml
	$(JB) build $(CI_SRC) --all --warningiserror --keep-going

benchmark: $(STAMP)
	$(PY) benchmarks/ring_simulation.py
	$(PY) benchmarks/glm_fit.py
	$(PY) benchmarks/assembly.py
	$(PY) benchmarks/ring_gnn.py

clean:
	rm -rf _build
