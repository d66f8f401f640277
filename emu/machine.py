"""A whole machine: RAM, frame allocator, MMU, the stub, the kernel and the CPU, wired up."""

from dataclasses import dataclass, field

from .hardware.cpu import Cpu
from .elf import load_elf
from .hostsignals import HostSignals
from .kernel.kernel import Kernel
from .kernel.arch.stub import load_stub
from .hardware.mmu import Mmu
from .plugins import discover, register_all
from .debug.stats import FaultStats
from .hardware.physmem import FrameAllocator, PhysicalMemory
from .hardware.tlb import Tlb

DEFAULT_MEMORY = 512 << 20
KERNEL_IMAGE_END = 4 << 20          # frames are handed out above the stub's 2 MiB chunk


@dataclass
class Options:
    memory: int = DEFAULT_MEMORY
    tlb_geometry: dict = field(default_factory=dict)
    timeout: float | None = None
    max_insns: int | None = None
    count_insns: bool = False           # --stats: count instructions (a block hook: slower)
    tracer: object = None
    stdout: object = None
    stderr: object = None
    root: str | None = None             # --root: a host directory shown as the guest's /
    root_writable: bool = False
    hugepages: int | None = None        # --hugepages: the pool (None: 32, at most a quarter of RAM)
    zero_page: bool = True              # --no-zero-page turns /dev/page-huge's zero page off
    plugin_files: tuple = ()            # --plugin FILE.py, on top of the installed plugins


class Machine:
    def __init__(self, options: Options):
        self.options = options
        self.mem = PhysicalMemory(options.memory)
        self.frames = FrameAllocator(KERNEL_IMAGE_END, options.memory)
        self.mmu = Mmu(self.mem, Tlb(options.tlb_geometry), tracer=options.tracer, timed=options.count_insns)
        self.stub = load_stub()
        self.plugins = discover(options.plugin_files)
        self.kernel = Kernel(self.mem, self.frames, self.mmu, self.stub, tracer=options.tracer,
                             stdout=options.stdout, stderr=options.stderr,
                             root=options.root, root_writable=options.root_writable,
                             hugepages=options.hugepages, zero_page=options.zero_page, fault_stats=FaultStats())
        register_all(self.kernel, self.plugins)      # devices and their pagetable_ops (emu/plugins.py)
        self.kernel.accounting = options.count_insns      # --stats: count and time every user fault
        self.cpu = Cpu(self.mem, self.mmu, self.stub, self.kernel, tracer=options.tracer)

    def run(self, path: str, argv: list, envp: list):
        """Load `path` (ElfError if refused), run it, return the kernel's Report."""
        image = load_elf(path)
        self.kernel.exec_first(self.cpu, image, argv, envp)
        with HostSignals(self.cpu.interrupt_from_host):
            self.cpu.run(timeout=self.options.timeout, max_insns=self.options.max_insns,
                         count_insns=self.options.count_insns)
        return self.kernel.report
