# emu: set-up, guests, tests and benchmarks.  `make run` and `make test` are the
# only commands a fresh clone needs; both create .venv and build the guests first.

PYTHON  ?= python3
VENV    := .venv
VPY     := $(VENV)/bin/python
STAMP   := $(VENV)/.installed

CC      := gcc
# Guests are freestanding static x86-64 Linux programs: no libc, our own runtime.
GUEST_CFLAGS  := -O2 -g -static -nostdlib -ffreestanding -fno-stack-protector \
                 -fno-builtin -fcf-protection=none -mno-red-zone -Wall -Wextra -Iguest/lib
GUEST_LDFLAGS := -static -nostdlib -no-pie -Wl,--build-id=none

RUNTIME_SRC := guest/lib/start.S guest/lib/rt.c
GUEST_SRC   := $(wildcard guest/*.c)
GUEST_ELF   := $(GUEST_SRC:.c=.elf)
# The same self-checking program as a static-pie (ET_DYN, loaded at a chosen base).
PIE_ELF     := guest/auxv_pie.elf
# Ordinary C programs linked statically with the machine's glibc.
LIBC_SRC    := $(wildcard guest/libc/*.c)
LIBC_ELF    := $(LIBC_SRC:.c=.elf)
KERNEL_ELF  := guest/kernel/stub.elf

.PHONY: all venv guests run test bench fuzz clean

all: guests

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(VPY) -m pip install -q -e '.[test]'
	touch $@

venv: $(STAMP)

guests: $(KERNEL_ELF) $(GUEST_ELF) $(PIE_ELF) $(LIBC_ELF)

$(KERNEL_ELF): guest/kernel/stub.S guest/kernel/stub.ld
	$(CC) -c -o guest/kernel/stub.o guest/kernel/stub.S
	ld -T guest/kernel/stub.ld -o $@ guest/kernel/stub.o

guest/%.elf: guest/%.c $(RUNTIME_SRC) guest/lib/rt.h
	$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(RUNTIME_SRC) $<

guest/libc/%.elf: guest/libc/%.c
	$(CC) -static -O2 -Wall -o $@ $<

$(filter guest/libc/edge_%,$(LIBC_ELF)): guest/libc/edges.h

guest/%_pie.elf: guest/%.c $(RUNTIME_SRC) guest/lib/rt.h
	$(CC) $(filter-out -static,$(GUEST_CFLAGS)) -fPIE -static-pie -nostdlib -Wl,--build-id=none -o $@ $(RUNTIME_SRC) $<

run: venv guests
	$(VENV)/bin/emu run guest/test_cow.elf

# pytest-xdist: PYTEST_JOBS workers (the machine's 2 cores); tests that share host state
# (the host's huge page pool) take a lock (tests/test_hugetlb_native.py).
PYTEST_JOBS ?= 2
# lint-imports first: the layering contracts in pyproject.toml ([tool.importlinter]).
test: venv guests
	$(VENV)/bin/lint-imports
	$(VPY) -m pytest -q -n $(PYTEST_JOBS)

bench: venv guests
	$(VPY) bench/run.py
	$(VPY) bench/kernel.py

# Fuzzing campaigns (not part of `make test`): FUZZ_SECONDS of budget, FUZZ_SEED to replay.
FUZZ_SECONDS ?= 600
FUZZ_SEED    ?=
fuzz: venv guests
	$(VPY) -m fuzz --seconds $(FUZZ_SECONDS) $(if $(FUZZ_SEED),--seed $(FUZZ_SEED))

clean:
	rm -f guest/*.elf guest/libc/*.elf guest/*.o guest/kernel/*.o guest/kernel/*.elf
