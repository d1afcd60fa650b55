using System.Diagnostics;
using System.Text;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Runtime.Helpers;
using static SharpBpf.Tests.Runtime.Contexts.ContextTestSupport;

namespace SharpBpf.Tests.Runtime.Helpers;

/// <summary>The general helpers: time, randomness, "current", and the memory probes.</summary>
public class KernelHelperTests
{
    private const ulong Efault = unchecked((ulong)-14L);

    [Fact]
    public void ClocksComeFromTheOptions()
    {
        var options = new HelperOptions { MonotonicClock = () => 2_000_000_000, BootClock = () => 5_000_000_123 };
        Assert.Equal(2_000_000_000UL, RunPlain("call 5\nexit", options));
        Assert.Equal(5_000_000_123UL, RunPlain("call 125\nexit", options));
    }

    [Theory]
    [InlineData(250, 4294892296UL + 500)]
    [InlineData(1000, 4294667296UL + 2000)]
    public void Jiffies64StartsThreeHundredSecondsBeforeThe32BitWrap(int hz, ulong expected)
    {
        // INITIAL_JIFFIES = (u32)(-300 * HZ), plus 2 seconds of ticks.
        var options = new HelperOptions { MonotonicClock = () => 2_000_000_000, JiffiesPerSecond = hz };
        Assert.Equal(expected, RunPlain("call 118\nexit", options));
    }

    [Fact]
    public void TheHostClocksAreMonotonicAndBootTimeIsNotBehind()
    {
        ulong before = (ulong)Stopwatch.GetElapsedTime(0).Ticks * 100;
        ulong monotonic = RunPlain("call 5\nexit");
        ulong after = (ulong)Stopwatch.GetElapsedTime(0).Ticks * 100;
        Assert.InRange(monotonic, before - 1_000_000, after + 1_000_000);

        ulong boot = RunPlain("call 125\nexit");
        Assert.True(boot + 1_000_000 >= monotonic, $"boot {boot} < monotonic {monotonic}");
        if (OperatingSystem.IsLinux())
        {
            double uptime = double.Parse(File.ReadAllText("/proc/uptime").Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(boot / 1e9, uptime - 2, uptime + 2);
        }
    }

    [Fact]
    public void SeededRandomNumbersRepeat()
    {
        const string ThreeDraws = """
            call 7
            r6 = r0
            call 7
            r6 ^= r0
            r6 <<= 32
            call 7
            r0 |= r6
            exit
            """;
        var options = new HelperOptions { RandomSeed = 42 };
        ulong first = RunPlain(ThreeDraws, options);
        ulong second = RunPlain(ThreeDraws, options);
        Assert.Equal(first, second);
        Assert.NotEqual(first, RunPlain(ThreeDraws, options with { RandomSeed = 43 }));

        var draws = Enumerable.Range(0, 8).Select(_ => RunPlain("call 7\nexit")).ToHashSet();
        Assert.True(draws.Count > 1);
        Assert.All(draws, value => Assert.True(value <= uint.MaxValue));
    }

    [Fact]
    public void ProcessorIdIsTheContexts() =>
        Assert.Equal(3UL, RunPlain("call 8\nexit", execution: NewExecutionContext(cpu: 3)));

    [Fact]
    public void PidTgidIsTheHostProcessAndThread()
    {
        ulong r0 = RunPlain("call 14\nexit");
        Assert.Equal((ulong)Environment.ProcessId, r0 >> 32);
        if (OperatingSystem.IsLinux())
        {
            string tid = File.ReadAllText("/proc/thread-self/stat").Split(' ')[0];
            Assert.Equal(ulong.Parse(tid, System.Globalization.CultureInfo.InvariantCulture), r0 & 0xffffffff);
        }

        Assert.Equal(0x0000_1234_0000_5678UL, RunPlain("call 14\nexit", new HelperOptions { CurrentPidTgid = 0x0000_1234_0000_5678 }));
    }

    [Fact]
    public void UidGidIsTheHostProcesss()
    {
        ulong r0 = RunPlain("call 15\nexit");
        if (OperatingSystem.IsLinux())
        {
            var status = File.ReadAllLines("/proc/self/status");
            ulong Id(string key) => ulong.Parse(status.First(l => l.StartsWith(key, StringComparison.Ordinal)).Split('\t')[1], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal((Id("Gid:") << 32) | Id("Uid:"), r0);
        }

        Assert.Equal(7UL << 32 | 9, RunPlain("call 15\nexit", new HelperOptions { CurrentUidGid = 7UL << 32 | 9 }));
    }

    private static byte[] Comm(int size, HelperOptions? options = null)
    {
        var memory = new byte[24];
        Array.Fill(memory, (byte)0xee);
        var program = new Interpreter(Assemble($"r2 = {size}\ncall 16\nexit"));
        Assert.Equal(0UL, program.RunOnMemory(NewExecutionContext(options), memory));
        return memory;
    }

    [Fact]
    public void CurrentCommIsTruncatedToFifteenBytesAndPadded()
    {
        var options = new HelperOptions { CurrentComm = "averyveryverylongname" };
        Assert.Equal([.. "averyveryverylo"u8, 0, .. Enumerable.Repeat((byte)0xee, 8)], Comm(16, options));
        Assert.Equal([.. "ave"u8, 0, .. Enumerable.Repeat((byte)0xee, 20)], Comm(4, options));
        Assert.Equal([.. "ab"u8, .. new byte[18], .. Enumerable.Repeat((byte)0xee, 4)], Comm(20, options with { CurrentComm = "ab" }));

        if (OperatingSystem.IsLinux())
        {
            var name = Encoding.UTF8.GetBytes(File.ReadAllText("/proc/thread-self/comm").TrimEnd('\n'));
            var comm = Comm(16);
            Assert.Equal(name, comm[..name.Length]);
            Assert.Equal(0, comm[name.Length]);
        }
    }

    [Theory]
    [InlineData(KernelHelpers.ProbeRead)]
    [InlineData(KernelHelpers.ProbeReadUser)]
    [InlineData(KernelHelpers.ProbeReadKernel)]
    public void ProbeReadCopiesReadableMemoryAndClearsOnFault(int id)
    {
        Assert.Equal(0x1122334455667788UL, RunPlain($"""
            r1 = 0x1122334455667788 ll
            *(u64 *)(r10 - 8) = r1
            r1 = r10
            r1 += -16
            r2 = 8
            r3 = r10
            r3 += -8
            call {id}
            if r0 != 0 goto out
            r0 = *(u64 *)(r10 - 16)
            out:
            exit
            """));

        string faulting = $"""
            r1 = -1
            *(u64 *)(r10 - 16) = r1
            *(u64 *)(r10 - 24) = r1
            r1 = r10
            r1 += -24
            r2 = 16
            r3 = SOURCE
            call {id}
            r1 = *(u64 *)(r10 - 16)
            r2 = *(u64 *)(r10 - 24)
            r1 |= r2
            if r1 != 0 goto dirty
            exit
            dirty:
            r0 = 1
            exit
            """;
        Assert.Equal(Efault, RunPlain(faulting.Replace("SOURCE", "0x1000", StringComparison.Ordinal)));

        // A source that runs past the end of the stack faults too.
        Assert.Equal(Efault, RunPlain(faulting.Replace("SOURCE", "r10\nr3 += -8", StringComparison.Ordinal)));
    }

    [Theory]
    [InlineData(KernelHelpers.ProbeReadStr)]
    [InlineData(KernelHelpers.ProbeReadUserStr)]
    [InlineData(KernelHelpers.ProbeReadKernelStr)]
    public void ProbeReadStrReturnsTheLengthWithTheNul(int id)
    {
        string Program(int size, string source) => $"""
            {StoreString("hello", -16)}
            r1 = -1
            *(u64 *)(r10 - 32) = r1
            *(u64 *)(r10 - 24) = r1
            r1 = r10
            r1 += -32
            r2 = {size}
            r3 = {source}
            call {id}
            r6 = r0
            r0 = *(u64 *)(r10 - 32)
            r6 <<= 56
            r0 ^= r6
            exit
            """;

        const string Hello = "r10\nr3 += -16";

        // The result byte in the top of r0, the copied bytes below.
        Assert.Equal((6UL << 56) ^ 0xffff006f6c6c6568UL, RunPlain(Program(16, Hello)));
        Assert.Equal((4UL << 56) ^ 0xffffffff006c6568UL, RunPlain(Program(4, Hello)));
        Assert.Equal(0xffffffffffffffffUL, RunPlain(Program(0, Hello)));
        Assert.Equal((Efault << 56) ^ 0UL, RunPlain(Program(16, "0x1000")));
    }

    [Fact]
    public void ProbeReadStrFaultsWhenTheStringRunsOffReadableMemory()
    {
        Assert.Equal(Efault, RunPlain($"""
            r1 = 0x4141414141414141 ll
            *(u64 *)(r10 - 8) = r1
            r1 = r10
            r1 += -48
            r2 = 32
            r3 = r10
            r3 += -8
            call {KernelHelpers.ProbeReadKernelStr}
            exit
            """));
    }

    [Fact]
    public void TracingContextsExposePtRegsReadOnly()
    {
        var regs = new PtRegs { Di = 0x1111, Si = 0x2222, Ax = 0x4000, Ip = 0xffffffff81000000 };
        var tracing = new TracingContext(regs);
        // di + si + ax + the high half of ip + 1 + the low byte of ip.
        Assert.Equal(0x7333UL + 0x1_0000_0000UL, Run(tracing, """
            r0 = *(u64 *)(r1 + 112)
            r2 = *(u64 *)(r1 + 104)
            r0 += r2
            r2 = *(u64 *)(r1 + 80)
            r0 += r2
            r2 = *(u32 *)(r1 + 132)
            r0 += r2
            r0 += 1
            r2 = *(u8 *)(r1 + 128)
            r0 += r2
            exit
            """));

        Assert.Throws<BpfExecutionException>(() => Run(tracing, "r2 = r1\nr2 += 8\n*(u64 *)(r2 + 0) = 1\nexit"));
        Assert.Throws<ContextAccessException>(() => Run(tracing, "*(u64 *)(r1 + 0) = 1\nexit"));
    }

    [Fact]
    public void TracepointContextsAreRawBytes()
    {
        var record = new TracingContext([1, 0, 0, 0, 0x2a, 0, 0, 0], "sched_switch");
        Assert.Equal(0x2a00000001UL, Run(record, "r0 = *(u64 *)(r1 + 0)\nexit"));
        record.Bytes[0] = 2;
        Assert.Equal(0x2a00000002UL, Run(record, "r0 = *(u64 *)(r1 + 0)\nexit"));
    }
}
