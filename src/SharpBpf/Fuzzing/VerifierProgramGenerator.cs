using System.Globalization;
using System.Text;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Objects;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Verification;

namespace SharpBpf.Fuzzing;

/// <summary>One generated program: its type, its assembly text and its instructions.</summary>
/// <param name="Type">The program type it is verified and run as.</param>
/// <param name="Source">The LLVM-syntax assembly it was assembled from (labels kept, for reports).</param>
/// <param name="Instructions">The instructions; maps are referred to by index (<c>map[idx:N]</c>) into <see cref="VerifierProgramGenerator.Maps"/>.</param>
public sealed record VerifierFuzzCase(ProgramType Type, string Source, Instruction[] Instructions)
{
    /// <summary>What each subprogram is (in program order, main excluded); every one is static when empty.</summary>
    public IReadOnlyList<FuzzFunctionKind> Functions { get; init; } = [];

    /// <summary>The verifier options the program is verified with: its type, the generator's maps and its functions' BTF.</summary>
    public VerifierOptions Options(int logLevel = 0, TimeSpan? timeLimit = null) => new()
    {
        ProgramType = Type,
        Maps = VerifierProgramGenerator.Maps,
        FunctionInfo = FuzzFunctionBtf.FunctionInfo(Instructions, Functions),
        ProgramBtf = FuzzFunctionBtf.Spec,
        LogLevel = logLevel,
        TimeLimit = timeLimit,
    };
}

/// <summary>
/// Builds random programs that look like real ones, for differential testing of the verifier: stack spills and
/// fills, map lookups with and without the null check, map value and packet accesses with and without the bounds
/// checks that make them safe (constant and variable offsets), context reads and writes (valid fields and not),
/// helper calls (maps, ring buffer, <c>bpf_skb_load_bytes</c>, <c>bpf_xdp_adjust_head</c>, <c>bpf_loop</c>), bounded
/// loops and bpf-to-bpf calls. Each snippet is usually safe and sometimes carries one mistake a developer makes,
/// so a realistic share of programs is accepted.
/// </summary>
/// <remarks>
/// Conventions: r6 holds the context for the whole of main, r7 and r8 hold pointers inside a snippet, r9 is a
/// loop counter; r0-r5 are scratch (helper calls clobber r1-r5). Every program uses the fixed map set
/// <see cref="Maps"/> so one set of kernel maps serves every program.
/// </remarks>
/// <param name="random">The source of randomness (seeded for reproducible programs).</param>
public sealed class VerifierProgramGenerator(Random random)
{
    /// <summary>Index of the array map (key 4 bytes, value <see cref="ArrayValueSize"/> bytes, 4 entries).</summary>
    public const int ArrayMap = 0;

    /// <summary>Index of the hash map (key 8 bytes, value 16 bytes).</summary>
    public const int HashMap = 1;

    /// <summary>Index of the per-CPU array (key 4 bytes, value 8 bytes, 2 entries).</summary>
    public const int PerCpuArrayMap = 2;

    /// <summary>Index of the ring buffer (4096 bytes).</summary>
    public const int RingBufferMap = 3;

    /// <summary>The array map's value size.</summary>
    public const int ArrayValueSize = 32;

    /// <summary>The maps every generated program may use, by index.</summary>
    public static IReadOnlyList<VerifierMap> Maps { get; } =
    [
        new("fz_array", MapType.Array, 4, ArrayValueSize, 4),
        new("fz_hash", MapType.Hash, 8, 16, 64),
        new("fz_percpu", MapType.PerCpuArray, 4, 8, 2),
        new("fz_ringbuf", MapType.RingBuffer, 0, 0, 4096),
    ];

    private static readonly ProgramType[] Types =
        [ProgramType.Xdp, ProgramType.Xdp, ProgramType.SchedCls, ProgramType.SchedCls, ProgramType.SocketFilter, ProgramType.Kprobe, ProgramType.SockOps];
    private static readonly int[] Sizes = [1, 2, 4, 8];

    private readonly StringBuilder _text = new();
    private readonly List<string> _subprograms = [];
    private readonly List<FuzzFunctionKind> _functionKinds = [];
    private int _label;
    private ProgramType _type;

    /// <summary>The probability that a called subprogram is global, verified on its own from its prototype (default 0).</summary>
    public double GlobalFunctionRate { get; init; }

    /// <summary>The probability that a snippet carries a mistake (default 0.15).</summary>
    public double MistakeRate { get; init; } = 0.15;

    /// <summary>A new program.</summary>
    public VerifierFuzzCase Next()
    {
        _text.Clear();
        _subprograms.Clear();
        _functionKinds.Clear();
        _label = 0;
        _type = Types[random.Next(Types.Length)];
        Emit("r6 = r1");
        if (!Mistake())
        {
            // Most programs start with zeroed stack slots, as compiled code does for its structures.
            Emit("r1 = 0");
            for (int off = 8; off <= 64; off += 8)
            {
                Emit($"*(u64 *)(r10 - {off}) = r1");
            }
        }

        int snippets = 1 + random.Next(6);
        for (int i = 0; i < snippets; i++)
        {
            Snippet();
        }

        // sock_ops programs must return 0 or 1.
        Emit($"r0 = {random.Next(_type == ProgramType.SockOps && !Mistake() ? 2 : 4)}");
        Emit("exit");
        foreach (var sub in _subprograms)
        {
            _text.Append(sub);
        }

        string source = _text.ToString();
        try
        {
            return new VerifierFuzzCase(_type, source, Assembler.Assemble(source, AssemblySyntax.Llvm)) { Functions = [.. _functionKinds] };
        }
        catch (AssemblyException e)
        {
            // A generator bug: say which program.
            throw new InvalidOperationException($"generated program does not assemble: {e.Message}\n{source}", e);
        }
    }

    private bool IsPacketType => _type is ProgramType.Xdp or ProgramType.SchedCls;

    /// <summary>Whether the context holds packet pointers (sock_ops ones are read-only).</summary>
    private bool HasPacket => IsPacketType || _type == ProgramType.SockOps;

    private bool Mistake() => random.NextDouble() < MistakeRate;

    private bool Chance(double p) => random.NextDouble() < p;

    private string NewLabel() => "L" + (_label++).ToString(CultureInfo.InvariantCulture);

    private void Emit(FormattableString line) => _text.Append("  ").Append(line.ToString(CultureInfo.InvariantCulture)).Append('\n');

    private void Emit(string line) => _text.Append("  ").Append(line).Append('\n');

    private void Label(string label) => _text.Append(label).Append(":\n");

    private static string At(string reg, int off) =>
        off >= 0 ? $"{reg} + {off.ToString(CultureInfo.InvariantCulture)}" : $"{reg} - {(-off).ToString(CultureInfo.InvariantCulture)}";

    private static string SizeName(int size) => size switch { 1 => "u8", 2 => "u16", 4 => "u32", _ => "u64" };

    private void Snippet()
    {
        switch (random.Next(11))
        {
            case 0:
                StackAccess();
                break;
            case 1:
            case 2:
                MapValueAccess();
                break;
            case 3:
            case 4:
                // sock_ops: its context (with the socket pointer) as often as its packet.
                if (HasPacket && (_type != ProgramType.SockOps || Chance(0.5)))
                {
                    PacketAccess();
                }
                else
                {
                    ContextAccess();
                }

                break;
            case 5:
                ContextAccess();
                break;
            case 10 when _type is ProgramType.Xdp or ProgramType.SchedCls && Chance(0.5):
                SocketLookup();
                break;
            case 6:
                HelperCall();
                break;
            case 7:
                BoundedLoop();
                break;
            case 8:
                LocalCall();
                break;
            case 9:
                ScalarArithmetic();
                break;
            default:
                RingBuffer();
                break;
        }
    }

    // ---- stack ----

    private void StackAccess()
    {
        int size = Sizes[random.Next(4)];
        int off = 8 * (1 + random.Next(8));
        if (Mistake())
        {
            off = random.Next(3) switch { 0 => off + 1 + random.Next(size), 1 => 512 + 8 * random.Next(2), _ => -8 };
        }

        string addr = off >= 0 ? $"r10 - {off}" : $"r10 + {-off}";
        switch (random.Next(4))
        {
            case 0:
                Emit($"*({SizeName(size)} *)({addr}) = {random.Next(-5, 300)}");
                Emit($"r0 = *({SizeName(size)} *)({addr})");
                break;
            case 1:
                // A pointer spilled and filled back, then used; a partial overwrite makes it a scalar.
                Emit($"*(u64 *)(r10 - {8 * (1 + random.Next(8))}) = r6");
                int slot = 8 * (1 + random.Next(8));
                Emit($"*(u64 *)(r10 - {slot}) = r6");
                if (Mistake())
                {
                    Emit($"*(u8 *)(r10 - {slot}) = 1");
                }

                Emit($"r1 = *(u64 *)(r10 - {slot})");
                Emit($"r0 = *(u32 *)(r1 + {ValidContextOffset()})");
                break;
            case 2:
                Emit($"r0 = *({SizeName(size)} *)({addr})");
                break;
            default:
                // A variable stack offset (bounded by a mask) used to write then read.
                Emit("call 7");
                Emit($"r0 &= {(Mistake() ? 0xff : 0x18)}");
                Emit("r1 = r10");
                Emit("r1 += -64");
                Emit("r1 += r0");
                Emit("*(u64 *)(r1 + 0) = 5");
                Emit("r0 = *(u64 *)(r10 - 64)");
                break;
        }
    }

    // ---- maps ----

    /// <summary>Emits a lookup leaving the value pointer (maybe null) in r0; returns the value size.</summary>
    private int Lookup(out int map)
    {
        map = random.Next(3);
        int keySize = map == HashMap ? 8 : 4;
        if (!Mistake())
        {
            Emit($"*({SizeName(keySize)} *)(r10 - 8) = {random.Next(map == ArrayMap ? 5 : 3)}");
        }

        Emit("r2 = r10");
        Emit($"r2 += {(Mistake() ? -4 - random.Next(2) * 8 : -8)}");
        Emit($"r1 = map[idx:{map}]");
        Emit("call 1");
        return (int)Maps[map].ValueSize;
    }

    private void MapValueAccess()
    {
        int valueSize = Lookup(out _);
        string skip = NewLabel();
        if (!Mistake())
        {
            Emit($"if r0 == 0 goto {skip}");
        }

        int size = Sizes[random.Next(4)];
        switch (random.Next(4))
        {
            case 0:
            {
                int off = random.Next(valueSize / size) * size;
                if (Mistake())
                {
                    off = valueSize - size + 1 + random.Next(8);
                }

                Emit($"r1 = *({SizeName(size)} *)({At("r0", off)})");
                Emit($"*({SizeName(size)} *)({At("r0", off)}) = r1");
                break;
            }

            case 1:
            {
                // A variable index into the value, bounded by a mask or a comparison.
                Emit("r7 = r0");
                Emit("call 7");
                if (Chance(0.5))
                {
                    int mask = Mistake() ? valueSize * 2 - 1 : valueSize - size;
                    Emit($"r0 &= {mask}");
                }
                else if (!Mistake())
                {
                    Emit($"if r0 > {valueSize - size} goto {skip}");
                }

                Emit("r7 += r0");
                Emit($"r1 = *({SizeName(size)} *)(r7 + 0)");
                break;
            }

            case 2:
                // Copy the value with bpf_map_update_elem into the hash map.
                Emit("r3 = r0");
                Emit("*(u64 *)(r10 - 16) = 1");
                Emit("r2 = r10");
                Emit("r2 += -16");
                Emit($"r1 = map[idx:{HashMap}]");
                Emit("r4 = 0");
                Emit("call 2");
                break;
            default:
                // Atomics on the value (aligned, as compilers emit them).
                int atomicOff = Mistake() ? valueSize : 8 * random.Next(valueSize / 8);
                Emit("r1 = 1");
                Emit(random.Next(2) == 0
                    ? $"lock *(u64 *)(r0 + {atomicOff}) += r1"
                    : $"r1 = atomic_fetch_add((u64 *)(r0 + {atomicOff}), r1)");
                break;
        }

        Label(skip);
    }

    // ---- packets ----

    private (int Data, int DataEnd, int DataMeta) PacketOffsets() => _type switch
    {
        ProgramType.Xdp => (0, 4, 8),
        ProgramType.SockOps => (SockOpsSkbData, SockOpsSkbData + 8, -1),
        _ => (76, 80, 140),
    };

    private void PacketAccess()
    {
        var (dataOff, endOff, metaOff) = PacketOffsets();
        string skip = NewLabel();
        bool meta = _type == ProgramType.Xdp && Chance(0.15);
        // sock_ops holds real pointers (8 bytes); the other contexts 32-bit fields the kernel converts.
        string pointerSize = _type == ProgramType.SockOps ? "u64" : "u32";
        Emit($"r7 = *({pointerSize} *)(r6 + {(meta ? metaOff : dataOff)})");
        Emit($"r8 = *({pointerSize} *)(r6 + {(meta ? dataOff : endOff)})");
        int checkedLength = Sizes[random.Next(4)] * (1 + random.Next(6));
        Emit("r1 = r7");
        Emit($"r1 += {checkedLength}");
        if (!Mistake())
        {
            Emit(random.Next(3) switch
            {
                0 => $"if r1 > r8 goto {skip}",
                1 => $"if r8 < r1 goto {skip}",
                _ => $"if r1 >= r8 goto {skip}",
            });
        }
        else
        {
            Emit(random.Next(2) == 0 ? $"if r1 < r8 goto {skip}" : $"if r7 > r8 goto {skip}");
        }

        int size = Sizes[random.Next(4)];
        switch (random.Next(3))
        {
            case 0:
            {
                int off = size > checkedLength ? 0 : random.Next(checkedLength - size + 1);
                if (Mistake())
                {
                    off = checkedLength - size + 1;
                }

                Emit($"r0 = *({SizeName(size)} *)({At("r7", off)})");
                if (IsPacketType ? Chance(0.5) : Mistake())
                {
                    Emit($"*({SizeName(size)} *)({At("r7", off)}) = r0");
                }

                break;
            }

            case 1:
            {
                // A variable offset from packet bytes, checked again against data_end.
                Emit("r0 = *(u8 *)(r7 + 0)");
                Emit($"r0 &= {(Mistake() ? -1 : 0x3f)}");
                Emit("r7 += r0");
                Emit("r1 = r7");
                Emit($"r1 += {size}");
                if (!Mistake())
                {
                    Emit($"if r1 > r8 goto {skip}");
                }

                Emit($"r0 = *({SizeName(size)} *)(r7 + 0)");
                break;
            }

            default:
                // A helper that may move the packet: pointers from before it are invalid afterwards.
                if (_type == ProgramType.Xdp)
                {
                    Emit("r1 = r6");
                    Emit($"r2 = {(random.Next(2) == 0 ? 4 : -4)}");
                    Emit("call 44");
                }
                else if (_type == ProgramType.SockOps)
                {
                    // No sock_ops helper SharpBPF models moves the packet: a helper that leaves pointers valid.
                    Emit("call 7");
                }
                else
                {
                    Emit("r1 = r6");
                    Emit("r2 = 0");
                    Emit("r3 = r10");
                    Emit("r3 += -8");
                    Emit("r4 = 4");
                    Emit("r5 = 0");
                    Emit("call 9");
                }

                if (Mistake())
                {
                    Emit("r0 = *(u8 *)(r7 + 0)");
                }

                break;
        }

        Label(skip);
    }

    // ---- context ----

    private ContextLayout? Layout => _type switch
    {
        ProgramType.Xdp => ContextLayouts.Xdp,
        ProgramType.SocketFilter => ContextLayouts.SocketFilter,
        ProgramType.SchedCls => ContextLayouts.TrafficControl,
        _ => null,
    };

    private int ValidContextOffset()
    {
        if (Layout is not { } layout)
        {
            return 8 * random.Next(ProgramContexts.PtRegsSize / 8);
        }

        var fields = layout.Fields.Where(f => f.Size >= 4 && f.Kind == ContextFieldKind.Scalar).ToList();
        var field = fields[random.Next(fields.Count)];
        return field.Offset + 4 * random.Next(field.Size / 4);
    }

    private void ContextAccess()
    {
        if (_type == ProgramType.SockOps)
        {
            SockOpsContextAccess();
            return;
        }

        if (Layout is not { } layout)
        {
            int off = Mistake() ? ProgramContexts.PtRegsSize + 8 * random.Next(3) : 8 * random.Next(ProgramContexts.PtRegsSize / 8);
            int size = Mistake() ? Sizes[random.Next(3)] : 8;
            Emit($"r0 = *({SizeName(size)} *)({At("r6", off)})");
            return;
        }

        var field = layout.Fields[random.Next(layout.Fields.Length)];
        int accessSize = field.Size == 8 ? 8 : field.Size == 1 ? 1 : Mistake() ? 8 : 4;
        int offset = field.Offset + (field.Size > 4 && accessSize == 4 ? 4 * random.Next(field.Size / 4) : 0);
        if (Mistake())
        {
            offset = random.Next(layout.Size + 16);
        }

        if (field.Name == "sk")
        {
            // The socket pointer: null-checked and dereferenced, or (wrongly) used as a number.
            Emit($"r1 = *(u64 *)({At("r6", offset)})");
            string skip = NewLabel();
            Emit($"if r1 == 0 goto {skip}");
            if (_type == ProgramType.SchedCls && Chance(0.5))
            {
                SocketCast("r1", skip);
            }
            else
            {
                Emit(Mistake() ? "r1 += 4" : "r0 = *(u32 *)(r1 + 4)");
            }

            Emit("r0 = r1");
            Label(skip);
            return;
        }

        if (field.Writable && Chance(0.5) || Mistake())
        {
            Emit($"r1 = {random.Next(100)}");
            Emit($"*({SizeName(accessSize)} *)({At("r6", offset)}) = r1");
        }
        else
        {
            Emit($"r0 = *({SizeName(accessSize)} *)({At("r6", offset)})");
        }
    }

    // ---- sockets ----

    private const int SockOpsSk = 184, SockOpsSkbData = 192;

    // struct bpf_sock reads the kernel allows (offset, size): 4-byte fields, narrow reads of the addresses and ports.
    private static readonly (int Off, int Size)[] SockReads =
        [(0, 4), (4, 4), (8, 4), (12, 4), (16, 4), (20, 4), (24, 4), (24, 1), (26, 2), (28, 4), (40, 4), (44, 4), (48, 2), (48, 4), (52, 4), (56, 4), (72, 4), (76, 4)];

    // struct bpf_sock_ops: the 4-byte fields up to sk_txhash, the 8-byte counters, skb_len, skb_tcp_flags, skb_hwtstamp.
    private (int Off, int Size) SockOpsScalarField() => random.Next(6) switch
    {
        0 => (168 + (8 * random.Next(2)), 8),
        1 => (208, 4),
        2 => (212, Sizes[random.Next(3)]),
        3 => (216, 8),
        _ => (4 * random.Next(42), 4),
    };

    /// <summary>A read of a field of the socket in <paramref name="reg"/> (not null), or one of the mistakes made with it.</summary>
    private void SockFieldRead(string reg)
    {
        var (off, size) = SockReads[random.Next(SockReads.Length)];
        if (Mistake())
        {
            switch (random.Next(3))
            {
                case 0:
                    (off, size) = (random.Next(88), Sizes[random.Next(4)]);
                    break;
                case 1:
                    Emit($"*(u32 *)({At(reg, off)}) = 0");
                    return;
                default:
                    Emit($"{reg} += 4");
                    break;
            }
        }

        Emit($"r0 = *({SizeName(size)} *)({At(reg, off)})");
    }

    /// <summary>bpf_tcp_sock or bpf_sk_fullsock of the socket in <paramref name="reg"/>, its result null-checked (usually) and read.</summary>
    private void SocketCast(string reg, string skip)
    {
        bool tcp = _type == ProgramType.SockOps || Chance(0.5);
        if (reg != "r1")
        {
            Emit($"r1 = {reg}");
        }

        Emit($"call {(tcp ? 96 : 95)}");
        if (!Mistake())
        {
            Emit($"if r0 == 0 goto {skip}");
        }

        if (!tcp)
        {
            SockFieldRead("r0");
            return;
        }

        // struct bpf_tcp_sock: 4-byte fields, and bytes_received/bytes_acked of 8.
        int off = random.Next(3) == 0 ? 80 + (8 * random.Next(2)) : 4 * random.Next(20);
        int size = off is 80 or 88 ? 8 : 4;
        if (Mistake())
        {
            (off, size) = (random.Next(120), Sizes[random.Next(4)]);
        }

        Emit($"r0 = *({SizeName(size)} *)({At("r0", off)})");
    }

    /// <summary>A sock_ops context access: fields, the two writable ones, and the socket pointer <c>sk</c>.</summary>
    private void SockOpsContextAccess()
    {
        switch (random.Next(4))
        {
            case 0:
            {
                var (off, size) = SockOpsScalarField();
                if (Mistake())
                {
                    (off, size) = (random.Next(ProgramContexts.SockOpsSize + 8), Sizes[random.Next(4)]);
                }

                Emit($"r0 = *({SizeName(size)} *)({At("r6", off)})");
                break;
            }

            case 1:
            {
                // reply and sk_txhash are the writable fields.
                int off = Mistake() ? 4 * random.Next(ProgramContexts.SockOpsSize / 4) : random.Next(2) == 0 ? 4 : 164;
                Emit($"r1 = {random.Next(100)}");
                Emit($"*({SizeName(Mistake() ? 8 : 4)} *)({At("r6", off)}) = r1");
                break;
            }

            default:
            {
                // The socket: maybe NULL, read through or cast to a tcp_sock.
                string skip = NewLabel();
                Emit($"r7 = *({SizeName(Mistake() ? 4 : 8)} *)({At("r6", SockOpsSk)})");
                if (!Mistake())
                {
                    Emit($"if r7 == 0 goto {skip}");
                }

                if (Chance(0.5))
                {
                    SockFieldRead("r7");
                }
                else
                {
                    SocketCast("r7", skip);
                }

                Label(skip);
                break;
            }
        }
    }

    /// <summary>bpf_sk_lookup_tcp/udp or bpf_skc_lookup_tcp on a zeroed tuple: the socket read, cast, and released (or not).</summary>
    private void SocketLookup()
    {
        string skip = NewLabel();
        Emit("*(u64 *)(r10 - 16) = 0");
        Emit("*(u64 *)(r10 - 8) = 0");
        Emit("r1 = r6");
        Emit("r2 = r10");
        Emit("r2 += -16");
        Emit($"r3 = {(Mistake() ? 40 : 12)}");
        Emit("r4 = -1");
        Emit("r5 = 0");
        Emit($"call {(random.Next(3) switch { 0 => 84, 1 => 85, _ => 99 })}");
        if (!Mistake())
        {
            Emit($"if r0 == 0 goto {skip}");
        }

        Emit("r7 = r0");
        string release = NewLabel();
        if (Chance(0.5))
        {
            SockFieldRead("r7");
        }
        else if (_type == ProgramType.SchedCls)
        {
            // The cast shares the socket's reference: a NULL result still holds it, to be released below.
            SocketCast("r7", release);
            if (Mistake())
            {
                Emit("r7 = r0");
            }
        }

        Label(release);
        if (!Mistake())
        {
            Emit("r1 = r7");
            Emit("call 86");
        }

        if (Mistake())
        {
            Emit("r0 = *(u32 *)(r7 + 4)");
        }

        Label(skip);
    }

    // ---- helpers ----

    private void HelperCall()
    {
        switch (random.Next(5))
        {
            case 0:
                Emit($"call {(random.Next(3) switch { 0 => 5, 1 => 7, _ => 8 })}");
                Emit("r7 = r0");
                break;
            case 1:
                // Update or delete in the hash map with key and value on the stack.
                Emit("*(u64 *)(r10 - 8) = 2");
                if (!Mistake())
                {
                    Emit("*(u64 *)(r10 - 24) = 3");
                    Emit("*(u64 *)(r10 - 16) = 4");
                }

                Emit($"r1 = map[idx:{HashMap}]");
                Emit("r2 = r10");
                Emit("r2 += -8");
                if (Chance(0.6))
                {
                    Emit("r3 = r10");
                    Emit($"r3 += {(Mistake() ? -20 : -24)}");
                    Emit("r4 = 0");
                    Emit("call 2");
                }
                else
                {
                    Emit("call 3");
                }

                break;
            case 2 when _type is ProgramType.SchedCls or ProgramType.SocketFilter:
            {
                // bpf_skb_load_bytes into a stack buffer, with a constant or bounded length.
                Emit("r1 = r6");
                Emit($"r2 = {random.Next(20)}");
                Emit("r3 = r10");
                Emit("r3 += -32");
                if (Chance(0.5))
                {
                    Emit($"r4 = {(Mistake() ? 40 : 1 + random.Next(32))}");
                }
                else
                {
                    Emit("r4 = *(u32 *)(r6 + 0)");
                    Emit($"r4 &= {(Mistake() ? 63 : 31)}");
                    Emit("r4 += 1");
                }

                Emit("call 26");
                Emit("r0 = *(u64 *)(r10 - 32)");
                break;
            }

            case 3:
                // bpf_csum_diff over stack memory.
                Emit("r1 = r10");
                Emit("r1 += -16");
                Emit($"r2 = {(Mistake() ? 24 : 8)}");
                Emit("r3 = 0");
                Emit("r4 = 0");
                Emit("r5 = 0");
                if (_type is ProgramType.Kprobe or ProgramType.SocketFilter or ProgramType.SockOps)
                {
                    Emit("call 7"); // csum_diff is a networking helper: keep kprobe and socket filter programs to the common ones
                }
                else
                {
                    Emit("call 28");
                }

                break;
            default:
                // bpf_loop with a callback that reads its context (a stack pointer).
                string callback = "cb" + _subprograms.Count.ToString(CultureInfo.InvariantCulture);
                Emit($"r1 = {1 + random.Next(Mistake() ? 100_000 : 16)}"); // bpf_loop's limit is 1 << 23: verifying the callback once covers any count
                Emit($"r2 = subprog[{callback}] ll");
                Emit("r3 = r10");
                Emit("r3 += -8");
                Emit("r4 = 0");
                Emit("call 181");
                var cb = new StringBuilder();
                cb.Append(callback).Append(":\n");
                cb.Append("  r0 = *(u64 *)(r2 + 0)\n");
                cb.Append(CultureInfo.InvariantCulture, $"  r0 = {(Mistake() ? 7 : random.Next(2))}\n");
                cb.Append("  exit\n");
                _subprograms.Add(cb.ToString());
                _functionKinds.Add(FuzzFunctionKind.Static);
                break;
        }
    }

    private void RingBuffer()
    {
        string skip = NewLabel();
        int size = 8 * (1 + random.Next(4));
        Emit($"r1 = map[idx:{RingBufferMap}]");
        Emit($"r2 = {size}");
        Emit("r3 = 0");
        Emit("call 131");
        if (!Mistake())
        {
            Emit($"if r0 == 0 goto {skip}");
        }

        int off = Mistake() ? size : 8 * random.Next(size / 8);
        Emit($"*(u64 *)({At("r0", off)}) = 1");
        if (!Mistake())
        {
            Emit("r1 = r0");
            Emit("r2 = 0");
            Emit($"call {(random.Next(2) == 0 ? 132 : 133)}");
        }

        Label(skip);
    }

    // ---- loops and calls ----

    private void BoundedLoop()
    {
        string loop = NewLabel();
        int bound = 1 + random.Next(Mistake() ? 3000 : 24);
        Emit("r9 = 0");
        Emit("r7 = 0");
        Label(loop);
        switch (random.Next(3))
        {
            case 0:
                Emit("r7 += r9");
                break;
            case 1:
                // Walk a stack buffer with the counter: safe while the counter stays within 8 slots.
                Emit("r1 = r9");
                Emit($"r1 &= {(Mistake() ? 15 : 7)}");
                Emit("r1 <<= 3");
                Emit("r2 = r10");
                Emit("r2 += -64");
                Emit("r2 += r1");
                Emit("r7 = *(u64 *)(r2 + 0)");
                break;
            default:
                Emit("call 7");
                Emit("r7 ^= r0");
                break;
        }

        Emit("r9 += 1");
        Emit(Mistake() && Chance(0.2) ? $"if r9 != r7 goto {loop}" : $"if r9 < {bound} goto {loop}");
    }

    private void LocalCall()
    {
        string name = "sub" + _subprograms.Count.ToString(CultureInfo.InvariantCulture);
        var sub = new StringBuilder();
        sub.Append(name).Append(":\n");

        // Drawn only when asked for, so that the programs of a seed stay the same without global functions.
        bool global = GlobalFunctionRate > 0 && random.NextDouble() < GlobalFunctionRate;
        var kind = FuzzFunctionKind.Static;
        switch (random.Next(4))
        {
            case 0:
                Emit("r1 = 3");
                Emit("r2 = r9");
                Emit($"call {name}");
                sub.Append("  r0 = r1\n  r0 += r2\n  exit\n");
                kind = FuzzFunctionKind.GlobalScalars;
                break;
            case 1:
                // The caller's stack through a pointer argument; a global function gets memory that may be NULL.
                Emit("r1 = r10");
                Emit($"r1 += {(Mistake() ? -4 : -8)}");
                Emit($"call {name}");
                if (global && !Mistake())
                {
                    sub.Append("  r0 = 0\n  if r1 == 0 goto +2\n");
                }

                sub.Append("  r0 = *(u64 *)(r1 + 0)\n  *(u64 *)(r1 + 0) = 7\n  exit\n");
                kind = FuzzFunctionKind.GlobalMemory;
                break;
            case 2:
                // The context as an argument.
                Emit(Mistake() ? "r1 = r10" : "r1 = r6");
                Emit($"call {name}");
                sub.Append(CultureInfo.InvariantCulture, $"  r0 = *(u32 *)(r1 + {ValidContextOffset()})\n  exit\n");
                kind = FuzzFunctionKind.GlobalContext;
                break;
            default:
                // The callee's own stack.
                Emit("r1 = 9");
                Emit($"call {name}");
                sub.Append(CultureInfo.InvariantCulture, $"  *(u64 *)(r10 - {(Mistake() ? 520 : 16)}) = r1\n  r0 = *(u64 *)(r10 - 16)\n  exit\n");
                kind = FuzzFunctionKind.GlobalScalar;
                break;
        }

        _subprograms.Add(sub.ToString());
        _functionKinds.Add(global ? kind : FuzzFunctionKind.Static);
    }

    private void ScalarArithmetic()
    {
        string[] ops = ["+=", "-=", "*=", "/=", "%=", "|=", "&=", "^=", "<<=", ">>=", "s>>="];
        Emit("call 7");
        Emit("r1 = r0");
        int steps = 1 + random.Next(4);
        for (int i = 0; i < steps; i++)
        {
            string op = ops[random.Next(ops.Length)];
            int operand = op.Contains("<<", StringComparison.Ordinal) || op.Contains(">>", StringComparison.Ordinal)
                ? Mistake() ? 64 + random.Next(8) : random.Next(64)
                : random.Next(-16, 300);
            string reg = random.Next(2) == 0 ? "r1" : "w1";
            Emit($"{reg} {op} {operand}");
        }

        Emit("r7 = r1");

        // The result as an offset into the array value: safe only when bounded.
        Lookup(out int map);
        string skip = NewLabel();
        Emit($"if r0 == 0 goto {skip}");
        if (!Mistake())
        {
            Emit($"if r7 > {(int)Maps[map].ValueSize - 1} goto {skip}");
        }

        Emit("r0 += r7");
        Emit("r0 = *(u8 *)(r0 + 0)");
        Label(skip);
    }
}
