using System.Buffers.Binary;
using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Elf;
using SharpBpf.Isa;
using SharpBpf.Objects;
using SharpBpf.Tests.Elf;

namespace SharpBpf.Tests.Btf.Core;

/// <summary>
/// Relocations no compiler emits but a malformed or hand-made object can carry: each must fail with libbpf's
/// reason (the instruction does not hold the expected value, the type is anonymous, the access string is invalid,
/// the instruction cannot carry a relocation), while the good records of the same object are still applied.
/// </summary>
public sealed class CoreHandBuiltObjectTests
{
    private const int Int = 1, Sample = 2, Anonymous = 3;

    private static readonly Instruction[] Code =
    [
        Instruction.Memory(InstructionClass.Ldx, MemoryMode.Mem, MemorySize.Word, 0, 1, 4),   // 0: r0 = *(u32 *)(r1 + 4)  b, right
        Instruction.Memory(InstructionClass.Ldx, MemoryMode.Mem, MemorySize.Word, 0, 1, 99),  // 1: offset that is not b's
        Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: 0),       // 2: anonymous struct
        Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: 0),       // 3: member 7 of a 2-member struct
        Instruction.Alu(true, AluOperation.Add, OperandSource.Register, 0, 1),                    // 4: register operand
        Instruction.Alu(true, AluOperation.Mov, OperandSource.Immediate, 0, immediate: Sample),  // 5: local type id
        Instruction.Exit,
    ];

    private static BpfObject Build()
    {
        var btf = new BtfBuilder();
        Assert.Equal(Int, btf.AddInt("int", 4, BtfIntEncoding.Signed));
        Assert.Equal(Sample, btf.AddStruct("sample", 8, new BtfMemberDefinition("a", Int, 0), new BtfMemberDefinition("b", Int, 32)));
        Assert.Equal(Anonymous, btf.AddStruct("", 4, new BtfMemberDefinition("x", Int, 0)));
        uint section = btf.AddString("xdp"), ab = btf.AddString("0:1"), x = btf.AddString("0:0"), bad = btf.AddString("0:7"), zero = btf.AddString("0");
        (int Insn, int Type, uint Access, BtfCoreRelocationKind Kind)[] records =
        [
            (0, Sample, ab, BtfCoreRelocationKind.FieldByteOffset),
            (1, Sample, ab, BtfCoreRelocationKind.FieldByteOffset),
            (2, Anonymous, x, BtfCoreRelocationKind.FieldByteOffset),
            (3, Sample, bad, BtfCoreRelocationKind.FieldByteOffset),
            (4, Sample, ab, BtfCoreRelocationKind.FieldByteOffset),
            (5, Sample, zero, BtfCoreRelocationKind.TypeIdLocal),
        ];
        var ext = new byte[32 + 4 + 8 + (16 * records.Length)];
        BinaryPrimitives.WriteUInt16LittleEndian(ext, BtfSpec.Magic);
        ext[2] = 1;
        BinaryPrimitives.WriteUInt32LittleEndian(ext.AsSpan(4), 32);
        BinaryPrimitives.WriteUInt32LittleEndian(ext.AsSpan(28), (uint)(ext.Length - 32));
        BinaryPrimitives.WriteUInt32LittleEndian(ext.AsSpan(32), 16);
        BinaryPrimitives.WriteUInt32LittleEndian(ext.AsSpan(36), section);
        BinaryPrimitives.WriteUInt32LittleEndian(ext.AsSpan(40), (uint)records.Length);
        for (int i = 0; i < records.Length; i++)
        {
            var r = ext.AsSpan(44 + (16 * i));
            BinaryPrimitives.WriteUInt32LittleEndian(r, (uint)records[i].Insn * 8);
            BinaryPrimitives.WriteUInt32LittleEndian(r[4..], (uint)records[i].Type);
            BinaryPrimitives.WriteUInt32LittleEndian(r[8..], records[i].Access);
            BinaryPrimitives.WriteUInt32LittleEndian(r[12..], (uint)records[i].Kind);
        }

        var elf = new ElfBuilder();
        int text = elf.AddSection("xdp", ElfSectionType.ProgBits, ElfSectionFlags.Alloc | ElfSectionFlags.Execute, Instruction.Encode(Code));
        elf.AddSection("license", ElfSectionType.ProgBits, ElfSectionFlags.Alloc | ElfSectionFlags.Write, "GPL\0"u8.ToArray());
        elf.AddSection(".BTF", ElfSectionType.ProgBits, 0, btf.ToArray());
        elf.AddSection(".BTF.ext", ElfSectionType.ProgBits, 0, ext);
        elf.AddSymbol("prog", text, 0, (ulong)Code.Length * 8, ElfSymbolType.Function);
        return BpfObject.Load(elf.Build());
    }

    private static BtfSpec Target()
    {
        // In the target, b moved to offset 8.
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        b.AddStruct("sample", 12, new BtfMemberDefinition("a", @int, 0), new BtfMemberDefinition("b", @int, 64));
        return b.Build();
    }

    [Fact]
    public void EachBadRecordFailsWithLibbpfsReasonAndTheGoodOnesApply()
    {
        var result = CoreRelocator.Apply(Build(), Target());
        var r = result.Relocations;
        Assert.Equal(6, r.Count);
        Assert.Equal((CoreRelocationOutcome.Patched, 4ul, 8ul), (r[0].Outcome, r[0].OriginalValue, r[0].NewValue));
        Assert.Equal(CoreRelocationOutcome.Failed, r[1].Outcome);
        Assert.Equal("unexpected insn #1 (LDX/ST/STX) value: got 99, exp 4 -> 8", r[1].Reason);
        Assert.Equal(CoreRelocationOutcome.Failed, r[2].Outcome);
        Assert.Contains("anonymous", r[2].Reason, StringComparison.Ordinal);
        Assert.Equal(CoreRelocationOutcome.Failed, r[3].Outcome);
        Assert.StartsWith("parsing [2] struct sample + 0:7 failed", r[3].Reason, StringComparison.Ordinal);
        Assert.Equal(CoreRelocationOutcome.Failed, r[4].Outcome);
        Assert.StartsWith("trying to relocate unrecognized insn #4", r[4].Reason, StringComparison.Ordinal);
        Assert.Equal((CoreRelocationOutcome.Patched, (ulong)Sample), (r[5].Outcome, r[5].NewValue));
        Assert.Empty(r[5].Candidates);

        var program = Assert.Single(result.Programs);
        Assert.False(program.Succeeded);
        Assert.False(result.Succeeded);
        Assert.Equal(8, program.Instructions[0].Offset);
        // Failed records leave their instructions as compiled.
        Assert.Equal(Code[1..5], program.Instructions[1..5]);
        Assert.Equal([0, 1, 2, 3, 4, 5], program.Relocations.Select(x => x.InstructionIndex));
    }
}
