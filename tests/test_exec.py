"""execve: a program replaces itself or its forked child (natively and under emu, the
same output), and runs other programs inside --root, with Linux's errors."""

import os
import shutil

import pytest

from tests.emu_runner import REPO, run_emu, run_native

pytestmark = pytest.mark.usefixtures("guests")


def test_same_as_native():
    """Errors, what crosses execve and what does not, and process 1 exec'ing itself
    (emu's exit status is then the new image's)."""
    native = run_native("guest/exec.elf")
    emulated = run_emu("run", "--timeout", "60", "guest/exec.elf")
    assert emulated.stdout == native.stdout
    assert emulated.returncode == native.returncode == 3
    assert "after execve (final)" in emulated.stdout and "not ok" not in emulated.stdout


@pytest.fixture
def root(tmp_path):
    shutil.copy(REPO / "guest/hello.elf", tmp_path / "hello")
    (tmp_path / "script").write_text("#!/bin/sh\necho not an ELF\n")     # no /bin/sh inside the root
    (tmp_path / "script").chmod(0o755)
    (tmp_path / "greet").write_text("#!/hello  one two \n")                 # interpreter: hello
    (tmp_path / "greet").chmod(0o755)
    (tmp_path / "loop").write_text("#!/loop\n")                            # its own interpreter
    (tmp_path / "loop").chmod(0o755)
    (tmp_path / "text").write_text("not a program\n")
    (tmp_path / "text").chmod(0o755)
    shutil.copy(REPO / "guest/hello.elf", tmp_path / "not-executable")
    (tmp_path / "not-executable").chmod(0o644)
    (tmp_path / "bin").mkdir()
    os.symlink("../hello", tmp_path / "bin" / "hello")
    return tmp_path


def exec_in(root, path):
    return run_emu("run", "--root", root, "--timeout", "60", "guest/exec.elf", "exec", path)


def test_exec_another_program_inside_the_root(root):
    result = exec_in(root, "/bin/hello")            # through a symlink inside the root
    assert result.returncode == 0, result.stderr
    assert "execve" not in result.stdout            # exec.elf's own line never printed: replaced
    expected = run_emu("run", "guest/hello.elf").stdout.replace("argv[0] = guest/hello.elf", "argv[0] = /bin/hello")
    assert result.stdout == expected


def test_exec_a_script_runs_its_interpreter(root):
    """#!/hello  one two: the interpreter gets one argument (all after its name), then the
    script's path, as Linux's binfmt_script passes them."""
    result = exec_in(root, "/greet")
    assert result.returncode == 0, result.stderr
    assert "argv[0] = /hello\nargv[1] = one two\nargv[2] = /greet\n" in result.stdout


@pytest.mark.parametrize("path,error", [("/text", -8), ("/script", -2), ("/loop", -40), ("/not-executable", -13), ("/bin", -13),
                                        ("/missing", -2), ("/hello/x", -20)])
def test_exec_errors(root, path, error):
    """ENOEXEC for a file that is neither a static ELF nor a script (emu has no dynamic
    loader), ENOENT for a script whose interpreter is missing, ELOOP past four
    interpreters, EACCES without an execute
    bit or for a directory, ENOENT, ENOTDIR."""
    result = exec_in(root, path)
    assert result.stdout == f"execve {path}: {error}\n" and result.returncode == 0
