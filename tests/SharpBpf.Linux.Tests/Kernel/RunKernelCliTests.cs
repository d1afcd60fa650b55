using System.Text.Json;
using SharpBpf.Cli;

namespace SharpBpf.Linux.Tests.Kernel;

/// <summary><c>sharpbpf run --kernel</c>: the same capture through BPF_PROG_TEST_RUN, printed as the VM path prints it.</summary>
public class RunKernelCliTests
{
    private static JsonElement RunJson(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(["run", .. args, "--json"], output, error);
        Assert.True(code == 0, $"sharpbpf run {string.Join(' ', args)}: exit {code}: {error}");
        using var doc = JsonDocument.Parse(output.ToString());
        return doc.RootElement.Clone();
    }

    [KernelFact]
    public void TheKernelPathGivesTheVmsVerdictsPacketsAndRecords()
    {
        string zero = new('0', 32);
        string[] args =
        [
            ObjectLoadTests.ProjectObject("xdp_firewall.o"),
            "--pcap", Path.Combine(Testing.SharedData.RepositoryRoot, "bpf", "pcap", "traffic.pcap"),
            "--map-update", $"fw_blocklist:c6336442={zero}", "--map-update", $"fw_blocklist:c00002c8={zero}",
            "--rodata", "0=8c13",
        ];
        var kernel = RunJson([.. args, "--kernel"]);
        var vm = RunJson([.. args, "--cpus", LinuxSystem.PossibleCpuCount.ToString(System.Globalization.CultureInfo.InvariantCulture)]);

        Assert.StartsWith("kernel", kernel.GetProperty("engine").GetString());
        var kernelPackets = kernel.GetProperty("packets").EnumerateArray().ToList();
        var vmPackets = vm.GetProperty("packets").EnumerateArray().ToList();
        Assert.Equal(356, kernelPackets.Count);
        Assert.Equal(vmPackets.Select(p => p.GetProperty("verdict").GetString()), kernelPackets.Select(p => p.GetProperty("verdict").GetString()));
        Assert.Equal(vmPackets.Select(p => p.GetProperty("modified").GetBoolean()), kernelPackets.Select(p => p.GetProperty("modified").GetBoolean()));
        Assert.Equal(vm.GetProperty("verdicts").ToString(), kernel.GetProperty("verdicts").ToString());
        Assert.Equal(
            vm.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").GetString()),
            kernel.GetProperty("events").EnumerateArray().Select(e => e.GetProperty("data").GetString()));
        Assert.NotEmpty(kernel.GetProperty("events").EnumerateArray());

        // The block list counters the kernel left, printed through the VM's map formatting.
        var blocklist = kernel.GetProperty("maps").EnumerateArray().Single(m => m.GetProperty("name").GetString() == "fw_blocklist");
        Assert.Equal(2, blocklist.GetProperty("elements").GetArrayLength());
    }
}
