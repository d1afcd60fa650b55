using System.Runtime.CompilerServices;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Objects;

namespace SharpBpf.Verification;

/// <summary>The C source line of a range of instructions, from a <c>bpf_line_info</c> record of BTF line info.</summary>
/// <param name="Pc">The first instruction (of the linked program) the record covers; it covers every instruction up to the next record.</param>
/// <param name="FileName">The source file as the compiler recorded it (often a full path).</param>
/// <param name="Line">The line number.</param>
/// <param name="Column">The column number.</param>
/// <param name="Text">The line's text.</param>
public sealed record SourceLine(int Pc, string FileName, int Line, int Column, string Text)
{
    /// <summary>The file name without its directories, as the kernel's log prints it.</summary>
    public string ShortFileName => FileName.LastIndexOf('/') is >= 0 and var slash ? FileName[(slash + 1)..] : FileName;

    /// <inheritdoc/>
    public override string ToString() => $"{ShortFileName}:{Line}:{Column}: {Text.Trim()}";

    private static readonly ConditionalWeakTable<BpfObject, BtfExt?> ParsedExt = [];

    /// <summary>
    /// The source lines of a linked program of <paramref name="obj"/>, sorted by <see cref="Pc"/>: its own records and
    /// those of each appended subprogram, moved to where that code sits in the program (as libbpf hands them to the
    /// kernel). Empty when the object has no usable BTF line info.
    /// </summary>
    public static IReadOnlyList<SourceLine> ForProgram(BpfObject obj, ObjectProgram program)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(program);
        if (ParsedExt.GetValue(obj, Parse) is not { } ext || ext.LineInfo.IsEmpty)
        {
            return [];
        }

        var pieces = new List<(string Section, long SectionStart, int Count, int Start)>
        {
            (program.SectionName, (long)(program.SectionOffset / 8), program.OwnInstructionCount, 0),
        };
        foreach (var sub in program.Subprograms)
        {
            if (FunctionStart(obj.Elf, sub.SectionName, sub.Name) is { } start)
            {
                pieces.Add((sub.SectionName, start, sub.InstructionCount, sub.StartIndex));
            }
        }

        var lines = new List<SourceLine>();
        foreach (var (section, sectionStart, count, start) in pieces)
        {
            foreach (var records in ext.LineInfo)
            {
                if (records.SectionName != section)
                {
                    continue;
                }

                foreach (var record in records.Records)
                {
                    long insn = record.InstructionOffset / 8;
                    if (insn >= sectionStart && insn < sectionStart + count)
                    {
                        lines.Add(new SourceLine((int)(insn - sectionStart + start), record.FileName, (int)record.Line, (int)record.Column, record.LineText));
                    }
                }
            }
        }

        lines.Sort((a, b) => a.Pc.CompareTo(b.Pc));
        return lines;
    }

    /// <summary>
    /// The record covering <paramref name="pc"/> in <paramref name="lines"/> (sorted by <see cref="Pc"/>): the last
    /// one starting at or before it (the kernel's <c>find_linfo</c>), or null.
    /// </summary>
    public static SourceLine? Find(IReadOnlyList<SourceLine> lines, int pc)
    {
        ArgumentNullException.ThrowIfNull(lines);
        int lo = 0, hi = lines.Count - 1, found = -1;
        while (lo <= hi)
        {
            int mid = lo + ((hi - lo) / 2);
            if (lines[mid].Pc <= pc)
            {
                found = mid;
                lo = mid + 1;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return found >= 0 ? lines[found] : null;
    }

    // Malformed BTF only costs the source lines: verification does not depend on them.
    private static BtfExt? Parse(BpfObject obj)
    {
        if (obj.Btf is not { } btf || obj.BtfExt is not { } ext)
        {
            return null;
        }

        try
        {
            return BtfExt.Parse(ext.Span, BtfSpec.Parse(btf));
        }
        catch (Exception e) when (e is BtfFormatException or ArgumentException or IndexOutOfRangeException)
        {
            return null;
        }
    }

    private static long? FunctionStart(ElfFile elf, string sectionName, string name)
    {
        var section = elf.FindSection(sectionName);
        if (section is null)
        {
            return null;
        }

        foreach (var symbol in elf.Symbols)
        {
            if (symbol.SectionIndex == section.Index && symbol.Name == name && symbol.Type == ElfSymbolType.Function)
            {
                return (long)(symbol.Value / 8);
            }
        }

        return null;
    }
}
