using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Verification;

namespace SharpBpf.Tests.Verification;

/// <summary>The per-instruction facts of a verification: pointer kind, and in bounds on every visit.</summary>
public class VerifiedFactsTests
{
    private static readonly VerifierMap Hash = new("map0", MapType.Hash, 4, 8, 16);

    private static VerifierResult Verify(string code, ProgramType type = ProgramType.Xdp) =>
        Verifier.Verify(Assembler.Assemble(code), new VerifierOptions { ProgramType = type, Maps = [Hash] });

    [Fact]
    public void Each_access_records_its_pointer_kind()
    {
        var result = Verify("""
            r2 = *(u32 *)(r1 + 0)
            r3 = *(u32 *)(r1 + 4)
            r4 = r2
            r4 += 15
            if r4 > r3 goto +1
            r0 = *(u8 *)(r2 + 14)
            *(u32 *)(r10 - 4) = 0
            ld_pseudo r1, 1, 0
            r2 = r10
            r2 += -4
            call 1
            if r0 == 0 goto +1
            *(u64 *)(r0 + 0) = 1
            r0 = 2
            exit
            """);
        Assert.True(result.Accepted, result.Error?.ToString());
        var facts = result.Facts;
        Assert.Equal(16, facts.Length);
        Assert.Equal(new MemoryAccessFact(MemoryKinds.Context, 1, true), facts[0]);
        Assert.Equal(MemoryKinds.Context, facts[1].Kinds);
        Assert.Equal(MemoryKinds.Packet, facts[5].Kinds);
        Assert.Equal(MemoryKinds.Stack, facts[6].Kinds);
        Assert.Equal(MemoryKinds.MapValue, facts[13].Kinds);
        Assert.True(facts[13].InBounds);

        // Not memory accesses.
        Assert.Equal(default, facts[2]);
        Assert.Equal(default, facts[11]);
        Assert.Equal(5, facts.AccessCount);
        Assert.Equal(2, facts.ProvenCount(MemoryKinds.Stack | MemoryKinds.MapValue));
        Assert.Equal(5, facts.ProvenCount(MemoryKinds.Stack | MemoryKinds.MapValue | MemoryKinds.Context | MemoryKinds.Packet));
    }

    [Fact]
    public void An_access_reached_through_different_kinds_joins_them()
    {
        // r6 is the stack on one path and a map value on the other; the load at 14 is in bounds on both.
        var result = Verify("""
            *(u64 *)(r10 - 8) = 0
            r6 = r10
            r6 += -8
            ld_pseudo r1, 1, 0
            r2 = r10
            r2 += -8
            call 1
            if r0 == 0 goto +1
            r6 = r0
            call 7
            if r0 > 5 goto +0
            r0 = *(u64 *)(r6 + 0)
            r0 = 2
            exit
            """);
        Assert.True(result.Accepted, result.Error?.ToString());
        var fact = result.Facts[12];
        Assert.Equal(MemoryKinds.Stack | MemoryKinds.MapValue, fact.Kinds);
        Assert.True(fact.Visits >= 2);
        Assert.True(fact.IsProven(MemoryKinds.Stack | MemoryKinds.MapValue));
        Assert.False(fact.IsProven(MemoryKinds.Stack));
    }

    [Fact]
    public void Facts_hold_only_for_the_instructions_verified()
    {
        var code = Assembler.Assemble("""
            *(u64 *)(r10 - 8) = 0
            r0 = *(u64 *)(r10 - 8)
            exit
            """);
        var result = Verifier.Verify(code, new VerifierOptions { ProgramType = ProgramType.Xdp });
        Assert.True(result.Accepted);
        Assert.True(result.Facts.IsProven(code, 1, MemoryKinds.Stack));

        var changed = code.ToArray();
        changed[1] = new Instruction(changed[1].Opcode, changed[1].Dst, changed[1].Src, -16, 0);
        Assert.False(result.Facts.IsProven(changed, 1, MemoryKinds.Stack));
        Assert.True(result.Facts.IsProven(changed, 0, MemoryKinds.Stack));
        Assert.False(result.Facts.IsProven(code.AsSpan(0, 2), 0, MemoryKinds.Stack));
    }

    [Fact]
    public void Unreached_accesses_are_not_proven()
    {
        var code = Assembler.Assemble("""
            r0 = 0
            if r0 == 0 goto +1
            r0 = *(u64 *)(r10 - 8)
            exit
            """);
        var result = Verifier.Verify(code, new VerifierOptions { ProgramType = ProgramType.Xdp });
        Assert.True(result.Accepted, result.Error?.ToString());
        Assert.Equal(0, result.Facts[2].Visits);
        Assert.False(result.Facts.IsProven(code, 2, MemoryKinds.Stack));
    }
}
