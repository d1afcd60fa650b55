using System.Buffers.Binary;
using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Elf;
using SharpBpf.Isa;
using SharpBpf.Jit;
using SharpBpf.Verification;
using SharpBpf.Maps;
using SharpBpf.Objects;
using SharpBpf.Runtime;
using SharpBpf.Runtime.Contexts;
using SharpBpf.Runtime.Helpers;

namespace SharpBpf.Hosting;

/// <summary>
/// A clang-compiled BPF object instantiated in the VM, as libbpf instantiates one in the kernel: every map created
/// (global data sections as single-element arrays holding their initial bytes, <c>.rodata</c> frozen and read-only
/// to programs), statically initialised map-in-map and program-array slots filled, every program prepared for the
/// chosen engine (map references resolved, context accesses converted for its program type) with the map, kernel and
/// packet helpers, ready to run on packets, tracing contexts or plain memory.
/// </summary>
/// <remarks>
/// <para>Set <c>.rodata</c> (<see cref="BpfObject.SetReadOnlyData"/>) before creating the VmObject, as a libbpf
/// skeleton does before load. A program that cannot be prepared does not stop the others: its
/// <see cref="VmProgram.BuildError"/> says why, and running it throws <see cref="VmObjectException"/>.</para>
/// <para>Every run method may be called from any number of threads at once. Each thread has its own execution
/// context (stack, packet buffers); each run holds one CPU slot of <see cref="VmObjectOptions.PossibleCpus"/> for its
/// duration, which is its <c>bpf_get_smp_processor_id()</c> and its copy of per-CPU map values, so per-CPU updates
/// are never lost, exactly as two kernel programs never share a CPU. When all slots are busy, a run waits.</para>
/// </remarks>
public sealed class VmObject : IDisposable
{
    private readonly BpfMap?[] _mapsByObjectIndex;
    private readonly Dictionary<BpfMap, MapDefinition> _definitions = [];
    private readonly List<BpfMap> _maps = [];
    private readonly List<VmProgram> _programs = [];
    private readonly HelperTable _helpers;
    private readonly ThreadLocal<RunState> _state;
    private readonly SemaphoreSlim _freeCpuCount;
    private readonly int[] _cpuBusy;
    private readonly Dictionary<RingBufferMap, RingBufferReader> _ringReaders = [];
    private readonly Dictionary<PerfEventArrayMap, PerfEventReader> _perfReaders = [];
    private int _nextThread;
    private bool _disposed;

    /// <summary>Instantiates <paramref name="obj"/> in the VM.</summary>
    /// <exception cref="VmObjectException">A map cannot be created or a static slot initialiser names nothing usable.</exception>
    public VmObject(BpfObject obj, VmObjectOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(obj);
        Object = obj;
        Options = options ?? new VmObjectOptions();
        if (Options.PossibleCpus is < 1 or > 4096)
        {
            throw new ArgumentOutOfRangeException(nameof(options), Options.PossibleCpus, "PossibleCpus must be between 1 and 4096");
        }

        Maps = new MapSet(new MapSetOptions { PossibleCpus = Options.PossibleCpus, MaxMemoryBytes = Options.MaxMapMemoryBytes });
        (Btf, BtfError) = ReadBtf(obj);
        TraceLog = Options.Helpers?.TraceLog ?? new TraceLog();
        _helpers = KernelHelpers.Register(Maps.CreateHelperTable(), (Options.Helpers ?? new HelperOptions()) with { TraceLog = TraceLog, IncludePacketHelpers = true });
        _freeCpuCount = new SemaphoreSlim(Options.PossibleCpus, Options.PossibleCpus);
        _cpuBusy = new int[Options.PossibleCpus];
        _state = new ThreadLocal<RunState>(CreateRunState);

        _mapsByObjectIndex = new BpfMap?[obj.Maps.Count];
        CreateMaps();
        BuildPrograms();
        FillStaticSlots();
    }

    /// <summary>Reads an object file and instantiates it; <paramref name="configure"/> may set <c>.rodata</c> first.</summary>
    /// <exception cref="ElfFormatException">The file is not a valid BPF object.</exception>
    /// <exception cref="MapDefinitionException">A map definition is malformed.</exception>
    /// <exception cref="VmObjectException">The object cannot be set up in the VM.</exception>
    /// <exception cref="IOException">The file cannot be read.</exception>
    public static VmObject Load(string path, VmObjectOptions? options = null, Action<BpfObject>? configure = null)
    {
        var obj = BpfObject.Load(path);
        configure?.Invoke(obj);
        return new VmObject(obj, options);
    }

    /// <summary>The object file.</summary>
    public BpfObject Object { get; }

    /// <summary>The options.</summary>
    public VmObjectOptions Options { get; }

    /// <summary>The maps of the VM (the object's maps, created in object order).</summary>
    public MapSet Maps { get; }

    /// <summary>The programs, in object order.</summary>
    public IReadOnlyList<VmProgram> Programs => _programs;

    /// <summary>
    /// The object's BTF with global data sections laid out (variable offsets and section sizes filled in from the ELF
    /// symbols, as libbpf does before load), or null when the object has none or it is malformed.
    /// </summary>
    public BtfSpec? Btf { get; }

    /// <summary>Why the object's BTF could not be read, or null.</summary>
    public string? BtfError { get; }

    /// <summary>Where <c>bpf_trace_printk</c> output goes.</summary>
    public TraceLog TraceLog { get; }

    /// <summary>The first program that runs on packets (XDP, socket filter or tc), or null.</summary>
    public VmProgram? FirstPacketProgram => _programs.Find(p => p.RunsOnPackets);

    /// <summary>The program with this name.</summary>
    /// <exception cref="VmObjectException">There is none.</exception>
    public VmProgram Program(string name) => _programs.Find(p => p.Name == name)
        ?? throw new VmObjectException($"the object has no program '{name}' (it has {Names(_programs.Select(p => p.Name))})");

    /// <summary>The program with this name, or null.</summary>
    public VmProgram? FindProgram(string name) => _programs.Find(p => p.Name == name);

    /// <summary>The maps created for the object's map definitions, in object order.</summary>
    public IReadOnlyList<BpfMap> ObjectMaps => _maps;

    /// <summary>The map with this name (for global data, the section name such as <c>.rodata</c>).</summary>
    /// <exception cref="VmObjectException">There is none.</exception>
    public BpfMap Map(string name) => FindMap(name)
        ?? throw new VmObjectException($"the object has no map '{name}' (it has {Names(_maps.Select(m => m.Name))})");

    /// <summary>The map with this name, or null.</summary>
    public BpfMap? FindMap(string name) => _maps.Find(m => m.Name == name);

    /// <summary>The definition a map was created from.</summary>
    public MapDefinition DefinitionOf(BpfMap map)
    {
        ArgumentNullException.ThrowIfNull(map);
        return _definitions.TryGetValue(map, out var definition)
            ? definition
            : throw new ArgumentException($"map '{map.Name}' does not belong to this object", nameof(map));
    }

    /// <summary>
    /// The BTF type ids of a map's key and value (0 when not described), as the kernel records them at map creation:
    /// <c>__type(key/value, ...)</c> of BTF-defined maps, and for global data no key and the section's DATASEC as value.
    /// </summary>
    public (int KeyTypeId, int ValueTypeId) BtfTypesOf(BpfMap map)
    {
        var definition = DefinitionOf(map);
        if (Btf is null)
        {
            return (0, 0);
        }

        if (definition.Kind == MapDefinitionKind.GlobalData)
        {
            int datasec = Btf.FindId(definition.SectionName, BtfKind.DataSection);
            return (0, Math.Max(datasec, 0));
        }

        return (definition.KeyTypeId, definition.ValueTypeId);
    }

    // ---------------------------------------------------------------- running

    /// <summary>
    /// Runs an XDP, socket filter or tc program on one frame (from its Ethernet header), with a fresh context as the
    /// kernel's <c>BPF_PROG_TEST_RUN</c> builds one on the loopback device. Frames the kernel's test run refuses are
    /// not run (see <see cref="PacketRunResult.Refusal"/>).
    /// </summary>
    /// <exception cref="VmObjectException">The program does not run on packets, or could not be prepared.</exception>
    /// <exception cref="BpfExecutionException">The program faulted.</exception>
    public PacketRunResult RunPacket(VmProgram program, ReadOnlySpan<byte> packet) => RunPacket(program, packet, 1);

    /// <summary>
    /// Runs a packet program <paramref name="repeat"/> times on one frame, as <c>BPF_PROG_TEST_RUN</c> with repeat
    /// does: the context is set up once and each run sees what the previous one left in the packet. The result is the
    /// last run's, with <see cref="PacketRunResult.NanosecondsPerRun"/> the mean time of one run (set-up excluded, as
    /// the kernel reports it).
    /// </summary>
    /// <exception cref="VmObjectException">The program does not run on packets, or could not be prepared.</exception>
    /// <exception cref="BpfExecutionException">The program faulted.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="repeat"/> is below 1.</exception>
    public PacketRunResult RunPacket(VmProgram program, ReadOnlySpan<byte> packet, int repeat)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(repeat, 1);
        var executable = Prepared(program);
        var kind = program.PacketKind;
        if (kind == PacketContextKind.None)
        {
            throw new VmObjectException($"program '{program.Name}' ({program.Type}) does not run on packets; only XDP, socket filter and tc programs do");
        }

        if (TestRunRefusal(kind, packet) is { } refusal)
        {
            return new PacketRunResult(kind, refusal);
        }

        var state = _state.Value!;
        int cpu = AcquireCpu(state);
        try
        {
            var context = state.Context;
            context.ProcessorId = cpu;
            if (kind == PacketContextKind.Xdp)
            {
                var xdp = state.Xdp ??= new XdpContext();
                xdp.SetPacket(packet);
                ulong r0 = xdp.Run(executable, context, repeat, out var xdpElapsed);
                return new PacketRunResult(kind, r0, xdp.Packet.ToArray(), xdp.Redirect, context.InstructionsExecuted)
                {
                    NanosecondsPerRun = xdpElapsed.TotalNanoseconds / repeat,
                };
            }

            var skb = kind == PacketContextKind.SocketFilter
                ? state.SocketFilter ??= new SkbContext(SkbProgramKind.SocketFilter)
                : state.TrafficControl ??= new SkbContext(SkbProgramKind.TrafficControl);
            ResetSkb(skb);
            skb.SetPacket(packet);
            ulong result = skb.Run(executable, context, repeat, out var elapsed);
            var frame = skb.Frame.ToArray();
            if (kind == PacketContextKind.SocketFilter)
            {
                // A socket filter's skb starts at the network header; the kernel's test run hands the frame back with
                // the link-layer header it pushed in front cleared to zeros, and so do we.
                frame.AsSpan(0, Math.Min(SkbContext.EthernetHeaderLength, frame.Length)).Clear();
            }

            return new PacketRunResult(kind, result, frame, skb.Redirect, context.InstructionsExecuted)
            {
                NanosecondsPerRun = elapsed.TotalNanoseconds / repeat,
            };
        }
        finally
        {
            ReleaseCpu(cpu);
        }
    }

    /// <summary>Runs the program with this name on one frame (see <see cref="RunPacket(VmProgram, ReadOnlySpan{byte})"/>).</summary>
    public PacketRunResult RunPacket(string programName, ReadOnlySpan<byte> packet) => RunPacket(Program(programName), packet);

    /// <summary>
    /// Runs a tracing program (tracepoint, raw tracepoint, kprobe, tp_btf...) on a read-only context holding
    /// <paramref name="context"/> (a tracepoint record, a raw argument array, a <c>pt_regs</c>); returns r0.
    /// </summary>
    /// <exception cref="VmObjectException">The program could not be prepared.</exception>
    /// <exception cref="BpfExecutionException">The program faulted.</exception>
    public ulong RunTracing(VmProgram program, ReadOnlySpan<byte> context)
    {
        var executable = Prepared(program);
        var tracing = new TracingContext(context, "ctx");
        return WithCpu(execution => tracing.Run(executable, execution));
    }

    /// <summary>Runs a kprobe-style program on a <c>pt_regs</c> (see <see cref="RunTracing(VmProgram, ReadOnlySpan{byte})"/>).</summary>
    public ulong RunTracing(VmProgram program, PtRegs registers)
    {
        var executable = Prepared(program);
        var tracing = new TracingContext(registers);
        return WithCpu(execution => tracing.Run(executable, execution));
    }

    /// <summary>
    /// Runs a program on plain memory: the bytes are copied into a read-write region, r1 = its address and r2 = its
    /// length, and what the program wrote is copied back; returns r0. Meant for programs that treat r1 as a buffer,
    /// not as a kernel context.
    /// </summary>
    /// <exception cref="VmObjectException">The program could not be prepared.</exception>
    /// <exception cref="BpfExecutionException">The program faulted.</exception>
    public ulong RunOnMemory(VmProgram program, Span<byte> memory)
    {
        var executable = Prepared(program);
        var state = _state.Value!;
        int cpu = AcquireCpu(state);
        try
        {
            state.Context.ProcessorId = cpu;
            return executable.RunOnMemory(state.Context, memory);
        }
        finally
        {
            ReleaseCpu(cpu);
        }
    }

    // ---------------------------------------------------------------- events

    /// <summary>Takes every record waiting in the object's ring buffers and perf event arrays (ring buffers first, in map order).</summary>
    public IReadOnlyList<MapEvent> DrainEvents()
    {
        var events = new List<MapEvent>();
        lock (_ringReaders)
        {
            foreach (var map in _maps)
            {
                if (map is RingBufferMap ring)
                {
                    var reader = _ringReaders[ring];
                    while (reader.TryRead(out var record))
                    {
                        events.Add(new MapEvent(ring.Name, -1, record, 0));
                    }
                }
            }

            foreach (var map in _maps)
            {
                if (map is PerfEventArrayMap perf)
                {
                    var reader = _perfReaders[perf];
                    while (reader.TryRead(out var record))
                    {
                        events.Add(new MapEvent(perf.Name, record.Cpu, record.RawSample, record.LostSamples));
                    }
                }
            }
        }

        return events;
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (var reader in _perfReaders.Values)
        {
            reader.Dispose();
        }

        _state.Dispose();
        _freeCpuCount.Dispose();
    }

    // ---------------------------------------------------------------- set-up

    private void CreateMaps()
    {
        var definitions = Object.Maps;
        for (int i = 0; i < definitions.Count; i++)
        {
            var definition = definitions[i];
            if (definition.RequiresBtf)
            {
                continue; // .kconfig: its layout needs kernel configuration the VM does not have; programs using it fail to prepare.
            }

            BpfMap map;
            try
            {
                map = Maps.Create(SpecOf(definition, definitions));
            }
            catch (MapException e)
            {
                throw new VmObjectException($"map '{definition.Name}' cannot be created: {e.Message}", e);
            }

            _mapsByObjectIndex[i] = map;
            _definitions[map] = definition;
            _maps.Add(map);
            if (definition.Kind == MapDefinitionKind.GlobalData)
            {
                var initial = definition.InitialValue ?? ReadOnlyMemory<byte>.Empty;
                ((ArrayMap)map).GetValueSpan(0).Clear();
                initial.Span[..Math.Min(initial.Length, map.ValueSize)].CopyTo(((ArrayMap)map).GetValueSpan(0));
                if (definition.IsReadOnly)
                {
                    map.Freeze(); // as libbpf freezes .rodata after writing it
                }
            }

            switch (map)
            {
                case RingBufferMap ring:
                    _ringReaders[ring] = new RingBufferReader(ring);
                    break;
                case PerfEventArrayMap perf:
                    _perfReaders[perf] = new PerfEventReader(perf, Options.PerfBufferBytes);
                    break;
            }
        }
    }

    private MapSpec SpecOf(MapDefinition definition, IReadOnlyList<MapDefinition> all)
    {
        var flags = (MapFlags)definition.Flags;
        if (definition.Kind == MapDefinitionKind.GlobalData && definition.IsReadOnly)
        {
            flags |= MapFlags.ReadOnlyProgram; // libbpf creates .rodata with BPF_F_RDONLY_PROG
        }

        MapDefinition? inner = definition.InnerMap;
        if (inner is null && definition.Type is MapType.ArrayOfMaps or MapType.HashOfMaps)
        {
            // Legacy and iproute2 definitions name their template by index or by id.
            inner = definition.Kind switch
            {
                MapDefinitionKind.Legacy when definition.InnerMapIndex < (uint)all.Count => all[(int)definition.InnerMapIndex],
                MapDefinitionKind.Iproute2 => all.FirstOrDefault(m => m.Kind == MapDefinitionKind.Iproute2 && m.Id == definition.InnerId && m != definition),
                _ => null,
            };
        }

        return new MapSpec(definition.Type, Int(definition.KeySize, definition, "key size"), Int(definition.ValueSize, definition, "value size"),
            Int(definition.MaxEntries, definition, "max_entries"), flags, definition.Name)
        {
            InnerMap = inner is null ? null : SpecOf(inner, all),
            MapExtra = definition.MapExtra,
            SpinLockOffset = Btf is null ? null : definition.SpinLockOffset(Btf),
        };
    }

    private static int Int(uint value, MapDefinition definition, string what) =>
        value <= int.MaxValue ? (int)value : throw new VmObjectException($"map '{definition.Name}': {what} {value} is too large for the VM");

    /// <summary>The context programs of <paramref name="type"/> get on packets (<see cref="PacketContextKind.None"/> for other types).</summary>
    public static PacketContextKind PacketKindOf(ProgramType type) => type switch
    {
        ProgramType.Xdp => PacketContextKind.Xdp,
        ProgramType.SocketFilter => PacketContextKind.SocketFilter,
        ProgramType.SchedCls or ProgramType.SchedAct => PacketContextKind.TrafficControl,
        _ => PacketContextKind.None,
    };

    // CO-RE against the chosen target BTF, as libbpf does before loading; programs whose relocations fail (not the
    // poisoned ones: those fault only if the path runs) cannot be prepared.
    private (CoreResult? Result, string? Error) RelocateCore()
    {
        if (!CoreRelocator.HasRelocations(Object))
        {
            return (null, null);
        }

        var target = Options.CoreTarget;
        string name = "the given target BTF";
        if (target is null)
        {
            target = BtfFile.RunningKernel;
            name = BtfFile.RunningKernelPath;
        }

        return target is null
            ? (null, $"the object has CO-RE relocations but there is no target BTF: this system has no {BtfFile.RunningKernelPath}; set VmObjectOptions.CoreTarget")
            : (CoreRelocator.Apply(Object, target, name), null);
    }

    private void BuildPrograms()
    {
        var engineOptions = new EngineOptions { ResolveImm64 = ResolveImm64 };
        var (core, coreError) = RelocateCore();
        var verifierMaps = Options.Verify ? VerifierMap.FromObject(Object) : null;
        foreach (var source in Object.Programs)
        {
            var kind = PacketKindOf(source.Type);
            ExecutableProgram? executable = null;
            VerifierResult? verification = null;
            string? error = null;
            try
            {
                var program = source.ToBpfProgram();
                if (coreError is not null)
                {
                    throw new VmObjectException(coreError);
                }

                if (core?.FindProgram(source.Name) is { } relocated)
                {
                    if (relocated.Relocations.FirstOrDefault(r => r.Report.Outcome == CoreRelocationOutcome.Failed) is { } failed)
                    {
                        throw new VmObjectException($"CO-RE relocation #{failed.Report.Index} ({failed.Report.KindName} {failed.Report.AccessString}) at instruction {failed.InstructionIndex} failed against {core.TargetName}: {failed.Report.Reason}");
                    }

                    program = relocated.ToBpfProgram();
                }

                var layout = kind switch
                {
                    PacketContextKind.Xdp => ContextLayouts.Xdp,
                    PacketContextKind.SocketFilter => ContextLayouts.SocketFilter,
                    PacketContextKind.TrafficControl => ContextLayouts.TrafficControl,
                    _ => null,
                };
                // The verifier sees the program as the kernel would (relocated, context accesses as written).
                if (verifierMaps is not null)
                {
                    verification = Verifier.Verify(program, new VerifierOptions
                    {
                        ProgramType = source.Type,
                        Maps = verifierMaps,

                        // The BTF function info libbpf gives the kernel: global functions are verified on their own.
                        FunctionInfo = FunctionInfo.ForProgram(Object, source),
                        ProgramBtf = ObjectBtfInfo.Btf(Object),
                    });
                }

                if (layout is not null)
                {
                    program = ContextAccessRewriter.Rewrite(program, layout).Program;
                }

                var options = engineOptions;
                if (Options.Safety == SafetyMode.Unchecked && verification is { Accepted: true })
                {
                    // Packet programs always run with their type's context and packet regions, as verified.
                    options = engineOptions with
                    {
                        Safety = SafetyMode.Unchecked,
                        Verification = verification,
                        UncheckedKinds = kind == PacketContextKind.None ? engineOptions.UncheckedKinds : PacketProgramUncheckedKinds,
                        ContextLayout = layout,
                    };
                }

                executable = Options.Engine == EngineKind.Jit ? new JittedProgram(program, options) : new Interpreter(program, options);
                Maps.RegisterProgram(executable);
            }
            catch (BpfException e)
            {
                error = e.Message;
            }

            _programs.Add(new VmProgram(this, source, kind, executable, error, verification));
        }
    }

    private const MemoryKinds PacketProgramUncheckedKinds =
        MemoryKinds.Stack | MemoryKinds.MapValue | MemoryKinds.Context | MemoryKinds.Packet | MemoryKinds.PacketMeta;

    // The loader leaves lddw src=1 (map) and src=2 (global data value) with the object's map index in imm.
    private ulong ResolveImm64(int pc, Imm64Source source, int immediate, int nextImmediate)
    {
        if (source is not (Imm64Source.MapFd or Imm64Source.MapValue))
        {
            throw new BpfException($"pc {pc}: lddw source {(int)source} ({source}) cannot be resolved in the VM (kernel BTF ids are not available)");
        }

        var map = immediate >= 0 && immediate < _mapsByObjectIndex.Length ? _mapsByObjectIndex[immediate] : null;
        if (map is null)
        {
            string name = immediate >= 0 && immediate < Object.Maps.Count ? $" '{Object.Maps[immediate].Name}'" : "";
            throw new BpfException($"pc {pc}: lddw refers to map {immediate}{name}, which the VM could not create");
        }

        return Maps.ResolveImm64(pc, source == Imm64Source.MapFd ? Imm64Source.MapIndex : Imm64Source.MapIndexValue, map.Index, nextImmediate);
    }

    private void FillStaticSlots()
    {
        for (int i = 0; i < Object.Maps.Count; i++)
        {
            var definition = Object.Maps[i];
            var map = _mapsByObjectIndex[i];
            if (map is null)
            {
                continue;
            }

            foreach (var slot in definition.InitialSlots)
            {
                MapResult result;
                if (map is ProgramArrayMap programs)
                {
                    var target = _programs.Find(p => p.Name == slot.SymbolName)
                        ?? throw new VmObjectException($"map '{map.Name}' slot {slot.Slot}: no program '{slot.SymbolName}'");
                    if (target.Executable is null)
                    {
                        continue; // the program could not be prepared: its slot stays empty, as a failed load would leave it
                    }

                    result = programs.SetProgram(slot.Slot, target.Executable);
                }
                else
                {
                    var inner = slot.TargetMapIndex >= 0 && slot.TargetMapIndex < _mapsByObjectIndex.Length ? _mapsByObjectIndex[slot.TargetMapIndex] : null;
                    if (inner is null)
                    {
                        throw new VmObjectException($"map '{map.Name}' slot {slot.Slot}: no map '{slot.SymbolName}'");
                    }

                    var key = new byte[4];
                    var value = new byte[4];
                    BinaryPrimitives.WriteInt32LittleEndian(key, slot.Slot);
                    BinaryPrimitives.WriteInt32LittleEndian(value, inner.Id);
                    result = map.KeySize == 4 ? map.Update(key, value) : MapResult.Invalid;
                }

                if (result != MapResult.Success)
                {
                    throw new VmObjectException($"map '{map.Name}' slot {slot.Slot} cannot hold '{slot.SymbolName}' ({result.ToErrnoName()})");
                }
            }
        }
    }

    private static (BtfSpec?, string?) ReadBtf(BpfObject obj)
    {
        if (obj.Btf is not { } raw)
        {
            return (null, null);
        }

        try
        {
            return (BtfSpec.Parse(DataSectionLayout.Apply(obj, BtfSpec.Parse(raw))), null);
        }
        catch (BtfFormatException e)
        {
            return (null, e.Message);
        }
    }

    // ---------------------------------------------------------------- per-thread state and CPU slots

    private sealed class RunState(BpfExecutionContext context, int preferredCpu)
    {
        public BpfExecutionContext Context { get; } = context;

        public int PreferredCpu { get; set; } = preferredCpu;

        public XdpContext? Xdp { get; set; }

        public SkbContext? SocketFilter { get; set; }

        public SkbContext? TrafficControl { get; set; }
    }

    private RunState CreateRunState()
    {
        var context = Maps.CreateContext(_helpers);
        context.InstructionBudget = Options.InstructionBudget;
        return new RunState(context, (Interlocked.Increment(ref _nextThread) - 1) % Options.PossibleCpus);
    }

    private int AcquireCpu(RunState state)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _freeCpuCount.Wait();
        int n = _cpuBusy.Length;
        for (int i = 0; ; i++)
        {
            int cpu = (state.PreferredCpu + i) % n;
            if (Interlocked.CompareExchange(ref _cpuBusy[cpu], 1, 0) == 0)
            {
                state.PreferredCpu = cpu;
                return cpu;
            }
        }
    }

    private void ReleaseCpu(int cpu)
    {
        Volatile.Write(ref _cpuBusy[cpu], 0);
        _freeCpuCount.Release();
    }

    private ulong WithCpu(Func<BpfExecutionContext, ulong> run)
    {
        var state = _state.Value!;
        int cpu = AcquireCpu(state);
        try
        {
            state.Context.ProcessorId = cpu;
            return run(state.Context);
        }
        finally
        {
            ReleaseCpu(cpu);
        }
    }

    private static ExecutableProgram Prepared(VmProgram program)
    {
        ArgumentNullException.ThrowIfNull(program);
        return program.Executable ?? throw new VmObjectException($"program '{program.Name}' could not be prepared: {program.BuildError}");
    }

    // A fresh skb for every run, as the kernel's test run allocates one: fields a previous run wrote are cleared.
    private static void ResetSkb(SkbContext skb)
    {
        skb.Mark = 0;
        skb.QueueMapping = 0;
        skb.Priority = 0;
        skb.TcIndex = 0;
        skb.TcClassId = 0;
        skb.Timestamp = 0;
        skb.Hash = 0;
        Array.Clear(skb.ControlBlock);
    }

    /// <summary>
    /// Why the kernel's <c>BPF_PROG_TEST_RUN</c> would refuse this frame with -EINVAL, or null. Observed on Linux 6.18
    /// (bpf/README.md): every program type refuses a frame shorter than an Ethernet header, and skb programs also an
    /// untagged IPv4 or IPv6 frame whose network header is cut short. The VM also refuses what it cannot hold.
    /// </summary>
    private static string? TestRunRefusal(PacketContextKind kind, ReadOnlySpan<byte> frame)
    {
        const int ethernet = SkbContext.EthernetHeaderLength;
        if (frame.Length < ethernet)
        {
            return $"the frame has {frame.Length} bytes, less than an Ethernet header ({ethernet})";
        }

        if (kind == PacketContextKind.Xdp)
        {
            return frame.Length > XdpContext.MaxPacketLength
                ? $"the frame has {frame.Length} bytes; one XDP frame holds at most {XdpContext.MaxPacketLength} (the VM has no XDP fragments)"
                : null;
        }

        if (frame.Length > SkbContext.MaxFrameLength)
        {
            return $"the frame has {frame.Length} bytes, more than {SkbContext.MaxFrameLength}";
        }

        ushort etherType = BinaryPrimitives.ReadUInt16BigEndian(frame[12..]);
        int network = frame.Length - ethernet;
        return etherType switch
        {
            0x0800 when network < 20 => $"the IPv4 header is cut short ({network} of 20 bytes)",
            0x86dd when network < 40 => $"the IPv6 header is cut short ({network} of 40 bytes)",
            _ => null,
        };
    }

    private static string Names(IEnumerable<string> names)
    {
        var list = names.ToList();
        return list.Count == 0 ? "none" : string.Join(", ", list);
    }
}
