#!/usr/bin/env python3
"""Regenerates the bpftool map dumps SharpBPF's MapDump is compared with.

Builds dump_types.o from dump_types.c (clang-19), loads it with `bpftool prog loadall ... pinmaps`, applies
updates.txt with `bpftool map update`, and writes `bpftool map dump` (plain) to expected/map-NAME.txt and
`bpftool -j map dump` to expected/map-NAME.json for every map (global data maps under their section name), plus the
number of possible CPUs to expected/cpus.txt. Needs root, bpffs and bpftool. Removes its pins on exit.
"""
import os
import platform
import shutil
import subprocess
from pathlib import Path

HERE = Path(__file__).resolve().parent
PIN = Path("/sys/fs/bpf/sharpbpf_mapdump_fixture")


def run(*args, **kwargs):
    return subprocess.run([str(a) for a in args], check=True, capture_output=True, text=True, **kwargs)


def data_bytes(obj):
    """The (bytes) of every initialised variable, by symbol name."""
    sections = {}
    for line in run("llvm-readelf-19", "-S", obj).stdout.splitlines():
        if "]" in line and line.strip().startswith("["):
            index, rest = line.split("]", 1)
            parts = rest.split()
            if parts and parts[0].startswith(".data"):
                sections[index.strip("[ ")] = parts[0]
    contents = {}
    for index, name in sections.items():
        path = HERE / "section.bin"
        run("llvm-objcopy-19", "--dump-section", f"{name}={path}", obj, HERE / "scratch.o")
        contents[index] = path.read_bytes()
        path.unlink()
        (HERE / "scratch.o").unlink()
    symbols = {}
    for line in run("llvm-readelf-19", "-s", obj).stdout.splitlines():
        parts = line.split()
        if len(parts) == 8 and parts[6] in contents:
            offset, size = int(parts[1], 16), int(parts[2])
            symbols[parts[7]] = contents[parts[6]][offset:offset + size]
    return symbols


def resolve(spec, symbols):
    if spec.startswith("@"):
        name, _, length = spec[1:].partition(":")
        value = symbols[name]
        return value[:int(length)] if length else value
    return bytes.fromhex(spec)


def main():
    machine = platform.machine()
    obj = HERE / "dump_types.o"
    run("clang-19", "-O2", "-g", "-target", "bpf", "-mcpu=v3", "-fdebug-compilation-dir=.",
        f"-I/usr/include/{machine}-linux-gnu", "-c", HERE / "dump_types.c", "-o", obj, cwd=HERE)
    symbols = data_bytes(obj)
    shutil.rmtree(PIN, ignore_errors=True)
    PIN.mkdir(parents=True)
    try:
        run("bpftool", "prog", "loadall", obj, PIN / "progs", "pinmaps", PIN / "maps")
        for line in (HERE / "updates.txt").read_text().splitlines():
            if not line.strip() or line.startswith("#"):
                continue
            name, key, value = line.split()
            run("bpftool", "map", "update", "pinned", PIN / "maps" / name,
                "key", "hex", *resolve(key, symbols).hex(" ").split(),
                "value", "hex", *resolve(value, symbols).hex(" ").split())
        out = HERE / "expected"
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        for pinned in sorted((PIN / "maps").iterdir()):
            name = pinned.name
            # libbpf names global data maps after the object and the section: dump_typ.data -> dump_typ_data
            for section in ("rodata", "data", "bss", "data.kitchen"):
                if name in ("dump_typ_" + section, "dump_typ." + section, "_" + section.replace(".", "_")):
                    name = "." + section
            (out / f"map-{name}.txt").write_text(run("bpftool", "map", "dump", "pinned", pinned).stdout)
            (out / f"map-{name}.json").write_text(run("bpftool", "-j", "map", "dump", "pinned", pinned).stdout)
        cpus = Path("/sys/devices/system/cpu/possible").read_text().strip()
        last = int(cpus.split("-")[-1].split(",")[-1])
        (out / "cpus.txt").write_text(f"{last + 1}\n")
    finally:
        shutil.rmtree(PIN, ignore_errors=True)


if __name__ == "__main__":
    if os.geteuid() != 0:
        raise SystemExit("gen.py needs root (bpftool prog loadall)")
    main()
