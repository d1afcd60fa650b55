using System.Diagnostics;
using SharpBpf.Elf;
using SharpBpf.Isa;
using SharpBpf.Objects;

namespace SharpBpf.Tests.Elf;

/// <summary>Crafted objects with many maps, relocations, functions and calls: loading stays linear and bounded.</summary>
public sealed class ElfScalingTests
{
    [Fact]
    public void ManyMapsAndRelocationsLoadInLinearTime()
    {
        const int count = 20_000;
        var code = new List<Instruction>();
        for (int i = 0; i < count; i++)
        {
            var (first, second) = Instruction.LoadImm64(1, 0);
            code.Add(first);
            code.Add(second);
        }

        code.Add(Instruction.Exit);
        var rebuilt = new ElfBuilder();
        int text = rebuilt.AddSection("socket", ElfSectionType.ProgBits, ElfSectionFlags.Alloc | ElfSectionFlags.Execute, Instruction.Encode([.. code]));
        int maps = rebuilt.AddSection("maps", ElfSectionType.ProgBits, ElfSectionFlags.Alloc | ElfSectionFlags.Write, new byte[20 * count]);
        var entries = Enumerable.Range(0, count).Select(i => ((ulong)(16 * i), i + 2, BpfRelocationType.Bpf64_64));
        // This section is the third; the symbol table follows it.
        rebuilt.AddSection(".relsocket", ElfSectionType.Relocations, 0, ElfBuilder.Relocations(entries), rebuilt.SymbolTableIndex + 1, text, 16);
        rebuilt.AddSymbol("prog", text, 0, (ulong)code.Count * 8, ElfSymbolType.Function);
        for (int i = 0; i < count; i++)
        {
            rebuilt.AddSymbol($"map{count - 1 - i}", maps, (ulong)(20 * (count - 1 - i)), 20, ElfSymbolType.Object);
        }

        var image = rebuilt.Build();
        var watch = Stopwatch.StartNew();
        var obj = BpfObject.Load(image);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Equal(count, obj.Maps.Count);
        Assert.Equal("map0", obj.Maps[0].Name);
        var program = Assert.Single(obj.Programs);
        Assert.Equal(count, program.Relocations.Count);
        // Symbol i + 2 was written for map (count - 1 - i), which sorts to map index count - 1 - i.
        Assert.Equal(count - 1, program.Instructions[0].Immediate);
        Assert.Equal((byte)Imm64Source.MapFd, program.Instructions[0].Src);
        Assert.Equal(0, program.Instructions[2 * (count - 1)].Immediate);
    }

    [Fact]
    public void ManyProgramsCallingManySubprogramsAreBounded()
    {
        // 300 programs each calling a chain through 300 subprograms: linking copies 90,000 function bodies.
        const int functions = 300;
        var builder = new ElfBuilder();
        var text = new List<Instruction>();
        for (int f = 0; f < functions; f++)
        {
            // call the next function (relative, no relocation needed inside .text), then exit.
            text.Add(f + 1 < functions ? new Instruction(Opcode.Call, 0, 1, 0, 1) : Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0));
            text.Add(Instruction.Exit);
        }

        var programs = new List<Instruction>();
        for (int p = 0; p < functions; p++)
        {
            programs.Add(new Instruction(Opcode.Call, 0, 1, 0, -1));
            programs.Add(Instruction.Exit);
        }

        int textIndex = builder.AddSection(".text", ElfSectionType.ProgBits, ElfSectionFlags.Alloc | ElfSectionFlags.Execute, Instruction.Encode([.. text]));
        int progIndex = builder.AddSection("xdp", ElfSectionType.ProgBits, ElfSectionFlags.Alloc | ElfSectionFlags.Execute, Instruction.Encode([.. programs]));
        int relIndex = builder.AddSection(".relxdp", ElfSectionType.Relocations,
            0, ElfBuilder.Relocations(Enumerable.Range(0, functions).Select(p => ((ulong)(16 * p), 1, BpfRelocationType.Bpf64_32))), 0, progIndex, 16);
        builder.AddSymbol("f0", textIndex, 0, 16, ElfSymbolType.Function);
        for (int f = 1; f < functions; f++)
        {
            builder.AddSymbol($"f{f}", textIndex, (ulong)(16 * f), 16, ElfSymbolType.Function);
        }

        for (int p = 0; p < functions; p++)
        {
            builder.AddSymbol($"p{p}", progIndex, (ulong)(16 * p), 16, ElfSymbolType.Function);
        }

        var image = builder.Build();
        // Patch the relocation section's link to the symbol table, now that its index is known.
        var elf = ElfFile.Parse(image);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32LittleEndian(image.AsSpan((int)elf.Sections[relIndex].HeaderOffset + 40), (uint)elf.SymbolTable!.Index);

        var watch = Stopwatch.StartNew();
        var obj = BpfObject.Load(image);
        Assert.True(watch.Elapsed < TimeSpan.FromSeconds(5), $"took {watch.Elapsed}");
        Assert.Equal(functions, obj.Programs.Count);
        var first = obj.Programs[0];
        Assert.Equal(functions, first.Subprograms.Count);
        Assert.Equal(2 + (2 * functions), first.Instructions.Length);
        foreach (var program in obj.Programs)
        {
            ElfSampleTests.LinkedCodeIsConsistent(obj, program);
        }

        // A per-program limit turns a runaway link into a clear error.
        var e = Assert.Throws<ElfFormatException>(() => BpfObject.Load(image, new BpfObjectLoadOptions { MaxInstructionsPerProgram = 100 }));
        Assert.Contains("more than 100 instructions", e.Message, StringComparison.Ordinal);
    }
}
