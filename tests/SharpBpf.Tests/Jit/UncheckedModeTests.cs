using SharpBpf.Conformance;
using SharpBpf.Isa;
using SharpBpf.Isa.Assembly;
using SharpBpf.Jit;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Testing;
using SharpBpf.Verification;
using Xunit.Abstractions;

namespace SharpBpf.Tests.Jit;

/// <summary>
/// Unchecked mode on both engines: only the accesses the verifier proved (through trusted kinds of memory) lose their
/// region check, results stay identical to checked mode, and anything unproven still faults cleanly.
/// </summary>
public class UncheckedModeTests(ITestOutputHelper output)
{
    private static BpfProgram Program(string code) => BpfProgram.Create(Assembler.Assemble(code), "prog");

    private static VerifierResult Verify(BpfProgram program, ProgramType type = ProgramType.SocketFilter) =>
        Verifier.Verify(program, new VerifierOptions { ProgramType = type });

    // Counting asked for, so that the instruction counts can be compared with checked mode's too.
    private static EngineOptions Unchecked(VerifierResult verification, MemoryKinds kinds = MemoryKinds.Stack | MemoryKinds.MapValue) =>
        new() { Safety = SafetyMode.Unchecked, Verification = verification, UncheckedKinds = kinds, CountInstructions = true };

    private static IEnumerable<ExecutableProgram> BothUnchecked(BpfProgram program, EngineOptions options) =>
        [new Interpreter(program, options), new JittedProgram(program, options)];

    [Fact]
    public void Unchecked_mode_needs_an_accepted_verification_of_the_same_program()
    {
        var program = Program("r0 = 0\nexit");
        var accepted = Verify(program);
        Assert.True(accepted.Accepted);
        var rejected = Verify(Program("exit"));
        Assert.False(rejected.Accepted);
        var other = Verify(Program("r0 = 1\nexit"));

        foreach (Func<EngineOptions, ExecutableProgram> prepare in new Func<EngineOptions, ExecutableProgram>[] { o => new Interpreter(program, o), o => new JittedProgram(program, o) })
        {
            var none = Assert.Throws<BpfException>(() => prepare(new EngineOptions { Safety = SafetyMode.Unchecked }));
            Assert.Contains("has not been verified", none.Message, StringComparison.Ordinal);
            var refused = Assert.Throws<BpfException>(() => prepare(Unchecked(rejected)));
            Assert.Contains("the verifier rejected this one", refused.Message, StringComparison.Ordinal);
            var mismatch = Assert.Throws<BpfException>(() => prepare(Unchecked(other)));
            Assert.Contains("instruction 0 is not the one the verifier accepted", mismatch.Message, StringComparison.Ordinal);
            Assert.Equal(0UL, prepare(Unchecked(accepted)).Run(new BpfExecutionContext()));
        }
    }

    [Fact]
    public unsafe void A_proven_access_runs_without_its_check()
    {
        // skb->mark (offset 8) is a valid context read. The run gives a 4-byte context region over a larger buffer:
        // checked, the load faults; with the context trusted, the proven load reads the buffer without a check.
        var program = Program("""
            r0 = *(u32 *)(r1 + 8)
            exit
            """);
        var verification = Verify(program);
        Assert.True(verification.Accepted, verification.Error?.ToString());
        var buffer = MemoryRegion.Allocate(64, MemoryAccess.ReadWrite, MemoryRegionKind.Input, "buffer");
        buffer.AsSpan()[8] = 0x2a;
        var context = new BpfExecutionContext();
        var small = MemoryRegion.FromPointer((void*)buffer.Start, 4, MemoryAccess.ReadWrite, MemoryRegionKind.Context, "ctx");
        context.AddRegion(small);

        foreach (var engine in new ExecutableProgram[] { new Interpreter(program), new JittedProgram(program) })
        {
            var fault = Assert.Throws<BpfExecutionException>(() => engine.Run(context, buffer.Start)).Fault;
            Assert.Equal(FaultKind.MemoryAccess, fault.Kind);
        }

        foreach (var engine in BothUnchecked(program, Unchecked(verification, MemoryKinds.Stack | MemoryKinds.Context)))
        {
            Assert.Equal(0x2aUL, engine.Run(context, buffer.Start));
        }
    }

    [Fact]
    public void An_unproven_access_in_an_unchecked_program_still_faults_as_in_checked_mode()
    {
        // The stack traffic is proven and runs unchecked; the context load is not trusted, stays checked and faults.
        var program = Program("""
            r2 = 7
            *(u64 *)(r10 - 8) = r2
            r3 = *(u64 *)(r10 - 8)
            r0 = *(u32 *)(r1 + 8)
            r0 += r3
            exit
            """);
        var verification = Verify(program);
        Assert.True(verification.Accepted, verification.Error?.ToString());
        Assert.True(verification.Facts.IsProven(program.Instructions, 2, MemoryKinds.Stack));
        foreach (var engine in BothUnchecked(program, Unchecked(verification)))
        {
            // r1 = 0x1000: no region.
            Engines.Compare(new Interpreter(program), engine, [], new HelperTable(), 100, 1, engine.GetType().Name);
        }
    }

    [Fact]
    public void Proven_map_value_and_stack_accesses_give_the_checked_results()
    {
        // A variable index into a map value, a loop over the stack and atomics on both.
        var program = Program("""
            *(u32 *)(r10 - 4) = 0
            ld_pseudo r1, 1, 0
            r2 = r10
            r2 += -4
            call 1
            if r0 == 0 goto +15
            r6 = r0
            r7 = 0
            r8 = 0
            *(u64 *)(r10 - 16) = r8
            r1 = r7
            r1 &= 7
            r2 = r6
            r2 += r1
            *(u8 *)(r2 + 0) = r7
            r3 = *(u8 *)(r2 + 0)
            lock *(u64 *)(r10 - 16) += r3
            lock *(u64 *)(r6 + 8) += r3
            r7 += 1
            if r7 < 20 goto -10
            r0 = *(u64 *)(r10 - 16)
            exit
            """);
        var maps = new SharpBpf.Maps.MapSet();
        var map = maps.Create(new SharpBpf.Maps.MapSpec(MapType.Array, 4, 16, 1, 0, "values"));
        var verification = Verifier.Verify(program, new VerifierOptions
        {
            ProgramType = ProgramType.SocketFilter,
            Maps = [new VerifierMap("values", MapType.Array, 4, 16, 1)],
        });
        Assert.True(verification.Accepted, verification.Error + "\n" + verification.Log);
        Assert.Equal(7, verification.Facts.ProvenCount(MemoryKinds.Stack | MemoryKinds.MapValue));
        var options = new EngineOptions { ResolveImm64 = (pc, source, imm, next) => maps.ResolveImm64(pc, Imm64Source.MapIndex, map.Index, next) };
        var results = new List<ulong>();
        foreach (var engine in new ExecutableProgram[] { new Interpreter(program, options), new JittedProgram(program, options) }
            .Concat(BothUnchecked(program, options with { Safety = SafetyMode.Unchecked, Verification = verification })))
        {
            var context = maps.CreateContext(maps.CreateHelperTable());
            results.Add(engine.Run(context));
        }

        Assert.All(results, r => Assert.Equal(results[0], r));
        Assert.NotEqual(0UL, results[0]);
    }

    [Fact]
    public unsafe void Converted_packet_pointer_loads_run_unchecked_only_with_the_layout_they_were_converted_for()
    {
        // ctx->data and ctx->data_end, then a bounds-checked packet read. The VM converts the 4-byte field loads into
        // 8-byte loads of the pointer slots after the struct (ContextAccessRewriter), which the verifier never saw.
        var source = Program("""
            r2 = *(u32 *)(r1 + 0)
            r3 = *(u32 *)(r1 + 4)
            r0 = r2
            r0 += 2
            if r0 > r3 goto +2
            r0 = *(u16 *)(r2 + 0)
            exit
            r0 = 0
            exit
            """);
        var verification = Verify(source, ProgramType.Xdp);
        Assert.True(verification.Accepted, verification.Error?.ToString());
        var layout = ContextLayouts.Xdp;
        var converted = ContextAccessRewriter.Rewrite(source, layout);
        Assert.Equal([0, 1], converted.RewrittenPcs.ToArray());
        var program = converted.Program;

        // The context region covers the struct only: the pointer slots lie in the buffer past its end, so a checked
        // slot load faults, and an unchecked one reads them.
        var buffer = MemoryRegion.Allocate(layout.RegionSize, MemoryAccess.ReadWrite, MemoryRegionKind.Input, "buffer");
        var packet = MemoryRegion.FromBytes(new byte[] { 0x34, 0x12, 0x56 }, MemoryAccess.ReadWrite, MemoryRegionKind.Packet, "packet");
        BitConverter.TryWriteBytes(buffer.AsSpan()[layout["data"].ShadowOffset..], packet.Start);
        BitConverter.TryWriteBytes(buffer.AsSpan()[layout["data_end"].ShadowOffset..], packet.End);
        var context = new BpfExecutionContext();
        context.AddRegion(MemoryRegion.FromPointer((void*)buffer.Start, layout.Size, MemoryAccess.Read, MemoryRegionKind.Context, "ctx"));
        context.AddRegion(packet);
        var kinds = MemoryKinds.Stack | MemoryKinds.Context | MemoryKinds.Packet;

        // Without the layout (or with another one), the converted loads are not what was verified: they stay checked.
        foreach (var options in new[] { Unchecked(verification, kinds), Unchecked(verification, kinds) with { ContextLayout = ContextLayouts.TrafficControl } })
        {
            foreach (var engine in new ExecutableProgram[] { new Interpreter(program), new JittedProgram(program) }.Concat(BothUnchecked(program, options)))
            {
                var fault = Assert.Throws<BpfExecutionException>(() => engine.Run(context, buffer.Start)).Fault;
                Assert.Equal((FaultKind.MemoryAccess, 0), (fault.Kind, fault.Pc));
            }
        }

        // With it, they load the pointers without a check, and the run gives what the checked interpreter gives on a
        // context region that covers the slots.
        foreach (var engine in BothUnchecked(program, Unchecked(verification, kinds) with { ContextLayout = layout }))
        {
            Assert.Equal(0x1234UL, engine.Run(context, buffer.Start));
        }

        var full = new BpfExecutionContext();
        full.AddRegion(MemoryRegion.FromPointer((void*)buffer.Start, layout.RegionSize, MemoryAccess.Read, MemoryRegionKind.Context, "ctx"));
        full.AddRegion(packet);
        Assert.Equal(0x1234UL, new Interpreter(program).Run(full, buffer.Start));

        // Without the context kind trusted, the loads stay checked even with the layout.
        foreach (var engine in BothUnchecked(program, Unchecked(verification, MemoryKinds.Stack | MemoryKinds.Packet) with { ContextLayout = layout }))
        {
            Assert.Equal(FaultKind.MemoryAccess, Assert.Throws<BpfExecutionException>(() => engine.Run(context, buffer.Start)).Fault.Kind);
        }
    }

    [SharedFact("conformance")]
    public void Conformance_cases_the_verifier_accepts_give_identical_results_unchecked()
    {
        int accepted = 0, total = 0, unchecked_ = 0;
        foreach (var file in Directory.GetFiles(SharedData.Folder("conformance")!, "*.data").Order(StringComparer.Ordinal))
        {
            var testCase = ConformanceCase.Load(file);
            total++;
            BpfProgram program;
            try
            {
                program = BpfProgram.Create(Assembler.Assemble(testCase.Assembly, AssemblySyntax.Ubpf), testCase.Name);
            }
            catch (BpfException)
            {
                continue;
            }

            var verification = Verify(program);
            if (!verification.Accepted)
            {
                continue;
            }

            accepted++;
            unchecked_ += verification.Facts.ProvenCount(MemoryKinds.Stack | MemoryKinds.MapValue);
            foreach (var engine in BothUnchecked(program, Unchecked(verification)))
            {
                Engines.Compare(new Interpreter(program), engine, testCase.Memory.ToArray(), ConformanceHelpers.Create(), 1_000_000, 7, testCase.Name);
            }
        }

        output.WriteLine($"{accepted} of {total} cases accepted by the verifier and run unchecked ({unchecked_} proven accesses)");
        Assert.True(accepted > 0);
    }
}
