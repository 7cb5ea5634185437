# One-command setup, viewer and tests. See README "Quick start".
#   make run    set up .venv and open the viewer on the bundled sample film
#   make launcher  write ~/.local/bin/xrayview, which starts this checkout's viewer
#   make test   set up .venv and run the test suite (what CI runs)
#   make package           PyInstaller bundle dist/xrayview/, then dist/*.deb and dist/*.tar.gz
#   make package-test      frozen self-test, install the .deb, self-test the installed app
# A GPU user picks a CUDA build of torch, e.g.
#   make run TORCH_SPEC="torch" TORCH_INDEX="--index-url https://download.pytorch.org/whl/cu128"

PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?=
BIN := $(VENV)/bin

.PHONY: setup run test launcher package package-test clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	# torch first and pinned, so the package's "torch>=2.2" is already satisfied
	$(BIN)/pip install --disable-pip-version-check $(TORCH_INDEX) "$(TORCH_SPEC)"
	$(BIN)/pip install --disable-pip-version-check -e ".[test]"
	touch $@

setup: $(VENV)/.installed

run: setup
	$(BIN)/xrayview

launcher: setup
	mkdir -p $(HOME)/.local/bin
	printf '#!/bin/sh\nexec "%s" "$$@"\n' "$(abspath $(BIN))/xrayview" > $(HOME)/.local/bin/xrayview
	chmod +x $(HOME)/.local/bin/xrayview
	@echo "wrote $(HOME)/.local/bin/xrayview"

test: setup
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -q

$(VENV)/.packaging: $(VENV)/.installed
	$(BIN)/pip install --disable-pip-version-check -e ".[package]"
	touch $@

package: $(VENV)/.packaging
	$(BIN)/python packaging/make_icons.py build/icons
	$(BIN)/pyinstaller --noconfirm --clean --log-level WARN build.spec
	packaging/linux/build_packages.sh

package-test:
	packaging/test_package.sh

clean:
	rm -rf $(VENV) build dist *.egg-info .pytest_cache
