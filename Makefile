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

.PHONY: book test lab lock clean help
.DEFAULT_GOAL := help

help:
	@echo "make book   build the HTML book into _build/html (sets up .venv first)"
	@echo "make test   run the whole test suite (sets up .venv first)"
	@echo "make lab    open the chapters in JupyterLab"
	@echo "make lock   re-resolve requirements-lock.txt from pyproject.toml"
	@echo "make clean  remove _build (keeps .venv)"

$(STAMP): requirements-lock.txt pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 10) else "Python 3.10 or newer is needed; found " + sys.version.split()[0] + " (set PYTHON=/path/to/python3.x)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements-lock.txt
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e . || \
		$(BIN)/python -m pip install --quiet --no-deps -e .
	$(BIN)/python -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (mmtutorial)" >/dev/null
	@touch $@

# jupyter-cache keys a chapter on its own code only: when the package or the
# environment changes, start the build afresh so no page shows stale outputs.
_build/.sources: $(STAMP) $(wildcard mmtutorial/*.py)
	rm -rf _build
	mkdir -p _build
	@touch $@

book: $(STAMP) _build/.sources
	$(BIN)/jupyter-book build . --builder html -W -n --keep-going
	@echo
	@echo "The book is at $(CURDIR)/_build/html/index.html"

test: $(STAMP)
	$(BIN)/python -m pytest

lab: $(STAMP)
	$(BIN)/jupyter lab book/

lock:
	$(BIN)/python -m pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra book --extra test --universal \
		--python-version 3.10 --quiet -o requirements-lock.txt

clean:
	rm -rf _build
