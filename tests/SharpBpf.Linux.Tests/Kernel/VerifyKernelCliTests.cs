using System.Text.Json;
using SharpBpf.Cli;

namespace SharpBpf.Linux.Tests.Kernel;

/// <summary><c>sharpbpf verify --kernel</c>: the running kernel's verdict, error line and count beside ours.</summary>
public class VerifyKernelCliTests
{
    private static (int Code, JsonElement Program) VerifyJson(string path, string logLevel = "0")
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(["verify", path, "--kernel", "--json", "--log-level", logLevel], output, error);
        Assert.True(code is 0 or 1, $"exit {code}: {error}");
        using var doc = JsonDocument.Parse(output.ToString());
        return (code, doc.RootElement.GetProperty("programs")[0].Clone());
    }

    [KernelFact]
    public void AKernelRejectionShowsTheKernelsFirstErrorLineAndCount()
    {
        var (code, program) = VerifyJson(Path.Combine(AppContext.BaseDirectory, "Fixtures", "unchecked_packet.o"), logLevel: "1");
        Assert.Equal(1, code);
        var kernel = program.GetProperty("kernel");
        Assert.False(kernel.GetProperty("accepted").GetBoolean());
        // The kernel's log says this, then adds "R1 offset is outside of the packet": the first line is the error.
        Assert.Equal("invalid access to packet, off=12 size=1, R1(id=0,off=12,r=0)", kernel.GetProperty("error").GetString());
        Assert.Equal(2, kernel.GetProperty("processed").GetInt64());
        // With a log level the kernel's whole log comes along, its explanation line included.
        Assert.Contains("R1 offset is outside of the packet", kernel.GetProperty("log").GetString());
        Assert.False(program.GetProperty("accepted").GetBoolean());
        Assert.Equal(kernel.GetProperty("error").GetString(), program.GetProperty("error").GetString());
    }

    [KernelFact]
    public void AnAcceptedProgramShowsTheKernelsVerifiedInstructionCount()
    {
        var (code, program) = VerifyJson(ObjectLoadTests.ProjectObject("xdp_firewall.o"));
        Assert.Equal(0, code);
        var kernel = program.GetProperty("kernel");
        Assert.True(kernel.GetProperty("accepted").GetBoolean());
        Assert.True(kernel.GetProperty("error").ValueKind == JsonValueKind.Null);
        using var loaded = Objects.KernelObject.Load(ObjectLoadTests.ProjectObject("xdp_firewall.o"));
        Assert.Equal(loaded.Program("xdp_firewall").GetInfo(includeArrays: false).VerifiedInstructions, (uint)kernel.GetProperty("processed").GetInt64());
    }
}
