using System.Buffers.Binary;
using System.Diagnostics;
using SharpBpf.Elf;
using SharpBpf.Objects;
using Xunit.Abstractions;
using SharpBpf.Testing;

namespace SharpBpf.Tests.Elf;

/// <summary>
/// Systematic malformation of valid objects: truncation at many lengths, every header/section/symbol/relocation
/// field set to hostile values, and random byte corruption. Only <see cref="BpfException"/>s may escape, and each
/// load must finish quickly.
/// </summary>
public sealed class ElfMalformationTests(ITestOutputHelper output)
{
    private static readonly TimeSpan PerLoadLimit = TimeSpan.FromSeconds(2);

    public static IEnumerable<object[]> HandBuiltObjects() =>
        new[] { "multi.o", "globals.o", "legacy.o", "btfmaps.o" }.Select(n => new object[] { n });

    public static IEnumerable<object[]> SampleObjects() =>
        new[] { "linux/sockex1_kern.o", "linux/test_map_in_map_kern.o", "build/bpf2bpf.o", "ovs/datapath.o", "suricata/lb.o" }.Select(n => new object[] { n });

    private static byte[] Sample(string relative) => File.ReadAllBytes(Path.Combine(SharedData.Folder("samples")!, relative));

    /// <summary>Loads a (possibly broken) image and touches everything the object model exposes.</summary>
    private sealed class Harness(byte[] original)
    {
        public int Loads { get; private set; }

        public int Rejected { get; private set; }

        public List<string> Failures { get; } = [];

        public byte[] Work { get; } = (byte[])original.Clone();

        public void Run(ReadOnlyMemory<byte> image, string what)
        {
            Loads++;
            var watch = Stopwatch.StartNew();
            try
            {
                var obj = BpfObject.Load(image);
                long sum = 0;
                foreach (var program in obj.Programs)
                {
                    foreach (var insn in program.Instructions)
                    {
                        sum += insn.Immediate;
                    }

                    sum += program.Relocations.Count + program.Subprograms.Count + program.ToString().Length;
                }

                foreach (var map in obj.Maps)
                {
                    sum += map.ToString().Length + map.RawDefinition.Length;
                    if (map.ValueSize <= 1 << 20)
                    {
                        sum += map.InitialValue?.Length ?? 0;
                    }
                }

                sum += obj.License.Length + obj.Externs.Count + obj.MapSlotRelocations.Count;
                GC.KeepAlive(sum);
            }
            catch (ElfFormatException e)
            {
                Rejected++;
                if (string.IsNullOrEmpty(e.Problem) || e.FileOffset < -1 || e.FileOffset > image.Length + 64)
                {
                    Failures.Add($"{what}: exception without a sensible problem/offset: {e.Message} (offset {e.FileOffset})");
                }
            }
            catch (BpfException)
            {
                Rejected++;
            }
            catch (Exception e)
            {
                Failures.Add($"{what}: {e.GetType().Name}: {e.Message}\n{e.StackTrace}");
            }

            if (watch.Elapsed > PerLoadLimit)
            {
                Failures.Add($"{what}: took {watch.Elapsed.TotalMilliseconds:F0} ms");
            }
        }

        /// <summary>Writes a value into the working copy, loads it, and restores the bytes.</summary>
        public void WithField(int offset, int width, ulong value, string what)
        {
            if (offset < 0 || offset + width > Work.Length)
            {
                return;
            }

            Span<byte> saved = stackalloc byte[8];
            Work.AsSpan(offset, width).CopyTo(saved);
            switch (width)
            {
                case 1: Work[offset] = (byte)value; break;
                case 2: BinaryPrimitives.WriteUInt16LittleEndian(Work.AsSpan(offset), (ushort)value); break;
                case 4: BinaryPrimitives.WriteUInt32LittleEndian(Work.AsSpan(offset), (uint)value); break;
                default: BinaryPrimitives.WriteUInt64LittleEndian(Work.AsSpan(offset), value); break;
            }

            Run(Work, what);
            saved[..width].CopyTo(Work.AsSpan(offset, width));
        }
    }

    private static ulong[] HostileValues(ulong original, int width, int fileLength, Random random)
    {
        ulong mask = width == 8 ? ulong.MaxValue : (1UL << (width * 8)) - 1;
        return
        [
            0, 1, 2, 7, 8, 0x10, 0x40, 0x7f, 0x80, 0xff, 0xffff, 0xff00, 0xfff1, 0xfff2,
            (ulong)fileLength, (ulong)fileLength - 1, (ulong)fileLength + 8, (ulong)fileLength / 2,
            original + 1, original - 1, original + 8, original - 8, original ^ 0x8000_0000, original << 1,
            int.MaxValue, uint.MaxValue, long.MaxValue, ulong.MaxValue, ulong.MaxValue - 7,
            (ulong)random.NextInt64() & mask, (ulong)random.Next(0, fileLength),
        ];
    }

    private static List<(int Offset, int Width, string Name)> Fields(byte[] image)
    {
        var fields = new List<(int, int, string)>();
        foreach (var (at, width) in new[] { (4, 1), (5, 1), (6, 1), (16, 2), (18, 2), (20, 4), (24, 8), (32, 8), (40, 8), (48, 4), (52, 2), (54, 2), (56, 2), (58, 2), (60, 2), (62, 2) })
        {
            fields.Add((at, width, $"ELF header +{at}"));
        }

        var elf = ElfFile.Parse(image);
        foreach (var section in elf.Sections.Take(64))
        {
            foreach (var (at, width) in new[] { (0, 4), (4, 4), (8, 8), (24, 8), (32, 8), (40, 4), (44, 4), (48, 8), (56, 8) })
            {
                fields.Add(((int)section.HeaderOffset + at, width, $"section {section.Index} '{section.Name}' header +{at}"));
            }
        }

        foreach (var symbol in elf.Symbols.Take(120))
        {
            foreach (var (at, width) in new[] { (0, 4), (4, 1), (5, 1), (6, 2), (8, 8), (16, 8) })
            {
                fields.Add(((int)symbol.FileOffset + at, width, $"symbol {symbol.Index} '{symbol.Name}' +{at}"));
            }
        }

        foreach (var table in elf.Sections.Where(s => s.IsRelocationTable && !s.Name.Contains("debug", StringComparison.Ordinal)))
        {
            int size = table.Type == ElfSectionType.RelocationsWithAddends ? 24 : 16;
            for (int i = 0; i < Math.Min(40, table.Size / size); i++)
            {
                int entry = (int)table.FileOffset + (i * size);
                fields.Add((entry, 8, $"{table.Name}[{i}].offset"));
                fields.Add((entry + 8, 4, $"{table.Name}[{i}].type"));
                fields.Add((entry + 12, 4, $"{table.Name}[{i}].symbol"));
                if (size == 24)
                {
                    fields.Add((entry + 16, 8, $"{table.Name}[{i}].addend"));
                }
            }
        }

        return fields;
    }

    private void Check(Harness harness, string name)
    {
        output.WriteLine($"{name}: {harness.Loads} loads, {harness.Rejected} rejected with typed exceptions, {harness.Failures.Count} failures");
        Assert.True(harness.Failures.Count == 0, string.Join("\n\n", harness.Failures.Take(5)));
    }

    private void Truncate(byte[] image, string name)
    {
        var harness = new Harness(image);
        int step = Math.Max(1, image.Length / 1500);
        for (int length = 0; length < image.Length; length += length < 512 ? 1 : step)
        {
            harness.Run(image.AsMemory(0, length), $"truncated to {length}");
        }

        Check(harness, name);
        Assert.Equal(harness.Loads, harness.Rejected + 0 + (harness.Loads - harness.Rejected)); // every load finished
    }

    private void CorruptFields(byte[] image, string name, int seed, int valuesPerField = int.MaxValue)
    {
        var random = new Random(seed);
        var harness = new Harness(image);
        foreach (var (offset, width, field) in Fields(image))
        {
            ulong original = width switch
            {
                1 => image[offset],
                2 => BinaryPrimitives.ReadUInt16LittleEndian(image.AsSpan(offset)),
                4 => BinaryPrimitives.ReadUInt32LittleEndian(image.AsSpan(offset)),
                _ => BinaryPrimitives.ReadUInt64LittleEndian(image.AsSpan(offset)),
            };
            var values = HostileValues(original, width, image.Length, random);
            if (valuesPerField < values.Length)
            {
                random.Shuffle(values);
                values = values[..valuesPerField];
            }

            foreach (ulong value in values)
            {
                harness.WithField(offset, width, value, $"{field} = 0x{value:x}");
            }
        }

        Check(harness, name);
        Assert.True(harness.Loads > 500, $"only {harness.Loads} variants were tried");
    }

    private void CorruptRandomBytes(byte[] image, string name, int seed, int rounds)
    {
        var random = new Random(seed);
        var harness = new Harness(image);
        var elf = ElfFile.Parse(image);
        // Bias corruption toward the structures the reader interprets.
        var hot = new List<(int Start, int Length)> { (0, 64) };
        hot.AddRange(elf.Sections.Select(s => ((int)s.HeaderOffset, 64)));
        hot.AddRange(elf.Sections.Where(s => s.Type is ElfSectionType.SymbolTable or ElfSectionType.Relocations or ElfSectionType.RelocationsWithAddends or ElfSectionType.StringTable || s.IsExecutable || s.Name.StartsWith("maps", StringComparison.Ordinal))
            .Where(s => s.Size > 0).Select(s => ((int)s.FileOffset, (int)s.Size)));
        for (int round = 0; round < rounds; round++)
        {
            image.CopyTo(harness.Work, 0);
            int changes = random.Next(1, 9);
            for (int c = 0; c < changes; c++)
            {
                int at;
                if (random.Next(2) == 0)
                {
                    var (start, length) = hot[random.Next(hot.Count)];
                    at = start + random.Next(length);
                }
                else
                {
                    at = random.Next(image.Length);
                }

                harness.Work[at] = random.Next(4) switch
                {
                    0 => 0,
                    1 => 0xff,
                    2 => (byte)(harness.Work[at] ^ (1 << random.Next(8))),
                    _ => (byte)random.Next(256),
                };
            }

            harness.Run(harness.Work, $"seed {seed} round {round}");
        }

        Check(harness, name);
    }

    [Theory]
    [MemberData(nameof(HandBuiltObjects))]
    public void TruncatedHandBuiltObjectsFailCleanly(string name) => Truncate(ElfTestData.HandBuilt(name), name);

    [Theory]
    [MemberData(nameof(HandBuiltObjects))]
    public void CorruptedFieldsOfHandBuiltObjectsFailCleanly(string name) => CorruptFields(ElfTestData.HandBuilt(name), name, name.Length);

    [Theory]
    [MemberData(nameof(HandBuiltObjects))]
    public void RandomlyCorruptedHandBuiltObjectsFailCleanly(string name) => CorruptRandomBytes(ElfTestData.HandBuilt(name), name, 1000 + name.Length, 3000);

    [SharedTheory("samples")]
    [MemberData(nameof(SampleObjects))]
    public void TruncatedSamplesFailCleanly(string name) => Truncate(Sample(name), name);

    [SharedTheory("samples")]
    [MemberData(nameof(SampleObjects))]
    public void CorruptedFieldsOfSamplesFailCleanly(string name) => CorruptFields(Sample(name), name, 7, valuesPerField: 6);

    [SharedTheory("samples")]
    [MemberData(nameof(SampleObjects))]
    public void RandomlyCorruptedSamplesFailCleanly(string name) => CorruptRandomBytes(Sample(name), name, 99, 1500);
}
