using System.Buffers.Binary;
using System.Diagnostics;
using SharpBpf.Btf;
using SharpBpf.Testing;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Btf;

/// <summary>
/// Feeds truncated and corrupted real BTF to every entry point: only <see cref="BtfFormatException"/> may escape,
/// each input must finish quickly and allocate a bounded amount.
/// </summary>
public class BtfFuzzTests
{
    private const long MaxAllocationPerInput = 256L * 1024 * 1024;

    private static void Exercise(byte[] bytes, byte[]? ext)
    {
        BtfSpec btf;
        try
        {
            btf = BtfSpec.Parse(bytes);
        }
        catch (BtfFormatException)
        {
            return;
        }
        // Reading must be safe even before validation.
        try
        {
            for (int id = 1; id < btf.TypeCount; id++)
            {
                var t = btf[id];
                _ = t.Name;
                if (t.IsComposite && t.Vlen > 0) _ = t.GetMember(t.Vlen - 1).Name;
                _ = btf.GetSize(id);
            }
        }
        catch (BtfFormatException)
        {
        }
        if (ext is not null)
        {
            try
            {
                BtfExt.Parse(ext, btf);
            }
            catch (BtfFormatException)
            {
            }
        }
        try
        {
            btf.Validate(BtfValidationMode.ObjectFile);
        }
        catch (BtfFormatException)
        {
            return;
        }
        // Valid BTF must also survive every consumer. The kernel's rules allow a few reference loops C cannot
        // declare (a pointer to an array of such pointers): the dumper reports those as BtfFormatException too.
        try
        {
            _ = BtfCDumper.Dump(btf);
        }
        catch (BtfFormatException)
        {
        }
        _ = BtfBuilder.From(btf).ToArray();
        for (int id = 1; id < btf.TypeCount; id++)
        {
            var t = btf[id];
            if (t.IsComposite && t.Vlen > 0) _ = btf.FindMember(id, t.GetMember(0).Name);
            long size = btf.GetSize(id);
            if (size is > 0 and < 4096 && t.Kind is not BtfKind.DataSection)
            {
                try
                {
                    _ = BtfValueFormatter.Format(btf, id, new byte[size]);
                }
                catch (BtfFormatException)
                {
                }
            }
        }
    }

    private static byte[] Mutate(byte[] original, Random random)
    {
        var bytes = (byte[])original.Clone();
        switch (random.Next(5))
        {
            case 0: // truncate anywhere
                return bytes[..random.Next(bytes.Length)];
            case 1: // flip a few bytes
                for (int i = random.Next(1, 9); i > 0; i--) bytes[random.Next(bytes.Length)] ^= (byte)random.Next(1, 256);
                return bytes;
            case 2: // overwrite an aligned word with an interesting value
            {
                uint[] interesting = [0, 1, 0xff, 0xffff, 0xffffff, 0x7fffffff, 0x80000000, 0xffffffff, (uint)random.Next(1, 64), 0x1000_0000, 0x8400_ffff];
                int at = random.Next(bytes.Length / 4) * 4;
                if (at + 4 <= bytes.Length) BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), interesting[random.Next(interesting.Length)]);
                return bytes;
            }
            case 3: // shrink the type section consistently, so parsing reaches truncated records
            {
                if (bytes.Length < 24) return bytes;
                uint typeLen = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(12));
                if (typeLen == 0 || typeLen > bytes.Length - 24) return bytes;
                int cut = random.Next((int)typeLen);
                var shorter = new byte[bytes.Length - cut];
                bytes.AsSpan(0, 24 + (int)typeLen - cut).CopyTo(shorter);
                bytes.AsSpan(24 + (int)typeLen).CopyTo(shorter.AsSpan(24 + (int)typeLen - cut));
                BinaryPrimitives.WriteUInt32LittleEndian(shorter.AsSpan(12), typeLen - (uint)cut);
                BinaryPrimitives.WriteUInt32LittleEndian(shorter.AsSpan(16), typeLen - (uint)cut);
                return shorter;
            }
            default: // corrupt a type id or offset field inside the type section
            {
                if (bytes.Length < 40) return bytes;
                int at = 24 + (random.Next((bytes.Length - 28) / 4) * 4);
                uint old = BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(at));
                BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(at), old + (uint)random.Next(-3, 4));
                return bytes;
            }
        }
    }

    private static void Run(string name, byte[] btf, byte[]? ext, int iterations, int seed)
    {
        var random = new Random(seed);
        for (int i = 0; i < iterations; i++)
        {
            var input = Mutate(btf, random);
            var extInput = ext is null ? null : Mutate(ext, random);
            long before = GC.GetAllocatedBytesForCurrentThread();
            var sw = Stopwatch.StartNew();
            try
            {
                Exercise(input, extInput);
            }
            catch (Exception e) when (e is not BtfFormatException)
            {
                string path = Path.Combine(Path.GetTempPath(), $"btf-fuzz-{name.Replace('/', '_')}-{i}.bin");
                File.WriteAllBytes(path, input);
                throw new Xunit.Sdk.XunitException($"{name} iteration {i}: {e.GetType().Name} escaped (input saved to {path}): {e}");
            }
            Assert.True(sw.Elapsed < TimeSpan.FromSeconds(10), $"{name} iteration {i} took {sw.Elapsed}");
            long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            Assert.True(allocated < MaxAllocationPerInput, $"{name} iteration {i} allocated {allocated} bytes");
        }
    }

    [Fact]
    public void Fixture_CorruptionsOnlyRaiseBtfFormatException()
    {
        Run("kinds", Fixtures.Read("btf", "kinds.btf"), Fixtures.Read("btf", "kinds.btf.ext"), 3000, 1);
    }

    [Fact]
    public void BuiltEveryKind_CorruptionsOnlyRaiseBtfFormatException()
    {
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        int ptr = b.AddPointer(@int);
        int arr = b.AddArray(ptr, @int, 3);
        int st = b.AddStruct("s", 32, new BtfMemberDefinition("a", @int, 0, 3), new BtfMemberDefinition("p", arr, 64));
        b.AddUnion("u", 4, new BtfMemberDefinition("x", @int, 0));
        b.AddEnum("e", 4, false, new BtfEnumValueDefinition("E0", 0));
        b.AddForward("later", isUnion: true);
        int td = b.AddTypedef("myint", @int);
        int cst = b.AddConst(b.AddVolatile(td));
        b.AddRestrict(b.AddPointer(cst));
        int proto = b.AddFunctionProto(@int, new BtfParameterDefinition("x", @int), new BtfParameterDefinition("", 0));
        int fn = b.AddFunction("f", proto);
        int v = b.AddVariable("v", st);
        b.AddDataSection(".data", 32, new BtfVariableSectionInfo(v, 0, 32));
        b.AddFloat("double", 8);
        b.AddDeclTag("tag", fn, 0);
        b.AddPointer(b.AddTypeTag("user", @int));
        b.AddEnum64("e64", 8, true, new BtfEnumValueDefinition("BIG", long.MinValue));
        Run("built", b.ToArray(), null, 3000, 2);
    }

    [SharedFact("samples")]
    public void Samples_CorruptionsOnlyRaiseBtfFormatException()
    {
        int seed = 100;
        foreach (var (name, btf, ext, _) in BtfTestEnvironment.SampleObjectsWithBtf())
            Run(name, btf, ext, 150, seed++);
    }

    [BtfRequiresVmlinuxFact]
    public void Vmlinux_TruncationsAndCorruptionsOnlyRaiseBtfFormatException()
    {
        var full = File.ReadAllBytes(BtfTestEnvironment.VmlinuxPath);
        var random = new Random(7);
        // Truncations of the first megabyte are rejected by the header checks; keep them cheap and many.
        for (int i = 0; i < 500; i++)
        {
            int length = random.Next(Math.Min(full.Length, 1 << 20));
            Assert.Throws<BtfFormatException>(() => BtfSpec.Parse(full.AsMemory(0, length)));
        }
        // Corruptions in the first megabyte (the type section) go through parsing and full validation.
        for (int i = 0; i < 12; i++)
        {
            var bytes = (byte[])full.Clone();
            for (int k = 0; k < 4; k++) bytes[24 + random.Next(Math.Min(full.Length - 24, 1 << 20))] ^= (byte)random.Next(1, 256);
            try
            {
                BtfSpec.Parse(bytes).Validate();
            }
            catch (BtfFormatException)
            {
            }
        }
    }
}
