using System.Text.Json;
using SharpBpf.Capture;
using SharpBpf.Testing;
using static SharpBpf.Cli.Tests.CliRunner;

namespace SharpBpf.Cli.Tests;

/// <summary><c>sharpbpf run</c> over the project's objects and capture, checked against the kernel's verdicts.</summary>
public sealed class RunCommandTests : IDisposable
{
    private const string Zero16 = "00000000000000000000000000000000";

    // 198.51.100.66, 198.51.100.77 and 192.0.2.200: the block list of bpf/verify.py.
    private static readonly string[] BlockList =
    [
        "--map-update", $"fw_blocklist:c6336442={Zero16}",
        "--map-update", $"fw_blocklist:c633644d={Zero16}",
        "--map-update", $"fw_blocklist:c00002c8={Zero16}",
    ];

    private readonly string _dir = Directory.CreateTempSubdirectory("sharpbpf-run-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private static string Object(string name) => Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name);

    private static string Traffic => Path.Combine(SharedData.RepositoryRoot, "bpf", "pcap", "traffic.pcap");

    private static string[] KernelColumn(string column)
    {
        var lines = File.ReadAllLines(Path.Combine(SharedData.RepositoryRoot, "bpf", "pcap", "expected_verdicts.csv"));
        int index = Array.IndexOf(lines[0].Split(','), column);
        return [.. lines.Skip(1).Select(l => l.Split(',')[index])];
    }


    // The verdict column of the per-packet lines ("     7    132 B  XDP_PASS ..."), as the kernel's CSV names them.
    private static string[] Verdicts(string output) =>
        [.. output.Split('\n').Where(l => System.Text.RegularExpressions.Regex.IsMatch(l, @"^\s*\d+\s+\d+ B  ")).Select(l =>
        {
            string verdict = l.Split("B  ", 2)[1].Split(' ')[0];
            return verdict.StartsWith("XDP_", StringComparison.Ordinal) ? verdict[4..] : verdict.StartsWith("TC_ACT_", StringComparison.Ordinal) ? verdict[7..] : verdict;
        })];

    [Theory]
    [InlineData("interpreter")]
    [InlineData("jit")]
    public void FirewallOverTheCaptureGivesTheKernelsVerdicts(string engine)
    {
        var (code, output, error) = Run(["run", Object("xdp_firewall.o"), "--pcap", Traffic, "--engine", engine, "--cpus", "2", .. BlockList]);
        Assert.Equal(0, code);
        Assert.Equal("", error);
        Assert.StartsWith("xdp_firewall.o: program xdp_firewall (SEC(\"xdp\"), Xdp), the first program that runs on packets; engine " + engine, output);
        Assert.Equal(KernelColumn("xdp_firewall"), Verdicts(output));
        Assert.Contains("\n356 packets: XDP_PASS 314, XDP_DROP 41, EINVAL 1\n", output);
        Assert.Contains("ring buffer fw_events: 41 records", output);
        Assert.Contains("\"drops\": 14,\n            \"bytes\": 746", output); // 198.51.100.66, as the kernel counted
        Assert.Contains("trace_printk: no messages", output);
    }

    [Fact]
    public void OutWritesThePacketsThatGoOnUnchanged()
    {
        string path = Path.Combine(_dir, "passed.pcap");
        var (code, output, _) = Run(["run", Object("xdp_firewall.o"), "--pcap", Traffic, "-o", path, .. BlockList]);
        Assert.Equal(0, code);
        Assert.Contains($"314 packets written to {path}", output);

        using var original = CaptureReader.Open(Traffic);
        var kernel = KernelColumn("xdp_firewall");
        var expected = original.ReadAll().Where(p => kernel[p.Index] == "PASS").ToList();
        using var written = CaptureReader.Open(path);
        var actual = written.ReadAll().ToList();
        Assert.Equal(expected.Select(p => p.Data), actual.Select(p => p.Data));
        Assert.Equal(expected.Select(p => p.TimestampNanoseconds / 1000), actual.Select(p => p.TimestampNanoseconds / 1000));
    }

    [Fact]
    public void TcRewriteWritesRewrittenPackets()
    {
        string path = Path.Combine(_dir, "tc.pcap");
        var (code, output, _) = Run("run", Object("tc_rewrite.o"), "--pcap", Traffic, "-o", path,
            "--map-update", "tc_dscp_rules:cb00710a=00000000000000002e00000000000000",
            "--map-update", "tc_port_rules:8c13=0000000000000000741700000000000000");
        Assert.Equal(2, code); // the port rule value above is 17 bytes: a clear error, not a crash
        (code, output, _) = Run("run", Object("tc_rewrite.o"), "--pcap", Traffic, "-o", path,
            "--map-update", "tc_dscp_rules:cb00710a=00000000000000002e00000000000000",
            "--map-update", "tc_port_rules:8c13=00000000000000007417000000000000");
        Assert.Equal(0, code);
        Assert.Equal(KernelColumn("tc_rewrite"), Verdicts(output));
        Assert.Equal(128, output.Split('\n').Count(l => l.EndsWith("(rewritten)", StringComparison.Ordinal))); // 88 DSCP, 40 of them also ports
        using var written = CaptureReader.Open(path);
        Assert.Equal(353, written.ReadAll().Count());
    }

    [Fact]
    public void JsonIsOneDocumentWithPacketsMapsAndEvents()
    {
        var (code, output, _) = Run(["run", Object("xdp_firewall.o"), "--pcap", Traffic, "--json", "--cpus", "2", .. BlockList]);
        Assert.Equal(0, code);
        using var document = JsonDocument.Parse(output);
        var root = document.RootElement;
        Assert.Equal("xdp_firewall", root.GetProperty("program").GetString());
        Assert.True(root.GetProperty("program_chosen_automatically").GetBoolean());
        Assert.Equal(356, root.GetProperty("packets").GetArrayLength());
        Assert.Equal(KernelColumn("xdp_firewall"), root.GetProperty("packets").EnumerateArray().Select(p => p.GetProperty("verdict").GetString()!.Replace("XDP_", "", StringComparison.Ordinal)));
        Assert.Equal(41, root.GetProperty("verdicts").GetProperty("XDP_DROP").GetInt32());
        var blocklist = root.GetProperty("maps").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "fw_blocklist");
        Assert.Equal(3, blocklist.GetProperty("elements").GetArrayLength());
        long drops = blocklist.GetProperty("elements").EnumerateArray().Sum(e => e.GetProperty("formatted").GetProperty("value").GetProperty("drops").GetInt64());
        Assert.Equal(34, drops);
        Assert.Equal(41, root.GetProperty("events").GetArrayLength());
        Assert.Equal(0, root.GetProperty("faults").GetInt32());
    }

    [Fact]
    public void JsonStaysValidWhenBpftoolsFormattingIsNot()
    {
        // A float in a map value: bpftool prints "(unsupported-kind" there, which is not JSON; run keeps that text apart.
        string obj = Path.Combine(SharedData.RepositoryRoot, "tests", "SharpBpf.Tests", "Fixtures", "mapdump", "dump_types.o");
        var (code, output, _) = Run("run", obj, "--packet", new string('0', 120), "--json");
        Assert.Equal(0, code);
        using var document = JsonDocument.Parse(output);
        var maps = document.RootElement.GetProperty("maps").EnumerateArray().ToDictionary(m => m.GetProperty("name").GetString()!);
        Assert.Contains("(unsupported-kind", maps["kitchen_array"].GetProperty("elements_text").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, maps[".data"].GetProperty("elements").GetArrayLength());
    }

    [Fact]
    public void HexPacketsRunAndRuntsAreRefusedAsByTheKernel()
    {
        // An ARP frame (passes, counted as non-IP) and a 10-byte runt (test-run refuses it with EINVAL).
        string arp = "ffffffffffff 020000000001 0806 0001080006040001 020000000001 0a010001 000000000000 0a010002";
        var (code, output, _) = Run("run", Object("xdp_firewall.o"), "--packet", arp, "--packet", "00112233445566778899", "--repeat", "3", "--cpus", "1");
        Assert.Equal(0, code);
        Assert.Contains("     0     42 B  XDP_PASS\n", output);
        Assert.Contains("     1     10 B  EINVAL (the frame has 10 bytes, less than an Ethernet header (14))", output);
        Assert.Contains("2 packets (each run 3 times): EINVAL 1, XDP_PASS 1", output);
        Assert.Contains("\"packets\": 3,\n                    \"bytes\": 126", output); // non_ip: 3 runs of 42 bytes
    }

    [Fact]
    public void SocketFilterIsChosenByName()
    {
        var (code, output, _) = Run("run", Object("socket_filter.o"), "--program", "udp_port_range", "--pcap", Traffic);
        Assert.Equal(0, code);
        Assert.StartsWith("socket_filter.o: program udp_port_range (SEC(\"socket\"), SocketFilter); engine jit, unchecked (verified)", output);
        Assert.Equal(KernelColumn("udp_port_range"), Verdicts(output));
    }

    [Fact]
    public void RodataPatchChangesThePolicy()
    {
        var (code, output, _) = Run(["run", Object("xdp_firewall.o"), "--pcap", Traffic, "--rodata", "0=8c13", .. BlockList]);
        Assert.Equal(0, code);
        Assert.Equal(KernelColumn("xdp_firewall_udp5004"), Verdicts(output));
        Assert.Contains("\"drop_udp_dport\": 5004", output);
    }

    [Theory]
    [InlineData("missing-object")]
    [InlineData("not-elf")]
    [InlineData("unknown-program")]
    [InlineData("tracing-program")]
    [InlineData("bad-hex")]
    [InlineData("odd-hex")]
    [InlineData("both-inputs")]
    [InlineData("no-input")]
    [InlineData("missing-pcap")]
    [InlineData("truncated-pcap")]
    [InlineData("not-a-capture")]
    [InlineData("bad-map-update")]
    [InlineData("unknown-map")]
    [InlineData("bad-rodata")]
    [InlineData("bad-repeat")]
    public void BadInputIsAOneLineErrorWithExitCode2(string kind)
    {
        string notElf = Path.Combine(_dir, "not.o");
        File.WriteAllText(notElf, "this is not an ELF file");
        string truncated = Path.Combine(_dir, "cut.pcap");
        File.WriteAllBytes(truncated, File.ReadAllBytes(Traffic)[..1000]);
        string fw = Object("xdp_firewall.o");
        string[] args = kind switch
        {
            "missing-object" => ["run", Path.Combine(_dir, "absent.o"), "--pcap", Traffic],
            "not-elf" => ["run", notElf, "--pcap", Traffic],
            "unknown-program" => ["run", fw, "--program", "nope", "--pcap", Traffic],
            "tracing-program" => ["run", Object("trace_exec.o"), "--program", "count_getpid", "--pcap", Traffic],
            "bad-hex" => ["run", fw, "--packet", "zz00"],
            "odd-hex" => ["run", fw, "--packet", "000"],
            "both-inputs" => ["run", fw, "--packet", "00", "--pcap", Traffic],
            "no-input" => ["run", fw],
            "missing-pcap" => ["run", fw, "--pcap", Path.Combine(_dir, "absent.pcap")],
            "truncated-pcap" => ["run", fw, "--pcap", truncated],
            "not-a-capture" => ["run", fw, "--pcap", notElf],
            "bad-map-update" => ["run", fw, "--pcap", Traffic, "--map-update", "fw_blocklist=00"],
            "unknown-map" => ["run", fw, "--pcap", Traffic, "--map-update", "nope:00000000=00"],
            "bad-rodata" => ["run", fw, "--pcap", Traffic, "--rodata", "2=0000000000"],
            "bad-repeat" => ["run", fw, "--pcap", Traffic, "--repeat", "0"],
            _ => throw new ArgumentOutOfRangeException(nameof(kind)),
        };
        var (code, _, error) = Run(args);
        Assert.Equal(2, code);
        var lines = error.TrimEnd('\n').Split('\n');
        Assert.Single(lines);
        Assert.StartsWith("error: ", lines[0]);
        Assert.DoesNotContain("   at ", error);
    }

    [Fact]
    public void TruncatedCaptureNamesTheOffset()
    {
        string truncated = Path.Combine(_dir, "cut.pcap");
        File.WriteAllBytes(truncated, File.ReadAllBytes(Traffic)[..1000]);
        var (code, output, error) = Run("run", Object("xdp_firewall.o"), "--pcap", truncated);
        Assert.Equal(2, code);
        Assert.Contains("     0     95 B  XDP_PASS", output); // the packets before the damage were run
        Assert.Matches(@"^error: capture offset \d+: the file ends inside the data of packet \d+", error);
    }
}
