namespace SharpBpf.Isa;

/// <summary>The instruction class: the low three bits of the opcode (RFC 9669 section 3.1).</summary>
public enum InstructionClass : byte
{
    /// <summary>Non-standard loads: the 64-bit immediate load and the legacy packet loads.</summary>
    Ld = 0x00,
    /// <summary>Load into a register from memory.</summary>
    Ldx = 0x01,
    /// <summary>Store an immediate to memory.</summary>
    St = 0x02,
    /// <summary>Store a register to memory, and the atomic operations.</summary>
    Stx = 0x03,
    /// <summary>32-bit arithmetic.</summary>
    Alu = 0x04,
    /// <summary>64-bit jumps, calls and exit.</summary>
    Jmp = 0x05,
    /// <summary>32-bit jumps.</summary>
    Jmp32 = 0x06,
    /// <summary>64-bit arithmetic.</summary>
    Alu64 = 0x07,
}

/// <summary>The source bit of arithmetic and jump opcodes (bit 3).</summary>
public enum OperandSource : byte
{
    /// <summary>The 32-bit immediate (BPF_K).</summary>
    Immediate = 0x00,
    /// <summary>The source register (BPF_X).</summary>
    Register = 0x08,
}

/// <summary>The operation of an arithmetic instruction (the high four bits of the opcode).</summary>
public enum AluOperation : byte
{
    /// <summary>dst += src</summary>
    Add = 0x00,
    /// <summary>dst -= src</summary>
    Sub = 0x10,
    /// <summary>dst *= src</summary>
    Mul = 0x20,
    /// <summary>dst /= src (signed when offset is 1)</summary>
    Div = 0x30,
    /// <summary>dst |= src</summary>
    Or = 0x40,
    /// <summary>dst &amp;= src</summary>
    And = 0x50,
    /// <summary>dst &lt;&lt;= src</summary>
    Lsh = 0x60,
    /// <summary>dst &gt;&gt;= src (logical)</summary>
    Rsh = 0x70,
    /// <summary>dst = -dst</summary>
    Neg = 0x80,
    /// <summary>dst %= src (signed when offset is 1)</summary>
    Mod = 0x90,
    /// <summary>dst ^= src</summary>
    Xor = 0xa0,
    /// <summary>dst = src (sign-extending when offset is 8, 16 or 32)</summary>
    Mov = 0xb0,
    /// <summary>dst &gt;&gt;= src (arithmetic)</summary>
    Arsh = 0xc0,
    /// <summary>Byte order conversion (le/be in the ALU class, unconditional bswap in ALU64).</summary>
    End = 0xd0,
}

/// <summary>The operation of a jump instruction (the high four bits of the opcode).</summary>
public enum JumpOperation : byte
{
    /// <summary>Unconditional jump (offset in JMP, 32-bit immediate in JMP32).</summary>
    Ja = 0x00,
    /// <summary>Jump if equal.</summary>
    Jeq = 0x10,
    /// <summary>Jump if greater, unsigned.</summary>
    Jgt = 0x20,
    /// <summary>Jump if greater or equal, unsigned.</summary>
    Jge = 0x30,
    /// <summary>Jump if dst &amp; src is not zero.</summary>
    Jset = 0x40,
    /// <summary>Jump if not equal.</summary>
    Jne = 0x50,
    /// <summary>Jump if greater, signed.</summary>
    Jsgt = 0x60,
    /// <summary>Jump if greater or equal, signed.</summary>
    Jsge = 0x70,
    /// <summary>Call a helper, a local function or a kfunc.</summary>
    Call = 0x80,
    /// <summary>Return from the function.</summary>
    Exit = 0x90,
    /// <summary>Jump if less, unsigned.</summary>
    Jlt = 0xa0,
    /// <summary>Jump if less or equal, unsigned.</summary>
    Jle = 0xb0,
    /// <summary>Jump if less, signed.</summary>
    Jslt = 0xc0,
    /// <summary>Jump if less or equal, signed.</summary>
    Jsle = 0xd0,
}

/// <summary>The access size of load and store instructions (bits 3-4).</summary>
public enum MemorySize : byte
{
    /// <summary>4 bytes.</summary>
    Word = 0x00,
    /// <summary>2 bytes.</summary>
    Half = 0x08,
    /// <summary>1 byte.</summary>
    Byte = 0x10,
    /// <summary>8 bytes.</summary>
    DoubleWord = 0x18,
}

/// <summary>The mode of load and store instructions (bits 5-7).</summary>
public enum MemoryMode : byte
{
    /// <summary>The 64-bit immediate (with <see cref="MemorySize.DoubleWord"/>).</summary>
    Imm = 0x00,
    /// <summary>Legacy packet load at an absolute offset.</summary>
    Abs = 0x20,
    /// <summary>Legacy packet load at a register plus an offset.</summary>
    Ind = 0x40,
    /// <summary>Regular memory access.</summary>
    Mem = 0x60,
    /// <summary>Sign-extending load.</summary>
    MemSx = 0x80,
    /// <summary>Atomic read-modify-write.</summary>
    Atomic = 0xc0,
}

/// <summary>The operation of an atomic instruction, held in its immediate.</summary>
public enum AtomicOperation
{
    /// <summary>*addr += src</summary>
    Add = 0x00,
    /// <summary>*addr |= src</summary>
    Or = 0x40,
    /// <summary>*addr &amp;= src</summary>
    And = 0x50,
    /// <summary>*addr ^= src</summary>
    Xor = 0xa0,
    /// <summary>src = fetch_add(addr, src)</summary>
    FetchAdd = 0x01,
    /// <summary>src = fetch_or(addr, src)</summary>
    FetchOr = 0x41,
    /// <summary>src = fetch_and(addr, src)</summary>
    FetchAnd = 0x51,
    /// <summary>src = fetch_xor(addr, src)</summary>
    FetchXor = 0xa1,
    /// <summary>src = xchg(addr, src)</summary>
    Xchg = 0xe1,
    /// <summary>r0 = cmpxchg(addr, r0, src)</summary>
    CmpXchg = 0xf1,
}

/// <summary>What the source field of a 64-bit immediate load means (RFC 9669 section 5.4).</summary>
public enum Imm64Source : byte
{
    /// <summary>A plain 64-bit constant.</summary>
    Immediate = 0,
    /// <summary>The map whose file descriptor is the immediate (BPF_PSEUDO_MAP_FD).</summary>
    MapFd = 1,
    /// <summary>The address of a map's value plus the next immediate (BPF_PSEUDO_MAP_VALUE).</summary>
    MapValue = 2,
    /// <summary>The address of a kernel variable with this BTF id (BPF_PSEUDO_BTF_ID).</summary>
    BtfId = 3,
    /// <summary>The address of the function at this relative offset (BPF_PSEUDO_FUNC).</summary>
    Function = 4,
    /// <summary>The map at this index of the program's map array (BPF_PSEUDO_MAP_IDX).</summary>
    MapIndex = 5,
    /// <summary>A value address in the map at this index (BPF_PSEUDO_MAP_IDX_VALUE).</summary>
    MapIndexValue = 6,
}

/// <summary>What the source field of a call means.</summary>
public enum CallKind : byte
{
    /// <summary>A helper function by its static id.</summary>
    Helper = 0,
    /// <summary>A local function (bpf-to-bpf call) at a relative offset (BPF_PSEUDO_CALL).</summary>
    Local = 1,
    /// <summary>A kernel function by BTF id (BPF_PSEUDO_KFUNC_CALL).</summary>
    Kfunc = 2,
}

/// <summary>Well-known full opcodes.</summary>
public static class Opcode
{
    /// <summary>lddw: the two-slot 64-bit immediate load.</summary>
    public const byte LoadImm64 = 0x18;
    /// <summary>call imm.</summary>
    public const byte Call = 0x85;
    /// <summary>callx reg (register number in dst).</summary>
    public const byte CallX = 0x8d;
    /// <summary>exit.</summary>
    public const byte Exit = 0x95;
    /// <summary>ja with a 16-bit offset.</summary>
    public const byte Ja = 0x05;
    /// <summary>gotol: ja with a 32-bit immediate offset.</summary>
    public const byte Ja32 = 0x06;
}
