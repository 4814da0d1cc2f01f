# The two entry points of the README, plus helpers. Everything installs itself when missing.
SHELL := /bin/bash
.DEFAULT_GOAL := help

.PHONY: help demo demo-down test bench mutation lint sanity unit molecule lab-up lab-down lab-status build clean

help:
	@echo "make test      install what is missing, bring the lab up, run lint + sanity + unit + Molecule, take it down"
	@echo "make demo      the seed's stack (3 Consul servers, exporters, nginx, Prometheus) on a lab host; prints its URLs"
	@echo "make demo-down remove the demo and the lab"
	@echo "make lint|sanity|unit|molecule   one stage (make molecule SCENARIOS='smoke seed' limits Molecule)"
	@echo "make lab-up | lab-down | lab-status"
	@echo "make build     ansible-galaxy collection build"
	@echo "make mutation  mutation testing of the unit tests (mutmut on a scratch copy, incremental; slow) -> docs/mutation.md"
	@echo "make bench     benchmarks (bench/; results in bench/results/, summary in docs/benchmarks.md)"

demo:
	lab/demo up

demo-down:
	lab/demo down

test:
	lab/run-tests

bench:
	bench/run

mutation:
	lab/mutation

# Only a SCENARIOS given on make's command line narrows the Molecule stage, never one left in the
# environment.
SCENARIO_ARGS := $(if $(filter command line,$(origin SCENARIOS)),$(addprefix -s ,$(SCENARIOS)))

lint sanity unit molecule:
	lab/run-tests $(SCENARIO_ARGS) $@

lab-up:
	lab/tools.sh && lab/lab up
lab-down:
	lab/lab down
lab-status:
	lab/lab status

build:
	lab/tools.sh
	.lab/venv/bin/ansible-galaxy collection build --force --output-path .lab/build .

clean: lab-down
	rm -rf .lab .ansible
