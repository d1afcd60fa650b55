namespace SharpBpf.Isa.Assembly;

/// <summary>Operand readers shared by both syntaxes: registers, offsets, jump targets, calls, pseudo loads.</summary>
internal static class Operands
{
    public const string UbpfRegisterExpected = "a register (%r0 to %r10)";
    public const string LlvmRegisterExpected = "a register (r0 to r10 or w0 to w10)";
    public const string JumpTargetExpected = "a jump target (+N, -N or a label)";

    /// <summary>
    /// Recognises the byte swaps: le16/32/64 and be16/32/64 (ALU class), bswap16/32/64 (ALU64 class), and with
    /// <paramref name="acceptSwapAlias"/> the uBPF spelling swap16/32/64 of bswap.
    /// </summary>
    public static bool TryByteSwap(string word, bool acceptSwapAlias, out byte opcode, out int width)
    {
        opcode = 0;
        width = word.EndsWith("16", StringComparison.Ordinal) ? 16
            : word.EndsWith("32", StringComparison.Ordinal) ? 32
            : word.EndsWith("64", StringComparison.Ordinal) ? 64 : 0;
        if (width == 0)
        {
            return false;
        }

        switch (word[..^2])
        {
            case "le":
                opcode = (byte)InstructionClass.Alu | (byte)AluOperation.End | (byte)OperandSource.Immediate;
                return true;
            case "be":
                opcode = (byte)InstructionClass.Alu | (byte)AluOperation.End | (byte)OperandSource.Register;
                return true;
            case "bswap":
            case "swap" when acceptSwapAlias:
                opcode = (byte)InstructionClass.Alu64 | (byte)AluOperation.End;
                return true;
            default:
                width = 0;
                return false;
        }
    }

    /// <summary>Recognises <c>r0</c>..<c>r10</c> and <c>w0</c>..<c>w10</c>.</summary>
    public static bool IsRegisterName(string word, out byte number, out bool is32)
    {
        number = 0;
        is32 = false;
        if (word.Length is < 2 or > 3 || (word[0] != 'r' && word[0] != 'w'))
        {
            return false;
        }

        is32 = word[0] == 'w';
        if (word == "r10" || word == "w10")
        {
            number = 10;
            return true;
        }

        if (word.Length == 2 && char.IsAsciiDigit(word[1]))
        {
            number = (byte)(word[1] - '0');
            return true;
        }

        return false;
    }

    /// <summary>Whether the word looks like a register name with a number, valid or not (r11, w99).</summary>
    public static bool LooksLikeRegister(string word) =>
        word.Length >= 2 && (word[0] == 'r' || word[0] == 'w') && word.AsSpan(1).IndexOfAnyExceptInRange('0', '9') < 0;

    /// <summary>Reads a uBPF register, <c>%r0</c> to <c>%r10</c>.</summary>
    public static byte ReadUbpfRegister(LineCursor c)
    {
        c.SkipSpaces();
        int start = c.Position;
        if (c.PeekRaw() == '%')
        {
            c.Position++;
            var word = c.PeekIdentifier();
            if (word is not null && word[0] == 'r' && IsRegisterName(word, out byte number, out _))
            {
                c.Position += word.Length;
                return number;
            }
        }

        c.Position = start;
        throw c.Error(UbpfRegisterExpected);
    }

    /// <summary>Whether a uBPF register comes next.</summary>
    public static bool AtUbpfRegister(LineCursor c) => c.Peek() == '%';

    /// <summary>Reads an LLVM register, <c>rN</c> or <c>wN</c>.</summary>
    public static byte ReadLlvmRegister(LineCursor c, out bool is32, string expected = LlvmRegisterExpected)
    {
        var word = c.PeekIdentifier();
        if (word is not null && IsRegisterName(word, out byte number, out is32))
        {
            c.Position += word.Length;
            return number;
        }

        throw c.Error(expected);
    }

    /// <summary>Reads an LLVM register of a required width.</summary>
    public static byte ReadLlvmRegister(LineCursor c, bool want32)
    {
        string expected = want32 ? "a 32-bit register (w0 to w10)" : "a 64-bit register (r0 to r10)";
        var word = c.PeekIdentifier();
        if (word is not null && IsRegisterName(word, out byte number, out bool is32) && is32 == want32)
        {
            c.Position += word.Length;
            return number;
        }

        throw c.Error(expected);
    }

    /// <summary>Reads a 64-bit register (<c>rN</c>) used as a memory base.</summary>
    public static byte ReadBaseRegister(LineCursor c) => ReadLlvmRegister(c, want32: false);

    /// <summary>Whether an LLVM register name comes next.</summary>
    public static bool AtLlvmRegister(LineCursor c)
    {
        var word = c.PeekIdentifier();
        return word is not null && LooksLikeRegister(word);
    }

    /// <summary>
    /// Reads a displacement written as a sign then a magnitude (<c>+ 0x10</c>, <c>-8</c>) and checks
    /// that it fits the signed 16-bit offset field.
    /// </summary>
    public static short ReadDisplacement(LineCursor c)
    {
        c.SkipSpaces();
        int start = c.Position;
        bool negative = c.PeekRaw() == '-';
        if (!negative && c.PeekRaw() != '+')
        {
            throw c.Error("'+' or '-' and an offset");
        }

        c.Position++;
        var magnitude = c.ReadInteger("an offset", allowSign: false);
        var value = negative ? -magnitude : magnitude;
        if (value < short.MinValue || value > short.MaxValue)
        {
            throw new AssemblyException(c.LineNumber, start + 1, "an offset from -32768 to +32767", c.Text[start..c.Position]);
        }

        return (short)value;
    }

    /// <summary>
    /// Reads a jump target: a signed count of instructions (<c>+3</c>, <c>-0x2</c>, bpftool's <c>pc+3</c>)
    /// or a label name. <paramref name="wide"/> allows the 32-bit range of <c>gotol</c> and calls.
    /// </summary>
    public static JumpTarget ReadJumpTarget(LineCursor c, bool wide)
    {
        c.SkipSpaces();
        int column = c.Position + 1;
        if (c.PeekIdentifier() == "pc" && (c.PeekRaw(2) == '+' || c.PeekRaw(2) == '-'))
        {
            c.Position += 2;
        }

        if (c.AtNumber())
        {
            string expected = wide
                ? "a jump offset from -2147483648 to 2147483647"
                : "a jump offset from -32768 to 32767";
            var value = wide
                ? c.ReadIntegerInRange(int.MinValue, int.MaxValue, expected)
                : c.ReadIntegerInRange(short.MinValue, short.MaxValue, expected);
            return new JumpTarget((int)value, null, column);
        }

        var label = c.PeekIdentifier() ?? throw c.Error(JumpTargetExpected);
        c.Position += label.Length;
        return new JumpTarget(0, label, column);
    }

    /// <summary>
    /// Reads a memory operand: <paramref name="open"/>, a base register, an optional signed displacement and
    /// <paramref name="close"/>. uBPF writes <c>[%r1+8]</c>, LLVM <c>(r1 + 0x8)</c>.
    /// </summary>
    public static (byte Register, short Offset) ReadAddress(LineCursor c, char open, char close, Func<LineCursor, byte> readRegister, string expectedOpen)
    {
        if (!c.TryConsume(open.ToString()))
        {
            throw c.Error(expectedOpen);
        }

        byte reg = readRegister(c);
        short offset = 0;
        char next = c.Peek();
        if (next == '+' || next == '-')
        {
            offset = ReadDisplacement(c);
        }
        else if (next != close)
        {
            throw c.Error($"'+', '-' or '{close}'");
        }

        c.Expect(close.ToString());
        return (reg, offset);
    }

    /// <summary>
    /// Reads the operands of <c>call</c> (the word itself already consumed), in any of the spellings
    /// the tools print: <c>call 5</c> and bpftool's <c>call name#5</c> (helper), <c>call local f</c>,
    /// <c>call f</c> and <c>call pc+3</c> (local function), <c>call runtime 7</c> / <c>call kfunc 7</c>
    /// (kernel function by BTF id), and <c>call %r2</c> / <c>call r2</c> (call through a register).
    /// </summary>
    public static Statement ReadCallOperands(LineCursor c)
    {
        const string expected = "a call target (helper number, 'local' label, label or register)";
        char next = c.Peek();
        if (next == '%')
        {
            byte reg = ReadUbpfRegister(c);
            return new Statement(new Instruction(Opcode.CallX, reg, 0, 0, 0));
        }

        if (c.AtNumber())
        {
            int helper = c.ReadImm32("a helper number");
            return new Statement(new Instruction(Opcode.Call, 0, (byte)CallKind.Helper, 0, helper));
        }

        var word = c.PeekIdentifier() ?? throw c.Error(expected);
        if (word == "pc" && (c.PeekRaw(2) == '+' || c.PeekRaw(2) == '-'))
        {
            var target = ReadJumpTarget(c, wide: true);
            SkipBpftoolSymbolSuffix(c);
            return new Statement(new Instruction(Opcode.Call, 0, (byte)CallKind.Local, 0, target.Value));
        }

        if (word == "local")
        {
            c.Position += word.Length;
            var target = ReadJumpTarget(c, wide: true);
            return new Statement(
                new Instruction(Opcode.Call, 0, (byte)CallKind.Local, 0, target.Value),
                target.Reference(FixupKind.Immediate32));
        }

        if (word is "runtime" or "kfunc")
        {
            // "call kfunc ID" or "call kfunc ID, N": N (in off) picks the module BTF that ID belongs to.
            c.Position += word.Length;
            int id = c.ReadImm32("a kernel function BTF id");
            short module = c.TryConsume(",") ? c.ReadOffset16("a module BTF index (-32768 to 32767)") : (short)0;
            return new Statement(new Instruction(Opcode.Call, 0, (byte)CallKind.Kfunc, module, id));
        }

        if (LooksLikeRegister(word))
        {
            byte reg = ReadLlvmRegister(c, want32: false);
            return new Statement(new Instruction(Opcode.CallX, reg, 0, 0, 0));
        }

        // bpftool prints helpers as "name#id"; a bare name is a label of a local function.
        int nameStart = c.Position;
        c.Position += word.Length;
        if (c.PeekRaw() == '#')
        {
            c.Position++;
            int helper = c.ReadImm32("a helper number after '#'");
            return new Statement(new Instruction(Opcode.Call, 0, (byte)CallKind.Helper, 0, helper));
        }

        return new Statement(
            new Instruction(Opcode.Call, 0, (byte)CallKind.Local, 0, 0),
            new LabelReference(word, nameStart + 1, FixupKind.Immediate32));
    }

    /// <summary>Skips bpftool's "#symbol" after a pc-relative call target.</summary>
    private static void SkipBpftoolSymbolSuffix(LineCursor c)
    {
        if (c.PeekRaw() == '#')
        {
            c.Position++;
            while (c.Position < c.End && !char.IsWhiteSpace(c.Text[c.Position]))
            {
                c.Position++;
            }
        }
    }

    /// <summary>
    /// Reads the value of a 64-bit immediate load that is not a plain number: the pseudo sources of
    /// RFC 9669 section 5.4, in bpftool's spelling where it has one.
    /// <list type="bullet">
    /// <item><c>map[fd:N]</c> or <c>map[id:N]</c>: map by file descriptor (src 1)</item>
    /// <item><c>map[fd:N]+M</c> or <c>map[id:N][0]+M</c>: address of a map value (src 2)</item>
    /// <item><c>btf_id[N]</c>: kernel variable by BTF id (src 3)</item>
    /// <item><c>subprog[+N]</c> or <c>subprog[label]</c>: address of a function (src 4)</item>
    /// <item><c>map[idx:N]</c>: map by index (src 5); <c>map[idx:N]+M</c>: its value address (src 6)</item>
    /// </list>
    /// Returns null when none of these comes next.
    /// </summary>
    public static Statement? TryReadPseudoImm64(LineCursor c, byte dst)
    {
        var word = c.PeekIdentifier();
        if (word is not ("map" or "btf_id" or "subprog"))
        {
            return null;
        }

        c.Position += word.Length;
        c.Expect("[");
        if (word == "btf_id")
        {
            int id = c.ReadImm32("a BTF id");
            c.Expect("]");
            return Pseudo(dst, Imm64Source.BtfId, id, 0);
        }

        if (word == "subprog")
        {
            var target = ReadJumpTarget(c, wide: true);
            c.Expect("]");
            var (first, second) = Instruction.LoadImm64(dst, unchecked((uint)target.Value), Imm64Source.Function);
            return new Statement(first, second, target.Reference(FixupKind.Immediate32));
        }

        var key = c.ReadIdentifier("'fd', 'id' or 'idx'");
        if (key is not ("fd" or "id" or "idx"))
        {
            c.Position -= key.Length;
            throw c.Error("'fd', 'id' or 'idx'");
        }

        c.Expect(":");
        int map = c.ReadImm32("a map number");
        c.Expect("]");
        bool isIndex = key == "idx";
        if (!isIndex && c.TryConsume("["))
        {
            // bpftool prints "map[id:N][0]+M"; only element 0 exists for a value address.
            c.ReadIntegerInRange(0, 0, "0");
            c.Expect("]");
            c.Expect("+");
            return Pseudo(dst, Imm64Source.MapValue, map, c.ReadImm32("a value offset"));
        }

        if (c.TryConsume("+"))
        {
            int offset = c.ReadImm32("a value offset");
            return Pseudo(dst, isIndex ? Imm64Source.MapIndexValue : Imm64Source.MapValue, map, offset);
        }

        return Pseudo(dst, isIndex ? Imm64Source.MapIndex : Imm64Source.MapFd, map, 0);
    }

    private static Statement Pseudo(byte dst, Imm64Source source, int low, int high)
    {
        ulong value = unchecked((uint)low) | ((ulong)unchecked((uint)high) << 32);
        var (first, second) = Instruction.LoadImm64(dst, value, source);
        return new Statement(first, second);
    }

    /// <summary>Builds the two slots of a plain <c>lddw</c>.</summary>
    public static Statement LoadImm64(byte dst, ulong value)
    {
        var (first, second) = Instruction.LoadImm64(dst, value);
        return new Statement(first, second);
    }
}
