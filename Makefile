# The two commands of the README's quick start:
#   make book   set up .venv if needed, execute every chapter, build the HTML book
#   make test   set up .venv if needed, run the whole test suite
# Both are idempotent: set-up reruns only when the lock file or pyproject.toml changed,
# and the book re-executes only the chapters whose code changed (jupyter-cache).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

# Keep TensorFlow's start-up chatter out of logs and pages.
export TF_CPP_MIN_LOG_LEVEL := 2
export PYTHONHASHSEED := 0
# Trainings run silently in the book's kernels and the tests (mt.train.progress_verbosity);
# `make lab` unsets it, so a reader there sees a line per epoch.
export MMTUTORIAL_QUIET := 1

.PHONY: book catalogues notebooks test test-fast test-backends test-hosted check-seeds bench bench-quick lint format lab lock clean help
.DEFAULT_GOAL := help

help:
	@echo "make book   build the HTML book into _build/html (sets up .venv first)"
	@echo "make test   run the whole test suite (sets up .venv first)"
	@echo "make catalogues  refresh the Chinese edition's catalogues (locales/zh_CN) from the English"
	@echo "                 sources and report what is untranslated or fuzzy, page by page"
	@echo "make test-fast  the package's tests only, on two processes (no book build, browser, notebooks, JAX run or hosted run)"
	@echo "make test-backends  every layer and fit on Keras's JAX backend (make test runs a representative subset; slow)"
	@echo "make test-hosted  every chapter installed and run as on Colab, offline (slow)"
	@echo "make check-seeds  re-execute every chapter with SEED = 0..4 and report failed claims (slow;"
	@echo "                  SEEDS=\"5 6\" tries other seeds, NOTEBOOKS=book/faq.ipynb one chapter)"
	@echo "make bench  measure training speed, FLOP/s and the book's build times (python -m benchmarks)"
	@echo "make lint   ruff's lint and format checks (make format applies the formatting)"
	@echo "make notebooks  the reader notebooks alone, into _build/notebooks (make book writes them too)"
	@echo "make lab    open the reader notebooks in JupyterLab (builds them first)"
	@echo "make lock   re-resolve requirements-lock.txt from pyproject.toml"
	@echo "make clean  remove _build (keeps .venv)"

$(STAMP): requirements-lock.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "Python 3.11 or newer is needed; found " + sys.version.split()[0] + " (set PYTHON=/path/to/python3.x)")'
	@mkdir -p $(VENV) && date +%s > $(VENV)/.setup-start
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . || \
		$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mmtutorial)" >/dev/null
	@# The build backend the lock pins, as a wheel: tests/test_hosted.py serves it from its
	@# stand-in package index, where installing the package from its repository needs it.
	rm -rf $(VENV)/build-backend
	$(BIN)/python -m pip download --quiet --no-deps --only-binary :all: --dest $(VENV)/build-backend \
		$$(grep -E '^setuptools==' requirements-lock.txt)
	@# How long this set-up took: tests/conftest.py reports it among the suite's phases.
	@echo $$(( $$(date +%s) - $$(cat $(VENV)/.setup-start) )) > $(VENV)/.setup-seconds
	@touch $@

# axe-core, the accessibility engine tests/test_browser.py injects into every page,
# at the version package-lock.json pins (npm ci never re-resolves).
NODE_STAMP := node_modules/.installed

$(NODE_STAMP): package.json package-lock.json
	npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	@touch $@

# jupyter-cache keys a chapter on its own code only: when the package (any file
# under mmtutorial/, sub-packages and shipped data included) or the environment
# changes, start the build afresh so no page shows stale outputs.
PACKAGE_FILES := $(shell find mmtutorial -type f ! -name '*.pyc' ! -path '*/__pycache__/*')

_build/.sources: $(STAMP) $(PACKAGE_FILES)
	rm -rf _build
	mkdir -p _build
	@touch $@

# The English book, then the Chinese edition (tools/translation.py build) into
# _build/html/zh_CN from the same jupyter-cache: no chapter executes twice.
book: $(STAMP) _build/.sources
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going
	$(BIN)/python -m tools.translation build _build
	@echo
	@echo "The book is at $(CURDIR)/_build/html/index.html"
	@echo "The Chinese edition is at $(CURDIR)/_build/html/zh_CN/index.html"
	@echo "The reader notebooks are in $(CURDIR)/_build/notebooks (Chinese: _build/notebooks/zh_CN)"

# The Chinese edition's catalogues (locales/zh_CN/LC_MESSAGES/<page>.po) after English edits:
# Sphinx's gettext builder extracts the prose (no execution), sphinx-intl merges it into
# the catalogues, and the check names each page with untranslated or fuzzy messages.
catalogues: $(STAMP)
	$(BIN)/python -m tools.translation catalogues

# The reader notebooks (book/_ext/reader_notebooks.py): every build writes them with the
# HTML. This target regenerates them from the last build's environment alone, and builds
# the book first (executing only the chapters whose code changed) when nothing was built
# yet or a chapter, the bibliography or the configuration changed since.
ENVIRONMENT := _build/.doctrees/environment.pickle
notebooks: $(STAMP) _build/.sources
	@if [ ! -f $(ENVIRONMENT) ] || [ -n "$$(find book/*.ipynb book/*.md book/*.bib _config.yml \
		_toc.yml locales -type f ! -name '*.mo' -newer $(ENVIRONMENT) -print -quit)" ]; then \
		$(MAKE) --no-print-directory book; \
	else \
		$(BIN)/python book/_ext/reader_notebooks.py _build; \
	fi

# The seconds of each phase go to test-artifacts/test-phases.json, which `make bench`
# adds to its figures for the Performance page.
TEST_PHASES := test-artifacts/test-phases.json
test: $(STAMP) $(NODE_STAMP) lint
	MMTUTORIAL_TEST_PHASES=$(TEST_PHASES) $(BIN)/python -m pytest

# Every chapter executes once: alone in an empty folder under nbval, a worker per CPU
# core (MMTUTORIAL_NOTEBOOK_WORKERS=N to change it), while the unit tests run; the
# book is then built from those executed notebooks (tests/conftest.py).

# Every chapter installed and run as on a hosted service, the chapters taking the index
# and the repository in turn, a hosted environment per CPU core (tests/test_hosted.py;
# make test runs one representative chapter both ways).
test-hosted: $(STAMP)
	MMTUTORIAL_HOSTED_ALL=1 $(BIN)/python -m pytest tests/test_hosted.py

# The package's unit tests and doctests: what to run after every change (pytest-xdist,
# two worker processes; FAST_WORKERS=0 runs them in this process).
FAST_WORKERS ?= 2
test-fast: $(STAMP)
	$(BIN)/python -m pytest -n $(FAST_WORKERS) -m "not book and not browser and not notebooks and not backends and not hosted"

# Every layer through Keras's harness and every fit on the JAX backend (tests/test_backends.py;
# make test runs a representative subset of them).
test-backends: $(STAMP)
	MMTUTORIAL_BACKENDS_ALL=1 $(BIN)/python -m pytest tests/test_backends.py

# Every chapter re-executed with each of SEEDS: each claim must hold for all of them (slow).
# The claims are checked on seeds 0..4; try them on seeds they were never tuned on with
# `make check-seeds SEEDS="5 6 7"`, and on some chapters only with NOTEBOOKS="book/faq.ipynb ...".
SEEDS ?= 0 1 2 3 4
NOTEBOOKS ?=
check-seeds: $(STAMP)
	$(BIN)/python -m tools.check_seeds --seeds $(SEEDS) $(if $(strip $(NOTEBOOKS)),--notebooks $(NOTEBOOKS))

# Speed figures for the book's Performance page: writes benchmarks/results/$(BENCH_NAME).json.
BENCH_NAME ?= cpu
bench: $(STAMP)
	$(BIN)/python -m benchmarks --json benchmarks/results/$(BENCH_NAME).json \
		$(if $(wildcard $(TEST_PHASES)),--test-phases $(TEST_PHASES))

bench-quick: $(STAMP)
	$(BIN)/python -m benchmarks --quick

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# A reader's JupyterLab: the reader notebooks (what Colab and Binder open too), with
# training progress shown (MMTUTORIAL_QUIET is unset there).
lab: notebooks
	env -u MMTUTORIAL_QUIET $(BIN)/jupyter lab _build/notebooks/

lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra book --extra test --universal \
		--python-version 3.11 --quiet -o requirements-lock.txt

clean:
	rm -rf _build
