using System.Globalization;

namespace SharpBpf.Isa.Assembly;

/// <summary>
/// Turns BPF assembly text into instructions. Two dialects are understood, per line when no syntax
/// is forced: the uBPF / bpf_conformance mnemonic syntax (<c>mov32 %r0, 1</c>) and the C-like syntax of
/// llvm-objdump, llvm-mc and bpftool (<c>w0 = 1</c>). Disassembly listings are accepted as input:
/// a leading <c>N:</c> address, the raw instruction bytes llvm-objdump prints and bpftool's
/// <c>(hh)</c> opcode column are skipped, as are objdump's <c>&lt;sym+0x10&gt;</c> annotations,
/// its headers and relocation lines.
/// </summary>
/// <remarks>
/// Comments start with <c>#</c>, <c>;</c> or <c>//</c> (a <c>#</c> glued between a name and a number,
/// as in bpftool's <c>call bpf_map_lookup_elem#1</c>, is not a comment). Labels are <c>name:</c>,
/// alone or before a statement; jumps name a label or give a signed instruction count (<c>+3</c>,
/// <c>-0x2</c>, <c>pc+3</c>). As in bpf_conformance, the label <c>exit</c> refers to the first
/// <c>exit</c> instruction unless a label of that name is defined. Lines starting with an assembler
/// directive (<c>.text</c>, <c>.globl f</c>) are ignored.
/// </remarks>
public static class Assembler
{
    private static readonly System.Buffers.SearchValues<char> HexDigits =
        System.Buffers.SearchValues.Create("0123456789abcdefABCDEF");

    /// <summary>Assembles <paramref name="source"/> into instruction slots (an <c>lddw</c> takes two).</summary>
    /// <param name="source">The assembly text; lines are separated by LF, CRLF or CR.</param>
    /// <param name="syntax">The dialect of every line, or null to detect it per line: a line is uBPF when it uses
    /// <c>%rN</c> registers or starts with a uBPF mnemonic, otherwise LLVM.</param>
    /// <returns>The instructions, in order.</returns>
    /// <exception cref="AssemblyException">The text is not valid assembly; the exception says where and what was expected.</exception>
    public static Instruction[] Assemble(string source, AssemblySyntax? syntax = null)
    {
        ArgumentNullException.ThrowIfNull(source);
        var state = new AssemblyState();
        int lineNumber = 0;
        int position = 0;
        while (position <= source.Length)
        {
            int lineEnd = source.IndexOfAny(['\n', '\r'], position);
            if (lineEnd < 0)
            {
                lineEnd = source.Length;
            }

            lineNumber++;
            AssembleLine(source[position..lineEnd], lineNumber, syntax, state);
            if (lineEnd == source.Length)
            {
                break;
            }

            position = lineEnd + (source[lineEnd] == '\r' && lineEnd + 1 < source.Length && source[lineEnd + 1] == '\n' ? 2 : 1);
        }

        return state.Resolve();
    }

    private static void AssembleLine(string line, int lineNumber, AssemblySyntax? syntax, AssemblyState state)
    {
        int end = FindStatementEnd(line);
        int start = 0;
        while (start < end && char.IsWhiteSpace(line[start]))
        {
            start++;
        }

        if (start == end)
        {
            return;
        }

        var text = line.AsSpan(start, end - start);
        if (IsListingNoise(text))
        {
            return;
        }

        if (TryObjdumpSymbolHeader(line, start, end, out int nameStart, out int nameEnd))
        {
            state.DefineLabel(line[nameStart..nameEnd], lineNumber, nameStart + 1);
            return;
        }

        start = SkipAddress(line, start, end);
        byte[]? rawBytes = ReadRawBytes(line, ref start, end);
        byte? opcodeHint = ReadOpcodeHint(line, ref start, end, out int hintColumn);
        end = StripAnnotation(line, start, end);
        var cursor = new LineCursor(line, start, end, lineNumber);
        if (cursor.AtEnd)
        {
            return;
        }

        if (string.CompareOrdinal(line, cursor.Position, "<unknown>", 0, 9) == 0 && cursor.Position + 9 == end)
        {
            // llvm-objdump could not print the instruction; its bytes say what it is.
            if (rawBytes is null)
            {
                throw cursor.Error("an instruction");
            }

            var decoded = Instruction.Decode(rawBytes);
            state.Add(decoded.Length == 2 ? new Statement(decoded[0], decoded[1]) : new Statement(decoded[0]), lineNumber);
            return;
        }

        if (TryBpftoolFunctionHeader(line, cursor.Position, end, out nameStart, out nameEnd))
        {
            state.DefineLabel(line[nameStart..nameEnd], lineNumber, nameStart + 1);
            return;
        }

        // Labels: "name:" (possibly several, possibly followed by a statement).
        while (true)
        {
            var word = cursor.PeekIdentifier();
            if (word is null || cursor.PeekRaw(word.Length) != ':')
            {
                break;
            }

            state.DefineLabel(word, lineNumber, cursor.Position + 1);
            cursor.Position += word.Length + 1;
            if (cursor.AtEnd)
            {
                return;
            }
        }

        var first = cursor.PeekIdentifier();
        if (first is not null && first[0] == '.')
        {
            if (ReadDirective(cursor, first) is { } raw)
            {
                state.Add(raw, lineNumber);
            }

            return;
        }

        var statement = ChooseSyntax(cursor, syntax) == AssemblySyntax.Ubpf
            ? UbpfParser.Parse(cursor)
            : LlvmParser.Parse(cursor, opcodeHint);

        if (opcodeHint is { } hint && statement.First.Opcode != hint)
        {
            throw new AssemblyException(
                lineNumber, hintColumn, $"an instruction with opcode 0x{hint:x2} as the opcode column says",
                line[start..end].Trim());
        }

        if (rawBytes is not null)
        {
            statement = ApplyRawBytes(statement, rawBytes);
        }

        state.Add(statement, lineNumber);
    }

    /// <summary>
    /// Directives: <c>.8byte N</c> is one raw instruction slot (the disassembler prints slots the
    /// uBPF dialect cannot express that way); directives that emit nothing (<c>.text</c>, <c>.globl f</c>,
    /// <c>.p2align 3</c>...) are ignored; any other directive is an error rather than silently dropped data.
    /// </summary>
    private static Statement? ReadDirective(LineCursor cursor, string name)
    {
        if (name == ".8byte")
        {
            cursor.Position += name.Length;
            ulong value = cursor.ReadImm64();
            cursor.ExpectEnd();
            Span<byte> bytes = stackalloc byte[Instruction.Size];
            System.Buffers.Binary.BinaryPrimitives.WriteUInt64LittleEndian(bytes, value);
            return new Statement(Instruction.ReadFrom(bytes));
        }

        if (IgnoredDirectives.Contains(name) || name.StartsWith(".cfi_", StringComparison.Ordinal))
        {
            return null;
        }

        throw cursor.Error("an instruction or a directive that emits nothing (.8byte is the only data directive)");
    }

    private static readonly HashSet<string> IgnoredDirectives = new(StringComparer.Ordinal)
    {
        ".text", ".data", ".bss", ".section", ".previous", ".pushsection", ".popsection", ".globl", ".global", ".local",
        ".weak", ".hidden", ".protected", ".type", ".size", ".p2align", ".align", ".balign", ".file", ".loc", ".ident",
        ".addrsig", ".addrsig_sym", ".set", ".equ",
    };

    private static AssemblySyntax ChooseSyntax(LineCursor cursor, AssemblySyntax? syntax)
    {
        if (syntax is { } forced)
        {
            return forced;
        }

        var text = cursor.Text.AsSpan(cursor.Position, cursor.End - cursor.Position);
        if (text.Contains("%r", StringComparison.Ordinal))
        {
            return AssemblySyntax.Ubpf;
        }

        var word = cursor.PeekIdentifier();
        if (word is null || word is "call" or "callx" or "exit" || !UbpfParser.IsMnemonic(word))
        {
            return AssemblySyntax.Llvm;
        }

        // "lock *(u64 *)..." is LLVM; "lock add [...]" is uBPF.
        var after = text[word.Length..].TrimStart();
        return word == "lock" && after.Length > 0 && after[0] == '*' ? AssemblySyntax.Llvm : AssemblySyntax.Ubpf;
    }

    /// <summary>
    /// llvm-objdump prints a local call as <c>call 0x13</c>, a kernel function call as a helper call (without
    /// its module index), and the bytes next to it: when the bytes say the call is local or a kfunc, believe them.
    /// </summary>
    private static Statement ApplyRawBytes(Statement statement, byte[] rawBytes)
    {
        var fromBytes = Instruction.ReadFrom(rawBytes);
        var first = statement.First;
        if (first.Opcode == Opcode.Call && fromBytes.Opcode == Opcode.Call && first.Src == (byte)CallKind.Helper
            && statement.Reference is null && fromBytes.Immediate == first.Immediate && fromBytes.Src <= (byte)CallKind.Kfunc)
        {
            // A kfunc call's offset (the module BTF index) is not printed either.
            return statement.WithFirst(first.WithSrc(fromBytes.Src).WithOffset(fromBytes.Src == (byte)CallKind.Kfunc ? fromBytes.Offset : (short)0));
        }

        return statement;
    }

    /// <summary>The index where the statement ends: at a comment, or the end of the line.</summary>
    private static int FindStatementEnd(string line)
    {
        for (int i = 0; i < line.Length; i++)
        {
            char c = line[i];
            if (c == ';' || (c == '/' && i + 1 < line.Length && line[i + 1] == '/'))
            {
                return i;
            }

            if (c == '#')
            {
                // bpftool's "call bpf_map_lookup_elem#1": a '#' between a name and a number is not a comment.
                bool glued = i > 0 && LineCursor.IsIdentifierPart(line[i - 1]) && i + 1 < line.Length
                    && (char.IsAsciiDigit(line[i + 1]) || line[i + 1] == '-');
                if (!glued)
                {
                    return i;
                }
            }
        }

        return line.Length;
    }

    /// <summary>The header lines of an llvm-objdump listing.</summary>
    private static bool IsListingNoise(ReadOnlySpan<char> text)
    {
        if (text.StartsWith("Disassembly of section ", StringComparison.Ordinal))
        {
            return true;
        }

        int colon = text.IndexOf(':');
        if (colon > 0 && text[(colon + 1)..].TrimStart().StartsWith("file format ", StringComparison.Ordinal))
        {
            return true;
        }

        // A relocation line: "0000000000000050:  R_BPF_64_64  map".
        if (colon > 0 && text[..colon].IndexOfAnyExcept(HexDigits) < 0
            && text[(colon + 1)..].TrimStart().StartsWith("R_", StringComparison.Ordinal))
        {
            return true;
        }

        return false;
    }

    /// <summary>llvm-objdump's "0000000000000000 &lt;name&gt;:" function header, read as a label.</summary>
    private static bool TryObjdumpSymbolHeader(string line, int start, int end, out int nameStart, out int nameEnd)
    {
        nameStart = nameEnd = 0;
        int i = start;
        while (i < end && char.IsAsciiHexDigit(line[i]))
        {
            i++;
        }

        if (i - start < 8 || i + 2 >= end || line[i] != ' ' || line[i + 1] != '<')
        {
            return false;
        }

        int close = line.LastIndexOf('>', end - 1);
        if (close < i + 3 || !line.AsSpan(close + 1, end - close - 1).Trim().SequenceEqual(":"))
        {
            return false;
        }

        nameStart = i + 2;
        nameEnd = close;
        for (int k = nameStart; k < nameEnd; k++)
        {
            if (!LineCursor.IsIdentifierPart(line[k]))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// bpftool's function header "int name(struct __sk_buff * skb):", printed from BTF before each
    /// function of an xlated dump; read as the label <c>name</c>.
    /// </summary>
    private static bool TryBpftoolFunctionHeader(string line, int start, int end, out int nameStart, out int nameEnd)
    {
        nameStart = nameEnd = 0;
        if (end - start < 4 || line[end - 1] != ':' || line[end - 2] != ')')
        {
            return false;
        }

        int open = line.IndexOf('(', start, end - start);
        if (open <= start)
        {
            return false;
        }

        nameEnd = open;
        nameStart = open;
        while (nameStart > start && LineCursor.IsIdentifierPart(line[nameStart - 1]))
        {
            nameStart--;
        }

        // There must be a return type before the name, so "r0 = f(...):" style garbage is not taken.
        return nameStart < nameEnd && nameStart > start && (line[nameStart - 1] is ' ' or '*')
            && LineCursor.IsIdentifierStart(line[nameStart]) && line.AsSpan(start, nameStart - start).IndexOf('=') < 0;
    }

    /// <summary>Skips a listing's "N:" instruction address (decimal, as llvm-objdump and bpftool print it).</summary>
    private static int SkipAddress(string line, int start, int end)
    {
        int i = start;
        while (i < end && char.IsAsciiDigit(line[i]))
        {
            i++;
        }

        if (i > start && i < end && line[i] == ':' && (i + 1 == end || char.IsWhiteSpace(line[i + 1])))
        {
            i++;
            while (i < end && char.IsWhiteSpace(line[i]))
            {
                i++;
            }

            return i;
        }

        return start;
    }

    /// <summary>Reads llvm-objdump's raw byte column: 8 or 16 two-digit hex numbers separated by single spaces.</summary>
    private static byte[]? ReadRawBytes(string line, ref int start, int end)
    {
        var bytes = new List<byte>(16);
        int i = start;
        while (bytes.Count < 16 && IsByteToken(line, i, end))
        {
            bytes.Add(byte.Parse(line.AsSpan(i, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));
            i += 2;
            if (i < end && line[i] == ' ' && IsByteToken(line, i + 1, end))
            {
                i++;
            }
            else
            {
                break;
            }
        }

        if (bytes.Count != 8 && bytes.Count != 16)
        {
            return null;
        }

        while (i < end && char.IsWhiteSpace(line[i]))
        {
            i++;
        }

        start = i;
        return [.. bytes];
    }

    private static bool IsByteToken(string line, int i, int end) =>
        i + 2 <= end && char.IsAsciiHexDigit(line[i]) && char.IsAsciiHexDigit(line[i + 1]) && (i + 2 == end || char.IsWhiteSpace(line[i + 2]));

    /// <summary>Reads bpftool's "(b7)" opcode column.</summary>
    private static byte? ReadOpcodeHint(string line, ref int start, int end, out int column)
    {
        column = start + 1;
        if (start + 4 <= end && line[start] == '(' && line[start + 3] == ')'
            && char.IsAsciiHexDigit(line[start + 1]) && char.IsAsciiHexDigit(line[start + 2])
            && (start + 4 == end || char.IsWhiteSpace(line[start + 4])))
        {
            byte value = byte.Parse(line.AsSpan(start + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
            start += 4;
            return value;
        }

        return null;
    }

    /// <summary>Drops llvm-objdump's trailing " &lt;func+0x10&gt;" jump-target annotation.</summary>
    private static int StripAnnotation(string line, int start, int end)
    {
        while (end > start && char.IsWhiteSpace(line[end - 1]))
        {
            end--;
        }

        if (end - start < 2 || line[end - 1] != '>')
        {
            return end;
        }

        int open = line.LastIndexOf('<', end - 1, end - start);
        if (open <= start || !char.IsWhiteSpace(line[open - 1]) || line.AsSpan(open + 1, end - open - 2).ContainsAny(" \t<>"))
        {
            return end;
        }

        end = open;
        while (end > start && char.IsWhiteSpace(line[end - 1]))
        {
            end--;
        }

        return end;
    }

    /// <summary>The instructions and labels gathered so far, and the label references still to resolve.</summary>
    private sealed class AssemblyState
    {
        private readonly List<Instruction> _instructions = [];
        private readonly Dictionary<string, (int Index, int Line)> _labels = new(StringComparer.Ordinal);
        private readonly List<(int Index, int Line, LabelReference Reference)> _references = [];
        private int _firstExit = -1;

        public void DefineLabel(string name, int line, int column)
        {
            if (_labels.TryGetValue(name, out var previous))
            {
                throw new AssemblyException(
                    line, column, $"a new label name ('{name}' is already defined on line {previous.Line})", name);
            }

            _labels.Add(name, (_instructions.Count, line));
        }

        public void Add(Statement statement, int line)
        {
            if (statement.Reference is { } reference)
            {
                _references.Add((_instructions.Count, line, reference));
            }

            if (_firstExit < 0 && statement.First.Opcode == Opcode.Exit)
            {
                _firstExit = _instructions.Count;
            }

            _instructions.Add(statement.First);
            if (statement.Second is { } second)
            {
                _instructions.Add(second);
            }
        }

        public Instruction[] Resolve()
        {
            foreach (var (index, line, reference) in _references)
            {
                int target;
                if (_labels.TryGetValue(reference.Label, out var label))
                {
                    target = label.Index;
                }
                else if (reference.Label == "exit" && _firstExit >= 0)
                {
                    target = _firstExit;
                }
                else
                {
                    throw new AssemblyException(line, reference.Column, "a defined label", reference.Label);
                }

                long relative = (long)target - index - 1;
                var insn = _instructions[index];
                if (reference.Kind == FixupKind.Offset16)
                {
                    if (relative is < short.MinValue or > short.MaxValue)
                    {
                        throw new AssemblyException(
                            line, reference.Column, $"a label within 32767 instructions of the jump (it is {relative} away)", reference.Label);
                    }

                    _instructions[index] = insn.WithOffset((short)relative);
                }
                else
                {
                    _instructions[index] = insn.WithImmediate((int)relative);
                }
            }

            return [.. _instructions];
        }
    }
}
