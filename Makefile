# The two commands of this project (see README):
#   make book   build the site into _build/html, executing every notebook
#   make test   run all tests: unit tests, every notebook of _toc.yml once (nbmake), a book
#               build rendered from those executed notebooks, and a real-browser test
#               of every page of that site (nothing is executed twice)
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Pinned exactly: a looser spec makes pip fetch several GB of CUDA wheels.
TORCH  := torch==2.14.1 torchvision==0.29.1
STAMP  := $(VENV)/.installed
# Outside _build/: nbmake collects no notebook under a folder named _build.
SITE_TEST := _site-test

# Progress bars as plain text while building (the pages drop stderr anyway).
# (No MPLBACKEND here: the notebook kernels inherit it and would draw no inline figures.)
export CNNLAB_PROGRESS ?= text

.PHONY: book test unit notebooks lab clean install

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
# tests/notebook_run.py fails the run unless exactly the notebooks of _toc.yml ran.
# The staged site is then built from those outputs (execution off) and checked in
# Chromium by tests/site (screenshots in _build/screenshots).
test: $(STAMP)
	rm -rf $(SITE_TEST) && mkdir -p $(SITE_TEST)
	cp -r _toc.yml book notebooks $(SITE_TEST)/
	sed 's/execute_notebooks: cache/execute_notebooks: "off"/' _config.yml > $(SITE_TEST)/_config.yml
	$(BIN)/python -m pytest -p tests.notebook_run tests --ignore=tests/site \
		$(SITE_TEST)/notebooks --nbmake --overwrite --book-toc $(SITE_TEST)/_toc.yml \
		--nbmake-timeout=900 --durations=15
	$(BIN)/jupyter-book build $(SITE_TEST) -W -n --keep-going
	$(BIN)/python -m pytest tests/site --site $(SITE_TEST)/_build/html
	@echo "Tested site: $(SITE_TEST)/_build/html/index.html; screenshots: _build/screenshots/"

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf _build $(SITE_TEST)
