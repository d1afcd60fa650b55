using System.Buffers.Binary;
using System.Text;

namespace SharpBpf.Linux;

/// <summary>
/// Resolves a function symbol of a native 64-bit little-endian ELF binary or shared library to the file offset a
/// uprobe needs: the symbol's address (from .symtab, else .dynsym) mapped through the loadable segment containing it.
/// </summary>
public static class NativeSymbols
{
    private const int SymbolTable = 2, DynamicSymbols = 11, Loadable = 1, FunctionType = 2, IndirectFunctionType = 10;

    /// <summary>The file offset of <paramref name="symbol"/> in <paramref name="path"/>.</summary>
    /// <exception cref="BpfException">The file is not a 64-bit little-endian ELF file, or has no such function.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static ulong FileOffset(string path, string symbol)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentException.ThrowIfNullOrEmpty(symbol);
        byte[] image = File.ReadAllBytes(path);
        try
        {
            return Resolve(image, symbol) ?? throw new BpfException($"{path} has no function symbol '{symbol}'");
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or OverflowException)
        {
            throw new BpfException($"{path} is a truncated or malformed ELF file", e);
        }
    }

    private static ulong? Resolve(ReadOnlySpan<byte> elf, string symbol)
    {
        if (elf.Length < 64 || !elf[..4].SequenceEqual("\u007fELF"u8) || elf[4] != 2 || elf[5] != 1)
        {
            throw new BpfException("not a 64-bit little-endian ELF file");
        }

        ulong sectionTable = U64(elf, 0x28);
        int sectionSize = U16(elf, 0x3a), sectionCount = U16(elf, 0x3c);
        ulong address = 0;
        bool found = false;
        foreach (int wanted in new[] { SymbolTable, DynamicSymbols })
        {
            for (int i = 0; i < sectionCount && !found; i++)
            {
                var header = elf.Slice(checked((int)sectionTable + (i * sectionSize)), 64);
                if (U32(header, 4) != wanted)
                {
                    continue;
                }

                var strings = elf.Slice(checked((int)sectionTable + ((int)U32(header, 40) * sectionSize)), 64);
                var stringData = elf.Slice(checked((int)U64(strings, 24)), checked((int)U64(strings, 32)));
                var symbols = elf.Slice(checked((int)U64(header, 24)), checked((int)U64(header, 32)));
                int entry = Math.Max(24, (int)U64(header, 56));
                for (int at = 0; at + 24 <= symbols.Length; at += entry)
                {
                    var s = symbols.Slice(at, 24);
                    int type = s[4] & 0xf;
                    ulong value = U64(s, 8);
                    if ((type == FunctionType || type == IndirectFunctionType) && value != 0 && NameAt(stringData, U32(s, 0)) == symbol)
                    {
                        address = value;
                        found = true;
                        break;
                    }
                }
            }

            if (found)
            {
                break;
            }
        }

        if (!found)
        {
            return null;
        }

        ulong programTable = U64(elf, 0x20);
        int programSize = U16(elf, 0x36), programCount = U16(elf, 0x38);
        for (int i = 0; i < programCount; i++)
        {
            var header = elf.Slice(checked((int)programTable + (i * programSize)), 56);
            ulong virtualAddress = U64(header, 16), memorySize = U64(header, 40);
            if (U32(header, 0) == Loadable && (U32(header, 4) & 1) != 0 && address >= virtualAddress && address < virtualAddress + memorySize)
            {
                return address - virtualAddress + U64(header, 8);
            }
        }

        return address; // no executable segment holds it: relocatable objects use section-relative values as offsets
    }

    private static string NameAt(ReadOnlySpan<byte> strings, uint offset)
    {
        if (offset >= strings.Length)
        {
            return "";
        }

        var rest = strings[(int)offset..];
        int end = rest.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]);
    }

    private static ushort U16(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt16LittleEndian(s[offset..]);

    private static uint U32(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(s[offset..]);

    private static ulong U64(ReadOnlySpan<byte> s, int offset) => BinaryPrimitives.ReadUInt64LittleEndian(s[offset..]);
}
