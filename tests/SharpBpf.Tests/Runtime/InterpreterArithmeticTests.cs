using SharpBpf.Tests.TestSupport;

namespace SharpBpf.Tests.Runtime;

/// <summary>Every ALU operation of RFC 9669 and its corner cases, 64 and 32 bits.</summary>
public class InterpreterArithmeticTests
{
    [Theory]
    // 64-bit wraparound and sign-extended immediates.
    [InlineData("lddw %r0, 0xffffffffffffffff\nadd %r0, 1", 0UL)]
    [InlineData("mov %r0, 0\nadd %r0, -1", 0xffffffffffffffffUL)]
    [InlineData("mov %r0, 0\nsub %r0, 1", 0xffffffffffffffffUL)]
    [InlineData("lddw %r0, 0x100000000\nlddw %r1, 0x100000000\nmul %r0, %r1", 0UL)]
    [InlineData("mov %r0, -3\nmul %r0, 7", 0xffffffffffffffebUL)]
    [InlineData("mov %r0, 0\nor %r0, -2", 0xfffffffffffffffeUL)]
    [InlineData("mov %r0, -1\nand %r0, 0x7fffffff", 0x7fffffffUL)]
    [InlineData("mov %r0, -1\nxor %r0, -1", 0UL)]
    // 32-bit results are zero-extended.
    [InlineData("mov32 %r0, -1\nadd32 %r0, 1", 0UL)]
    [InlineData("mov32 %r0, 0\nsub32 %r0, 1", 0xffffffffUL)]
    [InlineData("lddw %r0, 0xffffffff00000005\nadd32 %r0, 1", 6UL)]
    [InlineData("mov %r0, -1\nmov32 %r0, %r0", 0xffffffffUL)]
    [InlineData("mov32 %r0, 0x10000\nmul32 %r0, 0x10000", 0UL)]
    [InlineData("mov %r0, -1", 0xffffffffffffffffUL)]
    [InlineData("mov32 %r0, -1", 0xffffffffUL)]
    public void WrapsAndExtends(string body, ulong expected) => Assert.Equal(expected, Vm.Run(body + "\nexit"));

    [Theory]
    [InlineData("mov %r0, 7\nmov %r1, 0\ndiv %r0, %r1", 0UL)]
    [InlineData("mov %r0, 7\nmov %r1, 0\nmod %r0, %r1", 7UL)]
    [InlineData("mov %r0, -7\nmov %r1, 0\nmod %r0, %r1", 0xfffffffffffffff9UL)]
    [InlineData("mov %r0, -7\nmov %r1, 0\nmod32 %r0, %r1", 0xfffffff9UL)] // upper half zeroed
    [InlineData("mov %r0, -7\nmov %r1, 0\ndiv32 %r0, %r1", 0UL)]
    [InlineData("mov %r0, -7\nmov %r1, 0\nsdiv %r0, %r1", 0UL)]
    [InlineData("mov %r0, -7\nmov %r1, 0\nsmod %r0, %r1", 0xfffffffffffffff9UL)]
    [InlineData("mov %r0, -7\nmov %r1, 0\nsmod32 %r0, %r1", 0xfffffff9UL)]
    // Unsigned division of a sign-extended immediate: -1 is 2^64-1.
    [InlineData("mov %r0, -1\ndiv %r0, -1", 1UL)]
    [InlineData("mov %r0, 10\ndiv %r0, -1", 0UL)]
    [InlineData("mov32 %r0, -1\ndiv32 %r0, -1", 1UL)]
    [InlineData("mov %r0, 100\nmod %r0, 7", 2UL)]
    public void DivisionByZeroAndUnsignedDivision(string body, ulong expected) => Assert.Equal(expected, Vm.Run(body + "\nexit"));

    [Theory]
    [InlineData("lddw %r0, 0x8000000000000000\nsdiv %r0, -1", 0x8000000000000000UL)]
    [InlineData("lddw %r0, 0x8000000000000000\nmov %r1, -1\nsdiv %r0, %r1", 0x8000000000000000UL)]
    [InlineData("lddw %r0, 0x8000000000000000\nsmod %r0, -1", 0UL)]
    [InlineData("mov32 %r0, 0x80000000\nsdiv32 %r0, -1", 0x80000000UL)]
    [InlineData("mov32 %r0, 0x80000000\nmov32 %r1, -1\nsmod32 %r0, %r1", 0UL)]
    [InlineData("mov %r0, -7\nsdiv %r0, 2", 0xfffffffffffffffdUL)] // truncates toward zero
    [InlineData("mov %r0, -7\nsmod %r0, 2", 0xffffffffffffffffUL)] // sign of the dividend
    [InlineData("mov %r0, 7\nsmod %r0, -2", 1UL)]
    [InlineData("mov32 %r0, -7\nsdiv32 %r0, 2", 0xfffffffdUL)]
    [InlineData("mov32 %r0, -7\nsmod32 %r0, 2", 0xffffffffUL)]
    [InlineData("lddw %r0, 0x8000000000000000\nneg %r0", 0x8000000000000000UL)]
    [InlineData("mov32 %r0, 0x80000000\nneg32 %r0", 0x80000000UL)]
    [InlineData("mov %r0, 5\nneg %r0", 0xfffffffffffffffbUL)]
    [InlineData("mov %r0, 5\nneg32 %r0", 0xfffffffbUL)]
    public void SignedOperationsAtTheLimits(string body, ulong expected) => Assert.Equal(expected, Vm.Run(body + "\nexit"));

    [Theory]
    [InlineData("mov %r0, 1\nlsh %r0, 64", 1UL)]           // 64 & 63 = 0
    [InlineData("mov %r0, 1\nlsh %r0, 65", 2UL)]
    [InlineData("mov %r0, 1\nmov %r1, 127\nlsh %r0, %r1", 0x8000000000000000UL)]
    [InlineData("mov32 %r0, 1\nlsh32 %r0, 32", 1UL)]        // 32 & 31 = 0
    [InlineData("mov32 %r0, 1\nlsh32 %r0, 31", 0x80000000UL)]
    [InlineData("mov32 %r0, 1\nmov %r1, 33\nlsh32 %r0, %r1", 2UL)]
    [InlineData("mov %r0, -1\nrsh %r0, 60", 0xfUL)]
    [InlineData("mov %r0, -1\nrsh32 %r0, 28", 0xfUL)]
    [InlineData("mov %r0, -1\nrsh %r0, 64", 0xffffffffffffffffUL)]
    [InlineData("mov %r0, -16\narsh %r0, 2", 0xfffffffffffffffcUL)]
    [InlineData("mov %r0, -16\narsh %r0, 66", 0xfffffffffffffffcUL)]
    [InlineData("mov32 %r0, 0x80000000\narsh32 %r0, 4", 0xf8000000UL)] // sign of bit 31, zero-extended
    [InlineData("lddw %r0, 0x0000000180000000\narsh32 %r0, 36", 0xf8000000UL)]
    [InlineData("mov %r0, 0x7fffffff\narsh32 %r0, 31", 0UL)]
    public void ShiftsAreMaskedToTheWidth(string body, ulong expected) => Assert.Equal(expected, Vm.Run(body + "\nexit"));

    [Theory]
    [InlineData("movsx864", "0x80", 0xffffffffffffff80UL)]
    [InlineData("movsx864", "0x7f", 0x7fUL)]
    [InlineData("movsx1664", "0x8000", 0xffffffffffff8000UL)]
    [InlineData("movsx3264", "0x80000000", 0xffffffff80000000UL)]
    [InlineData("movsx832", "0x180", 0xffffff80UL)]             // only the low byte counts; result zero-extended
    [InlineData("movsx1632", "0x18000", 0xffff8000UL)]
    [InlineData("movsx1632", "0x7fff", 0x7fffUL)]
    public void SignExtendingMoves(string mnemonic, string value, ulong expected) =>
        Assert.Equal(expected, Vm.Run($"lddw %r1, {value}\nlddw %r0, 0xdeadbeefdeadbeef\n{mnemonic} %r0, %r1\nexit"));

    [Theory]
    [InlineData("le16", 0xcdefUL)]
    [InlineData("le32", 0x89abcdefUL)]
    [InlineData("le64", 0x0123456789abcdefUL)]
    [InlineData("be16", 0xefcdUL)]
    [InlineData("be32", 0xefcdab89UL)]
    [InlineData("be64", 0xefcdab8967452301UL)]
    [InlineData("bswap16", 0xefcdUL)]
    [InlineData("bswap32", 0xefcdab89UL)]
    [InlineData("bswap64", 0xefcdab8967452301UL)]
    public void ByteOrderOnEveryWidth(string mnemonic, ulong expected) =>
        Assert.Equal(expected, Vm.Run($"lddw %r0, 0x0123456789abcdef\n{mnemonic} %r0\nexit"));
}
