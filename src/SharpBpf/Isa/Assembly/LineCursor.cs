using System.Globalization;

namespace SharpBpf.Isa.Assembly;

/// <summary>
/// A read position inside one source line, with the small lexical helpers both syntaxes need.
/// Positions index the original line, so error columns point at the text the user wrote.
/// </summary>
internal sealed class LineCursor
{
    private const int MaxFoundLength = 40;

    public LineCursor(string text, int start, int end, int lineNumber)
    {
        Text = text;
        Position = start;
        End = end;
        LineNumber = lineNumber;
    }

    /// <summary>The whole source line.</summary>
    public string Text { get; }

    /// <summary>The index of the next unread character.</summary>
    public int Position { get; set; }

    /// <summary>The index just past the statement (comments and annotations excluded).</summary>
    public int End { get; }

    /// <summary>The 1-based line number, for errors.</summary>
    public int LineNumber { get; }

    /// <summary>Whether only blanks remain.</summary>
    public bool AtEnd
    {
        get
        {
            SkipSpaces();
            return Position >= End;
        }
    }

    public static bool IsIdentifierStart(char c) => char.IsAsciiLetter(c) || c == '_' || c == '.' || c == '$';

    public static bool IsIdentifierPart(char c) => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '.' || c == '$';

    public void SkipSpaces()
    {
        while (Position < End && (Text[Position] == ' ' || Text[Position] == '\t'))
        {
            Position++;
        }
    }

    /// <summary>The next non-blank character, or '\0' at the end.</summary>
    public char Peek()
    {
        SkipSpaces();
        return Position < End ? Text[Position] : '\0';
    }

    /// <summary>The character right at the position (no blank skipping), or '\0' at the end.</summary>
    public char PeekRaw(int ahead = 0) => Position + ahead < End ? Text[Position + ahead] : '\0';

    /// <summary>Consumes <paramref name="literal"/> if it comes next (after blanks).</summary>
    public bool TryConsume(string literal)
    {
        SkipSpaces();
        if (End - Position >= literal.Length && string.CompareOrdinal(Text, Position, literal, 0, literal.Length) == 0)
        {
            Position += literal.Length;
            return true;
        }

        return false;
    }

    /// <summary>Consumes <paramref name="literal"/> or throws saying it was expected.</summary>
    public void Expect(string literal)
    {
        if (!TryConsume(literal))
        {
            throw Error($"'{literal}'");
        }
    }

    /// <summary>The identifier that comes next, without consuming it; null when none does.</summary>
    public string? PeekIdentifier()
    {
        SkipSpaces();
        if (Position >= End || !IsIdentifierStart(Text[Position]))
        {
            return null;
        }

        int end = Position + 1;
        while (end < End && IsIdentifierPart(Text[end]))
        {
            end++;
        }

        return Text[Position..end];
    }

    /// <summary>Consumes the identifier <paramref name="word"/> if it comes next as a whole word.</summary>
    public bool TryConsumeWord(string word)
    {
        if (PeekIdentifier() == word)
        {
            Position += word.Length;
            return true;
        }

        return false;
    }

    /// <summary>Consumes the identifier <paramref name="word"/> or throws saying it was expected.</summary>
    public void ExpectWord(string word)
    {
        if (!TryConsumeWord(word))
        {
            throw Error($"'{word}'");
        }
    }

    /// <summary>Reads an identifier or throws with <paramref name="expected"/>.</summary>
    public string ReadIdentifier(string expected)
    {
        var word = PeekIdentifier() ?? throw Error(expected);
        Position += word.Length;
        return word;
    }

    /// <summary>Throws unless only blanks remain.</summary>
    public void ExpectEnd()
    {
        if (!AtEnd)
        {
            throw Error("end of line");
        }
    }

    /// <summary>An error at the current position (after blanks).</summary>
    public AssemblyException Error(string expected)
    {
        SkipSpaces();
        return ErrorAt(Position, expected);
    }

    /// <summary>An error at <paramref name="position"/>, quoting the token found there.</summary>
    public AssemblyException ErrorAt(int position, string expected) =>
        new(LineNumber, position + 1, expected, TokenAt(position));

    /// <summary>The token starting at <paramref name="position"/>, for error messages.</summary>
    public string TokenAt(int position)
    {
        if (position >= End)
        {
            return string.Empty;
        }

        int end = position;
        char first = Text[position];
        if (IsIdentifierPart(first) || first == '%' || first == '+' || first == '-')
        {
            end++;
            while (end < End && (IsIdentifierPart(Text[end]) || Text[end] == '%'))
            {
                end++;
            }
        }
        else if (IsOperatorChar(first))
        {
            while (end < End && IsOperatorChar(Text[end]))
            {
                end++;
            }
        }
        else
        {
            end++;
        }

        if (end - position > MaxFoundLength)
        {
            end = position + MaxFoundLength;
        }

        return Text[position..end];
    }

    private static bool IsOperatorChar(char c) => c is '=' or '<' or '>' or '!' or '&' or '|' or '^' or '*' or '/' or '%';

    /// <summary>Whether a number (optionally signed) starts here.</summary>
    public bool AtNumber()
    {
        char c = Peek();
        if (char.IsAsciiDigit(c))
        {
            return true;
        }

        return (c == '-' || c == '+') && char.IsAsciiDigit(PeekRaw(1));
    }

    /// <summary>
    /// Reads an integer literal: an optional sign, then decimal digits or <c>0x</c> hex digits.
    /// Values beyond 64 bits of magnitude are reported as out of range rather than wrapped.
    /// </summary>
    public Int128 ReadInteger(string expected, bool allowSign = true)
    {
        SkipSpaces();
        int start = Position;
        bool negative = false;
        if (allowSign && Position < End && (Text[Position] == '-' || Text[Position] == '+'))
        {
            negative = Text[Position] == '-';
            Position++;
        }

        bool hex = Position + 1 < End && Text[Position] == '0' && (Text[Position + 1] == 'x' || Text[Position + 1] == 'X');
        if (hex)
        {
            Position += 2;
        }

        int digitsStart = Position;
        while (Position < End && (hex ? char.IsAsciiHexDigit(Text[Position]) : char.IsAsciiDigit(Text[Position])))
        {
            Position++;
        }

        if (Position == digitsStart || (Position < End && IsIdentifierPart(Text[Position])))
        {
            Position = start;
            throw Error(expected);
        }

        var digits = Text.AsSpan(digitsStart, Position - digitsStart);
        bool ok = hex
            ? ulong.TryParse(digits, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out ulong magnitude)
            : ulong.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out magnitude);
        if (!ok)
        {
            int end = Position;
            Position = start;
            throw new AssemblyException(LineNumber, start + 1, expected + " (the value does not fit in 64 bits)", Text[start..end]);
        }

        return negative ? -(Int128)magnitude : magnitude;
    }

    /// <summary>Reads an integer and checks it lies in <paramref name="min"/>..<paramref name="max"/>.</summary>
    public Int128 ReadIntegerInRange(Int128 min, Int128 max, string expected, bool allowSign = true)
    {
        SkipSpaces();
        int start = Position;
        var value = ReadInteger(expected, allowSign);
        if (value < min || value > max)
        {
            throw new AssemblyException(LineNumber, start + 1, expected, Text[start..Position]);
        }

        return value;
    }

    /// <summary>Reads a 32-bit immediate; hex and values above int.MaxValue give the same bit pattern.</summary>
    public int ReadImm32(string what = "a 32-bit immediate")
    {
        var value = ReadIntegerInRange(int.MinValue, uint.MaxValue, what + " (-2147483648 to 0xffffffff)");
        return unchecked((int)(uint)(ulong)(value & uint.MaxValue));
    }

    /// <summary>Reads a 64-bit immediate; any value from long.MinValue to ulong.MaxValue.</summary>
    public ulong ReadImm64()
    {
        var value = ReadIntegerInRange(long.MinValue, ulong.MaxValue, "a 64-bit immediate");
        return (ulong)(value & ulong.MaxValue);
    }

    /// <summary>Reads a signed 16-bit offset written with an explicit or implied sign.</summary>
    public short ReadOffset16(string what = "a 16-bit offset (-32768 to 32767)") =>
        (short)ReadIntegerInRange(short.MinValue, short.MaxValue, what);
}
