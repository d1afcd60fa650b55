using System.Diagnostics;
using System.Text.Json;
using SharpBpf.Btf;
using SharpBpf.Testing;
using static SharpBpf.Cli.Tests.CliRunner;

namespace SharpBpf.Cli.Tests;

/// <summary>The <c>btf dump</c> and <c>core</c> verbs.</summary>
public sealed class BtfAndCoreCliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpbpf-core-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    private static string Repo(params string[] parts) => Path.Combine([SharedData.RepositoryRoot, .. parts]);

    private static string KindsObject => Repo("tests", "SharpBpf.Tests", "Fixtures", "btf", "kinds.bpf.o");

    private static string MiniTarget(string name) => Repo("tests", "SharpBpf.Tests", "Fixtures", "core", name);

    private static string CoreProbe => Repo("bpf", "obj", "core_probe.o");

    private static string? Bpftool(params string[] args)
    {
        string? tool = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Select(d => Path.Combine(d, "bpftool")).FirstOrDefault(File.Exists);
        if (tool is null) return null;
        var psi = new ProcessStartInfo(tool) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var process = Process.Start(psi)!;
        string text = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? text : null;
    }

    [Fact]
    public void RawDumpIsBpftoolsListing()
    {
        foreach (string file in new[] { KindsObject, CoreProbe, MiniTarget("mini-old.btf") })
        {
            var (code, output, error) = Run("btf", "dump", file);
            Assert.True(code == 0, error);
            Assert.StartsWith("[1] ", output, StringComparison.Ordinal);
            // bpftool is the reference when installed.
            if (Bpftool("btf", "dump", "file", file) is { } expected) Assert.Equal(expected, output);
        }
    }

    [Fact]
    public void RawDumpShowsEveryKindAsBpftoolWrites()
    {
        var (_, output, _) = Run("btf", "dump", KindsObject);
        // Lines bpftool v7 prints for this object (Fixtures/btf/kinds.bpf.c).
        Assert.Contains("[3] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED\n", output, StringComparison.Ordinal);
        Assert.Contains("\t'd' type_id=28 bits_offset=15 bitfield_size=40\n", output, StringComparison.Ordinal);
        Assert.Contains("\t'WS_NEG' val=-4294967297LL\n", output, StringComparison.Ordinal);
        Assert.Contains("[46] VAR 'counter' type_id=3, linkage=global\n", output, StringComparison.Ordinal);
        Assert.Contains("\ttype_id=51 offset=0 size=8 (VAR 'ticks')\n", output, StringComparison.Ordinal);
        Assert.Contains("[36] TYPE_TAG 'user' type_id=3\n", output, StringComparison.Ordinal);
    }

    [Fact]
    public void CDumpIsTheVmlinuxHeaderBpftoolWrites()
    {
        var (code, output, error) = Run("btf", "dump", KindsObject, "--format", "c");
        Assert.True(code == 0, error);
        // kinds.expected.h is `bpftool btf dump file kinds.bpf.o format c` (Fixtures/btf/regenerate.sh).
        Assert.Equal(File.ReadAllText(Repo("tests", "SharpBpf.Tests", "Fixtures", "btf", "kinds.expected.h")), output);
    }

    [Fact]
    public void JsonDumpHasBpftoolsFields()
    {
        var (code, output, error) = Run("btf", "dump", KindsObject, "--json");
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        var types = doc.RootElement.GetProperty("types");
        Assert.Equal(BtfFile.Load(KindsObject).TypeCount - 1, types.GetArrayLength());
        var wide = types.EnumerateArray().Single(t => t.GetProperty("name").GetString() == "wide_signed");
        Assert.Equal("ENUM64", wide.GetProperty("kind").GetString());
        Assert.Equal(-4294967297L, wide.GetProperty("values")[0].GetProperty("val").GetInt64());
        if (Bpftool("btf", "dump", "file", KindsObject, "-j") is { } reference)
        {
            using var expected = JsonDocument.Parse(reference);
            Assert.Equal(expected.RootElement.GetProperty("types").GetRawText().Replace(" ", "", StringComparison.Ordinal),
                types.GetRawText().Replace(" ", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void SplitBtfIsDumpedOnTopOfItsBase()
    {
        // A module-like split BTF: its ids continue the base's, and only its own types are listed.
        var baseBtf = BtfFile.Load(MiniTarget("mini-new.btf"));
        var split = new BtfBuilder(baseBtf);
        int task = baseBtf.FindId("task_struct", BtfKind.Struct);
        int ptr = split.AddPointer(task);
        split.AddStruct("module_state", 16, new BtfMemberDefinition("owner", ptr, 0), new BtfMemberDefinition("refs", baseBtf.FindId("int", BtfKind.Int), 64));
        string path = Path.Combine(_dir, "module.btf");
        File.WriteAllBytes(path, split.ToArray());
        var (code, output, error) = Run("btf", "dump", path, "--base", MiniTarget("mini-new.btf"));
        Assert.True(code == 0, error);
        Assert.StartsWith($"[{baseBtf.TypeCount}] PTR '(anon)' type_id={task}\n", output, StringComparison.Ordinal);
        Assert.Contains($"\t'owner' type_id={baseBtf.TypeCount} bits_offset=0\n", output, StringComparison.Ordinal);
        if (Bpftool("-B", MiniTarget("mini-new.btf"), "btf", "dump", "file", path) is { } expected) Assert.Equal(expected, output);
    }

    [Fact]
    public void BadBtfInputIsAClearErrorWithExitCode2()
    {
        string garbage = Path.Combine(_dir, "garbage.btf");
        File.WriteAllBytes(garbage, [0x9f, 0xeb, 1, 0, 24, 0, 0, 0, 0, 0, 0, 0, 200, 0, 0, 0]);
        var (code, _, error) = Run("btf", "dump", garbage);
        Assert.Equal(2, code);
        Assert.StartsWith("error: invalid BTF", error, StringComparison.Ordinal);

        (code, _, error) = Run("btf", "dump", Path.Combine(_dir, "missing.btf"));
        Assert.Equal(2, code);
        Assert.Contains("missing.btf", error, StringComparison.Ordinal);

        (code, _, error) = Run("btf", "dump", KindsObject, "--format", "c", "--json");
        Assert.Equal(2, code);
        Assert.Contains("--json", error, StringComparison.Ordinal);

        string noBtf = Repo("bpf", "obj", "xdp_firewall.o");
        string stripped = Path.Combine(_dir, "nobtf.o");
        File.WriteAllBytes(stripped, File.ReadAllBytes(noBtf)[..64]);
        (code, _, error) = Run("btf", "dump", stripped);
        Assert.Equal(2, code);
        Assert.StartsWith("error:", error, StringComparison.Ordinal);
    }

    [Fact]
    public void CoreShowsEveryRelocationAndTheFleetMatrix()
    {
        var (code, output, error) = Run("core", CoreProbe, "--btf", MiniTarget("mini-new.btf"), "--btf", MiniTarget("mini-old.btf"));
        Assert.True(code == 0, error);
        Assert.Contains("target mini-new.btf", output, StringComparison.Ordinal);
        Assert.Contains("target mini-old.btf", output, StringComparison.Ordinal);
        // pid moved from 1264 (new) to 1104 (old): both results are listed.
        Assert.Contains("8 -> 1264", output, StringComparison.Ordinal);
        Assert.Contains("8 -> 1104", output, StringComparison.Ordinal);
        Assert.Contains("poisoned: no candidate of 'task_struct' has the field in_iowait", output, StringComparison.Ordinal);
        string summary = output[output.LastIndexOf("summary", StringComparison.Ordinal)..];
        var rows = summary.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Trim()).ToList();
        Assert.Matches(@"^program\s+mini-new\.btf\s+mini-old\.btf$", rows[1]);
        Assert.Matches(@"^on_fork\s+ok\s+ok$", rows.Single(r => r.StartsWith("on_fork", StringComparison.Ordinal)));
        Assert.Matches(@"^on_exec\s+ok \(1 poisoned\)\s+ok \(\d+ poisoned\)$", rows.Single(r => r.StartsWith("on_exec", StringComparison.Ordinal)));
    }

    [Fact]
    public void CoreJsonHasTheMatrixAndEachRelocation()
    {
        var (code, output, error) = Run("core", CoreProbe, "--btf", MiniTarget("mini-old.btf"), "--json");
        Assert.True(code == 0, error);
        using var doc = JsonDocument.Parse(output);
        var target = doc.RootElement.GetProperty("targets")[0];
        Assert.True(target.GetProperty("succeeded").GetBoolean());
        var onExec = target.GetProperty("programs").EnumerateArray().Single(p => p.GetProperty("name").GetString() == "on_exec");
        var pid = onExec.GetProperty("relocations").EnumerateArray().First(r => r.GetProperty("local").GetString()!.Contains("task_struct.pid ", StringComparison.Ordinal));
        Assert.Equal(1104, pid.GetProperty("new_value").GetInt32());
        Assert.Equal("patched", pid.GetProperty("outcome").GetString());
        Assert.Equal("0:2", pid.GetProperty("access").GetString());
        var matrix = doc.RootElement.GetProperty("matrix").EnumerateArray().ToDictionary(m => m.GetProperty("program").GetString()!, m => m.GetProperty("targets").GetProperty("mini-old.btf").GetString());
        Assert.Equal("ok", matrix["on_fork"]);
        Assert.Equal("poisoned", matrix["on_exec"]);
    }

    [Fact]
    public void CoreLogIsInLibbpfsFormat()
    {
        var (code, output, error) = Run("core", CoreProbe, "--btf", MiniTarget("mini-old.btf"), "--log");
        Assert.True(code == 0, error);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("# target mini-old.btf", lines[0]);
        Assert.StartsWith("CO-RE relocating [23] struct task_struct: found target candidate [", lines[1], StringComparison.Ordinal);
        Assert.Contains("prog 'on_exec': relo #0: <byte_off> [23] struct task_struct.pid (0:2 @ offset 8)", lines);
        Assert.Contains(lines, l => l.StartsWith("prog 'on_exec': relo #6: substituting insn #23 w/ invalid insn", StringComparison.Ordinal));
    }

    [Fact]
    public void CoreExitsWithOneWhenAProgramCannotBeRelocated()
    {
        // Two flavours of task_struct place pid differently: every pid relocation is ambiguous.
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        b.AddStruct("task_struct", 64, new BtfMemberDefinition("pid", @int, 0), new BtfMemberDefinition("tgid", @int, 32));
        b.AddStruct("task_struct___2", 64, new BtfMemberDefinition("pid", @int, 64), new BtfMemberDefinition("tgid", @int, 32));
        string ambiguous = Path.Combine(_dir, "ambiguous.btf");
        File.WriteAllBytes(ambiguous, b.ToArray());
        var (code, output, _) = Run("core", CoreProbe, "--btf", ambiguous);
        Assert.Equal(1, code);
        Assert.Contains("FAILED: field offset ambiguity", output, StringComparison.Ordinal);
        Assert.Matches(@"on_exec\s+FAILED", output);
    }

    [Fact]
    public void CoreBadInputIsExitCode2()
    {
        string garbage = Path.Combine(_dir, "garbage.o");
        File.WriteAllText(garbage, "not an object");
        var (code, _, error) = Run("core", garbage, "--btf", MiniTarget("mini-new.btf"));
        Assert.Equal(2, code);
        Assert.StartsWith("error:", error, StringComparison.Ordinal);
        (code, _, error) = Run("core", CoreProbe, "--btf", garbage);
        Assert.Equal(2, code);
        Assert.StartsWith("error: invalid BTF", error, StringComparison.Ordinal);
    }
}
