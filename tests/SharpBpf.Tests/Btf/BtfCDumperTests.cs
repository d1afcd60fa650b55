using System.Diagnostics;
using SharpBpf.Btf;
using Xunit.Abstractions;
using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Btf;

public class BtfCDumperTests(ITestOutputHelper output)
{
    [Fact]
    public void Fixture_DumpMatchesBpftool()
    {
        // kinds.expected.h is `bpftool btf dump file kinds.bpf.o format c` (Fixtures/btf/regenerate.sh).
        var btf = BtfSpec.Parse(Fixtures.Read("btf", "kinds.btf"));
        string expected = File.ReadAllText(Fixtures.Path("btf", "kinds.expected.h"));
        Assert.Equal(expected, BtfCDumper.Dump(btf));
    }

    [Fact]
    public void FormatDeclaration_HandlesFunctionPointerArraysQualifiersAndMatrices()
    {
        var btf = BtfSpec.Parse(Fixtures.Read("btf", "kinds.btf"));
        // The same declarations appear in bpftool's dump of the fixture.
        Assert.Equal("int (*handlers[4])(void *, long)", BtfCDumper.FormatDeclaration(btf, 22, "handlers"));
        Assert.Equal("volatile const char *name", BtfCDumper.FormatDeclaration(btf, 23, "name"));
        Assert.Equal("char matrix[2][3]", BtfCDumper.FormatDeclaration(btf, 40, "matrix"));
        Assert.Equal("int __attribute__((btf_type_tag(\"user\"))) *uptr", BtfCDumper.FormatDeclaration(btf, 37, "uptr"));
        Assert.Equal("visit_fn visit", BtfCDumper.FormatDeclaration(btf, 16, "visit"));
    }

    [Fact]
    public void Dump_RenamesDuplicatesAndMarksSmallEnums()
    {
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        b.AddStruct("dup", 4, new BtfMemberDefinition("a", @int, 0));
        b.AddStruct("dup", 8, new BtfMemberDefinition("a", @int, 0), new BtfMemberDefinition("b", @int, 32));
        b.AddEnum("tiny", 1, false, new BtfEnumValueDefinition("T0", 0));
        b.AddEnum("", 4, true, new BtfEnumValueDefinition("T0", -1));
        string c = BtfCDumper.Dump(b.Build(), new BtfCDumpOptions { IncludeGuard = null, PreserveAccessIndex = false });
        Assert.Contains("struct dup {\n\tint a;\n};", c, StringComparison.Ordinal);
        Assert.Contains("struct dup___2 {\n\tint a;\n\tint b;\n};", c, StringComparison.Ordinal);
        Assert.Contains("enum tiny {\n\tT0 = 0,\n} __attribute__((mode(byte)));", c, StringComparison.Ordinal);
        Assert.Contains("enum {\n\tT0___2 = -1,\n};", c, StringComparison.Ordinal);
        Assert.DoesNotContain("#pragma", c, StringComparison.Ordinal);
    }

    [Fact]
    public void Dump_OfBuiltLayoutsCompilesWithTheSameLayout()
    {
        if (ExternalTool.Find("clang-19") is null)
        {
            output.WriteLine("skipped: clang-19 is not installed");
            return;
        }
        // Mutually recursive structs, a gap that needs padding, a packed struct and an over-aligned member.
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        int u8 = b.AddInt("unsigned char", 1);
        int u64 = b.AddInt("long long unsigned int", 8);
        int fwdB = b.AddForward("b");
        int ptrB = b.AddPointer(fwdB);
        int a = b.AddStruct("a", 16, new BtfMemberDefinition("pb", ptrB, 0), new BtfMemberDefinition("x", @int, 96));
        b.AddStruct("b", 24, new BtfMemberDefinition("inner", a, 0), new BtfMemberDefinition("tag", u8, 128));
        b.AddStruct("packed", 9, new BtfMemberDefinition("k", u8, 0), new BtfMemberDefinition("v", u64, 8));
        b.AddStruct("bits", 8, new BtfMemberDefinition("lo", @int, 0, 3), new BtfMemberDefinition("hi", @int, 35, 7));
        string header = BtfCDumper.Dump(b.Build());
        string check = header + """
            #define CHECK(c) _Static_assert(c, #c)
            CHECK(sizeof(struct a) == 16);
            CHECK(__builtin_offsetof(struct a, x) == 12);
            CHECK(sizeof(struct b) == 24);
            CHECK(__builtin_offsetof(struct b, tag) == 16);
            CHECK(sizeof(struct packed) == 9);
            CHECK(__builtin_offsetof(struct packed, v) == 1);
            CHECK(sizeof(struct bits) == 8);
            """;
        CompileWithClang(check, "layout");
    }

    [BtfRequiresVmlinuxAndToolFact("bpftool")]
    public void Vmlinux_DumpMatchesBpftool()
    {
        var psi = new ProcessStartInfo("bpftool", ["btf", "dump", "file", BtfTestEnvironment.VmlinuxPath, "format", "c"])
        {
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(psi)!;
        string expected = process.StandardOutput.ReadToEnd();
        Assert.True(process.WaitForExit(120_000));
        Assert.Equal(0, process.ExitCode);
        // Compare the type definitions, in order. bpftool 7.1 (libbpf 1.1) predates libbpf's mode(byte)/mode(word)
        // enum attributes, which this dumper emits like libbpf 1.4+, so both sides drop them; newer bpftool versions
        // add kfunc declarations and macros around the types, which the filter leaves out.
        static List<string> Definitions(string header) => header
            .Replace(" __attribute__((mode(byte)))", "", StringComparison.Ordinal)
            .Replace(" __attribute__((mode(word)))", "", StringComparison.Ordinal)
            .Split("\n\n")
            .Where(c => c.StartsWith("struct ", StringComparison.Ordinal) || c.StartsWith("union ", StringComparison.Ordinal)
                || c.StartsWith("enum ", StringComparison.Ordinal) || c.StartsWith("typedef ", StringComparison.Ordinal))
            .ToList();
        var expectedDefinitions = Definitions(expected);
        var mine = Definitions(BtfCDumper.Dump(BtfTestEnvironment.Vmlinux));
        Assert.True(expectedDefinitions.Count > 10_000);
        for (int i = 0; i < Math.Min(expectedDefinitions.Count, mine.Count); i++)
        {
            if (expectedDefinitions[i] != mine[i])
                Assert.Fail($"definition #{i} differs:\n--- bpftool\n{expectedDefinitions[i]}\n--- SharpBpf\n{mine[i]}");
        }
        Assert.Equal(expectedDefinitions.Count, mine.Count);
    }

    [BtfRequiresVmlinuxAndToolFact("clang-19")]
    public void Vmlinux_DumpCompilesWithClang()
    {
        string header = BtfCDumper.Dump(BtfTestEnvironment.Vmlinux);
        CompileWithClang(header + "\nint use(struct task_struct *t) { return t->pid; }\n", "vmlinux");
    }

    private void CompileWithClang(string source, string name)
    {
        string dir = Path.Combine(Path.GetTempPath(), "sharpbpf-btf-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            string file = Path.Combine(dir, name + ".c");
            File.WriteAllText(file, source);
            var psi = new ProcessStartInfo("clang-19", ["-target", "bpf", "-O2", "-g", "-c", file, "-o", Path.Combine(dir, name + ".o")])
            {
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            using var process = Process.Start(psi)!;
            string errors = process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(300_000), "clang timed out");
            output.WriteLine(errors.Length > 4000 ? errors[..4000] : errors);
            Assert.True(process.ExitCode == 0, "clang failed: " + (errors.Length > 2000 ? errors[..2000] : errors));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
