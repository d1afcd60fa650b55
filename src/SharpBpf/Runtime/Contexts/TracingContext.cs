using System.Runtime.InteropServices;

namespace SharpBpf.Runtime.Contexts;

/// <summary>
/// x86-64 <c>struct pt_regs</c> (<c>arch/x86/include/asm/ptrace.h</c>), the context of kprobe and perf event programs:
/// fill it and hand it to a <see cref="TracingContext"/>. Argument registers in the calling convention order are
/// di, si, dx, cx, r8, r9 (<c>PT_REGS_PARM1..6</c>); the return value is ax (<c>PT_REGS_RC</c>).
/// </summary>
[StructLayout(LayoutKind.Sequential)]
public struct PtRegs
{
    /// <summary>The size of the structure: 21 registers of 8 bytes.</summary>
    public const int Size = 168;

    /// <summary>r15 (offset 0).</summary>
    public ulong R15;
    /// <summary>r14 (offset 8).</summary>
    public ulong R14;
    /// <summary>r13 (offset 16).</summary>
    public ulong R13;
    /// <summary>r12 (offset 24).</summary>
    public ulong R12;
    /// <summary>rbp (offset 32).</summary>
    public ulong Bp;
    /// <summary>rbx (offset 40).</summary>
    public ulong Bx;
    /// <summary>r11 (offset 48).</summary>
    public ulong R11;
    /// <summary>r10 (offset 56).</summary>
    public ulong R10;
    /// <summary>r9, the sixth argument (offset 64).</summary>
    public ulong R9;
    /// <summary>r8, the fifth argument (offset 72).</summary>
    public ulong R8;
    /// <summary>rax, the return value (offset 80).</summary>
    public ulong Ax;
    /// <summary>rcx, the fourth argument (offset 88).</summary>
    public ulong Cx;
    /// <summary>rdx, the third argument (offset 96).</summary>
    public ulong Dx;
    /// <summary>rsi, the second argument (offset 104).</summary>
    public ulong Si;
    /// <summary>rdi, the first argument (offset 112).</summary>
    public ulong Di;
    /// <summary>orig_rax: the system call number on syscall entry (offset 120).</summary>
    public ulong OrigAx;
    /// <summary>rip (offset 128).</summary>
    public ulong Ip;
    /// <summary>cs (offset 136).</summary>
    public ulong Cs;
    /// <summary>rflags (offset 144).</summary>
    public ulong Flags;
    /// <summary>rsp (offset 152).</summary>
    public ulong Sp;
    /// <summary>ss (offset 160).</summary>
    public ulong Ss;
}

/// <summary>
/// A read-only tracing context supplied by the host: a <see cref="PtRegs"/> for kprobes, or the raw bytes of a
/// tracepoint record or raw tracepoint argument array. Any aligned load inside it is allowed, as for the kernel's
/// raw contexts; stores fault.
/// </summary>
public sealed class TracingContext : ProgramContext
{
    private readonly byte[] _bytes;

    /// <summary>Creates a context of <paramref name="size"/> zero bytes named <paramref name="name"/>.</summary>
    public TracingContext(int size, string name = "tracing context") : base(ContextLayout.Raw(name, size), MemoryAccess.Read)
    {
        _bytes = new byte[size];
    }

    /// <summary>Creates a kprobe context holding <paramref name="registers"/>.</summary>
    public TracingContext(PtRegs registers) : this(PtRegs.Size, "pt_regs") => SetRegisters(registers);

    /// <summary>Creates a context holding a copy of <paramref name="bytes"/> (a tracepoint record...).</summary>
    public TracingContext(ReadOnlySpan<byte> bytes, string name = "tracing context") : this(bytes.Length, name) => bytes.CopyTo(_bytes);

    /// <summary>The bytes the next run sees; change them between runs.</summary>
    public Span<byte> Bytes => _bytes;

    /// <summary>Replaces the bytes with <paramref name="registers"/>.</summary>
    /// <exception cref="InvalidOperationException">The context is smaller than <see cref="PtRegs.Size"/>.</exception>
    public void SetRegisters(PtRegs registers)
    {
        if (_bytes.Length < PtRegs.Size)
        {
            throw new InvalidOperationException($"this context has {_bytes.Length} bytes; pt_regs needs {PtRegs.Size}");
        }

        MemoryMarshal.Write(_bytes, in registers);
    }

    /// <inheritdoc/>
    private protected override void BeforeRun() => _bytes.CopyTo(ContextRegion.AsSpan());
}
