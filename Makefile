# Set-up and entry points. `make demo` and `make test` each create the
# environment on first use, so a fresh clone needs nothing else.
PYTHON     ?= python3
VENV       ?= .venv
# The CPU build of torch. On a GPU box: make install TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
TORCH_SPEC ?= torch==2.13.0
CORES      ?= 2
BIN        := $(VENV)/bin
STAMP      := $(VENV)/.installed

export MPLBACKEND := Agg
export PYTHONHASHSEED := 0

.PHONY: install demo test test-slow test-slurm lint bench bench-pipeline paper paper-gpu record clean-demo wheelhouse install-offline

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(TORCH_SPEC)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name ner-repro --display-name "NER repro" >/dev/null
	touch $(STAMP)

## For nodes without internet: every dependency but torch as wheels, for a named Python and
## platform (WHEEL_ARGS="--python-version 3.11 --platform manylinux2014_x86_64"), then on the
## node, with its own torch installed in $(VENV) first: make install-offline WHEELS=wheels
WHEELS     ?= wheels
WHEEL_ARGS ?=
wheelhouse: $(STAMP)
	$(BIN)/python tools/wheelhouse.py --out $(WHEELS) $(WHEEL_ARGS)

install-offline:
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --no-index --find-links $(WHEELS) $(TORCH_SPEC) \
	    || { echo "install-offline: install the node's torch into $(VENV) first"; exit 1; }
	$(BIN)/python -m pip install --no-index --find-links $(WHEELS) 'ner-repro[dev]'
	$(BIN)/python -m ipykernel install --prefix $(VENV) --name ner-repro --display-name "NER repro" >/dev/null
	touch $(STAMP)

## The offline demo: simulated sessions, every figure, the GIF and the report.
demo: $(STAMP)
	$(BIN)/snakemake --cores $(CORES) all_figures --configfile config/demo.yaml

## The default test suite (what CI runs first).
test: $(STAMP)
	$(BIN)/python -m pytest

## Longer checks, run by CI when time allows.
test-slow: $(STAMP)
	$(BIN)/python -m pytest -m slow || test $$? -eq 5

## A real single-node SLURM cluster from Debian packages (needs root).
test-slurm: $(STAMP)
	$(BIN)/python -m pytest -m slurm

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/snakefmt --check Snakefile workflow/rules
	$(BIN)/snakemake --lint --configfile config/demo.yaml

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_ner.py

## Per-method costs at the paper's settings on a real session, and the projected wall
## time of all_figures on N cores (extrapolated from short measured runs; see the script).
bench-pipeline: $(STAMP)
	$(BIN)/python benchmarks/bench_pipeline.py $(BENCH_ARGS)

## The whole paper at config/config.yaml's settings (all seeds; the figures in the authors'
## evaluation, the report in both) on every recording present (missing=skip), resumable:
## run it again to go on. Snakemake's logs of each invocation are kept in
## $(PAPER_RESULTS)/run/ for the record's wall times. PAPER_ARGS passes more --config, e.g.
##   make paper PAPER_ARGS="data_dir=../shared/data/ner-sessions published_dir=../shared/data/ner-published published_figures_dir=../shared/data/ner-published-figures"
PAPER_RESULTS ?= results/paper
PAPER_ARGS    ?=
paper: $(STAMP)
	mkdir -p $(PAPER_RESULTS)/run && touch $(PAPER_RESULTS)/run/.started
	printf '%s %s\n' "$$(date -u +%FT%TZ)" "$$(git rev-parse HEAD 2>/dev/null || echo unknown)" \
	    >> $(PAPER_RESULTS)/run/invocations.txt
	$(BIN)/snakemake --cores $(CORES) all_figures --keep-going \
	    --config evaluation=paper missing=skip results_dir=$(PAPER_RESULTS) $(PAPER_ARGS); \
	status=$$?; \
	find .snakemake/log -name '*.snakemake.log' -newer $(PAPER_RESULTS)/run/.started \
	    -exec cp {} $(PAPER_RESULTS)/run/ \; ; \
	exit $$status

## The reproduction record (docs/reproduction/) of a results folder: `make record`
## after `make paper`; for a run still going, `tools/report_now.py` first, then
## `make record REPORT_DIR=$(PAPER_RESULTS)/report-now` (see README).
RECORD ?= docs/reproduction
REPORT_DIR ?=
record: $(STAMP)
	$(BIN)/python -m ner_repro.report.record $(PAPER_RESULTS) $(RECORD) --readme README.md \
	    $(if $(REPORT_DIR),--report $(REPORT_DIR))

## The paper at its own settings on one CUDA machine: NER, CEBRA and pi-VAE jobs on the
## GPU, GPU_JOBS of them at once (each asks for gpu=1; the models are small, well under
## 2 GB of GPU memory each), everything else on the CPU cores. Install a CUDA torch first:
##   make install TORCH_SPEC="torch==2.13.0 --index-url https://download.pytorch.org/whl/cu128"
## PAPER_ARGS passes more --config, e.g. data_dir=... published_dir=... missing=skip
GPU_JOBS   ?= 16
PAPER_ARGS ?=
paper-gpu: $(STAMP)
	$(BIN)/snakemake --cores all all_figures --resources gpu=$(GPU_JOBS) \
	    --config device=cuda $(PAPER_ARGS)

clean-demo:
	rm -rf results/demo data/demo
