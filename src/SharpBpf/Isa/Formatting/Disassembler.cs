using System.Globalization;
using System.Text;

namespace SharpBpf.Isa.Formatting;

/// <summary>
/// Turns instructions into assembly text, in LLVM's syntax (byte-identical to what
/// <c>llvm-objdump-19 -d --mcpu=v4</c> prints) or in the uBPF / bpf_conformance dialect.
/// </summary>
/// <remarks>
/// <para>
/// Nothing here throws for any instruction bytes. Encodings that llvm-objdump cannot decode are
/// printed as it prints them, <c>&lt;unknown&gt;</c>, in the LLVM syntax; note that LLVM ignores
/// fields an instruction does not use, so some encodings the kernel rejects (an ALU immediate
/// form with a non-zero source field, say) still print normally, exactly as llvm-objdump shows them.
/// In the uBPF syntax a slot with a field the dialect cannot express (a reserved field that is
/// not zero, a register above r10, an unknown opcode) is printed as
/// <c>.8byte 0x...</c>, the slot's bytes read as one little-endian 64-bit number, so that the text
/// always stands for exactly the original bytes.
/// </para>
/// <para>LLVM syntax quirks kept on purpose, because llvm-objdump has them:</para>
/// <list type="bullet">
/// <item>Immediates and offsets are hexadecimal, negative ones with a minus sign: <c>r1 += -0x1</c>,
/// <c>r1 = *(u64 *)(r10 - 0x8)</c>, <c>goto +0x2</c>, <c>if w1 s&gt; w2 goto -0x8000</c>.</item>
/// <item>Helper, local (src 1) and kfunc (src 2) calls all print as <c>call imm</c>.</item>
/// <item><c>lddw</c> with a pseudo source prints as <c>ld_pseudo&lt;TAB&gt;r1, 0x2, 0x5</c> (with a tab,
/// showing the source and the low 32 bits only); a plain one as <c>r1 = 0x200000001 ll</c>.</item>
/// <item>32-bit loads, stores and atomics use <c>w</c> registers (<c>w1 = *(u32 *)(r2 + 0x0)</c>,
/// <c>lock *(u32 *)(r1 + 0x0) += w2</c>, <c>w2 = xchg32_32(r1 + 0x0, w2)</c>), but byte swaps always
/// print <c>r</c> registers (<c>r1 = be16 r1</c>).</item>
/// <item>The immediate of an indirect packet load is not printed: <c>r0 = *(u32 *)skb[r1]</c>.</item>
/// <item>LLVM's extensions decode too: <c>may_goto</c> (opcode 0xe5) and <c>addr_space_cast</c>
/// (ALU64 mov with offset 1).</item>
/// <item>Register numbers up to 11 print (<c>r11</c>); 12 to 15 make the instruction unknown.</item>
/// </list>
/// <para>uBPF syntax, by example (the dialect of the bpf_conformance <c>-- asm</c> sections):</para>
/// <list type="bullet">
/// <item>Arithmetic: <c>add %r1, 5</c>, <c>add32 %r1, %r2</c>, <c>sdiv</c>/<c>smod</c> (offset 1),
/// <c>neg %r1</c>, <c>neg32 %r1</c>, <c>movsx864 %r1, %r2</c> (also 1664, 3264, 832, 1632),
/// <c>le16 %r1</c>, <c>be32 %r1</c>, <c>bswap64 %r1</c>.</item>
/// <item>Immediates: decimal when negative or at most 10, otherwise hexadecimal (<c>0x1234</c>;
/// INT_MIN as <c>0x80000000</c>). Offsets in memory operands and jumps are decimal.</item>
/// <item>Memory: <c>ldxdw %r0, [%r10-8]</c>, <c>ldxsb %r0, [%r1+2]</c>, <c>stw [%r1], 5</c>,
/// <c>stxdw [%r10-8], %r1</c>, <c>lock add [%r1], %r2</c>, <c>lock fetch xor32 [%r1+4], %r2</c>,
/// <c>lock xchg [%r1], %r2</c>, <c>lock cmpxchg32 [%r1], %r2</c>.</item>
/// <item><c>lddw %r1, 0x1122334455667788</c>; pseudo sources in bpftool's spelling:
/// <c>map[fd:5]</c> (src 1), <c>map[fd:5]+16</c> (src 2, value at an offset), <c>btf_id[7]</c> (src 3),
/// <c>subprog[+3]</c> (src 4, relative like a local call), <c>map[idx:0]</c> (src 5),
/// <c>map[idx:0]+16</c> (src 6). Legacy packet loads: <c>ldabsw 12</c>, <c>ldindh %r1, 4</c>.</item>
/// <item>Jumps: <c>ja +2</c>, <c>ja32 -1</c> (gotol), <c>jeq %r1, 5, +2</c>, <c>jsgt32 %r1, %r2, -3</c>.</item>
/// <item>Calls: <c>call 5</c> (helper), <c>call local +3</c> (relative, like jumps),
/// <c>call kfunc 0x1234</c> (with <c>, N</c> for a module BTF offset), <c>call %r2</c> (callx), <c>exit</c>.</item>
/// </list>
/// </remarks>
public static class Disassembler
{
    /// <summary>
    /// Formats the instruction at <paramref name="pc"/>. For <c>lddw</c> the following slot is
    /// read as its second half; an <c>lddw</c> in the last slot prints as llvm-objdump prints it
    /// at the end of a section, <c>&lt;unknown&gt;</c> (LLVM syntax), or as raw (uBPF syntax).
    /// Jump offsets are shown as encoded.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pc"/> is not a slot of <paramref name="program"/>.</exception>
    public static string Format(ReadOnlySpan<Instruction> program, int pc, AssemblySyntax syntax = AssemblySyntax.Llvm)
    {
        if ((uint)pc >= (uint)program.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(pc), pc, $"pc {pc} is outside the program of {program.Length} instruction(s)");
        }

        return FormatAt(program, pc, syntax, labelFor: null, out _, out _);
    }

    /// <summary>
    /// Formats a single slot on its own. An <c>lddw</c> has no second slot here, so it prints as
    /// <c>&lt;unknown&gt;</c> (LLVM) or raw (uBPF); use <see cref="Format(ReadOnlySpan{Instruction}, int, AssemblySyntax)"/> for it.
    /// </summary>
    public static string Format(Instruction instruction, AssemblySyntax syntax = AssemblySyntax.Llvm) =>
        Format([instruction], 0, syntax);

    /// <summary>
    /// Formats a whole program as a listing in the layout of <c>llvm-objdump -d</c> (the
    /// instruction lines only, without its file and section headers), one line per
    /// instruction, each ending in a newline. With the default options and
    /// <see cref="JumpTargetStyle.SymbolOffset"/> the result equals llvm-objdump-19's lines for
    /// the same bytes in a section without symbols, including its habits: an <c>lddw</c> takes one
    /// line showing both slots; runs of at least 8 zero bytes are collapsed into a <c>...</c> line
    /// (see <see cref="DisassemblyOptions.SkipZeroBlocks"/>); and bytes that cannot form a whole
    /// instruction (an <c>lddw</c> cut short by the end of the program) are shown one per line.
    /// </summary>
    public static string Disassemble(ReadOnlySpan<Instruction> program, DisassemblyOptions? options = null)
    {
        options ??= DisassemblyOptions.Default;
        byte[] bytes = Instruction.Encode(program);
        var entries = Walk(bytes, options);

        HashSet<long>? labels = null;
        if (options.JumpTargets == JumpTargetStyle.Labels)
        {
            var starts = entries.Where(e => e.Kind == EntryKind.Instruction).Select(e => (long)e.Index).ToHashSet();
            labels = entries.Where(e => e.TargetByte is long t && starts.Contains(t)).Select(e => e.TargetByte!.Value).ToHashSet();
        }

        var text = new StringBuilder(program.Length * 48);
        foreach (var entry in entries)
        {
            switch (entry.Kind)
            {
                case EntryKind.ZeroBlock:
                    text.Append("\t\t...\n");
                    continue;
                case EntryKind.Byte:
                    AppendPrefix(text, entry.Index, options);
                    if (options.ShowRawBytes)
                    {
                        text.Append(bytes[entry.Index].ToString("x2", CultureInfo.InvariantCulture)).Append('\t');
                    }

                    text.Append(options.Syntax == AssemblySyntax.Ubpf
                        ? ".byte 0x" + bytes[entry.Index].ToString("x2", CultureInfo.InvariantCulture)
                        : LlvmFormatter.Unknown).Append('\n');
                    continue;
            }

            if (labels is not null && labels.Contains(entry.Index))
            {
                text.Append(LabelName(entry.Index)).Append(":\n");
            }

            string line = entry.Text!;
            if (labels is not null && entry.TargetByte is long target && labels.Contains(target))
            {
                // Format again, this time naming the target.
                int index = entry.Index;
                line = FormatAt(SlotsAt(bytes, index), 0, options.Syntax,
                    relative => labels.Contains(index + (relative * Instruction.Size)) ? LabelName(index + (relative * Instruction.Size)) : null,
                    out _, out _);
            }
            else if (options.JumpTargets == JumpTargetStyle.SymbolOffset && entry.TargetByte is long annotated)
            {
                ulong byteOffset = unchecked((ulong)annotated);
                line += byteOffset == 0
                    ? $" <{options.SymbolName}>"
                    : $" <{options.SymbolName}+0x{byteOffset.ToString("x", CultureInfo.InvariantCulture)}>";
            }

            AppendPrefix(text, entry.Index, options);
            if (options.ShowRawBytes)
            {
                for (int i = 0; i < entry.Length; i++)
                {
                    if (i != 0)
                    {
                        text.Append(' ');
                    }

                    text.Append(bytes[entry.Index + i].ToString("x2", CultureInfo.InvariantCulture));
                }

                text.Append('\t');
            }

            text.Append(line).Append('\n');
        }

        return text.ToString();
    }

    private enum EntryKind
    {
        Instruction,
        ZeroBlock,
        Byte,
    }

    /// <summary>One line of a listing: where it starts (in bytes), how many bytes it covers, its text and jump target.</summary>
    private readonly record struct Entry(EntryKind Kind, int Index, int Length, string? Text, long? TargetByte);

    /// <summary>
    /// Walks the bytes as llvm-objdump does: at each position skip a zero block, or decode an
    /// instruction, or, when that is impossible, step over a single byte.
    /// </summary>
    private static List<Entry> Walk(byte[] bytes, DisassemblyOptions options)
    {
        var entries = new List<Entry>(bytes.Length / Instruction.Size);
        int index = 0;
        while (index < bytes.Length)
        {
            if (options.SkipZeroBlocks)
            {
                int zeros = CountSkippableZeroBytes(bytes.AsSpan(index));
                if (zeros > 0)
                {
                    entries.Add(new Entry(EntryKind.ZeroBlock, index, zeros, null, null));
                    index += zeros;
                    continue;
                }
            }

            if (bytes.Length - index < Instruction.Size)
            {
                entries.Add(new Entry(EntryKind.Byte, index, 1, null, null));
                index++;
                continue;
            }

            long? relativeTarget = null;
            string text = FormatAt(SlotsAt(bytes, index), 0, options.Syntax,
                relative =>
                {
                    relativeTarget = relative;
                    return null;
                },
                out int slots, out bool truncated);
            if (truncated)
            {
                entries.Add(new Entry(EntryKind.Byte, index, 1, null, null));
                index++;
                continue;
            }

            long? targetByte = relativeTarget is long r ? index + (r * Instruction.Size) : null;
            entries.Add(new Entry(EntryKind.Instruction, index, slots * Instruction.Size, text, targetByte));
            index += slots * Instruction.Size;
        }

        return entries;
    }

    /// <summary>The one or two instruction slots starting at a byte position.</summary>
    private static Instruction[] SlotsAt(byte[] bytes, int index)
    {
        int count = Math.Min(2, (bytes.Length - index) / Instruction.Size);
        return Instruction.Decode(bytes.AsSpan(index, count * Instruction.Size));
    }

    /// <summary>
    /// llvm-objdump's rule for zero blocks: at least 8 zero bytes in a row are skipped, in a
    /// multiple of 4 so that a following instruction that starts with zero bytes is not cut.
    /// </summary>
    private static int CountSkippableZeroBytes(ReadOnlySpan<byte> bytes)
    {
        int zeros = bytes.IndexOfAnyExcept((byte)0);
        if (zeros < 0)
        {
            zeros = bytes.Length;
        }

        return zeros < 8 ? 0 : zeros & ~3;
    }

    private static string FormatAt(ReadOnlySpan<Instruction> program, int pc, AssemblySyntax syntax, Func<long, string?>? labelFor, out int slots, out bool truncated)
    {
        if (syntax == AssemblySyntax.Ubpf)
        {
            truncated = false;
            return UbpfFormatter.Format(program, pc, labelFor, out slots);
        }

        return LlvmFormatter.Format(program, pc, labelFor, out slots, out truncated) ?? LlvmFormatter.Unknown;
    }

    /// <summary>A label named after its slot index, or its byte offset when that is not a whole slot.</summary>
    private static string LabelName(long byteIndex) =>
        byteIndex % Instruction.Size == 0
            ? "L" + (byteIndex / Instruction.Size).ToString(CultureInfo.InvariantCulture)
            : "L_byte" + byteIndex.ToString(CultureInfo.InvariantCulture);

    private static void AppendPrefix(StringBuilder text, int byteIndex, DisassemblyOptions options)
    {
        if (options.ShowAddresses)
        {
            // llvm-objdump shows BPF addresses in instruction slots, in decimal.
            text.Append((byteIndex / Instruction.Size).ToString(CultureInfo.InvariantCulture).PadLeft(8)).Append(':');
        }

        text.Append('\t');
    }
}
