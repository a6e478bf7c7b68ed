# The two commands a newcomer needs are `make demo` and `make test` (README).
SHELL := /bin/bash
VENV := .venv
BIN := $(VENV)/bin

.PHONY: help venv lock scanners demo test test-unit test-runtime test-cluster test-e2e lint crds chart images \
        cluster-binaries argocd-binaries cluster-up cluster-down cluster-kubeconfig bench clean

# `make help` prints the `## ` note of every target: one line each, kept next
# to the target so the list cannot go stale.
help: ## this list
	@awk -F ':.*## ' '/^[a-z0-9-]+:.*## / {printf "%-20s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

venv: ## the system packages the Makefile needs, and the project's virtualenv (.venv)
	@bash hack/bootstrap.sh

## Generated files ----------------------------------------------------------
# Every Python package the project installs comes from a lock file, pinned by
# version and sha256 (hack/lock.py; tests/unit/test_locks.py fails when one is
# stale). Plain `make lock` keeps every pin its inputs still allow; to move
# pins: make lock ARGS="--upgrade-package NAME" (repeatable) or ARGS=--upgrade.
lock: venv ## regenerate the lock files (requirements/, images/runtime, examples/django, bench) with uv
	$(BIN)/python hack/lock.py $(ARGS)

crds: venv chart ## regenerate crds/ (the CRD, the warnings policy) from the pydantic models
	$(BIN)/wsgi-operator crd > crds/wsgiapps.wsgi-operator.io.yaml
	$(BIN)/wsgi-operator warnings-policy > crds/wsgiapp-warnings.wsgi-operator.io.yaml

# The Helm chart cannot run Python: its CRD, warnings policy and RBAC rules are
# committed copies of what the code generates (tests/unit/test_chart.py fails when stale).
CHART := charts/wsgi-operator
chart: venv ## regenerate the Helm chart's generated files (CRD, warnings policy, RBAC rules) from the code
	$(BIN)/wsgi-operator crd > $(CHART)/files/crds/wsgiapps.wsgi-operator.io.yaml
	$(BIN)/wsgi-operator warnings-policy > $(CHART)/files/admission/wsgiapp-warnings.wsgi-operator.io.yaml
	$(BIN)/wsgi-operator rbac > $(CHART)/files/rbac/clusterwide.yaml
	$(BIN)/wsgi-operator rbac --namespaced > $(CHART)/files/rbac/namespaced.yaml

## Tests ---------------------------------------------------------------------
# shellcheck (installed by hack/bootstrap.sh) follows the `source` lines;
# hack/.shellcheckrc resolves them relative to each script.
lint: venv ## shellcheck on hack/, ruff on the Python
	shellcheck -x hack/*.sh hack/*/*.sh
	$(BIN)/ruff check operator tests bench hack
	$(BIN)/ruff format --check operator tests bench hack

# Independent scanners of the rendered manifests, besides checkov (a dev
# dependency): kube-score, built from the Go module proxy (hack/scanners/build.sh).
scanners: ## build kube-score into ~/.cache (once)
	PATH="$$(bash hack/ensure-go.sh):$$PATH" bash hack/scanners/build.sh

test-unit: venv scanners ## the pure tests (models, validation, renderer, reconciler table)
	$(BIN)/pytest -q tests/unit

# The runtime tests need a Docker engine and the images; the cluster tests the
# control plane binaries. Both are prepared here, with progress on the
# terminal, rather than silently inside pytest.
images: venv ## Docker engine, base image, runtime/app/operator images (cached)
	bash hack/docker/engine.sh
	bash hack/docker/build-images.sh

test-runtime: images ## real mod_wsgi-express in real containers
	$(BIN)/pytest -q tests/runtime

# A Go new enough for Kubernetes 1.35, fetched from the Go module proxy when
# the machine's is missing or too old (hack/ensure-go.sh). With the real node
# (unless WSGI_OPERATOR_REAL_NODE=0): kubelet, kube-proxy, kube-router, CNI
# plugins, CoreDNS, Traefik and the node's images too (docs/real-node.md).
cluster-binaries: ## build the control plane and the real node (kubelet ... Traefik) into ~/.cache (once)
	PATH="$$(bash hack/ensure-go.sh):$$PATH" bash hack/k8s/build.sh

# A real Argo CD for tests/cluster/test_argocd.py: v3.6.1 built from the Go
# module proxy (its own Go 1.27 toolchain, fetched by the go command), and
# Debian's redis-server (hack/argocd/build.sh).
argocd-binaries: ## build Argo CD v3.6.1 into ~/.cache (once) and install redis-server
	PATH="$$(bash hack/ensure-go.sh):$$PATH" bash hack/argocd/build.sh

test-cluster: venv cluster-binaries argocd-binaries ## the operator against the real local control plane
	$(BIN)/pytest -q tests/cluster

# Pods that really run, on the local cluster's real node (docs/real-node.md).
test-e2e: venv images cluster-binaries ## WsgiApps on the real node: Service, NetworkPolicy, ingress, rollouts under load
	$(BIN)/pytest -q tests/e2e

test: lint images cluster-binaries argocd-binaries scanners ## everything: set up, lint, then the whole suite (what CI runs)
	$(BIN)/pytest -q -rs tests

## Local control plane -------------------------------------------------------
cluster-up: cluster-binaries ## start the local cluster (control plane, kwok node, real node)
	bash hack/k8s/cluster.sh up

cluster-down: ## stop it and remove its state
	bash hack/k8s/cluster.sh down

cluster-kubeconfig: ## print the path of its admin kubeconfig (make -s)
	@bash hack/k8s/cluster.sh kubeconfig

demo: venv cluster-binaries ## the cluster, the operator, the example app on the real node, and a curl that reaches it
	bash hack/demo.sh

# bench/*.py import the tests' shared code (tests/support) as `support`: run them with PYTHONPATH=tests.
bench: venv ## the render benchmark (the others: docs/benchmarks.md)
	PYTHONPATH=tests $(BIN)/python bench/render_bench.py

clean: ## remove the virtualenv and tool caches (never ~/.cache)
	rm -rf $(VENV) .pytest_cache .ruff_cache
