"""The command line: `emu run [options] ELF [ARGS...]`, `emu --version`, `emu --help`."""

import argparse
import os
import math
import sys

from . import __version__
from .hardware.cpu import EmulatorBug, TripleFault
from .elf import ElfError
from .debug.explain import parse_access, walk_command
from .hardware.mmu import Access
from .kernel.arch.stub import StubMissing
from .kernel.mm.hugetlb import PoolTooBig
from .kernel.kernel import DEFAULT_HUGEPAGES
from .machine import DEFAULT_MEMORY, Machine, Options
from .plugins import PluginError, discover
from .hardware.physmem import OutOfMemory, check_memory_size, parse_size
from .text import printable
from .hardware.tlb import parse_geometry
from .debug.trace import FORMATS as TRACE_FORMATS, Tracer, parse_categories

USAGE_ERROR = 2        # bad flags or a program emu refuses to load (like a shell's 2)


def memory_size(text: str) -> int:
    try:
        size = parse_size(text)
        check_memory_size(size)
    except ValueError as err:
        raise argparse.ArgumentTypeError(str(err)) from None
    return size


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not math.isfinite(value) or value <= 0:      # nan and inf crash the CPU loop's budget
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds: {text!r}")
    return value


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) == 0:
        raise argparse.ArgumentTypeError(f"not a positive integer: {text!r}")
    return int(text)


def directory(text: str) -> str:
    if not os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"not a directory: {text!r}")
    return text


def checked(parse):
    def wrapper(text):
        try:
            return parse(text)
        except ValueError as err:
            raise argparse.ArgumentTypeError(str(err)) from None
    wrapper.__name__ = parse.__name__
    return wrapper


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="emu", description="A full-system x86-64 emulator with a Python MMU, built on Unicorn.")
    parser.add_argument("--version", action="version", version=f"emu {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.required = True
    run = commands.add_parser("run", help="run a static x86-64 Linux ELF program",
                              description="Run a static x86-64 Linux ELF program in ring 3 on emu's MMU.")
    run.add_argument("elf", metavar="ELF", help="the program (a static x86-64 ELF)")
    program_args = run.add_argument("args", metavar="ARGS", nargs=argparse.REMAINDER, help="its arguments")
    program_args.required = False       # argparse marks a REMAINDER required: "ELF, ARGS are required"
    run.add_argument("--memory", type=memory_size, default=DEFAULT_MEMORY, metavar="SIZE",
                     help="guest RAM, a multiple of 2 MiB (default 512M)")
    run.add_argument("--tlb", type=checked(parse_geometry), default={}, metavar="GEOMETRY",
                     help="TLB geometry, e.g. 4k=1536/12,2m=32/4 (the default: Intel Skylake)")
    run.add_argument("--timeout", type=positive_float, metavar="SECONDS",
                     help="stop the guest after this long (exit status 124)")
    run.add_argument("--max-insns", type=positive_int, metavar="N",
                     help="stop the guest after N instructions (exit status 124; slows emu down)")
    run.add_argument("--trace", type=checked(parse_categories), default=set(), metavar="CATEGORIES",
                     help="comma-separated: walk,tlb,fault,syscall,sched (or all)")
    run.add_argument("--trace-file", metavar="FILE", help="write the trace here instead of stderr")
    run.add_argument("--trace-format", choices=TRACE_FORMATS, default="text",
                     help="text (one line per event, the default) or jsonl (one JSON object per event)")
    run.add_argument("--report", metavar="FILE.html",
                     help="write a self-contained HTML report: address spaces, page tables, TLB, faults")
    run.add_argument("--stats", action="store_true", help="print MMU and TLB counters at exit")
    run.add_argument("--gdb", type=port_number, metavar="PORT",
                     help="wait for gdb on 127.0.0.1:PORT (target remote :PORT); see docs/debugging.md")
    run.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                     help="an environment variable for the guest (repeatable)")
    run.add_argument("--root", type=directory, metavar="DIR",
                     help="show host directory DIR as the guest's / (read-only; default: no host files)")
    run.add_argument("--root-writable", action="store_true",
                     help="let the guest create and write files under --root")
    run.add_argument("--hugepages", type=non_negative_int, default=None, metavar="N",
                     help=f"2 MiB pages in the huge page pool (default {DEFAULT_HUGEPAGES}, "
                          f"or a quarter of --memory if that is less)")
    run.add_argument("--no-zero-page", dest="zero_page", action="store_false",
                     help="/dev/page-huge without its huge zero page (the 2007 device as posted)")
    run.add_argument("--plugin", dest="plugin_files", action="append", default=[], metavar="FILE.py",
                     help="load an emu plugin from a file (repeatable)")
    walk = commands.add_parser("walk", help="run a program to a point and explain the page walk of a va",
                               description="Run ELF until --at SYMBOL, --after-insns N or its exit, then explain "
                                           "the translation of VA level by level (changes no A/D bit).")
    walk.add_argument("elf", metavar="ELF", help="the program (a static x86-64 ELF)")
    walk.add_argument("va", metavar="VA", help="the virtual address: a number (0x...) or a symbol of ELF")
    walk.add_argument("args", metavar="ARGS", nargs="*", default=[],     # a default: not "required"
                      help="the program's arguments (after --)")
    walk.add_argument("--at", metavar="SYMBOL", help="stop when rip reaches SYMBOL (or an address)")
    walk.add_argument("--after-insns", type=positive_int, metavar="N", help="stop after N instructions (slow)")
    walk.add_argument("--access", type=checked(parse_access), default=Access.READ, metavar="KIND",
                      help="read (default), write or fetch")
    walk.add_argument("--cpl", type=int, choices=(0, 3), default=3, help="the privilege level (default 3)")
    for flag, kwargs in (("--memory", dict(type=memory_size, default=DEFAULT_MEMORY, metavar="SIZE")),
                         ("--tlb", dict(type=checked(parse_geometry), default={}, metavar="GEOMETRY")),
                         ("--timeout", dict(type=positive_float, metavar="SECONDS")),
                         ("--hugepages", dict(type=non_negative_int, default=None, metavar="N")),
                         ("--env", dict(action="append", default=[], metavar="NAME=VALUE")),
                         ("--root", dict(type=directory, metavar="DIR")),
                         ("--plugin", dict(dest="plugin_files", action="append", default=[], metavar="FILE.py"))):
        walk.add_argument(flag, help="as for emu run", **kwargs)
    walk.add_argument("--no-zero-page", dest="zero_page", action="store_false", help="as for emu run")
    plugins = commands.add_parser("plugins", help="list the plugins emu finds",
                                  description="List installed plugins (entry-point group emu.plugins) and --plugin files.")
    plugins.add_argument("--plugin", dest="plugin_files", action="append", default=[], metavar="FILE.py",
                         help="also load this plugin file")
    return parser


def port_number(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return int(text)


def complain(message: str) -> None:
    """One of emu's messages on stderr; the guest's text in it (a path, an interpreter's
    name) comes out escaped (emu/text.py), never as terminal control sequences."""
    print(printable(message), file=sys.stderr)


def non_negative_int(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"not a number of pages: {text!r}")
    return int(text)


def plugins_command(args) -> int:
    try:
        found = discover(args.plugin_files)
        machine = Machine(Options(memory=DEFAULT_MEMORY, plugin_files=tuple(args.plugin_files)))
    except (PluginError, PoolTooBig) as err:
        complain(f"emu: {err}")
        return USAGE_ERROR
    registry = machine.kernel.devices
    for plugin in found:
        devices = [path for path, opener in registry.openers.items()
                   if getattr(opener, "__module__", "") == plugin.module.__name__]
        print(f"{plugin.name:12} {plugin.origin}")
        if plugin.description:
            print(f"{'':12} {plugin.description}")
        for path in devices:
            print(f"{'':12} device {path}")
    if not found:
        print("no plugins found")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "plugins":
            status = plugins_command(args)
        elif args.command == "walk":
            status = walk_cli(args)
        else:
            status = run_command(args)
    except BrokenPipeError:             # emu's own output went into a closed pipe (`| head`)
        status = 128 + 13
    except KeyboardInterrupt:           # Ctrl-C outside a run (a run ends itself: emu/hostsignals.py)
        complain("emu: interrupted")
        status = 128 + 2
    if status == 128 + 13:              # SIGPIPE: our stdout is gone, do not flush into it at exit
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return status


def walk_cli(args) -> int:
    """`emu walk`: the run options, then emu/debug/explain.py's walk_command."""
    options = Options(memory=args.memory, tlb_geometry=args.tlb, timeout=args.timeout, root=args.root,
                      hugepages=args.hugepages, zero_page=args.zero_page, plugin_files=tuple(args.plugin_files),
                      stdout=sys.stderr.buffer)
    try:
        return walk_command(args, lambda: Machine(options))
    except (ElfError, StubMissing, PluginError, PoolTooBig, OutOfMemory) as err:
        complain(f"emu: {err}")
        return USAGE_ERROR


def run_command(args) -> int:
    trace_stream = None
    if args.trace_file:
        try:
            trace_stream = open(args.trace_file, "w")
        except OSError as err:
            complain(f"emu: cannot write trace file {args.trace_file}: {err.strerror}")
            return USAGE_ERROR
    if args.report:
        try:
            open(args.report, "w").close()          # fail now, not after the run
        except OSError as err:
            complain(f"emu: cannot write report file {args.report}: {err.strerror}")
            return USAGE_ERROR
    tracer = Tracer(args.trace, trace_stream, fmt=args.trace_format) if args.trace else None
    options = Options(memory=args.memory, tlb_geometry=args.tlb, timeout=args.timeout,
                      max_insns=args.max_insns, count_insns=args.stats, tracer=tracer, root=args.root,
                      root_writable=args.root_writable, hugepages=args.hugepages,
                      zero_page=args.zero_page, plugin_files=tuple(args.plugin_files))
    try:
        machine = Machine(options)
        if args.report:
            from .debug.report import Recorder
            machine.kernel.recorder = Recorder()
        debugger = None
        if args.gdb is not None:
            from .debug.gdbstub import GdbStub
            try:
                debugger = machine.cpu.debugger = GdbStub(machine, args.gdb)
            except OSError as err:
                complain(f"emu: cannot listen on 127.0.0.1:{args.gdb}: {err.strerror}")
                return USAGE_ERROR
        report = machine.run(args.elf, [args.elf, *args.args], args.env)
        if debugger is not None:
            debugger.finish()
    except (ElfError, StubMissing, PluginError, PoolTooBig) as err:
        complain(f"emu: {err}")
        return USAGE_ERROR
    except TripleFault as err:
        complain(f"emu: {err}; the CPU would shut down")
        return 128 + 9
    except OutOfMemory as err:
        complain(f"emu: {err}")
        return 128 + 9
    finally:
        if trace_stream:
            trace_stream.close()
    for line in report.lines:
        complain(line)
    if args.report:
        machine.kernel.recorder.write(args.report, machine, args.elf, [args.elf, *args.args], report.status)
    if args.stats:
        from .debug.stats import format_stats
        print(format_stats(machine), file=sys.stderr)
    if report.status is None:
        raise EmulatorBug("the guest stopped without exiting")
    return report.status


if __name__ == "__main__":
    sys.exit(main())
