using System.Buffers;
using System.Globalization;
using System.Text;

namespace SharpBpf.Runtime.Helpers;

/// <summary>
/// The format language of <c>bpf_trace_printk</c> and <c>bpf_snprintf</c> (<c>bpf_bprintf_prepare</c> in
/// <c>kernel/bpf/helpers.c</c> followed by the kernel's <c>bstr_printf</c>), with the same rules and limits.
/// </summary>
/// <remarks>
/// Accepted: <c>%%</c>; flags <c>0 + - space</c> and a width; <c>%d %i %u %x %X</c> with <c>l</c>/<c>ll</c>;
/// <c>%c</c>; <c>%s</c>, <c>%pks</c>, <c>%pus</c> (strings read from program memory, empty when unreadable); <c>%p</c>,
/// <c>%px</c>, <c>%pK</c>, <c>%ps</c>, <c>%pS</c>, <c>%pB</c>; <c>%pI4 %pi4 %pI6 %pi6</c> (addresses read from program
/// memory, zeros when unreadable). No precision. Each conversion consumes one argument; more conversions than
/// arguments, an unknown conversion, a string conversion followed by a letter or digit, or an ASCII control
/// character is -EINVAL; arguments beyond the kernel's 512-byte binary buffer are -ENOSPC.
/// Differences: the kernel hashes <c>%p</c> and <c>%pK</c> values, and prints symbols for <c>%ps/%pS/%pB</c>; the VM
/// prints <c>%p</c>, <c>%pK</c> and <c>%px</c> as 16 hex digits and symbols as <c>0x</c> and the hex address.
/// </remarks>
internal static class BpfPrintf
{
    /// <summary>MAX_BPRINTF_BIN_ARGS: the bytes available to the binary form of the arguments.</summary>
    public const int MaxBinaryArguments = 512;

    /// <summary>MAX_BPRINTF_BUF: the size of trace_printk's output buffer.</summary>
    public const int MaxOutput = 1024;

    /// <summary>MAX_BPRINTF_VARARGS: the most arguments bpf_snprintf accepts.</summary>
    public const int MaxArguments = 12;

    [Flags]
    private enum FormatFlags
    {
        None = 0,
        ZeroPad = 1,
        Plus = 2,
        Left = 4,
        Space = 8,
    }

    /// <summary>
    /// Formats <paramref name="format"/> (without its NUL) with <paramref name="arguments"/> into
    /// <paramref name="output"/>; returns 0 or a negative errno (then the output is meaningless).
    /// </summary>
    public static long Format(BpfExecutionContext context, ReadOnlySpan<byte> format, ReadOnlySpan<ulong> arguments, ArrayBufferWriter<byte> output)
    {
        int binaryUsed = 0;
        int spec = 0;
        for (int i = 0; i < format.Length; i++)
        {
            byte c = format[i];
            if (c < 0x80 && !IsPrint(c) && !IsSpace(c))
            {
                return Errno.EINVAL;
            }

            if (c != '%')
            {
                Append(output, c);
                continue;
            }

            if (At(format, i + 1) == '%')
            {
                Append(output, (byte)'%');
                i++;
                continue;
            }

            if (spec >= arguments.Length)
            {
                return Errno.EINVAL;
            }

            i++;
            if (At(format, i) >= 0x80)
            {
                return Errno.EINVAL;
            }

            var flags = FormatFlags.None;
            for (; ; i++)
            {
                byte f = At(format, i);
                FormatFlags flag = f switch
                {
                    (byte)'0' => FormatFlags.ZeroPad,
                    (byte)'+' => FormatFlags.Plus,
                    (byte)'-' => FormatFlags.Left,
                    (byte)' ' => FormatFlags.Space,
                    _ => FormatFlags.None,
                };
                if (flag == FormatFlags.None)
                {
                    break;
                }

                flags |= flag;
            }

            int width = 0;
            if (At(format, i) is >= (byte)'1' and <= (byte)'9')
            {
                while (At(format, i) is >= (byte)'0' and <= (byte)'9')
                {
                    width = Math.Min((width * 10) + (At(format, i) - '0'), 4096);
                    i++;
                }
            }

            ulong arg = arguments[spec];
            byte conversion = At(format, i);
            string text;
            if (conversion == 'p')
            {
                byte next = At(format, i + 1);
                if (next == 0 || IsSpace(next) || IsPunct(next))
                {
                    if (!Reserve(ref binaryUsed, 8))
                    {
                        return Errno.ENOSPC;
                    }

                    text = arg.ToString("x16", CultureInfo.InvariantCulture);
                }
                else if ((next == 'k' || next == 'u') && At(format, i + 2) == 's')
                {
                    i += 2;
                    long error = FormatString(context, format, ref i, arg, ref binaryUsed, out text);
                    if (error < 0)
                    {
                        return error;
                    }
                }
                else if (next is (byte)'K' or (byte)'x' or (byte)'s' or (byte)'S' or (byte)'B')
                {
                    i++;
                    if (next != 'B' && !Reserve(ref binaryUsed, 8))
                    {
                        return Errno.ENOSPC;
                    }

                    text = next is (byte)'K' or (byte)'x'
                        ? arg.ToString("x16", CultureInfo.InvariantCulture)
                        : "0x" + arg.ToString("x", CultureInfo.InvariantCulture);
                    if (next == 'B')
                    {
                        binaryUsed += text.Length + 1;
                    }
                }
                else if ((next == 'i' || next == 'I') && (At(format, i + 2) == '4' || At(format, i + 2) == '6'))
                {
                    bool v4 = At(format, i + 2) == '4';
                    i += 2;
                    int size = v4 ? 4 : 16;
                    if (MaxBinaryArguments - binaryUsed < size)
                    {
                        return Errno.ENOSPC;
                    }

                    var address = new byte[size];
                    if (!VmMemory.TryCopy(context, arg, address))
                    {
                        Array.Clear(address);
                    }

                    text = FormatIp(address, next == 'I');
                    binaryUsed += text.Length + 1;
                }
                else
                {
                    return Errno.EINVAL;
                }
            }
            else if (conversion == 's')
            {
                long error = FormatString(context, format, ref i, arg, ref binaryUsed, out text);
                if (error < 0)
                {
                    return error;
                }
            }
            else if (conversion == 'c')
            {
                if (binaryUsed >= MaxBinaryArguments)
                {
                    return Errno.ENOSPC;
                }

                binaryUsed++;
                spec++;
                Pad(output, 1, width, flags, ' ', () => Append(output, (byte)arg));
                continue;
            }
            else
            {
                int size = 4;
                if (At(format, i) == 'l')
                {
                    size = 8;
                    i++;
                }

                if (At(format, i) == 'l')
                {
                    i++;
                }

                conversion = At(format, i);
                if (conversion is not ((byte)'i' or (byte)'d' or (byte)'u' or (byte)'x' or (byte)'X'))
                {
                    return Errno.EINVAL;
                }

                if (!Reserve(ref binaryUsed, size))
                {
                    return Errno.ENOSPC;
                }

                spec++;
                FormatNumber(output, arg, size, (char)conversion, width, flags);
                continue;
            }

            spec++;
            byte[] bytes = Encoding.Latin1.GetBytes(text);
            Pad(output, bytes.Length, width, flags & ~FormatFlags.ZeroPad, ' ', () => output.Write(bytes));
        }

        return 0;
    }

    // A string argument: the next format character must end the conversion; the string is copied into what is
    // left of the binary buffer (empty when unreadable).
    private static long FormatString(BpfExecutionContext context, ReadOnlySpan<byte> format, ref int i, ulong address, ref int binaryUsed, out string text)
    {
        text = "";
        byte next = At(format, i + 1);
        if (next != 0 && !IsSpace(next) && !IsPunct(next))
        {
            return Errno.EINVAL;
        }

        int room = MaxBinaryArguments - binaryUsed;
        if (room <= 0)
        {
            return Errno.ENOSPC;
        }

        var buffer = new byte[room];
        long copied = VmMemory.CopyString(context, address, buffer);
        if (copied < 0)
        {
            copied = 1;
            buffer[0] = 0;
        }

        binaryUsed += (int)copied;
        text = Encoding.Latin1.GetString(buffer, 0, Math.Max(0, (int)copied - 1));
        return 0;
    }

    private static void FormatNumber(ArrayBufferWriter<byte> output, ulong arg, int size, char conversion, int width, FormatFlags flags)
    {
        bool signed = conversion is 'd' or 'i';
        ulong magnitude;
        string sign = "";
        if (signed)
        {
            long value = size == 4 ? (int)arg : (long)arg;
            magnitude = value < 0 ? (ulong)-(value + 1) + 1 : (ulong)value;
            sign = value < 0 ? "-" : (flags & FormatFlags.Plus) != 0 ? "+" : (flags & FormatFlags.Space) != 0 ? " " : "";
        }
        else
        {
            magnitude = size == 4 ? (uint)arg : arg;
        }

        string digits = conversion switch
        {
            'x' => magnitude.ToString("x", CultureInfo.InvariantCulture),
            'X' => magnitude.ToString("X", CultureInfo.InvariantCulture),
            _ => magnitude.ToString(CultureInfo.InvariantCulture),
        };

        int length = sign.Length + digits.Length;
        if ((flags & FormatFlags.ZeroPad) != 0 && (flags & FormatFlags.Left) == 0 && width > length)
        {
            digits = new string('0', width - length) + digits;
            length = width;
        }

        string text = sign + digits;
        Pad(output, length, width, flags, ' ', () => output.Write(Encoding.ASCII.GetBytes(text)));
    }

    private static string FormatIp(ReadOnlySpan<byte> address, bool canonical)
    {
        var text = new StringBuilder();
        if (address.Length == 4)
        {
            for (int k = 0; k < 4; k++)
            {
                if (k > 0)
                {
                    text.Append('.');
                }

                text.Append(address[k].ToString(canonical ? "D" : "D3", CultureInfo.InvariantCulture));
            }

            return text.ToString();
        }

        for (int k = 0; k < 16; k += 2)
        {
            if (canonical && k > 0)
            {
                text.Append(':');
            }

            text.Append(address[k].ToString("x2", CultureInfo.InvariantCulture)).Append(address[k + 1].ToString("x2", CultureInfo.InvariantCulture));
        }

        return text.ToString();
    }

    private static void Pad(ArrayBufferWriter<byte> output, int length, int width, FormatFlags flags, char fill, Action write)
    {
        int padding = Math.Max(0, width - length);
        if ((flags & FormatFlags.Left) == 0)
        {
            for (int k = 0; k < padding; k++)
            {
                Append(output, (byte)fill);
            }
        }

        write();
        if ((flags & FormatFlags.Left) != 0)
        {
            for (int k = 0; k < padding; k++)
            {
                Append(output, (byte)' ');
            }
        }
    }

    // Numbers and pointers take 4-byte-aligned room in the binary buffer.
    private static bool Reserve(ref int used, int size)
    {
        int aligned = (used + 3) & ~3;
        if (MaxBinaryArguments - aligned < size)
        {
            return false;
        }

        used = aligned + size;
        return true;
    }

    private static byte At(ReadOnlySpan<byte> format, int index) => (uint)index < (uint)format.Length ? format[index] : (byte)0;

    private static void Append(ArrayBufferWriter<byte> output, byte value)
    {
        output.GetSpan(1)[0] = value;
        output.Advance(1);
    }

    private static bool IsPrint(byte c) => c is >= 0x20 and <= 0x7e;

    private static bool IsSpace(byte c) => c is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r';

    private static bool IsPunct(byte c) => IsPrint(c) && c != ' ' && !char.IsAsciiLetterOrDigit((char)c);
}
