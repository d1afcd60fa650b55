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

    /// <summary>
    /// The source lines of a linked program of <paramref name="obj"/>, sorted by <see cref="Pc"/>: its own records and
    /// those of each appended subprogram, moved to where that code sits in the program (as libbpf hands them to the
    /// kernel). Empty when the object has no usable BTF line info.
    /// </summary>
    public static IReadOnlyList<SourceLine> ForProgram(BpfObject obj, ObjectProgram program)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(program);
        if (ObjectBtfInfo.Ext(obj) is not { } ext || ext.LineInfo.IsEmpty)
        {
            return [];
        }

        var lines = ObjectBtfInfo.Relocated(obj, program, ext.LineInfo, r => r.InstructionOffset)
            .Select(r => new SourceLine(r.Pc, r.Record.FileName, (int)r.Record.Line, (int)r.Record.Column, r.Record.LineText)).ToList();
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
}
