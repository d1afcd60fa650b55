namespace SharpBpf.Verification;

/// <summary>What a register (or a spilled stack slot) holds, as the kernel's <c>enum bpf_reg_type</c> base types.</summary>
public enum RegisterType : byte
{
    /// <summary>Never written: reading it is an error (<c>NOT_INIT</c>).</summary>
    NotInit,
    /// <summary>A number (<c>SCALAR_VALUE</c>).</summary>
    Scalar,
    /// <summary>The program's context (<c>PTR_TO_CTX</c>).</summary>
    Context,
    /// <summary>A map (<c>CONST_PTR_TO_MAP</c>), from <c>lddw rX, map</c>.</summary>
    MapPointer,
    /// <summary>A map value (<c>PTR_TO_MAP_VALUE</c>).</summary>
    MapValue,
    /// <summary>A map key handed to a callback (<c>PTR_TO_MAP_KEY</c>).</summary>
    MapKey,
    /// <summary>The stack of a frame (<c>PTR_TO_STACK</c>).</summary>
    Stack,
    /// <summary>Packet data (<c>PTR_TO_PACKET</c>).</summary>
    Packet,
    /// <summary>Packet metadata (<c>PTR_TO_PACKET_META</c>).</summary>
    PacketMeta,
    /// <summary>The end of the packet (<c>PTR_TO_PACKET_END</c>).</summary>
    PacketEnd,
    /// <summary>Sized memory, such as a ring buffer reservation (<c>PTR_TO_MEM</c>).</summary>
    Memory,
    /// <summary>A BPF function (<c>PTR_TO_FUNC</c>), from <c>lddw rX, func</c>.</summary>
    Function,
    /// <summary>A socket's common part (<c>PTR_TO_SOCK_COMMON</c>), as <c>__sk_buff.sk</c> loads it (or null).</summary>
    SockCommon,
    /// <summary>A kernel object typed by BTF (<c>PTR_TO_BTF_ID</c>); <see cref="RegisterState.MapIndex"/> says which type (<see cref="BtfPointerTypes"/>).</summary>
    BtfId,
    /// <summary>A full socket (<c>PTR_TO_SOCKET</c>): from a lookup helper or a socket map (holding a reference until released), <c>bpf_sk_fullsock</c> or <c>bpf_sock_ops.sk</c>.</summary>
    Socket,
    /// <summary>A TCP socket's <c>struct bpf_tcp_sock</c> view (<c>PTR_TO_TCP_SOCK</c>), from <c>bpf_tcp_sock</c>.</summary>
    TcpSock,
    /// <summary>An AF_XDP socket (<c>PTR_TO_XDP_SOCK</c>), from a lookup in an XSKMAP.</summary>
    XdpSock,
}

/// <summary>Modifiers of a register type (the kernel's type flags).</summary>
[Flags]
public enum RegisterTypeFlags : byte
{
    /// <summary>None.</summary>
    None = 0,
    /// <summary>The pointer may be NULL until a comparison proves otherwise (<c>PTR_MAYBE_NULL</c>).</summary>
    MaybeNull = 1,
    /// <summary>Memory reserved in a ring buffer (<c>MEM_RINGBUF</c>).</summary>
    Ringbuf = 2,
    /// <summary>Read-only memory (<c>MEM_RDONLY</c>).</summary>
    ReadOnly = 4,
    /// <summary>A BTF pointer known valid (<c>PTR_TRUSTED</c>).</summary>
    Trusted = 8,
    /// <summary>A BTF pointer valid inside the RCU read section (<c>MEM_RCU</c>).</summary>
    Rcu = 16,
    /// <summary>A BTF pointer only read through probe loads (<c>PTR_UNTRUSTED</c>).</summary>
    Untrusted = 32,
    /// <summary>A BTF pointer into user memory (<c>MEM_USER</c>, the <c>__user</c> tag): not readable directly.</summary>
    User = 64,
    /// <summary>A BTF pointer to per-CPU data (<c>MEM_PERCPU</c>, the <c>__percpu</c> tag): not readable directly.</summary>
    PerCpu = 128,
}

/// <summary>
/// The abstract state of one register: its type, a fixed offset for pointers, and the scalar domain (a tnum plus
/// signed and unsigned 64- and 32-bit bounds) that is the value of a scalar or the variable offset of a pointer.
/// Mirrors the kernel's <c>struct bpf_reg_state</c>.
/// </summary>
public struct RegisterState : IEquatable<RegisterState>
{
    /// <summary>The base type.</summary>
    public RegisterType Type;
    /// <summary>Type modifiers.</summary>
    public RegisterTypeFlags Flags;
    /// <summary>Whether this scalar's exact value matters to a safety decision (precision tracking).</summary>
    public bool Precise;
    /// <summary>Whether the register was written since the last state checkpoint (the log's <c>_w</c>).</summary>
    public bool Written;
    /// <summary>The fixed part of a pointer's offset.</summary>
    public int Off;
    /// <summary>Packet pointers: bytes known to be inside the packet from the pointer; negative values are the kernel's BEYOND_PKT_END / AT_PKT_END marks.</summary>
    public int Range;
    /// <summary>Map pointers, map values and keys: the index of the map in <see cref="VerifierOptions.Maps"/>. BTF pointers: the <see cref="BtfPointerTypes"/> index of their type.</summary>
    public int MapIndex;
    /// <summary><see cref="RegisterType.Memory"/>: its size in bytes.</summary>
    public int MemSize;
    /// <summary>Stack pointers: the frame whose stack it points into. Function pointers: the target pc.</summary>
    public int FrameNo;
    /// <summary>The identity shared by copies of a value (null checks and range learning apply to every copy).</summary>
    public int Id;
    /// <summary>The reference this pointer holds (ring buffer reservations, looked-up sockets), or 0.</summary>
    public int RefObjId;
    /// <summary>Known bits of the value (scalars) or variable offset (pointers).</summary>
    public Tnum VarOff;
    /// <summary>Signed 64-bit minimum.</summary>
    public long SMin;
    /// <summary>Signed 64-bit maximum.</summary>
    public long SMax;
    /// <summary>Unsigned 64-bit minimum.</summary>
    public ulong UMin;
    /// <summary>Unsigned 64-bit maximum.</summary>
    public ulong UMax;
    /// <summary>Signed 32-bit minimum of the low half.</summary>
    public int S32Min;
    /// <summary>Signed 32-bit maximum of the low half.</summary>
    public int S32Max;
    /// <summary>Unsigned 32-bit minimum of the low half.</summary>
    public uint U32Min;
    /// <summary>Unsigned 32-bit maximum of the low half.</summary>
    public uint U32Max;

    /// <summary>A scalar known to be <paramref name="value"/>.</summary>
    public static RegisterState Known(ulong value)
    {
        var r = default(RegisterState);
        r.Type = RegisterType.Scalar;
        r.SetKnown(value);
        return r;
    }

    /// <summary>A scalar about which nothing is known.</summary>
    public static RegisterState UnknownScalar()
    {
        var r = default(RegisterState);
        r.Type = RegisterType.Scalar;
        r.SetUnbounded();
        return r;
    }

    /// <summary>A pointer of the given type with zero offsets.</summary>
    public static RegisterState Pointer(RegisterType type, RegisterTypeFlags flags = RegisterTypeFlags.None)
    {
        var r = Known(0);
        r.Type = type;
        r.Flags = flags;
        return r;
    }

    /// <summary>Whether the whole 64-bit value is known.</summary>
    public readonly bool IsConst => VarOff.IsConst;

    /// <summary>Whether this is a pointer (anything but a scalar or uninitialised).</summary>
    public readonly bool IsPointer => Type is not (RegisterType.Scalar or RegisterType.NotInit);

    /// <summary>Whether this is a pointer into packet data or metadata.</summary>
    public readonly bool IsPacketPointer => Type is RegisterType.Packet or RegisterType.PacketMeta;

    /// <summary>Whether it may be NULL.</summary>
    public readonly bool MaybeNull => (Flags & RegisterTypeFlags.MaybeNull) != 0;

    /// <summary>Whether the concrete value <paramref name="x"/> is allowed by the scalar domain (tnum and all bounds).</summary>
    public readonly bool Contains(ulong x) =>
        VarOff.Contains(x) && (long)x >= SMin && (long)x <= SMax && x >= UMin && x <= UMax &&
        (int)x >= S32Min && (int)x <= S32Max && (uint)x >= U32Min && (uint)x <= U32Max;

    /// <summary>Whether the bounds are consistent with one another (some value may exist).</summary>
    public readonly bool BoundsConsistent =>
        UMin <= UMax && SMin <= SMax && U32Min <= U32Max && S32Min <= S32Max &&
        UMin <= (VarOff.Value | VarOff.Mask) && UMax >= VarOff.Value &&
        U32Min <= (uint)(VarOff.Value | VarOff.Mask) && U32Max >= (uint)VarOff.Value;

    /// <summary>Sets the scalar domain to exactly <paramref name="value"/> (the kernel's <c>___mark_reg_known</c>).</summary>
    public void SetKnown(ulong value)
    {
        VarOff = Tnum.Const(value);
        SMin = SMax = (long)value;
        UMin = UMax = value;
        S32Min = S32Max = (int)value;
        U32Min = U32Max = (uint)value;
    }

    /// <summary>Sets the low 32 bits to exactly <paramref name="value"/>.</summary>
    public void SetKnown32(uint value)
    {
        VarOff = VarOff.WithConstSubreg(value);
        S32Min = S32Max = (int)value;
        U32Min = U32Max = value;
    }

    /// <summary>Forgets every bound and bit.</summary>
    public void SetUnbounded()
    {
        VarOff = Tnum.Unknown;
        SetUnbounded64();
        SetUnbounded32();
    }

    /// <summary>Forgets the 64-bit bounds.</summary>
    public void SetUnbounded64()
    {
        SMin = long.MinValue;
        SMax = long.MaxValue;
        UMin = 0;
        UMax = ulong.MaxValue;
    }

    /// <summary>Forgets the 32-bit bounds.</summary>
    public void SetUnbounded32()
    {
        S32Min = int.MinValue;
        S32Max = int.MaxValue;
        U32Min = 0;
        U32Max = uint.MaxValue;
    }

    /// <summary>Makes this an unknown scalar (the kernel's <c>mark_reg_unknown</c>), dropping ids and pointer facts.</summary>
    public void MakeUnknownScalar()
    {
        this = UnknownScalar();
    }

    /// <inheritdoc/>
    public readonly bool Equals(RegisterState other) =>
        Type == other.Type && Flags == other.Flags && Off == other.Off && Range == other.Range && MapIndex == other.MapIndex &&
        MemSize == other.MemSize && FrameNo == other.FrameNo && Id == other.Id && RefObjId == other.RefObjId &&
        VarOff == other.VarOff && SameBounds(other);

    /// <summary>Whether the numeric bounds are identical.</summary>
    public readonly bool SameBounds(in RegisterState other) =>
        SMin == other.SMin && SMax == other.SMax && UMin == other.UMin && UMax == other.UMax &&
        S32Min == other.S32Min && S32Max == other.S32Max && U32Min == other.U32Min && U32Max == other.U32Max;

    /// <inheritdoc/>
    public override readonly bool Equals(object? obj) => obj is RegisterState other && Equals(other);

    /// <inheritdoc/>
    public override readonly int GetHashCode() => HashCode.Combine(Type, Off, VarOff, SMin, UMax, Id);

    /// <summary>Equality.</summary>
    public static bool operator ==(RegisterState left, RegisterState right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(RegisterState left, RegisterState right) => !left.Equals(right);

    /// <summary>The kernel's log form of the register (without the <c>R1=</c> prefix).</summary>
    public override readonly string ToString() => VerifierFormat.Register(this, -1, null);
}
