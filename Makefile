# The two commands a newcomer needs are `make demo` and `make test` (README).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help venv demo test test-unit test-runtime test-cluster lint crds images \
        cluster-binaries cluster-up cluster-down cluster-kubeconfig bench clean

help:
	@echo "make demo    local control plane + the operator + the examples"
	@echo "make test    the whole test suite (unit, runtime in Docker, cluster)"

venv:
	@bash hack/bootstrap.sh

## Generated files ----------------------------------------------------------
crds: venv
	$(BIN)/wsgi-operator crd > crds/wsgiapps.wsgi-operator.io.yaml

## Tests ---------------------------------------------------------------------
# shellcheck (installed by hack/bootstrap.sh) follows the `source` lines;
# hack/.shellcheckrc resolves them relative to each script.
lint: venv
	shellcheck -x hack/*.sh hack/*/*.sh
	$(BIN)/ruff check operator tests bench
	$(BIN)/ruff format --check operator tests bench

test-unit: venv
	$(BIN)/pytest -q tests/unit

# The runtime tests need a Docker engine and the images; the cluster tests the
# control plane binaries. Both are prepared here, with progress on the
# terminal, rather than silently inside pytest.
images: venv
	bash hack/docker/engine.sh
	bash hack/docker/build-images.sh

test-runtime: images
	$(BIN)/pytest -q tests/runtime

# A Go new enough for Kubernetes 1.35, fetched from the Go module proxy when
# the machine's is missing or too old (hack/ensure-go.sh).
cluster-binaries:
	PATH="$$(bash hack/ensure-go.sh):$$PATH" bash hack/k8s/build.sh

test-cluster: venv cluster-binaries
	$(BIN)/pytest -q tests/cluster

test: lint images cluster-binaries
	$(BIN)/pytest -q -rs tests

## Local control plane -------------------------------------------------------
cluster-up: cluster-binaries
	bash hack/k8s/cluster.sh up

cluster-down:
	bash hack/k8s/cluster.sh down

cluster-kubeconfig:
	@bash hack/k8s/cluster.sh kubeconfig

demo: venv cluster-binaries
	bash hack/demo.sh

# bench/*.py import the tests' shared code (tests/support) as `support`: run them with PYTHONPATH=tests.
bench: venv
	PYTHONPATH=tests $(BIN)/python bench/render_bench.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
