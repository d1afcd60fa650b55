using System.Diagnostics;
using System.Text.Json;

namespace SharpBpf.Linux.Tests.Kernel;

/// <summary>Runs the reference tool bpftool and parses its JSON output.</summary>
internal static class Bpftool
{
    private static readonly Lazy<bool> Installed = new(() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(dir => dir.Length > 0 && File.Exists(Path.Combine(dir, "bpftool"))));

    /// <summary>Whether bpftool is on PATH.</summary>
    public static bool IsInstalled => Installed.Value;

    public static JsonElement Json(params string[] arguments)
    {
        var start = new ProcessStartInfo("bpftool") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add("-j");
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "bpftool timed out");
        Assert.True(process.ExitCode == 0, $"bpftool {string.Join(' ', arguments)} failed: {stderr.Result}{stdout.Result}");
        using var doc = JsonDocument.Parse(stdout.Result);
        return doc.RootElement.Clone();
    }

    public static string Text(params string[] arguments)
    {
        var start = new ProcessStartInfo("bpftool") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments)
        {
            start.ArgumentList.Add(a);
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        _ = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "bpftool timed out");
        return stdout.Result;
    }

    /// <summary>bpftool prints byte arrays as "0x01" strings.</summary>
    public static byte[] Bytes(JsonElement array) =>
        [.. array.EnumerateArray().Select(e => Convert.ToByte(e.GetString()!, 16))];
}
