using SharpBpf.Testing;
using static SharpBpf.Cli.Tests.CliRunner;

namespace SharpBpf.Cli.Tests;

/// <summary>The sharpbpf verbs, run in-process with captured output.</summary>
public sealed class CliTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("sharpbpf-cli-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);


    private string Write(string name, string text)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void ConformanceWithoutPathsRunsTheBuiltInCases()
    {
        var (code, output, _) = Run("conformance");
        Assert.Equal(0, code);
        string last = output.TrimEnd().Split('\n')[^1];
        Assert.Matches(@"^\d+ passed, 0 failed$", last);
        Assert.True(int.Parse(last.Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) >= 15);
    }

    [Fact]
    public void ConformanceRunsOnTheJitToo()
    {
        var (code, output, _) = Run("conformance", "--engine", "jit");
        Assert.Equal(0, code);
        Assert.Matches(@"\d+ passed, 0 failed$", output.TrimEnd());
    }

    [Fact]
    public void UnknownEngineIsRejected()
    {
        var (code, _, error) = Run("conformance", "--engine", "warp");
        Assert.NotEqual(0, code);
        Assert.Contains("warp", error);
    }

    [Fact]
    public void ConformanceReportsFailuresWithExpectedAndActual()
    {
        string good = Write("good.data", "-- asm\nmov %r0, 1\nexit\n-- result\n0x1\n");
        string bad = Write("bad.data", "-- asm\nmov %r0, 2\nexit\n-- result\n0x1\n");
        var (code, output, _) = Run("conformance", good, bad);
        Assert.Equal(1, code);
        Assert.Contains("FAIL bad: expected 0x1, got 0x2", output);
        Assert.EndsWith("1 passed, 1 failed", output.TrimEnd());
    }

    [SharedFact("conformance")]
    public void ConformanceRunsTheSharedSuiteWhenPresent()
    {
        string shared = SharedData.Folder("conformance")!;
        int files = Directory.GetFiles(shared, "*.data").Length;
        var (code, output, _) = Run("conformance", shared);
        Assert.Equal(0, code);
        Assert.EndsWith($"{files} passed, 0 failed", output.TrimEnd());
    }

    [Fact]
    public void AsmThenDisasmRoundTrips()
    {
        string source = Write("prog.s", "r0 = 0x2a\nr1 = *(u32 *)(r10 - 0x8)\nif r1 > 0x5 goto +0x1\nr0 += r1\nexit\n");
        string bin = Path.Combine(_dir, "prog.bin");
        var (code, output, error) = Run("asm", source, "-o", bin);
        Assert.True(code == 0, error);
        Assert.Contains("5 instructions (40 bytes)", output);
        Assert.Equal(40, new FileInfo(bin).Length);

        var (code2, listing, error2) = Run("disasm", bin);
        Assert.True(code2 == 0, error2);
        Assert.Contains("r0 = 0x2a", listing);
        Assert.Contains("w1 = *(u32 *)(r10 - 0x8)", listing); // llvm-objdump -mcpu=v4 spells 32-bit loads with w registers
        Assert.Contains("exit", listing);

        string again = Path.Combine(_dir, "again.bin");
        Assert.Equal(0, Run("asm", Write("listing.s", listing), "-o", again).Code);
        Assert.Equal(File.ReadAllBytes(bin), File.ReadAllBytes(again));
    }

    [Fact]
    public void AsmErrorsNameLineAndColumn()
    {
        string source = Write("bad.s", "r0 = 1\nr0 += r11\nexit\n");
        var (code, _, error) = Run("asm", source, "--syntax", "llvm");
        Assert.Equal(CliApp.BadInput, code);
        Assert.Contains("line 2", error);
        Assert.Contains("column", error);
    }

    [Fact]
    public void DisasmOfATruncatedFileIsAClearError()
    {
        string path = Path.Combine(_dir, "trunc.bin");
        File.WriteAllBytes(path, new byte[11]);
        var (code, _, error) = Run("disasm", path);
        Assert.Equal(CliApp.BadInput, code);
        Assert.StartsWith("error: ", error);
        Assert.Contains("not a whole number of 8-byte instructions", error);
    }

    [Fact]
    public void MissingFileIsAClearError()
    {
        var (code, _, error) = Run("disasm", Path.Combine(_dir, "nope.bin"));
        Assert.Equal(CliApp.BadInput, code);
        Assert.StartsWith("error: ", error);
    }

    [Fact]
    public void UnknownOptionIsRejectedByTheParser()
    {
        var (code, _, error) = Run("disasm", "--frobnicate");
        Assert.NotEqual(0, code);
        Assert.Contains("--frobnicate", error);
    }

    private static string ProjectObject(string name) => Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name);

    [Fact]
    public void ObjectListsProgramsMapsAndRelocations()
    {
        var (code, output, error) = Run("object", ProjectObject("xdp_firewall.o"));
        Assert.True(code == 0, error);

        // Expected values from bpf/src/xdp_firewall.c and bpf/include/xdp_firewall.h.
        Assert.Matches(@"xdp_firewall\s+xdp\s+Xdp\s+\d+", output);
        Assert.Matches(@"fw_blocklist\s+BtfDefined\s+Hash\s+4\s+16\s+4096\s", output);
        Assert.Matches(@"fw_stats\s+BtfDefined\s+PerCpuArray\s+4\s+16\s+6\s", output);
        Assert.Matches(@"fw_events\s+BtfDefined\s+RingBuffer\s+0\s+0\s+262144\s", output);
        Assert.Contains("MapReference  fw_blocklist", output);
    }

    [Fact]
    public void ObjectJsonIsParseable()
    {
        var (code, output, error) = Run("object", ProjectObject("calls_loops.o"), "--json");
        Assert.True(code == 0, error);
        using var json = System.Text.Json.JsonDocument.Parse(output);
        var program = json.RootElement.GetProperty("programs")[0];
        Assert.Equal("xdp", program.GetProperty("section").GetString());
        Assert.Contains(program.GetProperty("relocations").EnumerateArray(), r => r.GetProperty("kind").GetString() == "SubprogramCall");
    }

    [Fact]
    public void DisasmOfAnObjectListsEachProgram()
    {
        var (code, output, error) = Run("disasm", ProjectObject("xdp_firewall.o"));
        Assert.True(code == 0, error);
        Assert.StartsWith("xdp_firewall (SEC(\"xdp\"), Xdp, ", output);
        Assert.Contains("exit", output);

        var (missing, _, message) = Run("disasm", ProjectObject("xdp_firewall.o"), "--program", "nope");
        Assert.Equal(CliApp.BadInput, missing);
        Assert.Contains("no program named 'nope'", message);
    }

    [Fact]
    public void ObjectRejectsAMalformedFileWithTheOffset()
    {
        string path = Path.Combine(_dir, "bad.o");
        var bytes = File.ReadAllBytes(ProjectObject("xdp_firewall.o"));
        File.WriteAllBytes(path, bytes.AsSpan(0, 100).ToArray());
        var (code, _, error) = Run("object", path);
        Assert.Equal(CliApp.BadInput, code);
        Assert.StartsWith("error: ", error);
        Assert.Contains("offset", error);
    }

    [Fact]
    public void FuzzComparesTheEnginesAndReportsAgreement()
    {
        var (code, output, error) = Run("fuzz", "--engines", "jit,interpreter", "--cases", "300", "--seed", "3");
        Assert.True(code == 0, output + error);
        Assert.Contains("300 programs (", output);
        Assert.EndsWith("300 agreed, 0 differed", output.TrimEnd());
    }

    [Fact]
    public void FuzzRejectsANonPositiveCaseCount()
    {
        var (code, _, error) = Run("fuzz", "--cases", "0");
        Assert.Equal(CliApp.BadInput, code);
        Assert.Contains("--cases must be positive", error);
    }

    [Fact]
    public void ConformancePluginPrintsR0InHex()
    {
        // ldxw r0, [r1+0]; exit -- over memory 2a 00 00 00
        var (code, output, error) = Run("conformance-plugin", "--program", "61 10 00 00 00 00 00 00 95 00 00 00 00 00 00 00", "2a000000");
        Assert.True(code == 0, error);
        Assert.Equal("2a", output.Trim());
    }

    [Fact]
    public void ConformancePluginReportsFaultsOnStandardError()
    {
        // ldxdw r0, [r1+0] over 4 bytes: out of bounds.
        var (code, output, error) = Run("conformance-plugin", "--program", "7910000000000000 9500000000000000", "2a000000");
        Assert.Equal(1, code);
        Assert.Equal("", output);
        Assert.Contains("invalid memory read of 8 byte(s)", error);
    }

    [Fact]
    public void ConformancePluginRunsTheFirstProgramOfAnElfObject()
    {
        // xdp_first in multi.c: add_one(ctx->ingress_ifindex) > 5 ? XDP_PASS (2) : XDP_DROP (1); the memory is the
        // context, ingress_ifindex at offset 12 of struct xdp_md.
        string obj = Convert.ToHexString(File.ReadAllBytes(Path.Combine(
            SharedData.RepositoryRoot, "tests", "SharpBpf.Tests", "Fixtures", "elf", "src", "multi.o")));
        var pass = Run("conformance-plugin", "--elf", "--program", obj, "00000000 00000000 00000000 0a000000");
        Assert.True(pass.Code == 0, pass.Err);
        Assert.Equal("2", pass.Out.Trim());
        var drop = Run("conformance-plugin", "--elf", "--program", obj, "00000000 00000000 00000000 00000000");
        Assert.Equal("1", drop.Out.Trim());
    }

    [Fact]
    public void ConformancePluginRejectsBadHex()
    {
        var (code, _, error) = Run("conformance-plugin", "--program", "9500zz", "");
        Assert.Equal(CliApp.BadInput, code);
        Assert.Contains("not a hex digit", error);
    }
}
