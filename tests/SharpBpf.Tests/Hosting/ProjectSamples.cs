using System.Net;
using System.Text.Json;
using SharpBpf.Capture;
using SharpBpf.Testing;

namespace SharpBpf.Tests.Hosting;

/// <summary>
/// The project's own BPF objects (bpf/obj), the capture bpf/pcap/traffic.pcap and the kernel's results over it
/// (bpf/pcap/expected_verdicts.csv and expected_summary.json, written by bpf/verify.py from BPF_PROG_TEST_RUN).
/// </summary>
internal static class ProjectSamples
{
    private static readonly Lazy<IReadOnlyList<CapturePacket>> Frames = new(ReadFrames);
    private static readonly Lazy<Dictionary<string, string[]>> Verdicts = new(ReadVerdicts);
    private static readonly Lazy<JsonElement> Summary = new(() => JsonDocument.Parse(File.ReadAllText(PcapPath("expected_summary.json"))).RootElement);

    /// <summary>The addresses verify.py puts in the firewall's block list.</summary>
    public static readonly string[] BlockedSources = ["198.51.100.66", "198.51.100.77", "192.0.2.200"];

    public static string ObjectPath(string name) => Path.Combine(SharedData.RepositoryRoot, "bpf", "obj", name);

    public static string PcapPath(string name) => Path.Combine(SharedData.RepositoryRoot, "bpf", "pcap", name);

    /// <summary>The 356 frames of traffic.pcap, in order.</summary>
    public static IReadOnlyList<CapturePacket> Traffic => Frames.Value;

    /// <summary>The kernel's column for one program (one cell per frame).</summary>
    public static string[] ExpectedVerdicts(string column) => Verdicts.Value[column];

    /// <summary>expected_summary.json.</summary>
    public static JsonElement ExpectedSummary => Summary.Value;

    /// <summary>An IPv4 address as the 4 bytes a program stores (network byte order).</summary>
    public static byte[] Address(string dotted) => IPAddress.Parse(dotted).GetAddressBytes();

    /// <summary>A VM result written as verify.py writes the kernel's (PASS, DROP, OK, a byte count, EINVAL).</summary>
    public static string CsvCell(SharpBpf.Hosting.PacketRunResult result) =>
        result.Verdict.StartsWith("XDP_", StringComparison.Ordinal) ? result.Verdict[4..]
        : result.Verdict.StartsWith("TC_ACT_", StringComparison.Ordinal) ? result.Verdict[7..]
        : result.Verdict;

    private static List<CapturePacket> ReadFrames()
    {
        using var reader = CaptureReader.Open(PcapPath("traffic.pcap"));
        return [.. reader.ReadAll()];
    }

    private static Dictionary<string, string[]> ReadVerdicts()
    {
        var lines = File.ReadAllLines(PcapPath("expected_verdicts.csv"));
        var header = lines[0].Split(',');
        var columns = new Dictionary<string, string[]>();
        for (int c = 0; c < header.Length; c++)
        {
            columns[header[c]] = [.. lines.Skip(1).Select(l => l.Split(',')[c])];
        }

        return columns;
    }
}
