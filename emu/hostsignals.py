"""Signals sent to emu itself (Ctrl-C, kill, a closed terminal) end the run cleanly.

A guest spinning inside Unicorn runs no Python code, so a Python signal handler would
wait for the next hook, perhaps for ever. Instead the signals are blocked in every
thread while a machine runs, and one watcher thread takes them with sigtimedwait and
asks the CPU to stop (Unicorn's emu_stop may be called from another thread: it is how
its own timeout works). The run loop then ends the run as qemu-system ends on SIGINT:
one line, exit status 128+N, with --stats, --trace-file and --report written as usual.
"""

import signal
import threading

HOST_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM, signal.SIGHUP})


class HostSignals:
    """While entered, SIGINT/SIGTERM/SIGHUP to emu call `on_signal(signum)` from a watcher thread."""

    def __init__(self, on_signal):
        self.on_signal = on_signal
        self.done = threading.Event()
        self.thread = threading.Thread(target=self.watch, name="emu-host-signals", daemon=True)

    def __enter__(self):
        self.old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, HOST_SIGNALS)
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        signal.pthread_kill(self.thread.ident, signal.SIGINT)    # wakes the watcher, which sees done
        self.thread.join()
        signal.pthread_sigmask(signal.SIG_SETMASK, self.old_mask)   # one that came late is raised now
        return False

    def watch(self):
        while True:
            info = signal.sigwaitinfo(HOST_SIGNALS)
            if self.done.is_set():
                return
            self.on_signal(info.si_signo)
