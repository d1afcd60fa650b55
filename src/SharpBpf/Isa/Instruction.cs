using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace SharpBpf.Isa;

/// <summary>
/// One 8-byte BPF instruction slot, laid out exactly as on the wire (little-endian):
/// opcode, dst (low nibble) and src (high nibble) registers, a signed 16-bit offset and
/// a signed 32-bit immediate. The 64-bit immediate load (<c>lddw</c>) spans two slots;
/// its second slot is an instruction whose only meaningful field is <see cref="Immediate"/>.
/// </summary>
/// <remarks>
/// The struct is blittable, so a byte buffer can be reinterpreted as instructions with
/// <see cref="MemoryMarshal.Cast{TFrom, TTo}(ReadOnlySpan{TFrom})"/> on little-endian hosts.
/// </remarks>
[StructLayout(LayoutKind.Sequential, Pack = 1, Size = 8)]
public readonly struct Instruction : IEquatable<Instruction>
{
    /// <summary>The size of one instruction slot in bytes.</summary>
    public const int Size = 8;

    private readonly byte _opcode;
    private readonly byte _registers;
    private readonly short _offset;
    private readonly int _immediate;

    /// <summary>Creates an instruction from its fields. Register numbers are kept to 4 bits each.</summary>
    public Instruction(byte opcode, byte dst, byte src, short offset, int immediate)
    {
        _opcode = opcode;
        _registers = (byte)((dst & 0x0f) | ((src & 0x0f) << 4));
        _offset = offset;
        _immediate = immediate;
    }

    /// <summary>The full 8-bit opcode.</summary>
    public byte Opcode => _opcode;

    /// <summary>The destination register number (0-15; only 0-10 are valid registers).</summary>
    public byte Dst => (byte)(_registers & 0x0f);

    /// <summary>The source register number, or the pseudo-source of calls and <c>lddw</c>.</summary>
    public byte Src => (byte)(_registers >> 4);

    /// <summary>The signed 16-bit offset.</summary>
    public short Offset => _offset;

    /// <summary>The signed 32-bit immediate.</summary>
    public int Immediate => _immediate;

    /// <summary>The instruction class (low three bits of the opcode).</summary>
    public InstructionClass Class => (InstructionClass)(_opcode & 0x07);

    /// <summary>For arithmetic and jumps: whether the operand is the immediate or the source register.</summary>
    public OperandSource Source => (OperandSource)(_opcode & 0x08);

    /// <summary>For arithmetic classes: the operation.</summary>
    public AluOperation AluOperation => (AluOperation)(_opcode & 0xf0);

    /// <summary>For jump classes: the operation.</summary>
    public JumpOperation JumpOperation => (JumpOperation)(_opcode & 0xf0);

    /// <summary>For load and store classes: the access size.</summary>
    public MemorySize MemorySize => (MemorySize)(_opcode & 0x18);

    /// <summary>For load and store classes: the mode.</summary>
    public MemoryMode MemoryMode => (MemoryMode)(_opcode & 0xe0);

    /// <summary>Whether this is the first slot of a two-slot 64-bit immediate load.</summary>
    public bool IsLoadImm64 => _opcode == Isa.Opcode.LoadImm64;

    /// <summary>For <c>lddw</c>: what the source field says the immediate is.</summary>
    public Imm64Source Imm64Source => (Imm64Source)Src;

    /// <summary>For calls: what kind of function is called.</summary>
    public CallKind CallKind => (CallKind)Src;

    /// <summary>For arithmetic classes: whether the operation is 64 bits wide.</summary>
    public bool Is64BitAlu => Class == InstructionClass.Alu64;

    /// <summary>The raw register byte (dst in the low nibble, src in the high nibble).</summary>
    public byte RegisterByte => _registers;

    /// <summary>The instruction with its immediate replaced.</summary>
    public Instruction WithImmediate(int immediate) => new(_opcode, Dst, Src, _offset, immediate);

    /// <summary>The instruction with its offset replaced.</summary>
    public Instruction WithOffset(short offset) => new(_opcode, Dst, Src, offset, _immediate);

    /// <summary>The instruction with its source field replaced.</summary>
    public Instruction WithSrc(byte src) => new(_opcode, Dst, src, _offset, _immediate);

    /// <summary>The byte size of a memory access of the given size.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int BytesOf(MemorySize size) => size switch
    {
        MemorySize.Byte => 1,
        MemorySize.Half => 2,
        MemorySize.Word => 4,
        _ => 8,
    };

    /// <summary>Writes the instruction's 8 bytes, little-endian, to <paramref name="destination"/>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        if (destination.Length < Size)
        {
            throw new ArgumentException("An instruction needs 8 bytes.", nameof(destination));
        }

        destination[0] = _opcode;
        destination[1] = _registers;
        System.Buffers.Binary.BinaryPrimitives.WriteInt16LittleEndian(destination[2..], _offset);
        System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(destination[4..], _immediate);
    }

    /// <summary>Reads one instruction from 8 little-endian bytes.</summary>
    public static Instruction ReadFrom(ReadOnlySpan<byte> source)
    {
        if (source.Length < Size)
        {
            throw new ArgumentException("An instruction needs 8 bytes.", nameof(source));
        }

        return new Instruction(
            source[0],
            (byte)(source[1] & 0x0f),
            (byte)(source[1] >> 4),
            System.Buffers.Binary.BinaryPrimitives.ReadInt16LittleEndian(source[2..]),
            System.Buffers.Binary.BinaryPrimitives.ReadInt32LittleEndian(source[4..]));
    }

    /// <summary>
    /// Decodes a byte buffer into instructions. The length must be a multiple of 8.
    /// </summary>
    /// <exception cref="BpfException">The length is not a multiple of 8.</exception>
    public static Instruction[] Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length % Size != 0)
        {
            throw new BpfException(
                $"program is {bytes.Length} bytes long, which is not a whole number of 8-byte instructions " +
                $"({bytes.Length % Size} trailing byte(s) at offset {bytes.Length - (bytes.Length % Size)})");
        }

        var result = new Instruction[bytes.Length / Size];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = ReadFrom(bytes.Slice(i * Size, Size));
        }

        return result;
    }

    /// <summary>Encodes instructions to their little-endian bytes.</summary>
    public static byte[] Encode(ReadOnlySpan<Instruction> instructions)
    {
        var bytes = new byte[instructions.Length * Size];
        for (int i = 0; i < instructions.Length; i++)
        {
            instructions[i].WriteTo(bytes.AsSpan(i * Size, Size));
        }

        return bytes;
    }

    /// <summary>Builds the two slots of <c>lddw dst, imm64</c> with the given pseudo-source.</summary>
    public static (Instruction First, Instruction Second) LoadImm64(byte dst, ulong value, Imm64Source source = Imm64Source.Immediate) =>
        (new Instruction(Isa.Opcode.LoadImm64, dst, (byte)source, 0, unchecked((int)(uint)value)),
         new Instruction(0, 0, 0, 0, unchecked((int)(uint)(value >> 32))));

    /// <summary>Builds an arithmetic instruction.</summary>
    public static Instruction Alu(bool is64, AluOperation operation, OperandSource source, byte dst, byte src = 0, int immediate = 0, short offset = 0) =>
        new((byte)((byte)(is64 ? InstructionClass.Alu64 : InstructionClass.Alu) | (byte)source | (byte)operation), dst, src, offset, immediate);

    /// <summary>Builds a jump instruction.</summary>
    public static Instruction Jump(bool is32, JumpOperation operation, OperandSource source, byte dst, byte src, int immediate, short offset) =>
        new((byte)((byte)(is32 ? InstructionClass.Jmp32 : InstructionClass.Jmp) | (byte)source | (byte)operation), dst, src, offset, immediate);

    /// <summary>Builds a memory instruction of class LDX, ST or STX.</summary>
    public static Instruction Memory(InstructionClass @class, MemoryMode mode, MemorySize size, byte dst, byte src, short offset, int immediate = 0) =>
        new((byte)((byte)@class | (byte)mode | (byte)size), dst, src, offset, immediate);

    /// <summary>The <c>exit</c> instruction.</summary>
    public static Instruction Exit => new(Isa.Opcode.Exit, 0, 0, 0, 0);

    /// <inheritdoc/>
    public bool Equals(Instruction other) =>
        _opcode == other._opcode && _registers == other._registers && _offset == other._offset && _immediate == other._immediate;

    /// <inheritdoc/>
    public override bool Equals(object? obj) => obj is Instruction other && Equals(other);

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(_opcode, _registers, _offset, _immediate);

    /// <summary>Compares two instructions field by field.</summary>
    public static bool operator ==(Instruction left, Instruction right) => left.Equals(right);

    /// <summary>Compares two instructions field by field.</summary>
    public static bool operator !=(Instruction left, Instruction right) => !left.Equals(right);

    /// <summary>The raw fields, for debugging; use the disassembler for assembly text.</summary>
    public override string ToString() =>
        $"{{op=0x{_opcode:x2} dst=r{Dst} src=r{Src} off={_offset} imm={_immediate}}}";
}
