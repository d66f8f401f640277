"""Exception delivery as the CPU does it: the IDT frame, #DF, triple fault (SDM 6.12, 6.15)."""

import io
import struct

import pytest

from emu.hardware.cpu import TripleFault
from emu.kernel.kernel import Kernel
from emu.machine import Machine, Options
from emu.kernel.arch.stub import KERNEL_VIRT_OFFSET, USER_CS, USER_DS

UNMAPPED_KERNEL_VA = 0xFFFF_FFFF_9000_0000


def machine_with_boot_patch(patch):
    """A Machine whose kernel runs `patch(machine)` right after the stub's boot hypercall."""
    out = io.BytesIO()
    machine = Machine(Options(stdout=out, stderr=out))
    original = machine.kernel.on_boot

    def on_boot(cpu, frame_pa):
        original(cpu, frame_pa)
        patch(machine)
    machine.kernel.on_boot = on_boot
    return machine, out


def set_tss_rsp0(machine, va):
    machine.mem.write(machine.stub.pa("tss") + 4, struct.pack("<Q", va))


def clear_idt_present(machine, vector):
    pa = machine.stub.pa("idt") + vector * 16
    low = struct.unpack("<Q", machine.mem.read(pa, 8))[0]
    machine.mem.write(pa, struct.pack("<Q", low & ~(1 << 47)))


def test_user_page_fault_frame_is_what_the_cpu_pushes(guests):
    """The first #PF from ring 3 lands on TSS.RSP0 with SS, RSP, RFLAGS, CS, RIP, error code."""
    seen = {}
    machine = Machine(Options(stdout=io.BytesIO()))
    original = machine.kernel.on_trap

    def on_trap(cpu, trap, cr2):
        if not seen:
            seen.update(trap.frame, cr2=cr2, frame_pa=trap.frame_pa, cpl=cpu.read_cpl())
        original(cpu, trap, cr2)
    machine.kernel.on_trap = on_trap
    report = machine.run(str(guests / "hello.elf"), ["hello.elf"], [])
    assert report.status == 0
    kstack_top_pa = machine.stub.symbols["kstack_top"] - KERNEL_VIRT_OFFSET
    # 15 saved registers + vector + error code + 5-word iret frame end at RSP0.
    assert seen["frame_pa"] + 22 * 8 == kstack_top_pa
    assert seen["vector"] == 14
    assert seen["cs"] == USER_CS and seen["ss"] == USER_DS
    assert seen["rip"] == seen["cr2"]          # the first fault is the fetch of the entry point
    assert seen["error_code"] == 0x14          # U|I: user fetch, not present
    assert seen["cpl"] == 0                    # the handler ran in ring 0
    assert seen["rflags"] & 0x200              # IF of the interrupted program is saved


def test_double_fault_when_the_page_fault_gate_is_missing(guests):
    """#PF -> IDT gate 14 not present -> #DF (vector 8) is delivered instead."""
    machine, _ = machine_with_boot_patch(lambda m: clear_idt_present(m, 14))
    report = machine.run(str(guests / "hello.elf"), ["hello.elf"], [])
    assert "double fault (#DF)" in report.lines[0]
    assert "#PF (IDT gate 14 not present)" in report.lines[0]
    assert report.status == 137


def test_triple_fault_when_the_kernel_stack_is_gone(guests):
    """#PF -> pushing the frame faults -> #DF -> pushing again faults -> triple fault."""
    machine, _ = machine_with_boot_patch(lambda m: set_tss_rsp0(m, UNMAPPED_KERNEL_VA))
    with pytest.raises(TripleFault) as caught:
        machine.run(str(guests / "hello.elf"), ["hello.elf"], [])
    message = str(caught.value)
    assert message.startswith("triple fault:")
    assert "while delivering #DF" in message and "after #PF" in message
    assert "pushing the exception frame" in message
