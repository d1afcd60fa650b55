using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Runtime.InteropServices;

namespace SharpBpf.Btf;

/// <summary>A <c>bpf_func_info</c> record: which BTF function starts at an instruction.</summary>
/// <param name="InstructionOffset">The instruction's byte offset in its ELF section (divide by 8 for an index).</param>
/// <param name="TypeId">The <see cref="BtfKind.Function"/> type.</param>
public readonly record struct BtfFuncInfo(uint InstructionOffset, int TypeId);

/// <summary>A <c>bpf_line_info</c> record: the source line of an instruction.</summary>
/// <param name="InstructionOffset">The instruction's byte offset in its ELF section.</param>
/// <param name="FileName">The source file name.</param>
/// <param name="LineText">The source line's text.</param>
/// <param name="Line">The line number.</param>
/// <param name="Column">The column number.</param>
public readonly record struct BtfLineInfo(uint InstructionOffset, string FileName, string LineText, uint Line, uint Column);

/// <summary>The kind of a CO-RE relocation (<c>enum bpf_core_relo_kind</c>).</summary>
public enum BtfCoreRelocationKind
{
    /// <summary>A field's byte offset.</summary>
    FieldByteOffset = 0,
    /// <summary>A field's byte size.</summary>
    FieldByteSize = 1,
    /// <summary>Whether a field exists.</summary>
    FieldExists = 2,
    /// <summary>Whether a field is signed.</summary>
    FieldSigned = 3,
    /// <summary>The left shift to extract a bitfield.</summary>
    FieldLShiftU64 = 4,
    /// <summary>The right shift to extract a bitfield.</summary>
    FieldRShiftU64 = 5,
    /// <summary>The local type id.</summary>
    TypeIdLocal = 6,
    /// <summary>The target (kernel) type id.</summary>
    TypeIdTarget = 7,
    /// <summary>Whether a type exists in the target.</summary>
    TypeExists = 8,
    /// <summary>A type's size.</summary>
    TypeSize = 9,
    /// <summary>Whether an enumerator exists.</summary>
    EnumValueExists = 10,
    /// <summary>An enumerator's value.</summary>
    EnumValue = 11,
    /// <summary>Whether a type matches the target's.</summary>
    TypeMatches = 12,
}

/// <summary>A <c>bpf_core_relo</c> record.</summary>
/// <param name="InstructionOffset">The instruction's byte offset in its ELF section.</param>
/// <param name="TypeId">The local root type.</param>
/// <param name="AccessString">The access specification, like <c>0:1:2</c>.</param>
/// <param name="Kind">What to relocate.</param>
public readonly record struct BtfCoreRelocation(uint InstructionOffset, int TypeId, string AccessString, BtfCoreRelocationKind Kind);

/// <summary>The records of one kind for one ELF section.</summary>
/// <typeparam name="T">The record type.</typeparam>
/// <param name="SectionName">The ELF section (program) the records belong to.</param>
/// <param name="Records">The records, in file order.</param>
public sealed record BtfExtSection<T>(string SectionName, ImmutableArray<T> Records);

/// <summary>
/// A parsed <c>.BTF.ext</c> section: function info, line info and CO-RE relocations, grouped by ELF section.
/// Strings (section and file names, source lines, access strings) live in the companion <c>.BTF</c>'s string table.
/// </summary>
public sealed class BtfExt
{
    private BtfExt(byte version, byte flags, ImmutableArray<BtfExtSection<BtfFuncInfo>> funcInfo,
        ImmutableArray<BtfExtSection<BtfLineInfo>> lineInfo, ImmutableArray<BtfExtSection<BtfCoreRelocation>> coreRelocations)
    {
        Version = version;
        Flags = flags;
        FuncInfo = funcInfo;
        LineInfo = lineInfo;
        CoreRelocations = coreRelocations;
    }

    /// <summary>The format version (1).</summary>
    public byte Version { get; }

    /// <summary>The header flags (0).</summary>
    public byte Flags { get; }

    /// <summary>Function info per ELF section.</summary>
    public ImmutableArray<BtfExtSection<BtfFuncInfo>> FuncInfo { get; }

    /// <summary>Line info per ELF section.</summary>
    public ImmutableArray<BtfExtSection<BtfLineInfo>> LineInfo { get; }

    /// <summary>CO-RE relocations per ELF section (empty when the header has no CO-RE part).</summary>
    public ImmutableArray<BtfExtSection<BtfCoreRelocation>> CoreRelocations { get; }

    /// <summary>Parses <c>.BTF.ext</c> bytes; <paramref name="btf"/> is the object's <c>.BTF</c>, for strings.</summary>
    /// <exception cref="BtfFormatException">The data is malformed (offsets name the position in <paramref name="data"/>).</exception>
    public static BtfExt Parse(ReadOnlySpan<byte> data, BtfSpec btf)
    {
        if (data.Length < 8) throw new BtfFormatException("BTF.ext header not found", offset: 0);
        ushort magic = BinaryPrimitives.ReadUInt16LittleEndian(data);
        if (magic != BtfSpec.Magic)
        {
            if (magic != BinaryPrimitives.ReverseEndianness(BtfSpec.Magic))
                throw new BtfFormatException($"Invalid BTF.ext magic 0x{magic:x4}", offset: 0);
            // Big-endian: every field after the first 4 bytes is a 32-bit word.
            var copy = data.ToArray();
            var words = MemoryMarshal.Cast<byte, uint>(copy.AsSpan(4, (copy.Length - 4) & ~3));
            BinaryPrimitives.ReverseEndianness(words, words);
            data = copy;
        }
        byte version = data[2], flags = data[3];
        if (version != 1) throw new BtfFormatException($"Unsupported BTF.ext version {version}", offset: 2);
        if (flags != 0) throw new BtfFormatException($"Unsupported BTF.ext flags 0x{flags:x}", offset: 3);
        uint hdrLen = BinaryPrimitives.ReadUInt32LittleEndian(data[4..]);
        if (hdrLen < 24 || hdrLen > data.Length)
            throw new BtfFormatException($"Invalid BTF.ext hdr_len {hdrLen}", offset: 4);
        var func = ParseInfo(data, hdrLen, BinaryPrimitives.ReadUInt32LittleEndian(data[8..]), BinaryPrimitives.ReadUInt32LittleEndian(data[12..]), 8, "func info", btf,
            (r, _) => new BtfFuncInfo(BinaryPrimitives.ReadUInt32LittleEndian(r), (int)BinaryPrimitives.ReadUInt32LittleEndian(r[4..])));
        var line = ParseInfo(data, hdrLen, BinaryPrimitives.ReadUInt32LittleEndian(data[16..]), BinaryPrimitives.ReadUInt32LittleEndian(data[20..]), 16, "line info", btf, (r, b) =>
        {
            uint col = BinaryPrimitives.ReadUInt32LittleEndian(r[12..]);
            return new BtfLineInfo(BinaryPrimitives.ReadUInt32LittleEndian(r),
                b.GetString(BinaryPrimitives.ReadUInt32LittleEndian(r[4..])),
                b.GetString(BinaryPrimitives.ReadUInt32LittleEndian(r[8..])), col >> 10, col & 0x3ff);
        });
        var core = ImmutableArray<BtfExtSection<BtfCoreRelocation>>.Empty;
        if (hdrLen >= 32)
        {
            core = ParseInfo(data, hdrLen, BinaryPrimitives.ReadUInt32LittleEndian(data[24..]), BinaryPrimitives.ReadUInt32LittleEndian(data[28..]), 16, "CO-RE relocation", btf, (r, b) =>
                new BtfCoreRelocation(BinaryPrimitives.ReadUInt32LittleEndian(r), (int)BinaryPrimitives.ReadUInt32LittleEndian(r[4..]),
                    b.GetString(BinaryPrimitives.ReadUInt32LittleEndian(r[8..])), (BtfCoreRelocationKind)BinaryPrimitives.ReadUInt32LittleEndian(r[12..])));
        }
        return new BtfExt(version, flags, func, line, core);
    }

    private delegate T RecordReader<T>(ReadOnlySpan<byte> record, BtfSpec btf);

    private static ImmutableArray<BtfExtSection<T>> ParseInfo<T>(ReadOnlySpan<byte> data, uint hdrLen, uint offset, uint length,
        int minRecordSize, string what, BtfSpec btf, RecordReader<T> read)
    {
        if (length == 0) return [];
        long start = (long)hdrLen + offset;
        if (offset % 4 != 0) throw new BtfFormatException($"{what} section is not 4-byte aligned", offset: start);
        if (start + length > data.Length) throw new BtfFormatException($"{what} section exceeds the data", offset: start);
        var info = data.Slice((int)start, (int)length);
        if (info.Length < 4) throw new BtfFormatException($"{what} section has no record size", offset: start);
        uint recordSize = BinaryPrimitives.ReadUInt32LittleEndian(info);
        if (recordSize < minRecordSize || recordSize % 4 != 0 || recordSize > 1024)
            throw new BtfFormatException($"{what} record size {recordSize} invalid", offset: start);
        var sections = ImmutableArray.CreateBuilder<BtfExtSection<T>>();
        int pos = 4;
        while (pos < info.Length)
        {
            if (info.Length - pos < 8) throw new BtfFormatException($"{what} section header truncated", offset: start + pos);
            uint nameOff = BinaryPrimitives.ReadUInt32LittleEndian(info[pos..]);
            uint count = BinaryPrimitives.ReadUInt32LittleEndian(info[(pos + 4)..]);
            if (count == 0) throw new BtfFormatException($"{what} section has no records", offset: start + pos);
            if (!btf.IsValidStringOffset(nameOff)) throw new BtfFormatException($"{what} section name offset {nameOff} out of range", offset: start + pos);
            pos += 8;
            if ((ulong)count * recordSize > (ulong)(info.Length - pos))
                throw new BtfFormatException($"{what} records exceed the section ({count} x {recordSize} bytes)", offset: start + pos);
            var records = ImmutableArray.CreateBuilder<T>((int)count);
            for (int i = 0; i < count; i++)
            {
                var record = info.Slice(pos, (int)recordSize);
                try
                {
                    records.Add(read(record, btf));
                }
                catch (BtfFormatException e)
                {
                    throw new BtfFormatException($"{what} record {i}: {e.Rule}", offset: start + pos);
                }
                pos += (int)recordSize;
            }
            sections.Add(new BtfExtSection<T>(btf.GetString(nameOff), records.MoveToImmutable()));
        }
        return sections.ToImmutable();
    }
}
