# The two commands of this project (see README):
#   make book   build the site into _build/html, executing every notebook
#   make test   run all tests: unit tests, every notebook (nbmake), and a book build
#               rendered from those executed notebooks (nothing is executed twice)
# Both create .venv and install what they need on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# Pinned exactly: a looser spec makes pip fetch several GB of CUDA wheels.
TORCH  := torch==2.14.1 torchvision==0.29.1
STAMP  := $(VENV)/.installed
SITE_TEST := _build/test-site

# Progress bars as plain text while building (the pages drop stderr anyway).
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

# One pytest run: the unit tests and the notebooks (executed in a staged copy of the
# book, written back with --overwrite), then the site is built from those outputs.
test: $(STAMP)
	rm -rf $(SITE_TEST) && mkdir -p $(SITE_TEST)
	cp -r _toc.yml book notebooks $(SITE_TEST)/
	sed 's/execute_notebooks: cache/execute_notebooks: "off"/' _config.yml > $(SITE_TEST)/_config.yml
	$(BIN)/python -m pytest tests $(SITE_TEST)/notebooks --nbmake --overwrite \
		--nbmake-timeout=900 --durations=15
	$(BIN)/jupyter-book build $(SITE_TEST) -W -n --keep-going
	@echo "Tested site: $(SITE_TEST)/_build/html/index.html"

lab: $(STAMP)
	$(BIN)/jupyter lab notebooks

clean:
	rm -rf _build
