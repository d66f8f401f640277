"""text: guest-controlled text made safe to print on the user's terminal.

A path, an ELF's PT_INTERP string, a task's comm, argv: a hostile guest or ELF chooses
them, and printed raw they could move the cursor, clear the screen, set the terminal's
title or start a fake line of emu's own ("\\x1b[2J\\nemu: ..."). Every message emu prints
goes through `printable` at the point where it is written (the CLI's messages, trace
lines), so no path forgets it.
"""

# Escapes as Python's repr writes them, for the characters that have a short one.
SHORT_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t"}
SURROGATE_ESCAPE = range(0xDC80, 0xDD00)      # os.fsdecode's stand-ins for undecodable bytes


def printable(text: str | bytes) -> str:
    """`text` with every character a terminal would act on written as an escape, as repr
    writes it but without quotes: control characters (\\x1b, \\n ...), format characters
    (U+202E ...), a backslash (so the escapes are unambiguous) and, for bytes or a str
    from os.fsdecode, each byte that is not UTF-8 as \\xNN. Printable text is unchanged."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "surrogateescape")
    if text.isprintable() and "\\" not in text:
        return text                              # the common case, at C speed
    return "".join(map(escape_char, text))


def escape_char(char: str) -> str:
    if char in SHORT_ESCAPES:
        return SHORT_ESCAPES[char]
    if char.isprintable():
        return char
    code = ord(char)
    if code in SURROGATE_ESCAPE:
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"
