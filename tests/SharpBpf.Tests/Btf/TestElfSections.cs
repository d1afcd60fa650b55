using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Tests.Btf;

/// <summary>
/// A minimal ELF64 little-endian section reader for the BTF tests only: it returns each section's bytes by name.
/// TODO: replace with SharpBpf's ELF loader (being written on another branch) once it is merged.
/// </summary>
internal static class TestElfSections
{
    public static IReadOnlyDictionary<string, byte[]> Read(byte[] elf)
    {
        if (elf.Length < 64 || elf[0] != 0x7f || elf[1] != 'E' || elf[2] != 'L' || elf[3] != 'F')
            throw new InvalidDataException("not an ELF file");
        if (elf[4] != 2 || elf[5] != 1) throw new InvalidDataException("not ELF64 little-endian");
        var span = elf.AsSpan();
        long shoff = (long)BinaryPrimitives.ReadUInt64LittleEndian(span[0x28..]);
        int shentsize = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3a..]);
        int shnum = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3c..]);
        int shstrndx = BinaryPrimitives.ReadUInt16LittleEndian(span[0x3e..]);
        if (shentsize < 64 || shoff < 0 || shoff + ((long)shnum * shentsize) > elf.Length || shstrndx >= shnum)
            throw new InvalidDataException("bad section header table");

        (long Offset, long Size, uint Name, uint Type) Header(int i)
        {
            var h = elf.AsSpan((int)(shoff + ((long)i * shentsize)), 64);
            return ((long)BinaryPrimitives.ReadUInt64LittleEndian(h[0x18..]), (long)BinaryPrimitives.ReadUInt64LittleEndian(h[0x20..]),
                BinaryPrimitives.ReadUInt32LittleEndian(h), BinaryPrimitives.ReadUInt32LittleEndian(h[4..]));
        }

        var names = Header(shstrndx);
        if (names.Offset + names.Size > elf.Length) throw new InvalidDataException("bad section name table");
        var result = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        for (int i = 1; i < shnum; i++)
        {
            var h = Header(i);
            if (h.Name >= names.Size) throw new InvalidDataException("bad section name");
            var nameBytes = elf.AsSpan((int)(names.Offset + h.Name), (int)(names.Size - h.Name));
            int end = nameBytes.IndexOf((byte)0);
            string name = Encoding.ASCII.GetString(end < 0 ? nameBytes : nameBytes[..end]);
            const uint NoBits = 8;
            if (h.Type == NoBits) continue;
            if (h.Offset < 0 || h.Size < 0 || h.Offset + h.Size > elf.Length) throw new InvalidDataException($"section {name} outside the file");
            result.TryAdd(name, elf.AsSpan((int)h.Offset, (int)h.Size).ToArray());
        }
        return result;
    }
}
