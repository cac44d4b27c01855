# kdrill's entry points. `make help` lists them.
SHELL := /bin/bash
.DEFAULT_GOAL := help

GO        ?= go
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin/kdrill
K8S       ?= v1.35.4
NAME      ?= kdrill
# Extra flags for `kdrill run`, e.g. DRILL_FLAGS='--scenario apiserver-crash --watchdog-period 5s'.
DRILL_FLAGS ?=
# Where the built node image's tag is remembered between make targets.
TAGFILE   := bin/node-image-$(K8S)

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-z-]+:.*## / {printf "  %-12s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## build bin/kdrill
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/kdrill

.PHONY: docker
docker: ## make sure a Docker engine answers (installs and starts one as root on Debian/Ubuntu)
	@scripts/docker-up.sh

.PHONY: deps
deps: ## install host tools the offline image build needs (debootstrap)
	@scripts/deps.sh

.PHONY: image
image: build docker deps ## build the kind node image offline (cached) and remember its tag
	$(BIN) image build --kubernetes-version $(K8S) > $(TAGFILE).tmp && mv $(TAGFILE).tmp $(TAGFILE)
	@echo "node image: $$(cat $(TAGFILE))"

.PHONY: up
up: image ## bring up (or reuse) the local drill cluster
	$(BIN) cluster up --name $(NAME) --image $$(cat $(TAGFILE))

.PHONY: down
down: build ## delete the local drill cluster
	$(BIN) cluster down --name $(NAME)

.PHONY: drill
drill: up ## build the image, bring the cluster up and run every drill (results in kdrill-out/)
	$(BIN) run --name $(NAME) --out kdrill-out $(DRILL_FLAGS)

.PHONY: unit
unit: ## unit tests and a 20 s fuzz of the config parser (no Docker needed)
	@scripts/chromium.sh || echo "unit: no chromium: the report's browser test will skip, or fail under CI=true" >&2
	$(GO) vet ./...
	$(GO) test -short -count=1 $$($(GO) list ./... | grep -v /suites/)
	$(GO) test ./harness/config -run '^$$' -fuzz FuzzParse -fuzztime 20s

.PHONY: integration
integration: image ## Ginkgo suites on a real kind cluster and real etcd containers (labels kind, docker)
	$(GO) test -count=1 -run Docker ./harness/aws/awslocal/
	KDRILL_NODE_IMAGE=$$(cat $(TAGFILE)) $(GO) test -p 1 -v -count=1 -timeout 60m ./suites/... -ginkgo.label-filter='kind || docker' -ginkgo.v

.PHONY: test
test: unit integration ## everything CI runs: unit tests, then the kind suites

.PHONY: clean
clean: ## remove build outputs (caches under ~/.cache/kdrill stay)
	rm -rf bin
