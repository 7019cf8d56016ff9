# The two commands the README opens with:
#   make dev    - the whole system locally: emulated AWS (moto), the Twilio simulator, the dev server
#   make test   - every test, against the same local stack
SHELL := /bin/bash
export LOCAL_AWS_PORT ?= 4566
export AWS_ENDPOINT_URL ?= http://127.0.0.1:$(LOCAL_AWS_PORT)
export AWS_REGION ?= us-east-1
export AWS_ACCESS_KEY_ID ?= test
export AWS_SECRET_ACCESS_KEY ?= test
export CAMPAIGNS_PYTHON ?= $(CURDIR)/infra/local/.venv/bin/python

.PHONY: dev test stack-up stack-down venv lint-template sam-build bench fuzz mutants web

venv:
	infra/local/stack.sh venv

stack-up:
	infra/local/stack.sh up

stack-down:
	infra/local/stack.sh down

# Flags for `campaigns dev`: make dev ARGS="--port 3001 --tick-seconds 5 --sim-time-scale 0.1"
ARGS ?=

# The dashboard (web/dist), served by `campaigns dev` at /. npm ci only when needed. Colour only
# on a terminal (vite's colour library also turns it on whenever CI is set).
web:
	cd web && { [ -d node_modules ] && [ ! package-lock.json -nt node_modules/.package-lock.json ] || npm ci --no-audit --no-fund --loglevel=error; } && if [ -t 1 ]; then npm run -s build; else NO_COLOR=1 npm run -s build; fi

dev: stack-up web
	cargo run -p campaigns -- dev $(ARGS)

# test.sh starts the emulator if it is not running and then stops it (only the one it started).
test: venv
	infra/local/test.sh

lint-template: venv
	infra/local/.venv/bin/cfn-lint template.yaml

# Not part of `make test`: a cold `sam build` compiles the three functions in release mode
# (see docs/deploy.md for how long it takes here). Needs no Docker.
sam-build:
	env -u AWS_ENDPOINT_URL -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY infra/local/sam.sh build

bench:
	cargo bench -p contacts-parser --bench parser

# Not part of `make test`: mutation testing of the code that decides (hours on 2 cores); results in
# mutants.out/, explained in docs/testing.md. `make mutants WHICH=domain` for the pure domain only
# (no AWS: it starts no local stack).
WHICH ?= all
mutants:
	$(if $(filter domain,$(WHICH)),,infra/local/stack.sh up)
	infra/local/mutants.sh $(WHICH)
