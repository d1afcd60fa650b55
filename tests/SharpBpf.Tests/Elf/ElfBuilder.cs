using System.Buffers.Binary;
using System.Text;
using SharpBpf.Elf;

namespace SharpBpf.Tests.Elf;

/// <summary>Writes minimal ELF64 little-endian BPF relocatable files, for inputs clang would never produce.</summary>
internal sealed class ElfBuilder
{
    private sealed record Section(string Name, ElfSectionType Type, ElfSectionFlags Flags, byte[] Data, int Link, int Info, int EntrySize, long NoBitsSize);

    private readonly List<Section> _sections = [];
    private readonly MemoryStream _strings = new();
    private readonly List<byte[]> _symbols = [new byte[24]];

    public ElfBuilder() => _strings.WriteByte(0);

    /// <summary>Adds a section and returns its index (1-based; the symbol table and string tables come last).</summary>
    public int AddSection(string name, ElfSectionType type, ElfSectionFlags flags, byte[] data, int link = 0, int info = 0, int entrySize = 0, long noBitsSize = 0)
    {
        _sections.Add(new Section(name, type, flags, data, link, info, entrySize, noBitsSize));
        return _sections.Count;
    }

    /// <summary>The index the symbol table will have.</summary>
    public int SymbolTableIndex => _sections.Count + 1;

    /// <summary>Adds a symbol and returns its index.</summary>
    public int AddSymbol(string name, int section, ulong value, ulong size, ElfSymbolType type, ElfSymbolBinding binding = ElfSymbolBinding.Global)
    {
        var entry = new byte[24];
        uint nameOffset = (uint)_strings.Length;
        _strings.Write(Encoding.UTF8.GetBytes(name));
        _strings.WriteByte(0);
        BinaryPrimitives.WriteUInt32LittleEndian(entry, nameOffset);
        entry[4] = (byte)(((int)binding << 4) | (int)type);
        BinaryPrimitives.WriteUInt16LittleEndian(entry.AsSpan(6), (ushort)section);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(8), value);
        BinaryPrimitives.WriteUInt64LittleEndian(entry.AsSpan(16), size);
        _symbols.Add(entry);
        return _symbols.Count - 1;
    }

    public static byte[] Relocations(IEnumerable<(ulong Offset, int Symbol, BpfRelocationType Type)> entries)
    {
        var stream = new MemoryStream();
        Span<byte> entry = stackalloc byte[16];
        foreach (var (offset, symbol, type) in entries)
        {
            BinaryPrimitives.WriteUInt64LittleEndian(entry, offset);
            BinaryPrimitives.WriteUInt64LittleEndian(entry[8..], ((ulong)(uint)symbol << 32) | (uint)type);
            stream.Write(entry);
        }

        return stream.ToArray();
    }

    public byte[] Build()
    {
        var all = new List<Section>(_sections)
        {
            new(".symtab", ElfSectionType.SymbolTable, 0, [.. _symbols.SelectMany(s => s)], _sections.Count + 2, 1, 24, 0),
            new(".strtab", ElfSectionType.StringTable, 0, _strings.ToArray(), 0, 0, 0, 0),
        };
        var names = new MemoryStream();
        names.WriteByte(0);
        var nameOffsets = new List<uint>();
        foreach (var section in all.Append(new Section(".shstrtab", ElfSectionType.StringTable, 0, [], 0, 0, 0, 0)))
        {
            nameOffsets.Add((uint)names.Length);
            names.Write(Encoding.UTF8.GetBytes(section.Name));
            names.WriteByte(0);
        }

        all.Add(new Section(".shstrtab", ElfSectionType.StringTable, 0, names.ToArray(), 0, 0, 0, 0));
        var body = new MemoryStream();
        body.Write(new byte[64]);
        var offsets = new List<long>();
        foreach (var section in all)
        {
            while (body.Length % 8 != 0)
            {
                body.WriteByte(0);
            }

            offsets.Add(body.Length);
            body.Write(section.Data);
        }

        while (body.Length % 8 != 0)
        {
            body.WriteByte(0);
        }

        long tableOffset = body.Length;
        body.Write(new byte[64]); // null section
        Span<byte> header = stackalloc byte[64];
        for (int i = 0; i < all.Count; i++)
        {
            var s = all[i];
            header.Clear();
            BinaryPrimitives.WriteUInt32LittleEndian(header, nameOffsets[i]);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)s.Type);
            BinaryPrimitives.WriteUInt64LittleEndian(header[8..], (ulong)s.Flags);
            BinaryPrimitives.WriteUInt64LittleEndian(header[24..], s.Type == ElfSectionType.NoBits ? 0 : (ulong)offsets[i]);
            BinaryPrimitives.WriteUInt64LittleEndian(header[32..], s.Type == ElfSectionType.NoBits ? (ulong)s.NoBitsSize : (ulong)s.Data.Length);
            BinaryPrimitives.WriteUInt32LittleEndian(header[40..], (uint)s.Link);
            BinaryPrimitives.WriteUInt32LittleEndian(header[44..], (uint)s.Info);
            BinaryPrimitives.WriteUInt64LittleEndian(header[48..], 8);
            BinaryPrimitives.WriteUInt64LittleEndian(header[56..], (ulong)s.EntrySize);
            body.Write(header);
        }

        var image = body.ToArray();
        image[0] = 0x7f;
        "ELF"u8.CopyTo(image.AsSpan(1));
        image[4] = 2;
        image[5] = 1;
        image[6] = 1;
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(16), 1);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(18), ElfFile.MachineBpf);
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(20), 1);
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan(40), (ulong)tableOffset);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(52), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(58), 64);
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(60), (ushort)(all.Count + 1));
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(62), (ushort)all.Count);
        return image;
    }
}
