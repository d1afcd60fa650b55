using SharpBpf.Objects;
using SharpBpf.Tests.Verification.Explain;
using SharpBpf.Verification;

namespace SharpBpf.Tests.Verification;

/// <summary>A log longer than its buffer, cut as the kernel's (6.4 and later) rotating log and BPF_LOG_FIXED cut it.</summary>
public class VerifierLogSizeTests
{
    private static VerifierResult Verify(int size, bool fixedLog)
    {
        var obj = BpfObject.Load(SourceLineTests.ProjectObject("xdp_firewall.o"));
        var program = obj.Programs[0];
        var options = VerifierOptions.For(obj, program, logLevel: 2) with { MaxLogLength = size, FixedLog = fixedLog };
        return Verifier.Verify(program.Instructions, options, program.Name);
    }

    [Fact]
    public void A_rotating_log_keeps_its_last_characters_and_tells_the_whole_length()
    {
        var whole = Verify(0, fixedLog: false);
        Assert.False(whole.LogTruncated);
        Assert.Equal(whole.Log.Length, whole.LogTrueLength);
        Assert.True(whole.Log.Length > 100_000);

        // The kernel's buffer of log_size bytes holds log_size - 1 characters and a terminating zero.
        var cut = Verify(4096, fixedLog: false);
        Assert.True(cut.Accepted);
        Assert.True(cut.LogTruncated);
        Assert.Equal(whole.Log.Length, cut.LogTrueLength);
        Assert.Equal(whole.Log[^4095..], cut.Log);
        Assert.StartsWith("processed ", cut.Log.Split('\n')[^2], StringComparison.Ordinal);
    }

    [Fact]
    public void A_fixed_log_keeps_its_first_characters()
    {
        var whole = Verify(0, fixedLog: false);
        var cut = Verify(4096, fixedLog: true);
        Assert.True(cut.LogTruncated);
        Assert.Equal(whole.Log.Length, cut.LogTrueLength);
        Assert.Equal(whole.Log[..4095], cut.Log);
    }

    [Fact]
    public void A_log_that_fits_is_whole()
    {
        var whole = Verify(0, fixedLog: false);
        var fits = Verify(whole.Log.Length + 1, fixedLog: false);
        Assert.False(fits.LogTruncated);
        Assert.Equal(whole.Log, fits.Log);
    }
}
