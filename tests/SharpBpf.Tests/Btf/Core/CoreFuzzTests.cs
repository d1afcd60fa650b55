using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Objects;
using SharpBpf.Testing;

namespace SharpBpf.Tests.Btf.Core;

/// <summary>Corrupted objects and targets: relocation reports or throws a typed error, never crashes or hangs.</summary>
public sealed class CoreFuzzTests
{
    private static (int Start, int Length) SectionRange(byte[] image, string name)
    {
        var section = SharpBpf.Elf.ElfFile.Parse(image).FindSection(name)!;
        return ((int)section.FileOffset, (int)section.Size);
    }

    [Fact]
    public void CorruptedBtfAndBtfExtGiveReportsOrTypedErrors()
    {
        var image = File.ReadAllBytes(Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", "core_layouts.o"));
        var target = CoreTargets.NewKernel();
        var random = new Random(4242);
        var ranges = new[] { SectionRange(image, ".BTF.ext"), SectionRange(image, ".BTF") };
        int relocated = 0, rejected = 0;
        for (int round = 0; round < 150; round++)
        {
            var copy = (byte[])image.Clone();
            var (start, length) = ranges[round % 2];
            int flips = 1 + random.Next(4);
            for (int i = 0; i < flips; i++)
            {
                int at = start + random.Next(length);
                copy[at] = random.Next(3) switch
                {
                    0 => (byte)random.Next(256),
                    1 => (byte)(copy[at] ^ (1 << random.Next(8))),
                    _ => 0xff,
                };
            }
            try
            {
                var obj = BpfObject.Load(copy);
                var result = CoreRelocator.Apply(obj, target);
                Assert.All(result.Programs, p => Assert.Equal(p.Program.Instructions.Length, p.Instructions.Length));
                relocated++;
            }
            catch (BpfException)
            {
                rejected++;
            }
        }
        Assert.True(relocated > 25, $"{relocated} relocated, {rejected} rejected");
    }

    [Fact]
    public void CorruptedTargetsGiveReportsOrTypedErrors()
    {
        var obj = CoreTestSupport.ProjectObject("core_probe.o");
        var bytes = CoreTargets.OldKernel().Data.ToArray();
        var random = new Random(99);
        for (int round = 0; round < 150; round++)
        {
            var copy = (byte[])bytes.Clone();
            for (int i = 0; i < 1 + random.Next(3); i++) copy[24 + random.Next(copy.Length - 24)] = (byte)random.Next(256);
            try
            {
                CoreRelocator.Apply(obj, BtfSpec.Parse(copy));
            }
            catch (BpfException)
            {
                // typed: fine
            }
        }
    }
}
