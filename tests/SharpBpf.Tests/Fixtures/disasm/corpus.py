#!/usr/bin/env python3
"""Writes the instruction corpora the disassembler tests feed to llvm-objdump-19.

forms.hex     every instruction form of RFC 9669 (plus the LLVM extensions
              llvm-objdump knows) with corner-case field values.
random.hex    seeded random slots over all 256 opcodes and all field values,
              to pin down how llvm-objdump treats reserved fields and
              invalid encodings.
truncated.hex a program whose last slot starts an lddw with no second slot.
zeros.hex     runs of zero bytes, which llvm-objdump collapses into '...' lines,
              including a 12-byte run that leaves decoding half a slot out of step.

One instruction per line as hex bytes in memory order (16 digits, or 32 for
the two slots of lddw); text after '#' is a comment.
"""
import random
import struct

INT_MIN, INT_MAX = -0x80000000, 0x7fffffff


def slot(op, dst=0, src=0, off=0, imm=0):
    return struct.pack('<BBhi', op, (dst & 15) | ((src & 15) << 4), off, imm).hex()


def lddw(dst, lo, hi, src=0, off=0):
    return slot(0x18, dst, src, off, lo) + slot(0, 0, 0, 0, hi)


ALU_OPS = {'add': 0x00, 'sub': 0x10, 'mul': 0x20, 'div': 0x30, 'or': 0x40, 'and': 0x50,
           'lsh': 0x60, 'rsh': 0x70, 'mod': 0x90, 'xor': 0xa0, 'mov': 0xb0, 'arsh': 0xc0}
JMP_OPS = {'jeq': 0x10, 'jgt': 0x20, 'jge': 0x30, 'jset': 0x40, 'jne': 0x50, 'jsgt': 0x60,
           'jsge': 0x70, 'jlt': 0xa0, 'jle': 0xb0, 'jslt': 0xc0, 'jsle': 0xd0}
IMMS = [0, 1, -1, 10, -8, 0x1234, 0x7fffffff, INT_MIN, 0x10000, -0x10000]
OFFS = [0, 1, -1, 8, -8, 0x7fff, -0x8000, 0x100]
REG_PAIRS = [(1, 2), (0, 10), (9, 5), (10, 0), (3, 3)]


def forms():
    out = []
    add = lambda text, comment: out.append(f'{text}  # {comment}')
    for cls, name in ((0x07, 'alu64'), (0x04, 'alu32')):
        for op, code in ALU_OPS.items():
            for i, imm in enumerate(IMMS):
                add(slot(cls | code, i % 10, 0, 0, imm), f'{op} {name} K')
            for d, s in REG_PAIRS:
                add(slot(cls | code | 0x08, d, s), f'{op} {name} X')
        for op in (0x30, 0x90):
            for imm in (3, -1, INT_MIN, 0x7fffffff):
                add(slot(cls | op, 4, 0, 1, imm), f'signed {name} K')
            for d, s in REG_PAIRS:
                add(slot(cls | op | 0x08, d, s, 1), f'signed {name} X')
        for d in (0, 1, 9, 10):
            add(slot(cls | 0x80, d), f'neg {name}')
        for bits in ((8, 16, 32) if cls == 0x07 else (8, 16)):
            for d, s in REG_PAIRS[:3]:
                add(slot(cls | 0xb8, d, s, bits), f'movsx{bits} {name}')
    for d in (0, 3, 9):
        for bits in (16, 32, 64):
            add(slot(0xd4, d, 0, 0, bits), 'le')
            add(slot(0xdc, d, 0, 0, bits), 'be')
            add(slot(0xd7, d, 0, 0, bits), 'bswap')
    add(slot(0xbf, 1, 2, 1, 0x00010000), 'addr_space_cast (LLVM extension)')
    add(slot(0xbf, 3, 4, 1, 0x00000001), 'addr_space_cast (LLVM extension)')
    sizes = {'w': 0x00, 'h': 0x08, 'b': 0x10, 'dw': 0x18}
    for sz, code in sizes.items():
        for i, off in enumerate(OFFS):
            d, s = REG_PAIRS[i % len(REG_PAIRS)]
            add(slot(0x61 | code, d, s, off), f'ldx{sz}')
            add(slot(0x63 | code, d, s, off), f'stx{sz}')
            add(slot(0x62 | code, d, 0, off, IMMS[i]), f'st{sz}')
            if sz != 'dw':
                add(slot(0x81 | code, d, s, off), f'ldxs{sz}')
    for sz, code in (('w', 0x00), ('dw', 0x18)):
        for aop in (0x00, 0x40, 0x50, 0xa0, 0x01, 0x41, 0x51, 0xa1, 0xe1, 0xf1):
            for d, s, off in ((1, 2, 0), (10, 1, -8), (0, 9, 0x7fff), (3, 0, -0x8000)):
                add(slot(0xc3 | code, d, s, off, aop), f'atomic {sz} 0x{aop:02x}')
    for src in range(7):
        for lo, hi in ((0, 0), (1, 0), (1, 2), (-1, -1), (0, INT_MIN), (0x12345678, -0x65432110),
                       (-1, 0), (INT_MIN, 0), (7, 0x10)):
            add(lddw(src % 10 + 1 if src else 0, lo, hi, src), f'lddw src={src}')
    for code, sz in ((0x20, 'w'), (0x28, 'h'), (0x30, 'b')):
        for imm in (0, 12, -1, 0x7fffffff, INT_MIN):
            add(slot(code, 0, 0, 0, imm), f'ldabs{sz}')
        for s in (0, 1, 7, 10):
            add(slot(code + 0x20, 0, s, 0), f'ldind{sz}')
    for cls, name in ((0x05, 'jmp'), (0x06, 'jmp32')):
        for op, code in JMP_OPS.items():
            for i, off in enumerate(OFFS):
                add(slot(cls | code, i % 11, 0, off, IMMS[i]), f'{op} {name} K')
            for (d, s), off in zip(REG_PAIRS, (2, -2, 0, 0x7fff, -0x8000)):
                add(slot(cls | code | 0x08, d, s, off), f'{op} {name} X')
    for off in OFFS:
        add(slot(0x05, 0, 0, off), 'ja')
    for imm in (0, 1, -1, 3, INT_MIN, 0x7fffffff):
        add(slot(0x06, 0, 0, 0, imm), 'gotol (ja32)')
    for imm in (0, 1, 5, 0x7fffffff, -1, 211):
        add(slot(0x85, 0, 0, 0, imm), 'call helper')
    for imm in (1, -1, 5, -10):
        add(slot(0x85, 0, 1, 0, imm), 'call local')
    for imm, off in ((1, 0), (0x1234, 0), (77, 1)):
        add(slot(0x85, 0, 2, off, imm), 'call kfunc')
    for d in (0, 1, 5, 10):
        add(slot(0x8d, d), 'callx')
    add(slot(0xe5, 0, 0, 4), 'may_goto (LLVM extension)')
    add(slot(0xe5, 0, 0, -3), 'may_goto (LLVM extension)')
    add(slot(0x95), 'exit')
    for raw in (slot(0x00), slot(0xff, 1, 2, 3, 4), slot(0x8c), slot(0xdf, 1, 0, 0, 16),
                slot(0x95, 0, 0, 0, 1), slot(0x07, 12), slot(0x0f, 1, 13), slot(0xbc, 1, 2, 32),
                slot(0x18, 1, 0, 4, 0) + slot(0, 0, 0, 0, 0), slot(0xd4, 1, 0, 0, 8)):
        add(raw, 'invalid')
    add(slot(0x95), 'exit')
    return out


def random_slots(count, seed):
    rng = random.Random(seed)
    known = sorted({c | 0x07 for c in ALU_OPS.values()} | {c | 0x0f for c in ALU_OPS.values()}
                   | {c | 0x04 for c in ALU_OPS.values()} | {c | 0x0c for c in ALU_OPS.values()}
                   | {0x84, 0x87, 0xd4, 0xdc, 0xd7, 0x18, 0x20, 0x28, 0x30, 0x40, 0x48, 0x50,
                      0x05, 0x06, 0x85, 0x8d, 0x95, 0xe5, 0xc3, 0xdb}
                   | {0x61 | s for s in (0, 8, 16, 24)} | {0x62 | s for s in (0, 8, 16, 24)}
                   | {0x63 | s for s in (0, 8, 16, 24)} | {0x81 | s for s in (0, 8, 16)}
                   | {c | 0x05 for c in JMP_OPS.values()} | {c | 0x0d for c in JMP_OPS.values()}
                   | {c | 0x06 for c in JMP_OPS.values()} | {c | 0x0e for c in JMP_OPS.values()})

    def reg():
        return rng.randrange(12) if rng.random() < 0.85 else rng.randrange(16)

    def off():
        r = rng.random()
        if r < 0.4:
            return 0
        if r < 0.55:
            return rng.choice([1, 8, 16, 32, 64, 2, 4])
        if r < 0.75:
            return rng.choice(OFFS)
        return rng.randrange(-0x8000, 0x8000)

    def imm():
        r = rng.random()
        if r < 0.3:
            return 0
        if r < 0.45:
            return rng.choice([16, 32, 64, 8, 1])
        if r < 0.6:
            return (rng.randrange(16) << 4) | rng.randrange(16) | (rng.choice([0, 0, 0, 1, 0x100]) << 8)
        if r < 0.75:
            return rng.choice(IMMS)
        return rng.randrange(INT_MIN, INT_MAX + 1)

    out = []
    for _ in range(count):
        op = rng.randrange(256) if rng.random() < 0.35 else rng.choice(known)
        out.append(slot(op, reg(), reg(), off(), imm()))
    out.append(slot(0x95) + '  # exit, so a final lddw has its second slot')
    out.append(slot(0x95))
    return out


def write(path, lines, header):
    with open(path, 'w') as f:
        f.write(f'# {header}\n# Generated by corpus.py (run gen.sh); do not edit.\n')
        f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    write('forms.hex', forms(), 'Every instruction form with corner values.')
    write('random.hex', random_slots(6000, 9669), 'Seeded random slots (seed 9669).')
    write('truncated.hex', [slot(0xb7, 1, 0, 0, 2), slot(0x18, 1, 0, 0, 1)],
          'An lddw whose second slot is missing.')
    write('zeros.hex', [
        slot(0x95),
        slot(0x00) + '  # 8 zero bytes',
        '00000000' + '0500fdff' + '  # with the run above, 12 zero bytes',
        '00000000' + '15010100' + '  # decoding continues from the middle of slots',
        '05000000' + 'b7030000',
        '09000000' + '95000000',
        lddw(1, 0, 0) + '  # lddw r1, 0 ends in 4 zero bytes',
        slot(0x00) + slot(0x00) + '  # 16 zero bytes after an lddw',
        slot(0xb7, 2, 0, 0, 7),
        slot(0x18, 0, 0, 0, 0) + '  # opcode 0x18 then 7 zero bytes',
        slot(0x95),
        slot(0x00) + slot(0x00) + '  # trailing zero slots',
    ], 'Zero blocks.')
