using SharpBpf.Isa;
using SharpBpf.Maps;
using SharpBpf.Objects;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Fuzzing;

/// <summary>What running one accepted program several times showed.</summary>
/// <param name="Runs">How many runs completed or faulted.</param>
/// <param name="Fault">The first fault that a verified program must never have (a memory fault, a bad call...), or null.</param>
/// <param name="Unsupported">Runs the VM could not do for reasons that say nothing about safety (an unimplemented helper,
/// bpf_loop counts beyond the instruction budget).</param>
public sealed record SoundnessOutcome(int Runs, ExecutionFault? Fault, int Unsupported)
{
    /// <summary>Whether a fault showed the verifier accepted an unsafe program.</summary>
    public bool IsSoundnessBug => Fault is not null;
}

/// <summary>
/// Runs programs the verifier accepted in the checked interpreter, on random packets, contexts and map contents: a
/// memory fault, a call fault or a run that never ends means the verifier accepted an unsafe program. The maps are
/// <see cref="VerifierProgramGenerator.Maps"/>, created once and refilled before every run.
/// </summary>
public sealed class VerifierSoundness
{
    /// <summary>Instructions one run may execute before it counts as not terminating (verified programs always end).</summary>
    public const long InstructionBudget = 10_000_000;

    private const int BpfLoopHelper = 181;

    private readonly Random _random;
    private readonly MapSet _maps = new();
    private readonly HelperTable _helpers;
    private readonly BpfExecutionContext _context;
    private readonly XdpContext _xdp = new();
    private readonly SkbContext _socketFilter = new(SkbProgramKind.SocketFilter);
    private readonly SkbContext _trafficControl = new(SkbProgramKind.TrafficControl);
    private readonly TracingContext _kprobe = new(PtRegs.Size, "pt_regs");
    private readonly RingBufferReader _ring;

    /// <summary>Creates the maps and contexts; <paramref name="random"/> chooses the inputs.</summary>
    public VerifierSoundness(Random random)
    {
        ArgumentNullException.ThrowIfNull(random);
        _random = random;
        foreach (var map in VerifierProgramGenerator.Maps)
        {
            _maps.Create(new MapSpec(map.Type, (int)map.KeySize, (int)map.ValueSize, (int)map.MaxEntries, Name: map.Name));
        }

        _ring = new RingBufferReader((RingBufferMap)_maps[VerifierProgramGenerator.RingBufferMap]);
        _helpers = KernelHelpers.Register(_maps.CreateHelperTable(), new HelperOptions { IncludePacketHelpers = true, RandomSeed = random.Next() });
        _context = _maps.CreateContext(_helpers);
        _context.InstructionBudget = InstructionBudget;
    }

    /// <summary>The last fault that said the VM could not run a program (an unimplemented helper...).</summary>
    public ExecutionFault? LastUnsupported { get; private set; }

    /// <summary>Runs <paramref name="program"/> (accepted by the verifier as <paramref name="type"/>) <paramref name="runs"/> times.</summary>
    public SoundnessOutcome Check(Instruction[] program, ProgramType type, int runs)
    {
        ArgumentNullException.ThrowIfNull(program);
        if (type == ProgramType.SockOps)
        {
            // The VM has no sock_ops context to run them in.
            return new SoundnessOutcome(0, null, 0);
        }

        ProgramContext context = type switch
        {
            ProgramType.Xdp => _xdp,
            ProgramType.SocketFilter => _socketFilter,
            ProgramType.SchedCls or ProgramType.SchedAct => _trafficControl,
            _ => _kprobe,
        };
        // bpf_loop may run its callback up to 8 million times a call: such programs end, but maybe not within the budget.
        bool mayRunLong = program.Any(insn => insn.Opcode == Opcode.Call && insn.CallKind == CallKind.Helper && insn.Immediate == BpfLoopHelper);
        var executable = new Interpreter(context.ConvertProgram(BpfProgram.Create(program, "fuzz")), new EngineOptions { ResolveImm64 = _maps.ResolveImm64 });
        int unsupported = 0;
        for (int run = 0; run < runs; run++)
        {
            FillMaps();
            SetInput(context);
            try
            {
                context.Run(executable, _context);
            }
            catch (BpfExecutionException e) when (e.Fault.Kind is FaultKind.UnknownHelper or FaultKind.Unsupported ||
                (e.Fault.Kind == FaultKind.InstructionBudgetExhausted && mayRunLong))
            {
                unsupported++;
                LastUnsupported = e.Fault;
            }
            catch (BpfExecutionException e)
            {
                return new SoundnessOutcome(run + 1, e.Fault, unsupported);
            }
        }

        return new SoundnessOutcome(runs, null, unsupported);
    }

    // Array values random, the hash map holding a random few of the keys programs use, the ring buffer drained.
    private void FillMaps()
    {
        Span<byte> buffer = stackalloc byte[VerifierProgramGenerator.ArrayValueSize * Math.Min(_maps.PossibleCpus, 64)];
        Span<byte> key = stackalloc byte[8];
        for (int index = 0; index < VerifierProgramGenerator.RingBufferMap; index++)
        {
            var map = _maps[index];
            key.Clear();
            var value = buffer[..(map.ValueSize * (map.Type == MapType.PerCpuArray ? _maps.PossibleCpus : 1))];
            if (map.Type == MapType.Hash)
            {
                for (int k = 0; k < 4; k++)
                {
                    key[0] = (byte)k;
                    map.Delete(key[..map.KeySize]);
                    if (_random.Next(2) == 0)
                    {
                        _random.NextBytes(value);
                        map.Update(key[..map.KeySize], value);
                    }
                }
            }
            else
            {
                for (int k = 0; k < map.MaxEntries; k++)
                {
                    key[0] = (byte)k;
                    _random.NextBytes(value);
                    map.Update(key[..map.KeySize], value);
                }
            }
        }

        while (_ring.TryRead(out _))
        {
        }
    }

    private void SetInput(ProgramContext context)
    {
        // Short packets (down to the 14 bytes every packet context accepts) make unchecked accesses fault.
        int length = _random.Next(3) == 0 ? 14 + _random.Next(8) : 14 + _random.Next(200);
        Span<byte> packet = stackalloc byte[length];
        _random.NextBytes(packet);
        switch (context)
        {
            case XdpContext xdp:
                xdp.SetPacket(packet);
                break;
            case SkbContext skb:
                skb.SetPacket(packet);
                skb.Mark = (uint)_random.Next();
                skb.Priority = (uint)_random.Next();
                break;
            case TracingContext tracing:
                _random.NextBytes(tracing.Bytes);
                break;
        }
    }
}
