using System.Collections.Immutable;
using System.Runtime.CompilerServices;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Objects;

namespace SharpBpf.Verification;

/// <summary>
/// A <c>bpf_func_info</c> record of a linked program, as the loader hands it to the kernel: the BTF function whose code
/// starts at an instruction. Its linkage (static or global) decides how the verifier checks calls of the function.
/// </summary>
/// <param name="Pc">The function's first instruction in the linked program.</param>
/// <param name="TypeId">Its <see cref="BtfKind.Function"/> type in the program's BTF.</param>
public sealed record FunctionInfo(int Pc, int TypeId)
{
    /// <summary>
    /// The function records of a linked program of <paramref name="obj"/>, sorted by <see cref="Pc"/>: its own and those
    /// of each appended subprogram, moved to where that code sits in the program. Empty when the object has no usable
    /// BTF function info.
    /// </summary>
    public static IReadOnlyList<FunctionInfo> ForProgram(BpfObject obj, ObjectProgram program)
    {
        ArgumentNullException.ThrowIfNull(obj);
        ArgumentNullException.ThrowIfNull(program);
        if (ObjectBtfInfo.Ext(obj) is not { } ext || ext.FuncInfo.IsEmpty)
        {
            return [];
        }

        var functions = ObjectBtfInfo.Relocated(obj, program, ext.FuncInfo, r => r.InstructionOffset)
            .Select(r => new FunctionInfo(r.Pc, r.Record.TypeId)).ToList();
        functions.Sort((a, b) => a.Pc.CompareTo(b.Pc));
        return functions;
    }
}

/// <summary>An object's parsed <c>.BTF</c> and <c>.BTF.ext</c> (once per object), and where a linked program's code came from.</summary>
internal static class ObjectBtfInfo
{
    private static readonly ConditionalWeakTable<BpfObject, Parsed> Cache = [];

    private sealed record Parsed(BtfSpec? Btf, BtfExt? Ext);

    /// <summary>The object's BTF, or null when it has none or it is malformed.</summary>
    public static BtfSpec? Btf(BpfObject obj) => Cache.GetValue(obj, Parse).Btf;

    /// <summary>The object's BTF.ext, or null when it has none or it is malformed.</summary>
    public static BtfExt? Ext(BpfObject obj) => Cache.GetValue(obj, Parse).Ext;

    /// <summary>
    /// The records of <paramref name="sections"/> that belong to a linked program's code, each with the instruction it
    /// names in the program (the records of appended subprograms moved to where their code sits).
    /// </summary>
    public static IEnumerable<(int Pc, T Record)> Relocated<T>(BpfObject obj, ObjectProgram program, ImmutableArray<BtfExtSection<T>> sections, Func<T, uint> byteOffset)
    {
        foreach (var (section, sectionStart, count, start) in Pieces(obj, program))
        {
            foreach (var records in sections)
            {
                if (records.SectionName != section)
                {
                    continue;
                }

                foreach (var record in records.Records)
                {
                    long insn = byteOffset(record) / 8;
                    if (insn >= sectionStart && insn < sectionStart + count)
                    {
                        yield return ((int)(insn - sectionStart + start), record);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The pieces of a linked program: each function's section, its first instruction in that section, its length and
    /// where it starts in the program (the program's own code first, then each appended subprogram).
    /// </summary>
    private static List<(string Section, long SectionStart, int Count, int Start)> Pieces(BpfObject obj, ObjectProgram program)
    {
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

        return pieces;
    }

    // Malformed BTF only costs what is derived from it: the objects still load and verify.
    private static Parsed Parse(BpfObject obj)
    {
        if (obj.Btf is not { } raw)
        {
            return new Parsed(null, null);
        }

        BtfSpec spec;
        try
        {
            spec = BtfSpec.Parse(raw);
        }
        catch (Exception e) when (e is BtfFormatException or ArgumentException or IndexOutOfRangeException)
        {
            return new Parsed(null, null);
        }

        try
        {
            return new Parsed(spec, obj.BtfExt is { } ext ? BtfExt.Parse(ext.Span, spec) : null);
        }
        catch (Exception e) when (e is BtfFormatException or ArgumentException or IndexOutOfRangeException)
        {
            return new Parsed(spec, null);
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
