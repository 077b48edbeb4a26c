# The two commands of this project (see README):
#   make book   build the site into _build/html, executing every notebook
#   make test   run all tests: unit tests and doctests, every notebook of _toc.yml once
#               (nbmake, quick profile on a CPU), every notebook once more as a dry run of
#               the full (GPU) profile, a book built from the first run's executed
#               notebooks, and a real-browser test of every page of that site
# Both create .venv and install what they need on first use. Others:
#   make unit        the unit tests and doctests only (minutes): while you work
#   make test-floor  the unit tests in a fresh venv with the oldest versions we support

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Pinned exactly: a looser spec makes pip fetch several GB of CUDA wheels.
TORCH  := torch==2.14.1 torchvision==0.29.1
STAMP  := $(VENV)/.installed
# Outside _build/: nbmake collects no notebook under a folder named _build.
SITE_TEST := _site-test
DRY_RUN   := _dry-run
# The unit tests and the examples in the package's docstrings (tests/article_code holds the
# articles' scripts verbatim and tests/support the tests' plugin, torchrun worker and
# loaders: neither is imported for doctests).
UNIT := tests cnnlab --doctest-modules --ignore=tests/site --ignore=tests/article_code \
	--ignore=tests/support
# The oldest releases the package is tested with (make test-floor; pyproject.toml's floors).
FLOOR := torch==2.13.0 torchvision==0.28.0 numpy==1.24.4 matplotlib==3.9.0 tqdm==4.66.0 \
	torchinfo==1.8.0
FLOOR_VENV := .venv-floor
# torch and torchvision from one source: a local folder of torch's CPU builds (pip's
# find-links) beside PyPI's CUDA build of torchvision pairs builds whose C++ operators
# do not link ("operator torchvision::nms does not exist"). So the floor venv's pip
# reads no configuration files and no find-links, only the index (and
# PIP_EXTRA_INDEX_URL, which the workflow points at torch's CPU wheels).
FLOOR_PIP := env -u PIP_FIND_LINKS PIP_CONFIG_FILE=/dev/null $(FLOOR_VENV)/bin/python -m pip

# Tests read the course's offline copy of Fashion-MNIST when it lies beside the repository.
SHARED_DATA := $(abspath ../shared/data)
ifneq ($(wildcard $(SHARED_DATA)/FashionMNIST),)
export CNNLAB_DATA ?= $(SHARED_DATA)
endif

# Progress bars as plain text while building (the pages drop stderr anyway).
# (No MPLBACKEND here: the notebook kernels inherit it and would draw no inline figures.)
export CNNLAB_PROGRESS ?= text

.PHONY: book test unit test-floor lab clean install

install: $(STAMP)

$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --upgrade pip
	$(BIN)/python -m pip install $(TORCH)
	$(BIN)/python -m pip install -e ".[book,test]"
	# d2l is only our peer in benchmarks and cross-check tests; its pins (numpy 1.23.5)
	# would break the stack, so it comes without its dependencies.
	$(BIN)/python -m pip install --no-deps d2l==1.0.3
	$(BIN)/python -m ipykernel install --sys-prefix --name python3
	touch $(STAMP)

# The execution cache keys on code cells only; clear it when the package changed.
_build/.cnnlab-stamp: $(shell find cnnlab -name '*.py') | $(STAMP)
	rm -rf _build/.jupyter_cache
	mkdir -p _build && touch $@

book: $(STAMP) _build/.cnnlab-stamp
	$(BIN)/jupyter-book build . -W -n --keep-going
	@echo "Site: _build/html/index.html"

# The unit tests and every notebook of _toc.yml in one pytest run: nbmake executes the
# notebooks of a staged copy of the book and writes their outputs back (--overwrite);
# tests/support/notebook_run.py fails the run unless exactly the notebooks of _toc.yml ran.
# The staged site is then built from those outputs (execution off) and checked in
# Chromium by tests/site (screenshots in _build/screenshots).
test: $(STAMP)
	rm -rf $(SITE_TEST) $(DRY_RUN) && mkdir -p $(SITE_TEST) $(DRY_RUN)
	cp -r _toc.yml book notebooks $(SITE_TEST)/
	cp -r _toc.yml notebooks $(DRY_RUN)/
	sed 's/execute_notebooks: cache/execute_notebooks: "off"/' _config.yml > $(SITE_TEST)/_config.yml
	$(BIN)/python -m pytest -p tests.support.notebook_run $(UNIT) \
		$(SITE_TEST)/notebooks --nbmake --overwrite --book-toc $(SITE_TEST)/_toc.yml \
		--nbmake-timeout=900 --durations=15
	# The full (GPU) profile's code path on this CPU: real sizes, 2 steps per fit
	# (cnnlab.dry_run); outputs are thrown away.
	CNNLAB_PROFILE=full CNNLAB_DRY_RUN=1 $(BIN)/python -m pytest -p tests.support.notebook_run \
		$(DRY_RUN)/notebooks --nbmake --book-toc $(DRY_RUN)/_toc.yml --nbmake-timeout=900 \
		-p no:cacheprovider
	$(BIN)/jupyter-book build $(SITE_TEST) -W -n --keep-going
	$(BIN)/python -m pytest tests/site --site $(SITE_TEST)/_build/html
	@echo "Tested site: $(SITE_TEST)/_build/html/index.html; screenshots: _build/screenshots/"

# The unit tests and doctests: no notebooks, no browser.
unit: $(STAMP)
	$(BIN)/python -m pytest $(UNIT) -m "not slow" --durations=10

# The unit tests against the oldest releases pyproject.toml allows, in a venv of their own.
test-floor:
	rm -rf $(FLOOR_VENV)
	$(PYTHON) -m venv $(FLOOR_VENV)
	$(FLOOR_PIP) install --upgrade pip
	$(FLOOR_PIP) install $(FLOOR)
	printf '%s\n' $(FLOOR) > $(FLOOR_VENV)/floor.txt
	$(FLOOR_PIP) install -c $(FLOOR_VENV)/floor.txt -e ".[notebooks,test]" \
		nbformat nbclient ipykernel pyyaml requests  # requests: d2l (the cross-check tests)
	$(FLOOR_PIP) install --no-deps d2l==1.0.3
	$(FLOOR_PIP) list 2>/dev/null | grep -iE '^(torch|torchvision|numpy|matplotlib|tqdm|torchinfo) '
	$(FLOOR_VENV)/bin/python -m pytest $(UNIT) -m "not slow" -p no:cacheprovider

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf _build $(SITE_TEST) $(DRY_RUN) $(FLOOR_VENV)
