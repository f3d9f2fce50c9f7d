# fer-toolkit: `make train export` trains on FER2013 and ships models/fer2013_cnn.onnx
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
NPZ    ?= ../shared/data/fer2013.npz
DATA   ?= data/fer2013
RUN    ?= runs/fer2013
MODEL  ?= models/fer2013_cnn.onnx
EPOCHS ?=
TRAIN_ARGS ?=
HOST   ?= 127.0.0.1
PORT   ?= 7860
SHARE  ?=
CONCURRENCY ?= 2
DIR    ?=
OUT    ?= report.csv
FACES  ?= none
export TF_CPP_MIN_LOG_LEVEL ?= 2

.DEFAULT_GOAL := help
.PHONY: help install install-demo data train evaluate export demo space worker score bench test lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)  ## create .venv with every extra (train, demo, worker, dev)
	$(PY) -m pip install -q -e ".[train,demo,worker,dev]"

install-demo: $(PY)  ## create .venv with the demo extra only (no TensorFlow)
	$(PY) -m pip install -q -e ".[demo]"

$(DATA)/train:
	$(PY) -m training prepare --npz $(NPZ) --out $(DATA)

data: $(DATA)/train  ## build data/fer2013/{train,val,test}/<class>/*.png from NPZ=../shared/data/fer2013.npz

train: $(if $(filter data/fer2013,$(DATA)),$(DATA)/train)  ## train on DATA (EPOCHS=2 for a quick run, RESUME=1 to continue), then evaluate on test
	$(PY) -m training train --data $(DATA) --out $(RUN) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(RESUME),--resume) $(TRAIN_ARGS)
	$(PY) -m training evaluate --run $(RUN) --split test

evaluate:  ## metrics, confusion matrix and curves of RUN on its test split
	$(PY) -m training evaluate --run $(RUN) --split test

export:  ## RUN/best.keras -> MODEL (ONNX + metadata), parity check, model card in models/
	$(PY) -m export --run $(RUN) --out $(MODEL) $(if $(CARD_NOTE),--card-note "$(CARD_NOTE)")

demo:  ## Gradio app on HOST:PORT (127.0.0.1:7860) with MODEL; SHARE=1 asks for a public link
	$(PY) -m demo --model $(MODEL) --host $(HOST) --port $(PORT) $(if $(SHARE),--share)

space:  ## stage a self-contained Hugging Face Space folder in build/space
	$(PY) -m demo.space build/space --model $(MODEL)

worker:  ## a Celery worker on REDIS_URL (default redis://127.0.0.1:6379/0), CONCURRENCY=2 processes
	$(PY) -m celery -A worker.app worker --concurrency $(CONCURRENCY) --loglevel INFO

score:  ## score DIR into OUT (CSV) in this process, without Redis (FACES=none|largest|all)
	@test -n "$(DIR)" || { echo "error: set DIR=folder of images"; exit 2; }
	$(PY) -m worker score "$(DIR)" --out "$(OUT)" --faces $(FACES)

bench:  ## benchmarks (not part of test): inference, decode limit, scoring, demo latency -> BENCHMARKS.md
	$(PY) -m bench --model $(MODEL) --keras $(RUN)/best.keras

test:  ## run the test suite (reads FER2013 from NPZ; tests needing it skip without it)
	$(PY) -m pytest -q

lint:  ## ruff
	$(PY) -m ruff check .

clean:  ## remove run folders and caches (keeps data/ and models/)
	rm -rf $(RUN) .pytest_cache .ruff_cache
