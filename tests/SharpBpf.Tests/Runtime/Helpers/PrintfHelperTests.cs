using System.Text;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Helpers;
using static SharpBpf.Tests.Runtime.Contexts.ContextTestSupport;

namespace SharpBpf.Tests.Runtime.Helpers;

/// <summary>bpf_trace_printk and bpf_snprintf: the kernel's format rules, limits and return values.</summary>
public class PrintfHelperTests
{
    private const ulong Einval = unchecked((ulong)-22L);
    private const ulong Enospc = unchecked((ulong)-28L);

    private static (ulong R0, IReadOnlyList<TraceMessage> Log) Printk(string format, string arguments, string setup = "", byte[]? memory = null, int? formatSize = null)
    {
        var log = new TraceLog();
        string source = $"""
            r6 = r1
            {setup}
            {StoreString(format, -96)}
            r1 = r10
            r1 += -96
            r2 = {formatSize ?? format.Length + 1}
            {arguments}
            call 6
            exit
            """;
        var program = new Interpreter(Assemble(source));
        var execution = NewExecutionContext(new HelperOptions { TraceLog = log }, cpu: 1);
        ulong r0 = memory is null ? program.Run(execution) : program.RunOnMemory(execution, memory);
        return (r0, log.Messages);
    }

    [Theory]
    [InlineData("%d %u %x\n", "r3 = -5\nr4 = 7\nr5 = 255", "-5 7 ff\n")]
    [InlineData("%lld %llu %llx", "r3 = -5\nr4 = -1\nr5 = 0xdeadbeefcafe ll", "-5 18446744073709551615 deadbeefcafe")]
    [InlineData("%d %ld %lu", "r3 = -1\nr4 = -1\nr5 = -1", "-1 -1 18446744073709551615")]
    [InlineData("%5d|%-5d|%05d", "r3 = 42\nr4 = 42\nr5 = 42", "   42|42   |00042")]
    [InlineData("%+d % d %+u", "r3 = 5\nr4 = 5\nr5 = 5", "+5  5 5")]
    [InlineData("%x %X %i", "r3 = 0xabcdef\nr4 = 0xabcdef\nr5 = -2", "abcdef ABCDEF -2")]
    [InlineData("%c%c%c", "r3 = 97\nr4 = 98\nr5 = 99", "abc")]
    [InlineData("[%3c|%-3c]", "r3 = 97\nr4 = 98", "[  a|b  ]")]
    [InlineData("%p %px", "r3 = 0x1234\nr4 = 0xab", "0000000000001234 00000000000000ab")]
    [InlineData("100%% %d", "r3 = 1", "100% 1")]
    [InlineData("[%s]", "r3 = 0x10", "[]")]
    [InlineData("no arguments", "", "no arguments")]
    public void TracePrintkFormatsLikeTheKernel(string format, string arguments, string expected)
    {
        var (r0, log) = Printk(format, arguments);
        Assert.Equal((ulong)expected.Length, r0);
        var message = Assert.Single(log);
        Assert.Equal(expected, message.Message);
        Assert.Equal(1, message.ProcessorId);
    }

    [Fact]
    public void TracePrintkReadsStringsAndAddressesFromProgramMemory()
    {
        var (r0, log) = Printk("%s! %pI4 %pi4", "r3 = r10\nr3 += -128\nr4 = r10\nr4 += -136\nr5 = r4",
            setup: StoreString("hello", -128) + "\n*(u32 *)(r10 - 136) = 0x0100a8c0");
        Assert.Equal("hello! 192.168.0.1 192.168.000.001", Assert.Single(log).Message);
        Assert.Equal(34UL, r0);
    }

    [Theory]
    [InlineData("%d%d%d%d")]
    [InlineData("%q")]
    [InlineData("%sx")]
    [InlineData("%pks1")]
    [InlineData("%.2d")]
    [InlineData("%hd")]
    [InlineData("%l")]
    [InlineData("%pZ")]
    [InlineData("%pI5")]
    [InlineData("bell\a")]
    public void TracePrintkRefusesWhatTheKernelRefuses(string format)
    {
        var (r0, log) = Printk(format, "r3 = 0\nr4 = 0\nr5 = 0");
        Assert.Equal(Einval, r0);
        Assert.Empty(log);
    }

    [Fact]
    public void TracePrintkNeedsANulInsideTheFormatSize()
    {
        var (r0, log) = Printk("abc", "", formatSize: 3);
        Assert.Equal(Einval, r0);
        Assert.Empty(log);
    }

    [Fact]
    public void StringsShareTheKernelsFiveHundredTwelveByteArgumentBuffer()
    {
        var memory = Encoding.ASCII.GetBytes(new string('a', 600) + "\0");
        var (r0, log) = Printk("%s", "r3 = r6", memory: memory);
        Assert.Equal(511UL, r0);
        Assert.Equal(new string('a', 511), Assert.Single(log).Message);

        var shorter = Encoding.ASCII.GetBytes(new string('b', 500) + "\0");
        var (full, none) = Printk("%s%s%s", "r3 = r6\nr4 = r6\nr5 = r6", memory: shorter);
        Assert.Equal(Enospc, full);
        Assert.Empty(none);
    }

    [Fact]
    public void TraceMessagesAreCutAtTheKernelsBufferButTheLengthIsNot()
    {
        var (r0, log) = Printk("%1100d", "r3 = 7");
        Assert.Equal(1100UL, r0);
        Assert.Equal(new string(' ', 1023), Assert.Single(log).Message);
    }

    [Fact]
    public void TheTraceLogKeepsTheNewestMessagesAndRaisesAnEvent()
    {
        var log = new TraceLog(capacity: 2);
        var seen = new List<string>();
        log.MessageWritten += (_, e) => seen.Add(e.Message.Message);
        var execution = NewExecutionContext(new HelperOptions { TraceLog = log });
        var program = new Interpreter(Assemble($"{StoreString("%d", -8)}\nr1 = r10\nr1 += -8\nr2 = 3\nr3 = r6\ncall 6\nexit"));
        for (int i = 0; i < 3; i++)
        {
            program.Run(execution, r1: 0);
        }

        Assert.Equal(3, seen.Count);
        Assert.Equal(2, log.Messages.Count);
        Assert.Equal(1, log.Dropped);
    }

    private static (ulong R0, byte[] Output) Snprintf(string format, ulong[] arguments, int size, string setup = "", int? dataLength = null, bool nullOutput = false)
    {
        var stores = new StringBuilder();
        for (int i = 0; i < arguments.Length; i++)
        {
            stores.AppendLine($"r9 = 0x{arguments[i]:x} ll");
            stores.AppendLine($"*(u64 *)(r10 - {200 - (8 * i)}) = r9");
        }

        string source = $"""
            r6 = r1
            {stores}
            {setup}
            {StoreString(format, -96)}
            r1 = {(nullOutput ? "0" : "r6")}
            r2 = {size}
            r3 = r10
            r3 += -96
            r4 = r10
            r4 += -200
            r5 = {dataLength ?? arguments.Length * 8}
            call 165
            exit
            """;
        var output = new byte[48];
        Array.Fill(output, (byte)0xee);
        ulong r0 = new Interpreter(Assemble(source)).RunOnMemory(NewExecutionContext(), output);
        return (r0, output);
    }

    private static string Text(byte[] output) => Encoding.ASCII.GetString(output, 0, Array.IndexOf(output, (byte)0));

    [Fact]
    public void SnprintfReturnsTheFullLengthWithTheNulAndTruncates()
    {
        // Argument 1 points at "xy" stored at r10 - 104.
        string setup = StoreString("xy", -104);
        var (r0, output) = Snprintf("%d-%s", [42, 0], 16, setup + "\nr9 = r10\nr9 += -104\n*(u64 *)(r10 - 192) = r9");
        Assert.Equal(6UL, r0);
        Assert.Equal("42-xy", Text(output));

        var (truncated, small) = Snprintf("%d-%s", [42, 0], 4, setup + "\nr9 = r10\nr9 += -104\n*(u64 *)(r10 - 192) = r9");
        Assert.Equal(6UL, truncated);
        Assert.Equal([.. "42-"u8, 0, 0xee], small[..5]);

        var (sized, untouched) = Snprintf("%d", [12345], 0, nullOutput: true);
        Assert.Equal(6UL, sized);
        Assert.All(untouched, b => Assert.Equal(0xee, b));
    }

    [Fact]
    public void SnprintfTakesUpToTwelveArguments()
    {
        var (r0, output) = Snprintf("%i|%5d|%-5d|%05d|%+d|% d", [1, 2, 3, 4, 5, 6], 48);
        Assert.Equal("1|    2|3    |00004|+5| 6", Text(output));
        Assert.Equal(26UL, r0);
    }

    [Fact]
    public void SnprintfFormatsIpv6Addresses()
    {
        string setup = "r9 = 0xb80d0120 ll\n*(u64 *)(r10 - 120) = r9\nr9 = 0x0100000000000000 ll\n*(u64 *)(r10 - 112) = r9\n"
            + "r9 = r10\nr9 += -120\n*(u64 *)(r10 - 200) = r9";
        var (r0, output) = Snprintf("%pI6", [0], 48, setup);
        Assert.Equal("2001:0db8:0000:0000:0000:0000:0000:0001", Text(output));
        Assert.Equal(40UL, r0);

        var (_, plain) = Snprintf("%pi6", [0], 48, setup);
        Assert.Equal("20010db8000000000000000000000001", Text(plain));
    }

    [Theory]
    [InlineData(12)]
    [InlineData(104)]
    public void SnprintfRefusesBadArgumentSizes(int dataLength) =>
        Assert.Equal(Einval, Snprintf("%d", [1, 2], 16, dataLength: dataLength).R0);

    [Fact]
    public void SnprintfRefusesLengthWithoutArguments()
    {
        string source = $"""
            {StoreString("%d", -16)}
            r1 = r10
            r1 += -48
            r2 = 8
            r3 = r10
            r3 += -16
            r4 = 0
            r5 = 8
            call 165
            exit
            """;
        Assert.Equal(Einval, RunPlain(source));
    }

    [Fact]
    public void SnprintfChecksTheFormatLikeTracePrintk() =>
        Assert.Equal(Einval, Snprintf("%d %d", [1], 16).R0);
}
