# fer-toolkit: `make train export` trains on FER2013 and ships models/fer2013_cnn.onnx
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
NPZ    ?= ../shared/data/fer2013.npz
DATA   ?= $(NPZ)
TREE   ?= data/fer2013
RUNS   ?= runs
RUN    ?= runs/mine
MODEL  ?= models/fer2013_cnn.onnx
ENSEMBLE ?= models/fer2013_ensemble.onnx
EPOCHS ?=
TRAIN_ARGS ?=
# A warm restart of a shipped network (README "Warm restarts").
WARM_FROM ?= models/fer2013_cnn.onnx
WARM_ARGS ?= --epochs 12 --lr 1e-3 --warmup-steps 300 --seed 1 --precision auto
# Stochastic weight averaging from a shipped network (README "Stochastic weight averaging").
SWA_ARGS ?= --epochs 8 --optimizer sgd --schedule constant --lr 0.005 --swa-start 2 --seed 3 --precision auto
# The shipped recipe (issue 9): teachers, their ensemble with ten-crop TTA, soft labels, a distilled student.
TEACHER_SEEDS ?= 0
TEACHER_ARGS ?= --crop 40 --epochs 100 --batch-size 64 --optimizer sgd --lr 0.01 --weight-decay 5e-4 \
	--warmup-steps 500 --rotation 0.03 --shift 0.1 --zoom 0.15 --erasing 0.5 --widths 64,128,256,512 \
	--head-units 512 --block-dropout 0.1 --head-dropout 0.5 --precision auto --patience 1000
TEACHER_TTA ?= tencrop
STUDENT_ARGS ?= --crop 40 --epochs 60 --batch-size 64 --optimizer sgd --lr 0.01 --weight-decay 5e-4 \
	--warmup-steps 500 --rotation 0.03 --shift 0.1 --zoom 0.15 --erasing 0.5 --widths 32,64,128,256 \
	--head-units 256 --block-dropout 0.1 --head-dropout 0.4 --precision auto --patience 1000 \
	--kd-alpha 0.5 --kd-temperature 4
HOST   ?= 127.0.0.1
PORT   ?= 7860
SHARE  ?=
CONCURRENCY ?= 2
DIR    ?=
OUT    ?= report.csv
FACES  ?= auto
RECURSIVE ?=
SOAK_N ?= 1000000
FLOWER_HOST ?= 127.0.0.1
FLOWER_PORT ?= 5555
export TF_CPP_MIN_LOG_LEVEL ?= 2
# demo and space: --model only when MODEL is given on the command line (else the package's default)
MODEL_ARG = $(if $(filter command line,$(origin MODEL)),--model $(MODEL))

.DEFAULT_GOAL := help
.PHONY: help install install-demo data train export warm swa train-run evaluate export-run demo space worker score flower bench bench-faces soak test lint clean

help:  ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-13s %s\n", $$1, $$2}'

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

install: $(PY)  ## create .venv with every extra (train, demo, worker, dev)
	$(PY) -m pip install -q -e ".[train,demo,worker,dev]"

install-demo: $(PY)  ## create .venv with the demo extra only (no TensorFlow)
	$(PY) -m pip install -q -e ".[demo]"

$(TREE)/train:
	$(PY) -m fer_toolkit.training prepare --npz $(NPZ) --out $(TREE)

data:  ## optional: FER2013 as image folders in TREE=data/fer2013/{train,val,test}/<class>/*.png (training reads NPZ directly)
	@$(MAKE) --no-print-directory $(TREE)/train

TEACHER_RUNS := $(foreach s,$(TEACHER_SEEDS),$(RUNS)/teacher$(s))
STUDENT_RUN  := $(RUNS)/student

$(RUNS)/teacher%/train_summary.json:
	$(PY) -m fer_toolkit.training train --data $(DATA) --out $(RUNS)/teacher$* --seed $* $(TEACHER_ARGS) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(RESUME),--resume)

$(ENSEMBLE): $(TEACHER_RUNS:%=%/train_summary.json)
	$(PY) -m fer_toolkit.export $(TEACHER_RUNS:%=--run %) --tta $(TEACHER_TTA) --out $@ --model-version 2

$(RUNS)/soft_labels.npy: $(ENSEMBLE)
	$(PY) -m fer_toolkit.training soft-labels --teacher $< --data $(DATA) --out $@

$(STUDENT_RUN)/train_summary.json: $(RUNS)/soft_labels.npy
	$(PY) -m fer_toolkit.training train --data $(DATA) --out $(STUDENT_RUN) --soft-labels $< $(STUDENT_ARGS) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(RESUME),--resume)

train:  ## the shipped recipe: teachers (TEACHER_SEEDS), their ensemble ENSEMBLE, soft labels, the distilled student (RESUME=1 continues)
	@$(MAKE) --no-print-directory $(STUDENT_RUN)/train_summary.json

export:  ## the student -> MODEL (+ INT8), calibrated, measured once on PrivateTest, model cards
	$(PY) -m fer_toolkit.export --run $(STUDENT_RUN) --out $(MODEL) --model-version 2 $(if $(CARD_NOTE),--card-note "$(CARD_NOTE)")

$(RUNS)/recovered/best.keras: $(WARM_FROM)
	$(PY) -m fer_toolkit.export --from-onnx $(WARM_FROM) --run $(RUNS)/recovered --data $(DATA) --recover-only

warm: $(RUNS)/recovered/best.keras  ## train the network of WARM_FROM further: a new cosine cycle (WARM_ARGS) into RUNS/warm (RESUME=1 continues)
	$(PY) -m fer_toolkit.training train --data $(DATA) --out $(RUNS)/warm --init $< $(WARM_ARGS) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(RESUME),--resume)

swa: $(RUNS)/recovered/best.keras  ## SWA from the network of WARM_FROM: constant-LR SGD, best.keras is the best weight average (RESUME=1 continues)
	$(PY) -m fer_toolkit.training train --data $(DATA) --out $(RUNS)/swa --init $< $(SWA_ARGS) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(RESUME),--resume)

train-run:  ## one run on your own DATA (folder tree or .npz) into RUN, with TRAIN_ARGS (RESUME=1 continues)
	$(PY) -m fer_toolkit.training train --data $(DATA) --out $(RUN) $(if $(EPOCHS),--epochs $(EPOCHS)) $(if $(RESUME),--resume) $(TRAIN_ARGS)

evaluate:  ## metrics, confusion matrix and curves of RUN on its test split
	$(PY) -m fer_toolkit.training evaluate --run $(RUN) --split test

export-run:  ## RUN/best.keras -> MODEL (ONNX + metadata + INT8), parity check, card MODEL's stem + .md
	$(PY) -m fer_toolkit.export --run $(RUN) --out $(MODEL) $(if $(CARD_NOTE),--card-note "$(CARD_NOTE)")

demo:  ## Gradio app on HOST:PORT (127.0.0.1:7860), the accurate model unless MODEL=...; SHARE=1: public link
	$(PY) -m fer_toolkit.demo $(MODEL_ARG) --host $(HOST) --port $(PORT) $(if $(SHARE),--share)

space:  ## stage a self-contained Hugging Face Space folder in build/space
	$(PY) -m fer_toolkit.demo.space build/space $(MODEL_ARG)

worker:  ## a Celery worker on REDIS_URL (default redis://127.0.0.1:6379/0), CONCURRENCY=2 processes
	$(PY) -m celery -A fer_toolkit.worker.app worker --concurrency $(CONCURRENCY) --loglevel INFO

score:  ## score DIR into OUT (CSV) in this process, without Redis (FACES=auto|largest|all|none, NO_ALIGN=1, RECURSIVE=1)
	@test -n "$(DIR)" || { echo "error: set DIR=folder of images"; exit 2; }
	$(PY) -m fer_toolkit.worker score "$(DIR)" --out "$(OUT)" --faces $(FACES) $(if $(NO_ALIGN),--no-align) $(if $(RECURSIVE),--recursive)

flower:  ## Flower (Celery monitoring) on FLOWER_HOST:FLOWER_PORT (127.0.0.1:5555) against REDIS_URL
	$(PY) -m celery -A fer_toolkit.worker.app flower --address=$(FLOWER_HOST) --port=$(FLOWER_PORT)

bench:  ## benchmarks (not part of test): inference, decode limit, scoring, demo latency -> BENCHMARKS.md
	$(PY) -m bench --model $(MODEL) --keras $(RUN)/best.keras

bench-faces:  ## only the face sections of make bench (detection, photo scoring, alignment) -> BENCHMARKS.md
	$(PY) -m bench --model $(MODEL) --sections faces

soak:  ## SOAK_N (1000000) FER2013 PNGs through Celery, 2 workers, a SIGKILL and a Redis restart -> BENCHMARKS.md
	$(PY) -m bench.soak --files $(SOAK_N) --model $(MODEL) $(if $(SOAK_NOTE),--note "$(SOAK_NOTE)")

test:  ## run the test suite (reads FER2013 from NPZ; tests needing it skip without it)
	$(PY) -m pytest -q

lint:  ## ruff
	$(PY) -m ruff check .

clean:  ## remove run folders and caches (keeps data/ and models/)
	rm -rf $(RUN) .pytest_cache .ruff_cache
