using System.Buffers.Binary;
using SharpBpf.Elf;
using SharpBpf.Objects;

namespace SharpBpf.Tests.Elf;

/// <summary>The ELF reader on its own: structure, and clear rejection of what it does not support.</summary>
public sealed class ElfFileTests
{
    private static byte[] Multi() => ElfTestData.HandBuilt("multi.o");

    private static ElfFormatException Rejects(byte[] image) =>
        Assert.Throws<ElfFormatException>(() => BpfObject.Load(image));

    [Fact]
    public void ReadsSectionsSymbolsAndRelocations()
    {
        var elf = ElfFile.Parse(Multi());
        Assert.Equal(ElfFile.MachineBpf, elf.Machine);
        // Values from llvm-readelf-19 -S -s -r multi.o.
        var text = elf.FindSection(".text")!;
        Assert.Equal((ElfSectionType.ProgBits, 0x88L), (text.Type, text.Size));
        Assert.True(text.IsExecutable);
        var xdp = elf.FindSection("xdp")!;
        Assert.Equal(0x68L, xdp.Size);
        Assert.Equal(xdp.Size, xdp.Data.Length);
        Assert.Equal(ElfSectionType.SymbolTable, elf.SymbolTable!.Type);
        var triple = elf.Symbols.Single(s => s.Name == "triple");
        Assert.Equal((0x18UL, 0x30UL, ElfSymbolType.Function, ElfSymbolBinding.Global, (ushort)text.Index), (triple.Value, triple.Size, triple.Type, triple.Binding, triple.SectionIndex));
        var table = Assert.Single(elf.RelocationSectionsFor(xdp));
        Assert.Equal(".relxdp", table.Name);
        var relocations = elf.GetRelocations(table);
        Assert.Equal([(0x8UL, BpfRelocationType.Bpf64_32, "add_one"), (0x50UL, BpfRelocationType.Bpf64_32, "triple")],
            relocations.Select(r => (r.Offset, r.Type, elf.Symbols[r.SymbolIndex].Name)));
        Assert.Equal(table.FileOffset, relocations[0].FileOffset);
    }

    [Fact]
    public void SectionDataIsAViewOfTheCallersBuffer()
    {
        var image = Multi();
        var elf = ElfFile.Parse(image);
        var xdp = elf.FindSection("xdp")!;
        image[(int)xdp.FileOffset] ^= 0xff;
        Assert.Equal(image[(int)xdp.FileOffset], xdp.Data.Span[0]);
    }

    [Fact]
    public void RejectsElf32Clearly()
    {
        var image = Multi();
        image[4] = 1;
        var e = Rejects(image);
        Assert.Equal(4, e.FileOffset);
        Assert.Contains("32-bit", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsBigEndianClearly()
    {
        var image = Multi();
        image[5] = 2;
        var e = Rejects(image);
        Assert.Equal(5, e.FileOffset);
        Assert.Contains("big-endian", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsOtherMachinesButAcceptsOldLlvmsNone()
    {
        var image = Multi();
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(18), 62); // x86-64
        var e = Rejects(image);
        Assert.Equal(18, e.FileOffset);
        Assert.Contains("247", e.Message, StringComparison.Ordinal);

        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(18), 0);
        Assert.Equal(4, BpfObject.Load(image).Programs.Count);
    }

    [Fact]
    public void RejectsNonRelocatableFiles()
    {
        var image = Multi();
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(16), 2); // ET_EXEC
        Assert.Equal(16, Rejects(image).FileOffset);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(16)]
    [InlineData(63)]
    public void RejectsTruncatedHeaders(int length)
    {
        var e = Rejects(Multi()[..length]);
        Assert.Equal(0, e.FileOffset);
    }

    [Fact]
    public void RejectsNonElf()
    {
        var e = Rejects("this is not an ELF file at all, just text padding it out to sixty-four bytes"u8.ToArray());
        Assert.Contains("magic", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsUnknownRelocationTypesWithTheirOffset()
    {
        var image = Multi();
        var elf = ElfFile.Parse(image);
        var table = elf.FindSection(".relxdp")!;
        int typeAt = (int)table.FileOffset + 8;
        BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan(typeAt), 7);
        var e = Rejects(image);
        Assert.Equal(typeAt, e.FileOffset);
        Assert.Contains("unsupported type 7", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsBadSymbolIndexesAndStringOffsets()
    {
        var image = Multi();
        var elf = ElfFile.Parse(image);
        var symbol = elf.Symbols.Single(s => s.Name == "triple");

        var badSection = (byte[])image.Clone();
        BinaryPrimitives.WriteUInt16LittleEndian(badSection.AsSpan((int)symbol.FileOffset + 6), 500);
        var e = Rejects(badSection);
        Assert.Equal(symbol.FileOffset + 6, e.FileOffset);

        var badName = (byte[])image.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(badName.AsSpan((int)symbol.FileOffset), 0x10_0000);
        Assert.Equal(symbol.FileOffset, Rejects(badName).FileOffset);

        var table = elf.FindSection(".relxdp")!;
        var badSymbol = (byte[])image.Clone();
        BinaryPrimitives.WriteUInt32LittleEndian(badSymbol.AsSpan((int)table.FileOffset + 12), 10_000);
        Assert.Equal(table.FileOffset + 8, Rejects(badSymbol).FileOffset);
    }

    [Fact]
    public void RejectsSectionTablePastTheEnd()
    {
        var image = Multi();
        BinaryPrimitives.WriteUInt16LittleEndian(image.AsSpan(60), 0x7fff);
        var e = Rejects(image);
        Assert.Equal(40, e.FileOffset);
        Assert.Contains("past the end", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RejectsRelocationsOfNonCodeInstructions()
    {
        var image = Multi();
        var elf = ElfFile.Parse(image);
        var table = elf.FindSection(".relxdp")!;
        // Point the first relocation (a call at offset 8) at instruction 0, a load.
        BinaryPrimitives.WriteUInt64LittleEndian(image.AsSpan((int)table.FileOffset), 0);
        var e = Rejects(image);
        Assert.Equal(table.FileOffset, e.FileOffset);
        Assert.Contains("neither lddw nor call", e.Message, StringComparison.Ordinal);
    }
}
