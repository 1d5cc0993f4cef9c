#!/usr/bin/env python3
"""Builds the seed corpora of the fuzz targets (fuzz/harness/) from the protocol vectors
(fixtures/sip2/vectors.txt) and the SIP2 transcripts (fixtures/transcripts/*.sip).

Usage: python3 scripts/fuzz-corpus.py [OUT]   (default fuzz/corpus; one folder per target)

Each input starts with the bytes its target reads as choices (see fuzz/harness/*.rs):
  frame:   max-frame byte, read-cutting byte, then the byte stream
  message: options byte (0 = UTF-8, strict checksum, tolerant), then one frame
  session: login/source byte, then what the client sends
Files are named by the SHA-1 of their content, as libFuzzer names its own.
"""

import hashlib
import pathlib
import re
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
VECTORS = ROOT / "fixtures" / "sip2" / "vectors.txt"
TRANSCRIPTS = ROOT / "fixtures" / "transcripts"


def unescape(text):
    """The escapes of vectors.txt and the transcripts: \\r \\n \\\\ \\xHH."""
    out = bytearray()
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\" and i + 1 < len(text):
            n = text[i + 1]
            if n == "r":
                out += b"\r"
                i += 2
                continue
            if n == "n":
                out += b"\n"
                i += 2
                continue
            if n == "\\":
                out += b"\\"
                i += 2
                continue
            if n == "x" and re.fullmatch(r"[0-9A-Fa-f]{2}", text[i + 2 : i + 4]):
                out.append(int(text[i + 2 : i + 4], 16))
                i += 4
                continue
        out += c.encode("latin-1")
        i += 1
    return bytes(out)


def vectors():
    """(section, bytes) for every vector."""
    section = None
    for line in VECTORS.read_text(encoding="latin-1").splitlines():
        if line.startswith("#") or not line.strip():
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        parts = line.split("\t")
        if len(parts) >= 2:
            yield section, unescape(parts[1])


def with_terminator(data):
    return data if data.endswith((b"\r", b"\n")) else data + b"\r"


def transcripts():
    """(name, connections) per transcript: each connection's source and client bytes, and the
    server lines it answers with."""
    for path in sorted(TRANSCRIPTS.glob("*.sip")):
        connections = [["127.0.0.1", b"", []]]
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith("@connect"):
                parts = line.split()
                connections.append([parts[1] if len(parts) > 1 else "127.0.0.1", b"", []])
            elif line.startswith("C: "):
                connections[-1][1] += with_terminator(unescape(line[3:]))
            elif line.startswith("R: "):
                connections[-1][1] += unescape(line[3:])
            elif line.startswith("S: "):
                connections[-1][2].append(unescape(line[3:]).rstrip(b"\r\n"))
        yield path.stem, [c for c in connections if c[1] or c[2]]


def write(folder, data):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()).write_bytes(data)


def main():
    out = pathlib.Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "fuzz" / "corpus"
    frames, messages, sessions = out / "frame", out / "message", out / "session"
    for section, data in vectors():
        if section == "stream":
            write(frames, bytes([63, 0]) + data)
        else:
            write(messages, b"\x00" + data)
            write(frames, bytes([63, 3]) + with_terminator(data))
    for _, connections in transcripts():
        for source, sent, answers in connections:
            write(frames, bytes([63, 5]) + sent)
            # 4 selects 127.0.0.5, where libki needs no login; 0 sends no 93 of its own.
            write(sessions, bytes([4 if source == "127.0.0.5" else 0]) + sent)
            for line in sent.replace(b"\n", b"\r").split(b"\r"):
                if line:
                    write(messages, b"\x00" + line)
            for answer in answers:
                write(messages, b"\x00" + answer)
    for folder in (frames, messages, sessions):
        print(f"{folder}: {len(list(folder.iterdir()))} inputs")


if __name__ == "__main__":
    main()
