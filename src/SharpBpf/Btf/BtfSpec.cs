using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;

namespace SharpBpf.Btf;

/// <summary>The fixed part of a BTF header (<c>struct btf_header</c>).</summary>
/// <param name="Magic">0xEB9F.</param>
/// <param name="Version">1.</param>
/// <param name="Flags">0.</param>
/// <param name="HeaderLength">The header's length in bytes; offsets below count from its end.</param>
/// <param name="TypeOffset">Where the type section starts, after the header.</param>
/// <param name="TypeLength">The type section's length.</param>
/// <param name="StringOffset">Where the string section starts, after the header.</param>
/// <param name="StringLength">The string section's length.</param>
public readonly record struct BtfHeader(
    ushort Magic, byte Version, byte Flags, uint HeaderLength,
    uint TypeOffset, uint TypeLength, uint StringOffset, uint StringLength)
{
    /// <summary>The size of the header this library writes and knows.</summary>
    public const int Size = 24;
}

/// <summary>
/// Parsed BTF: a raw BTF blob (<c>/sys/kernel/btf/vmlinux</c>, a module's split BTF, an object's <c>.BTF</c> section)
/// indexed for random access by type id.
/// </summary>
/// <remarks>
/// Parsing makes one pass over the type section to record where each record starts; records are decoded only
/// when asked for and strings stay as bytes until a name is requested, so the 150k types of vmlinux index in a few
/// milliseconds. Parsing checks what random access needs (header, section bounds, record lengths, string section
/// terminated); <see cref="Validate"/> applies the rest of the kernel's rules.
/// Split BTF (a module on top of vmlinux) continues the base's type ids and string offsets.
/// </remarks>
public sealed partial class BtfSpec
{
    /// <summary>The BTF magic number.</summary>
    public const ushort Magic = 0xEB9F;

    /// <summary>The largest type id the kernel accepts.</summary>
    public const int MaxTypeId = 0x000F_FFFF;

    /// <summary>The largest string offset the kernel accepts.</summary>
    public const uint MaxNameOffset = 0x00FF_FFFF;

    private readonly ReadOnlyMemory<byte> _data;
    private readonly byte[] _array;
    private readonly int _arrayBase;
    private readonly int _typeStart;
    private readonly int _stringStart;
    private readonly int _stringLength;
    private readonly int[] _offsets;
    private NameIndex? _nameIndex;
    private int _pointerSize;

    private BtfSpec(ReadOnlyMemory<byte> data, BtfHeader header, BtfSpec? baseBtf, int[] offsets, bool bigEndian)
    {
        _data = data;
        if (MemoryMarshal.TryGetArray(data, out var segment))
        {
            _array = segment.Array!;
            _arrayBase = segment.Offset;
        }
        else
        {
            _array = data.ToArray();
            _arrayBase = 0;
        }
        Header = header;
        Base = baseBtf;
        _offsets = offsets;
        IsBigEndian = bigEndian;
        _typeStart = checked((int)(header.HeaderLength + header.TypeOffset));
        _stringStart = checked((int)(header.HeaderLength + header.StringOffset));
        _stringLength = (int)header.StringLength;
        FirstTypeId = baseBtf?.TypeCount ?? 1;
        StringBase = baseBtf is null ? 0 : baseBtf.StringBase + (uint)baseBtf._stringLength;
    }

    /// <summary>The header as read (converted to host order when the data was big-endian).</summary>
    public BtfHeader Header { get; }

    /// <summary>The base BTF this split BTF extends, or null.</summary>
    public BtfSpec? Base { get; }

    /// <summary>Whether the source data was big-endian (it is converted to little-endian once, when parsed).</summary>
    public bool IsBigEndian { get; }

    /// <summary>The first type id defined here: 1, or the base's <see cref="TypeCount"/> for split BTF.</summary>
    public int FirstTypeId { get; }

    /// <summary>The number of type ids, counting <c>void</c> (id 0) and the base's types: valid ids are 0 to TypeCount - 1.</summary>
    public int TypeCount => FirstTypeId + _offsets.Length;

    /// <summary>The number of types defined in this blob (not counting void or the base).</summary>
    public int LocalTypeCount => _offsets.Length;

    /// <summary>The string offset where this blob's string section starts (the base's string length for split BTF).</summary>
    public uint StringBase { get; }

    /// <summary>The data in little-endian order (the original bytes unless the source was big-endian).</summary>
    public ReadOnlyMemory<byte> Data => _data;

    /// <summary>The raw type section.</summary>
    public ReadOnlySpan<byte> TypeSection => _data.Span.Slice(_typeStart, (int)Header.TypeLength);

    /// <summary>The raw string section.</summary>
    public ReadOnlySpan<byte> StringSection => _data.Span.Slice(_stringStart, _stringLength);

    /// <summary>Reads and parses a BTF file such as <c>/sys/kernel/btf/vmlinux</c>.</summary>
    /// <exception cref="BtfFormatException">The data is not well-formed BTF.</exception>
    public static BtfSpec Load(string path, BtfSpec? baseBtf = null) => Parse(File.ReadAllBytes(path), baseBtf);

    /// <summary>
    /// Parses BTF bytes (a whole BTF file or an object's <c>.BTF</c> section). The bytes are kept, not copied,
    /// unless they are big-endian; the caller must not change them afterwards.
    /// </summary>
    /// <param name="data">The BTF bytes.</param>
    /// <param name="baseBtf">For split BTF (kernel module BTF), the BTF it extends, usually vmlinux.</param>
    /// <exception cref="BtfFormatException">The header, the section layout, a record's length or the string section is invalid.</exception>
    public static BtfSpec Parse(ReadOnlyMemory<byte> data, BtfSpec? baseBtf = null)
    {
        var span = data.Span;
        if (span.Length < 8)
            throw new BtfFormatException("hdr_len not found", offset: 0);
        ushort rawMagic = BinaryPrimitives.ReadUInt16LittleEndian(span);
        bool bigEndian;
        if (rawMagic == Magic) bigEndian = false;
        else if (rawMagic == BinaryPrimitives.ReverseEndianness(Magic)) bigEndian = true;
        else throw new BtfFormatException($"Invalid magic 0x{rawMagic:x4}", offset: 0);
        if (bigEndian)
        {
            data = ToLittleEndian(span);
            span = data.Span;
        }

        uint hdrLen = BinaryPrimitives.ReadUInt32LittleEndian(span[4..]);
        if (hdrLen > span.Length)
            throw new BtfFormatException($"hdr_len {hdrLen} exceeds data size {span.Length}", offset: 4);
        if (hdrLen < BtfHeader.Size)
            throw new BtfFormatException($"btf_header not found (hdr_len {hdrLen} < {BtfHeader.Size})", offset: 4);
        for (int i = BtfHeader.Size; i < hdrLen; i++)
        {
            if (span[i] != 0)
                throw new BtfFormatException("Unsupported btf_header (non-zero bytes after the known header)", offset: i);
        }

        var header = new BtfHeader(
            Magic, span[2], span[3], hdrLen,
            BinaryPrimitives.ReadUInt32LittleEndian(span[8..]),
            BinaryPrimitives.ReadUInt32LittleEndian(span[12..]),
            BinaryPrimitives.ReadUInt32LittleEndian(span[16..]),
            BinaryPrimitives.ReadUInt32LittleEndian(span[20..]));
        if (header.Version != 1)
            throw new BtfFormatException($"Unsupported version {header.Version}", offset: 2);
        if (header.Flags != 0)
            throw new BtfFormatException($"Unsupported flags 0x{header.Flags:x}", offset: 3);
        if (span.Length == hdrLen)
            throw new BtfFormatException("No data", offset: hdrLen);
        CheckSections(header, span.Length);

        var strings = span.Slice((int)(hdrLen + header.StringOffset), (int)header.StringLength);
        if (baseBtf is null)
        {
            if (strings.Length == 0 || strings[0] != 0)
                throw new BtfFormatException("Invalid string section: must start with an empty string", offset: hdrLen + header.StringOffset);
        }
        if (strings.Length > 0 && strings[^1] != 0)
            throw new BtfFormatException("Invalid string section: last string is not NUL-terminated", offset: hdrLen + header.StringOffset + header.StringLength - 1);
        uint stringBase = baseBtf is null ? 0 : baseBtf.StringBase + (uint)baseBtf._stringLength;
        if (strings.Length > 0 && stringBase + (ulong)strings.Length - 1 > MaxNameOffset)
            throw new BtfFormatException("Invalid string section: longer than the largest name offset", offset: hdrLen + header.StringOffset);

        int firstId = baseBtf?.TypeCount ?? 1;
        var offsets = IndexTypes(span, (int)(hdrLen + header.TypeOffset), (int)header.TypeLength, firstId);
        return new BtfSpec(data, header, baseBtf, offsets, bigEndian);
    }

    private static void CheckSections(BtfHeader h, int dataLength)
    {
        long total = (long)dataLength - h.HeaderLength;
        if (h.TypeOffset % 4 != 0)
            throw new BtfFormatException("Unaligned type_off", offset: 8);
        // The kernel requires the sections, sorted by offset, to be contiguous and to end at the end of the data,
        // with the string section last.
        if ((long)h.TypeOffset + h.TypeLength > total)
            throw new BtfFormatException("Total section length too long (type section)", offset: 12);
        if ((long)h.StringOffset + h.StringLength > total)
            throw new BtfFormatException("Total section length too long (string section)", offset: 20);
        if (h.TypeOffset != 0)
            throw new BtfFormatException("Unsupported section found (gap before the type section)", offset: 8);
        if (h.StringOffset < (long)h.TypeOffset + h.TypeLength)
        {
            if (h.StringOffset + (long)h.StringLength > h.TypeOffset && h.StringLength > 0)
                throw new BtfFormatException("Section overlap found", offset: 16);
            throw new BtfFormatException("String section is not at the end", offset: 16);
        }
        if (h.StringOffset != (long)h.TypeOffset + h.TypeLength)
            throw new BtfFormatException("Unsupported section found (gap between types and strings)", offset: 16);
        if ((long)h.StringOffset + h.StringLength != total)
            throw new BtfFormatException("Total section length mismatch (trailing bytes)", offset: 20);
        if (h.TypeLength == 0)
            throw new BtfFormatException("No type found", offset: 12);
    }

    /// <summary>Fixed size of a record's kind-specific part plus the size of each of its vlen entries.</summary>
    internal static (int Fixed, int PerEntry) RecordShape(BtfKind kind) => kind switch
    {
        BtfKind.Int => (4, 0),
        BtfKind.Array => (12, 0),
        BtfKind.Struct or BtfKind.Union => (0, 12),
        BtfKind.Enum => (0, 8),
        BtfKind.FunctionProto => (0, 8),
        BtfKind.Variable => (4, 0),
        BtfKind.DataSection => (0, 12),
        BtfKind.DeclTag => (4, 0),
        BtfKind.Enum64 => (0, 12),
        _ => (0, 0),
    };

    private static int[] IndexTypes(ReadOnlySpan<byte> span, int start, int length, int firstId)
    {
        // A type record is at least 12 bytes, which bounds the number of types before counting them.
        var offsets = new int[length / 12];
        int count = 0, pos = start, end = start + length;
        while (pos < end)
        {
            int id = firstId + count;
            if (end - pos < 12)
                throw new BtfFormatException($"meta_left:{end - pos} meta_needed:12", id, pos);
            uint info = BinaryPrimitives.ReadUInt32LittleEndian(span[(pos + 4)..]);
            var kind = (BtfKind)((info >> 24) & 0x1f);
            if (kind == BtfKind.Void || kind > BtfKind.Enum64)
                throw new BtfFormatException($"Invalid kind:{(int)kind}", id, pos);
            var (fixedSize, perEntry) = RecordShape(kind);
            long needed = 12 + fixedSize + (long)perEntry * (info & 0xffff);
            if (needed > end - pos)
                throw new BtfFormatException($"meta_left:{end - pos - 12} meta_needed:{needed - 12}", id, pos);
            if (id > MaxTypeId)
                throw new BtfFormatException("Exceeded max num of types", id, pos);
            offsets[count++] = pos;
            pos += (int)needed;
        }
        return count == offsets.Length ? offsets : offsets.AsSpan(0, count).ToArray();
    }

    private static byte[] ToLittleEndian(ReadOnlySpan<byte> source)
    {
        // Every field of the header after the first 4 bytes and of every type record is a 32-bit word, so the
        // header's tail and the type section convert word by word; strings are bytes and need nothing.
        var copy = source.ToArray();
        if (copy.Length < BtfHeader.Size)
            throw new BtfFormatException("btf_header not found", offset: 0);
        BinaryPrimitives.WriteUInt16LittleEndian(copy, Magic);
        var words = MemoryMarshal.Cast<byte, uint>(copy.AsSpan(4, 20));
        BinaryPrimitives.ReverseEndianness(words, words);
        uint hdrLen = BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(4));
        uint typeOff = BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(8));
        uint typeLen = BinaryPrimitives.ReadUInt32LittleEndian(copy.AsSpan(12));
        long typeStart = (long)hdrLen + typeOff;
        if (typeStart <= copy.Length && typeLen <= copy.Length - typeStart && typeStart % 4 == 0)
        {
            var types = MemoryMarshal.Cast<byte, uint>(copy.AsSpan((int)typeStart, (int)(typeLen & ~3u)));
            BinaryPrimitives.ReverseEndianness(types, types);
        }
        return copy;
    }

    /// <summary>Returns the type with the given id (0 is <c>void</c>; base ids are looked up in <see cref="Base"/>).</summary>
    /// <exception cref="BtfFormatException">The id is out of range.</exception>
    public BtfType this[int id] => GetType(id);

    /// <summary>Returns the type with the given id (0 is <c>void</c>; base ids are looked up in <see cref="Base"/>).</summary>
    /// <exception cref="BtfFormatException">The id is out of range.</exception>
    public BtfType GetType(int id)
    {
        if (id >= FirstTypeId)
        {
            int local = id - FirstTypeId;
            if ((uint)local >= (uint)_offsets.Length)
                throw new BtfFormatException($"type id {id} out of range (types end at {TypeCount - 1})", id);
            return new BtfType(this, id, _offsets[local]);
        }
        if (id == 0) return new BtfType(this, 0, -1);
        if (Base is not null && id > 0) return Base.GetType(id);
        throw new BtfFormatException($"type id {id} out of range", id);
    }

    /// <summary>Whether <paramref name="id"/> names a type here or in the base (0, void, counts).</summary>
    public bool IsValidTypeId(long id) => id >= 0 && id < TypeCount;

    /// <summary>All types from id 1 (including the base's), in id order.</summary>
    public IEnumerable<BtfType> Types
    {
        get
        {
            for (int id = 1; id < TypeCount; id++) yield return GetType(id);
        }
    }

    /// <summary>The raw bytes of the string at <paramref name="offset"/>, without its terminating NUL.</summary>
    /// <exception cref="BtfFormatException">The offset is outside the string sections.</exception>
    public ReadOnlySpan<byte> GetStringBytes(uint offset)
    {
        if (offset < StringBase)
            return Base!.GetStringBytes(offset);
        long local = (long)offset - StringBase;
        if (local >= _stringLength)
            throw new BtfFormatException($"string offset {offset} out of range (strings end at {StringBase + (uint)_stringLength})");
        var rest = _array.AsSpan(_arrayBase + _stringStart + (int)local, _stringLength - (int)local);
        // The section ends in NUL (checked when parsed), so a terminator always exists.
        return rest[..rest.IndexOf((byte)0)];
    }

    /// <summary>The string at <paramref name="offset"/> in the string section (or the base's).</summary>
    /// <exception cref="BtfFormatException">The offset is outside the string sections.</exception>
    public string GetString(uint offset) => offset == 0 && StringBase == 0 ? "" : Encoding.UTF8.GetString(GetStringBytes(offset));

    /// <summary>Whether <paramref name="offset"/> points inside the string sections.</summary>
    public bool IsValidStringOffset(uint offset) => offset < StringBase + (uint)_stringLength;

    internal ReadOnlySpan<byte> Span => _data.Span;

    internal uint ReadUInt32(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_array.AsSpan(_arrayBase + offset, 4));

    /// <summary>Ids of all types (here and in the base) with the given name, ascending; empty when none. The index is built on first use.</summary>
    public IReadOnlyList<int> FindByName(string name)
    {
        var index = _nameIndex ??= BuildNameIndex();
        var local = new List<int>();
        if (index.Heads.TryGetValue(name, out int i))
        {
            for (; i >= 0; i = index.Next[i]) local.Add(FirstTypeId + i);
            local.Reverse();
        }
        if (Base is null) return local;
        var fromBase = Base.FindByName(name);
        if (fromBase.Count == 0) return local;
        return fromBase.Concat(local).ToArray();
    }

    /// <summary>The id of the first type with the given name and kind, or -1.</summary>
    public int FindId(string name, BtfKind kind)
    {
        foreach (int id in FindByName(name))
        {
            if (GetType(id).Kind == kind) return id;
        }
        return -1;
    }

    /// <summary>The first type with the given name and kind.</summary>
    /// <exception cref="KeyNotFoundException">No such type.</exception>
    public BtfType Find(string name, BtfKind kind)
    {
        int id = FindId(name, kind);
        return id < 0 ? throw new KeyNotFoundException($"no BTF {kind} named '{name}'") : GetType(id);
    }

    /// <summary>Name to types, as chains: the last local index with each name, and for each index the previous one with the same name (-1 ends).</summary>
    private sealed record NameIndex(Dictionary<string, int> Heads, int[] Next);

    private NameIndex BuildNameIndex()
    {
        // One dictionary entry per distinct name and one int per type: no per-name lists for 150k types.
        var heads = new Dictionary<string, int>(StringComparer.Ordinal);
        var next = new int[_offsets.Length];
        uint lastOffset = 0;
        string lastName = "";
        for (int i = 0; i < _offsets.Length; i++)
        {
            next[i] = -1;
            uint nameOff = ReadUInt32(_offsets[i]);
            if (nameOff == 0 || !IsValidStringOffset(nameOff)) continue;
            string name = nameOff == lastOffset ? lastName : GetString(nameOff);
            lastOffset = nameOff;
            lastName = name;
            ref int head = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(heads, name, out bool exists);
            next[i] = exists ? head : -1;
            head = i;
        }
        return new NameIndex(heads, next);
    }

    /// <summary>
    /// The size of a pointer for this BTF: the size of the <c>long</c> integer type when there is one, else 8
    /// (BPF and every 64-bit kernel).
    /// </summary>
    public int PointerSize
    {
        get
        {
            if (_pointerSize == 0)
            {
                int size = 8;
                foreach (var n in (string[])["long", "long int", "unsigned long", "long unsigned int"])
                {
                    int id = FindId(n, BtfKind.Int);
                    if (id > 0)
                    {
                        uint s = GetType(id).Size;
                        if (s is 4 or 8) size = (int)s;
                        break;
                    }
                }
                _pointerSize = size;
            }
            return _pointerSize;
        }
    }
}
