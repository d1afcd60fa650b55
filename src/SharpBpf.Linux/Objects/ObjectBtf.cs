using System.Buffers.Binary;
using SharpBpf.Btf;
using SharpBpf.Elf;
using SharpBpf.Objects;

namespace SharpBpf.Linux.Objects;

/// <summary>
/// Prepares an object's <c>.BTF</c> and <c>.BTF.ext</c> for the kernel the way libbpf does before BPF_BTF_LOAD:
/// clang leaves every DATASEC with size 0 and its variables at offset 0 (the section layout is only final in the
/// ELF file), and the kernel refuses both, so sizes come from the sections and offsets from the symbols.
/// </summary>
internal static class ObjectBtf
{
    /// <summary>The object's BTF with DATASEC sizes and variable offsets filled in and variables sorted by offset.</summary>
    public static byte[] FixDataSections(BpfObject bpfObject, BtfSpec spec) => DataSectionLayout.Apply(bpfObject, spec);

    /// <summary>The raw func_info and line_info records of <c>.BTF.ext</c>, by ELF section name.</summary>
    /// <exception cref="BtfFormatException">The records are malformed.</exception>
    public static ExtRecords ReadExtRecords(ReadOnlySpan<byte> ext, BtfSpec spec)
    {
        // The validated parse rejects malformed input; the raw records below keep the string offsets the kernel wants.
        _ = BtfExt.Parse(ext, spec);
        uint headerLength = BinaryPrimitives.ReadUInt32LittleEndian(ext[4..]);
        var func = ReadRecords(ext, headerLength, BinaryPrimitives.ReadUInt32LittleEndian(ext[8..]), BinaryPrimitives.ReadUInt32LittleEndian(ext[12..]), spec);
        var line = ReadRecords(ext, headerLength, BinaryPrimitives.ReadUInt32LittleEndian(ext[16..]), BinaryPrimitives.ReadUInt32LittleEndian(ext[20..]), spec);
        return new ExtRecords(func.RecordSize, func.Sections, line.RecordSize, line.Sections);
    }

    private static (uint RecordSize, Dictionary<string, List<byte[]>> Sections) ReadRecords(ReadOnlySpan<byte> ext, uint headerLength, uint offset, uint length, BtfSpec spec)
    {
        var sections = new Dictionary<string, List<byte[]>>(StringComparer.Ordinal);
        if (length == 0)
        {
            return (0, sections);
        }

        var info = ext.Slice((int)(headerLength + offset), (int)length);
        uint recordSize = BinaryPrimitives.ReadUInt32LittleEndian(info);
        int pos = 4;
        while (pos + 8 <= info.Length)
        {
            string name = spec.GetString(BinaryPrimitives.ReadUInt32LittleEndian(info[pos..]));
            int count = (int)BinaryPrimitives.ReadUInt32LittleEndian(info[(pos + 4)..]);
            pos += 8;
            if (!sections.TryGetValue(name, out var list))
            {
                sections[name] = list = [];
            }

            for (int i = 0; i < count; i++, pos += (int)recordSize)
            {
                list.Add(info.Slice(pos, (int)recordSize).ToArray());
            }
        }

        return (recordSize, sections);
    }

    /// <summary>
    /// The func_info and line_info of one linked program: each function's records (by section and instruction range)
    /// moved to where the function sits in the program, with offsets in instructions as the kernel counts them.
    /// </summary>
    public static (byte[] FuncInfo, byte[] LineInfo) ForProgram(ExtRecords records, BpfObject bpfObject, ObjectProgram program)
    {
        var pieces = new List<(string Section, long SectionStart, int Count, int Start)>
        {
            (program.SectionName, (long)(program.SectionOffset / 8), program.OwnInstructionCount, 0),
        };
        foreach (var sub in program.Subprograms)
        {
            var section = bpfObject.Elf.FindSection(sub.SectionName);
            long start = -1;
            foreach (var symbol in bpfObject.Elf.Symbols)
            {
                if (section is not null && symbol.SectionIndex == section.Index && symbol.Name == sub.Name && symbol.Type == ElfSymbolType.Function)
                {
                    start = (long)(symbol.Value / 8);
                    break;
                }
            }

            if (start >= 0)
            {
                pieces.Add((sub.SectionName, start, sub.InstructionCount, sub.StartIndex));
            }
        }

        return (Collect(records.FuncSections, records.FuncRecordSize, pieces), Collect(records.LineSections, records.LineRecordSize, pieces));
    }

    private static byte[] Collect(Dictionary<string, List<byte[]>> sections, uint recordSize, List<(string Section, long SectionStart, int Count, int Start)> pieces)
    {
        var output = new List<(uint Insn, byte[] Record)>();
        foreach (var (section, sectionStart, count, start) in pieces)
        {
            if (!sections.TryGetValue(section, out var list))
            {
                continue;
            }

            foreach (var record in list)
            {
                long insn = BinaryPrimitives.ReadUInt32LittleEndian(record) / 8;
                if (insn >= sectionStart && insn < sectionStart + count)
                {
                    var copy = (byte[])record.Clone();
                    uint moved = (uint)(insn - sectionStart + start);
                    BinaryPrimitives.WriteUInt32LittleEndian(copy, moved);
                    output.Add((moved, copy));
                }
            }
        }

        var bytes = new byte[output.Count * (int)recordSize];
        int at = 0;
        foreach (var (_, record) in output.OrderBy(r => r.Insn))
        {
            record.CopyTo(bytes, at);
            at += record.Length;
        }

        return bytes;
    }
}

/// <summary>Raw <c>.BTF.ext</c> records grouped by ELF section.</summary>
internal sealed record ExtRecords(uint FuncRecordSize, Dictionary<string, List<byte[]>> FuncSections, uint LineRecordSize, Dictionary<string, List<byte[]>> LineSections);
