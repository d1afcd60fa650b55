using SharpBpf.Btf;
using SharpBpf.Btf.Core;
using SharpBpf.Isa;
using SharpBpf.Objects;

namespace SharpBpf.Linux.Objects;

/// <summary>One program of a <see cref="KernelObject"/>: loaded, refused (with the reason) or not asked for.</summary>
public sealed class KernelObjectProgram
{
    internal KernelObjectProgram(ObjectProgram definition) => Definition = definition;

    /// <summary>The program's name in the object.</summary>
    public string Name => Definition.Name;

    /// <summary>The program as the object file defines it.</summary>
    public ObjectProgram Definition { get; }

    /// <summary>The loaded program, or null when it was refused or skipped.</summary>
    public KernelProgram? Program { get; internal set; }

    /// <summary>Why the program is not loaded (the kernel's refusal, or a missing piece such as an unresolved extern), or null.</summary>
    public KernelObjectException? Error { get; internal set; }

    /// <summary>True when the program was not attempted (not selected, or <c>SEC("?...")</c>).</summary>
    public bool Skipped { get; internal set; }

    /// <summary>Whether func and line info from <c>.BTF.ext</c> went to the kernel with it.</summary>
    public bool HasLineInfo { get; internal set; }

    /// <inheritdoc/>
    public override string ToString() =>
        Program is not null ? $"{Name}: loaded (id {Program.Id})" : Skipped ? $"{Name}: skipped" : $"{Name}: {Error?.Message.Split('\n')[0]}";
}

/// <summary>One map of a <see cref="KernelObject"/>.</summary>
public sealed class KernelObjectMap
{
    internal KernelObjectMap(MapDefinition definition, string kernelName)
    {
        Definition = definition;
        KernelName = kernelName;
    }

    /// <summary>The map's name in the object (its symbol, or the data section name).</summary>
    public string Name => Definition.Name;

    /// <summary>The name the map has in the kernel (at most 15 characters; global data maps carry the object prefix).</summary>
    public string KernelName { get; }

    /// <summary>The map as the object file defines it.</summary>
    public MapDefinition Definition { get; }

    /// <summary>The map in the kernel, or null when it could not be created (see <see cref="Error"/>).</summary>
    public KernelMap? Map { get; internal set; }

    /// <summary>Why the map does not exist, or null.</summary>
    public string? Error { get; internal set; }

    /// <summary>True when the map was found pinned and reused rather than created.</summary>
    public bool Reused { get; internal set; }

    /// <summary>Whether the map was created with the object's BTF key and value types.</summary>
    public bool HasBtf { get; internal set; }
}

/// <summary>A program of an object could not be loaded, or the object could not be set up in the kernel.</summary>
public sealed class KernelObjectException : BpfException
{
    /// <summary>Creates the exception.</summary>
    public KernelObjectException(string? programName, string message, Exception? inner = null)
        : base(programName is null ? message : $"program '{programName}': {message}", inner!)
    {
        ProgramName = programName;
    }

    /// <summary>Creates an exception with no details.</summary>
    public KernelObjectException() : this(null, "the object could not be loaded") { }

    /// <summary>Creates an exception with a message.</summary>
    public KernelObjectException(string message) : this(null, message) { }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public KernelObjectException(string message, Exception innerException) : this(null, message, innerException) { }

    /// <summary>The program concerned, or null for object-wide failures (maps, BTF).</summary>
    public string? ProgramName { get; }

    /// <summary>The kernel's error when the failure was a system call, else null.</summary>
    public BpfSyscallException? SyscallError => InnerException as BpfSyscallException;

    /// <summary>The verifier log of a refused program, or null.</summary>
    public string? VerifierLog => SyscallError?.VerifierLog;
}

/// <summary>
/// A BPF object loaded into the kernel as libbpf loads it: its BTF, every map (created, or reused from a pin), global
/// data with its initial contents (<c>.rodata</c> frozen), map references in the code resolved to descriptors, and
/// every program verified and loaded with its type, attach type, license and func/line info. Disposing closes it all.
/// </summary>
public sealed class KernelObject : IDisposable
{
    private const uint PinByName = 1;
    private readonly List<KernelObjectMap> _maps = [];
    private readonly List<KernelObjectProgram> _programs = [];

    private KernelObject(BpfObject definition) => Definition = definition;

    /// <summary>The object as read from its file.</summary>
    public BpfObject Definition { get; }

    /// <summary>The object's BTF in the kernel, or null (no BTF, not asked for, or refused: see <see cref="BtfError"/>).</summary>
    public KernelBtf? Btf { get; private set; }

    /// <summary>Why the object's BTF is not loaded although it has some, or null.</summary>
    public string? BtfError { get; private set; }

    /// <summary>
    /// The BTF features the object used that this kernel lacks, rewritten away before loading (none on a current
    /// kernel); see <see cref="BtfSanitizer"/>.
    /// </summary>
    public BtfFeatures SanitizedBtfFeatures { get; private set; }

    /// <summary>The maps, in the order of <see cref="BpfObject.Maps"/>.</summary>
    public IReadOnlyList<KernelObjectMap> Maps => _maps;

    /// <summary>The programs, in the order of <see cref="BpfObject.Programs"/>.</summary>
    public IReadOnlyList<KernelObjectProgram> Programs => _programs;

    /// <summary>The kernel map of a map by object name.</summary>
    /// <exception cref="KeyNotFoundException">No such map, or it was not created.</exception>
    public KernelMap Map(string name) =>
        _maps.Find(m => m.Name == name)?.Map ?? throw new KeyNotFoundException($"the object has no created map '{name}'");

    /// <summary>The kernel program of a program by object name.</summary>
    /// <exception cref="KeyNotFoundException">No such program, or it is not loaded.</exception>
    public KernelProgram Program(string name) =>
        _programs.Find(p => p.Name == name)?.Program ?? throw new KeyNotFoundException($"the object has no loaded program '{name}'");

    /// <summary>Reads an object file and loads it; the object name (for global data maps) is the file name without extension.</summary>
    /// <exception cref="KernelObjectException">A map or program could not be set up.</exception>
    public static KernelObject Load(string path, KernelObjectOptions? options = null) =>
        Load(BpfObject.Load(path), options, System.IO.Path.GetFileNameWithoutExtension(path));

    /// <summary>Loads an object into the kernel.</summary>
    /// <exception cref="KernelObjectException">A map could not be created, or (unless
    /// <see cref="KernelObjectOptions.ContinueOnProgramFailure"/>) a program was refused; nothing stays loaded.</exception>
    public static KernelObject Load(BpfObject bpfObject, KernelObjectOptions? options = null) => Load(bpfObject, options, "obj");

    private static KernelObject Load(BpfObject bpfObject, KernelObjectOptions? options, string defaultName)
    {
        ArgumentNullException.ThrowIfNull(bpfObject);
        options ??= new KernelObjectOptions();
        var result = new KernelObject(bpfObject);
        try
        {
            var loader = new Loader(result, options, options.ObjectName ?? defaultName);
            loader.Run();
            return result;
        }
        catch
        {
            result.Dispose();
            throw;
        }
    }

    /// <summary>Closes every program, map and the BTF (the kernel frees what nothing else holds).</summary>
    public void Dispose()
    {
        foreach (var program in _programs)
        {
            program.Program?.Dispose();
        }

        foreach (var map in _maps)
        {
            map.Map?.Dispose();
        }

        Btf?.Dispose();
    }

    /// <summary>The name libbpf gives a global data map: up to 8 characters of the object name, then the section name, 15 in all.</summary>
    public static string GlobalDataMapName(string objectName, string sectionName)
    {
        ArgumentNullException.ThrowIfNull(objectName);
        ArgumentNullException.ThrowIfNull(sectionName);
        string prefix = objectName.Length > 8 ? objectName[..8] : objectName;
        string name = prefix + sectionName;
        name = name.Length > 15 ? name[..15] : name;
        return new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '.' ? c : '_').ToArray());
    }

    private sealed class Loader(KernelObject target, KernelObjectOptions options, string objectName)
    {
        private readonly BpfObject _object = target.Definition;

        // CO-RE against the running kernel, as libbpf does, unless the host patches programs itself.
        private readonly Lazy<CoreResult?> _core = new(() =>
            options.Patcher is null && CoreRelocator.HasRelocations(target.Definition)
                ? CoreRelocator.Apply(target.Definition, VmlinuxBtf.Value ?? throw new KernelObjectException(
                    "the object has CO-RE relocations but the kernel has no BTF (" + VmlinuxBtf.Path + ")"))
                : null);

        private BtfSpec? _spec;
        private ExtRecords? _ext;

        private static Instruction[] RelocatedByCore(CoreResult core, ObjectProgram program)
        {
            var relocated = core.FindProgram(program.Name) ?? throw new KernelObjectException(program.Name, "CO-RE relocation lost the program");
            if (relocated.Relocations.FirstOrDefault(r => r.Report.Outcome == CoreRelocationOutcome.Failed) is { } failed)
            {
                throw new KernelObjectException(program.Name,
                    $"CO-RE relocation #{failed.Report.Index} ({failed.Report.KindName} {failed.Report.AccessString}) at instruction {failed.InstructionIndex} failed: {failed.Report.Reason}");
            }

            return (Instruction[])relocated.Instructions.Clone();
        }

        public void Run()
        {
            LoadBtf();
            CreateMaps();
            FillMapInMapSlots();
            foreach (var program in _object.Programs)
            {
                var entry = new KernelObjectProgram(program);
                target._programs.Add(entry);
                bool wanted = options.Programs is null ? program.Section.AutoLoad : options.Programs.Contains(program.Name);
                if (!wanted)
                {
                    entry.Skipped = true;
                    continue;
                }

                try
                {
                    LoadProgram(entry);
                }
                catch (KernelObjectException e) when (options.ContinueOnProgramFailure)
                {
                    entry.Error = e;
                }
            }

            FillProgramArraySlots();
        }

        private void LoadBtf()
        {
            if (_object.Btf is not { } raw)
            {
                return;
            }

            try
            {
                _spec = BtfSpec.Parse(raw);
                if (_object.BtfExt is { } ext)
                {
                    _ext = ObjectBtf.ReadExtRecords(ext.Span, _spec);
                }
            }
            catch (BtfFormatException e)
            {
                target.BtfError = $"the object's BTF is malformed: {e.Message}";
                _spec = null;
                return;
            }

            if (!options.LoadBtf)
            {
                return;
            }

            try
            {
                byte[] btf = ObjectBtf.FixDataSections(_object, _spec);
                var supported = KernelFeatures.SupportedBtfFeatures;
                var fixedSpec = BtfSpec.Parse(btf);
                if (BtfSanitizer.NeedsSanitizing(fixedSpec, supported))
                {
                    // An older kernel: rewrite the kinds it does not know, keeping every type id, as libbpf does.
                    btf = BtfSanitizer.Sanitize(fixedSpec, supported);
                    target.SanitizedBtfFeatures = BtfSanitizer.UsedFeatures(fixedSpec) & ~supported;
                }

                target.Btf = KernelBtf.Load(btf);
            }
            catch (BpfSyscallException e)
            {
                // As libbpf does, go on without BTF: maps lose their pretty types and programs their line info.
                target.BtfError = e.Message;
            }
        }

        private void CreateMaps()
        {
            var maps = _object.Maps;
            foreach (var definition in maps)
            {
                string name = definition.Kind is MapDefinitionKind.GlobalData or MapDefinitionKind.Kconfig
                    ? GlobalDataMapName(objectName, definition.Name)
                    : KernelProgram.KernelName(definition.Name);
                target._maps.Add(new KernelObjectMap(definition, name));
            }

            // Maps of maps need their inner template first, which may be another map of the object.
            foreach (var pass in new[] { false, true })
            {
                for (int i = 0; i < maps.Count; i++)
                {
                    if (IsMapOfMaps(maps[i].Type) == pass)
                    {
                        CreateMap(target._maps[i]);
                    }
                }
            }
        }

        private static bool IsMapOfMaps(MapType type) => type is MapType.ArrayOfMaps or MapType.HashOfMaps;

        private void CreateMap(KernelObjectMap entry)
        {
            var definition = entry.Definition;
            if (definition.Kind == MapDefinitionKind.Kconfig)
            {
                entry.Error = "__kconfig externs are not supported by this loader";
                return;
            }

            string? pinPath = null;
            if (definition.Kind == MapDefinitionKind.BtfDefined && definition.Pinning == PinByName)
            {
                pinPath = System.IO.Path.Combine(options.PinRoot ?? BpfFileSystem.DefaultMountPoint, definition.Name);
                if (File.Exists(pinPath))
                {
                    entry.Map = ReusePinned(definition, pinPath);
                    entry.Reused = true;
                    return;
                }
            }

            KernelMap? inner = null;
            try
            {
                if (IsMapOfMaps(definition.Type))
                {
                    inner = CreateInnerTemplate(definition);
                }

                entry.Map = CreateWithBtfFallback(entry, inner);
            }
            catch (BpfSyscallException e)
            {
                throw new KernelObjectException(null, $"map '{definition.Name}' ({definition.Type}) could not be created: {e.Message}", e);
            }
            finally
            {
                inner?.Dispose();
            }

            if (definition.Kind == MapDefinitionKind.GlobalData)
            {
                var value = definition.InitialValue ?? new byte[definition.ValueSize];
                entry.Map.Update(stackalloc byte[4], value.Span);
                if (definition.IsReadOnly)
                {
                    entry.Map.Freeze();
                }
            }

            if (pinPath is not null)
            {
                if (options.PinRoot is null)
                {
                    BpfFileSystem.EnsureMounted();
                }

                Directory.CreateDirectory(System.IO.Path.GetDirectoryName(pinPath)!);
                entry.Map.Pin(pinPath);
            }
        }

        private KernelMap CreateWithBtfFallback(KernelObjectMap entry, KernelMap? inner)
        {
            var definition = entry.Definition;
            var shape = Shape(definition);
            uint keyType = 0, valueType = 0;
            if (target.Btf is not null && _spec is not null)
            {
                if (definition.Kind == MapDefinitionKind.GlobalData)
                {
                    int datasec = _spec.FindId(definition.Name, BtfKind.DataSection);
                    valueType = datasec > 0 ? (uint)datasec : 0;
                }
                else if (definition.Kind == MapDefinitionKind.BtfDefined)
                {
                    keyType = (uint)Math.Max(0, definition.KeyTypeId);
                    valueType = (uint)Math.Max(0, definition.ValueTypeId);
                }
            }

            var create = new MapCreateOptions
            {
                Type = definition.Type, KeySize = shape.Key, ValueSize = shape.Value, MaxEntries = shape.Max, Flags = shape.Flags,
                Name = entry.KernelName, NumaNode = definition.NumaNode, MapExtra = definition.MapExtra, InnerMap = inner?.Handle,
                Btf = keyType != 0 || valueType != 0 ? target.Btf?.Handle : null,
                BtfKeyTypeId = keyType, BtfValueTypeId = valueType,
            };
            if (create.Btf is not null)
            {
                try
                {
                    var map = KernelMap.Create(create);
                    entry.HasBtf = true;
                    return map;
                }
                catch (BpfSyscallException)
                {
                    // Some map types refuse BTF types (libbpf retries the same way).
                }
            }

            return KernelMap.Create(new MapCreateOptions
            {
                Type = create.Type, KeySize = create.KeySize, ValueSize = create.ValueSize, MaxEntries = create.MaxEntries, Flags = create.Flags,
                Name = create.Name, NumaNode = create.NumaNode, MapExtra = create.MapExtra, InnerMap = create.InnerMap,
            });
        }

        /// <summary>The shape to create a definition with, adjusted as libbpf adjusts it.</summary>
        private static (uint Key, uint Value, uint Max, MapCreateFlags Flags) Shape(MapDefinition definition)
        {
            uint key = definition.KeySize, value = definition.ValueSize, max = definition.MaxEntries;
            var flags = (MapCreateFlags)definition.Flags;
            switch (definition.Type)
            {
                case MapType.PerfEventArray:
                    key = key == 0 ? 4 : key;
                    value = value == 0 ? 4 : value;
                    max = max == 0 ? (uint)LinuxSystem.PossibleCpuCount : max;
                    break;
                case MapType.ArrayOfMaps or MapType.HashOfMaps or MapType.ProgramArray:
                    value = value == 0 ? 4 : value; // a descriptor (or id), whatever old definitions declared
                    break;
                case MapType.RingBuffer:
                case MapType.UserRingBuffer:
                    max = RoundRingBufferSize(max);
                    break;
                default:
                    break;
            }

            if (definition.Kind == MapDefinitionKind.GlobalData)
            {
                flags |= MapCreateFlags.Mmapable | (definition.IsReadOnly ? MapCreateFlags.ReadOnlyProgram : MapCreateFlags.None);
            }

            return (key, value, max, flags);
        }

        /// <summary>Ring buffers are a power-of-two number of pages; libbpf rounds a declared size up to the next one.</summary>
        private static uint RoundRingBufferSize(uint size)
        {
            uint page = (uint)Environment.SystemPageSize;
            uint pages = Math.Max(1, (uint)((size + (ulong)page - 1) / page));
            uint rounded = 1;
            while (rounded < pages && rounded < 1u << 20)
            {
                rounded <<= 1;
            }

            return rounded * page;
        }

        private KernelMap CreateInnerTemplate(MapDefinition outer)
        {
            MapDefinition? template = outer.InnerMap;
            if (template is null && outer.Kind == MapDefinitionKind.Iproute2 && outer.InnerId != 0)
            {
                template = _object.Maps.FirstOrDefault(m => m.Kind == MapDefinitionKind.Iproute2 && m.Id == outer.InnerId);
            }

            if (template is null && outer.Kind is MapDefinitionKind.Legacy && outer.InnerMapIndex < _object.Maps.Count)
            {
                template = _object.Maps[(int)outer.InnerMapIndex];
            }

            if (template is null)
            {
                throw new KernelObjectException(null, $"map of maps '{outer.Name}' has no inner map definition");
            }

            var shape = Shape(template);
            return KernelMap.Create(new MapCreateOptions
            {
                Type = template.Type, KeySize = shape.Key, ValueSize = shape.Value, MaxEntries = shape.Max, Flags = shape.Flags,
                Name = KernelProgram.KernelName(template.Name),
            });
        }

        private static KernelMap ReusePinned(MapDefinition definition, string path)
        {
            var map = KernelMap.FromPin(path);
            var shape = Shape(definition);
            if (map.Type != definition.Type || map.KeySize != shape.Key || map.ValueSize != shape.Value || map.MaxEntries != shape.Max)
            {
                string found = $"{map.Type}, key {map.KeySize}, value {map.ValueSize}, max {map.MaxEntries}";
                map.Dispose();
                throw new KernelObjectException(null,
                    $"map '{definition.Name}' is pinned at {path} with another shape ({found}) than the object declares ({definition.Type}, key {shape.Key}, value {shape.Value}, max {shape.Max})");
            }

            return map;
        }

        private void FillMapInMapSlots()
        {
            foreach (var entry in target._maps)
            {
                foreach (var slot in entry.Definition.InitialSlots)
                {
                    if (slot.TargetMapIndex < 0 || entry.Map is null)
                    {
                        continue;
                    }

                    var inner = target._maps[slot.TargetMapIndex].Map
                        ?? throw new KernelObjectException(null, $"map '{entry.Name}' slot {slot.Slot} holds map '{slot.SymbolName}', which was not created");
                    WriteSlot(entry.Map, slot.Slot, inner.Handle.Fd);
                }
            }
        }

        private void FillProgramArraySlots()
        {
            foreach (var entry in target._maps)
            {
                foreach (var slot in entry.Definition.InitialSlots)
                {
                    if (slot.TargetMapIndex >= 0 || entry.Map is null)
                    {
                        continue;
                    }

                    // A slot whose program is not loaded stays empty, as with libbpf when a program is not auto-loaded.
                    if (target._programs.Find(p => p.Name == slot.SymbolName)?.Program is { } program)
                    {
                        WriteSlot(entry.Map, slot.Slot, program.Handle.Fd);
                    }
                }
            }
        }

        private static void WriteSlot(KernelMap map, int slot, int fd)
        {
            Span<byte> key = stackalloc byte[4];
            Span<byte> value = stackalloc byte[4];
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(key, slot);
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(value, fd);
            map.Update(key, value);
        }

        private void LoadProgram(KernelObjectProgram entry)
        {
            var program = entry.Definition;
            string where = $"SEC(\"{program.SectionName}\")";
            var type = program.Type == ProgramType.Unspecified ? options.FallbackProgramType ?? ProgramType.Unspecified : program.Type;
            if (type == ProgramType.Unspecified)
            {
                throw new KernelObjectException(program.Name, $"{where} does not name a program type this loader knows");
            }

            var instructions = (Instruction[])program.Instructions.Clone();
            if (_core.Value is { } core)
            {
                instructions = RelocatedByCore(core, program);
            }

            if (options.Patcher is { } patcher)
            {
                instructions = patcher(_object, program, instructions);
                if (instructions.Length != program.Instructions.Length)
                {
                    throw new KernelObjectException(program.Name, $"the patching step changed the program's length from {program.Instructions.Length} to {instructions.Length} instructions");
                }
            }

            ResolveRelocations(program, instructions);
            uint attachBtfId = ResolveAttachTarget(program);
            byte[] funcInfo = [], lineInfo = [];
            if (target.Btf is not null && _ext is not null && _spec is not null)
            {
                (funcInfo, lineInfo) = ObjectBtf.ForProgram(_ext, _object, program);
            }

            var flags = options.ExtraProgramFlags;
            flags |= program.Section.IsSleepable ? ProgramLoadFlags.Sleepable : 0;
            flags |= program.Section.IsXdpFrags ? ProgramLoadFlags.XdpHasFragments : 0;
            var load = new ProgramLoadOptions
            {
                Type = type,
                Instructions = instructions,
                Name = KernelProgram.KernelName(program.Name),
                License = _object.License.Length > 0 ? _object.License : "",
                KernelVersion = _object.KernelVersion ?? 0,
                ExpectedAttachType = program.ExpectedAttachType ?? 0,
                AttachBtfId = attachBtfId,
                Flags = flags,
                LogLevel = options.LogLevel,
                Btf = funcInfo.Length > 0 ? target.Btf?.Handle : null,
                FuncInfo = funcInfo.Length > 0 ? funcInfo : default,
                FuncInfoRecordSize = _ext?.FuncRecordSize ?? 8,
                LineInfo = funcInfo.Length > 0 ? lineInfo : default,
                LineInfoRecordSize = _ext?.LineRecordSize ?? 16,
            };
            options.ProgramLoadObserver?.Invoke(program, load);
            try
            {
                entry.Program = KernelProgram.Load(load);
                entry.HasLineInfo = funcInfo.Length > 0;
            }
            catch (BpfSyscallException e)
            {
                string reason = e.ErrorNumber == Errno.EINVAL && string.IsNullOrWhiteSpace(e.VerifierLog) && !KernelFeatures.IsProgramTypeSupported(type)
                    ? $"this kernel cannot load {type} programs ({where}): {e.ErrorName}"
                    : $"the kernel refused {where} ({type}): {e.Message}";
                throw new KernelObjectException(program.Name, reason, e);
            }
        }

        private void ResolveRelocations(ObjectProgram program, Instruction[] instructions)
        {
            foreach (var relocation in program.Relocations)
            {
                int at = relocation.InstructionIndex;
                var insn = instructions[at];
                switch (relocation.Kind)
                {
                    case ProgramRelocationKind.MapReference:
                    case ProgramRelocationKind.MapValue:
                    {
                        var map = target._maps[relocation.MapIndex];
                        if (map.Map is null)
                        {
                            throw new KernelObjectException(program.Name, $"instruction {at} refers to map '{map.Name}', which was not created: {map.Error}");
                        }

                        instructions[at] = insn.WithImmediate(map.Map.Handle.Fd);
                        break;
                    }

                    case ProgramRelocationKind.ExternCall:
                    {
                        int id = VmlinuxBtf.FindId(relocation.SymbolName, BtfKind.Function);
                        if (id <= 0)
                        {
                            throw new KernelObjectException(program.Name, $"instruction {at} calls '{relocation.SymbolName}', which is neither in the object nor a kernel function (kfunc) of this kernel's BTF");
                        }

                        instructions[at] = new Instruction(insn.Opcode, insn.Dst, (byte)CallKind.Kfunc, 0, id);
                        break;
                    }

                    case ProgramRelocationKind.ExternLoad:
                    {
                        int id = VmlinuxBtf.FindId(relocation.SymbolName, BtfKind.Variable);
                        if (id <= 0)
                        {
                            throw new KernelObjectException(program.Name, $"instruction {at} loads extern '{relocation.SymbolName}', which this loader cannot resolve (not a typed kernel variable in this kernel's BTF)");
                        }

                        instructions[at] = new Instruction(insn.Opcode, insn.Dst, (byte)Imm64Source.BtfId, insn.Offset, id);
                        instructions[at + 1] = instructions[at + 1].WithImmediate(0);
                        break;
                    }

                    default:
                        break;
                }
            }
        }

        private static uint ResolveAttachTarget(ObjectProgram program)
        {
            var section = program.Section;
            if (!section.NeedsBtfAttachTarget)
            {
                return 0;
            }

            string target = section.AttachTarget ?? "";
            (string name, BtfKind kind) = section.ExpectedAttachType switch
            {
                AttachType.TraceRawTracepoint => ("btf_trace_" + target, BtfKind.Typedef),
                AttachType.LsmMac or AttachType.LsmCgroup => ("bpf_lsm_" + target, BtfKind.Function),
                AttachType.TraceIter => ("bpf_iter_" + target, BtfKind.Function),
                _ => (target, BtfKind.Function),
            };
            if (target.Length == 0)
            {
                throw new KernelObjectException(program.Name, $"SEC(\"{section.SectionName}\") needs an attach target after '/'");
            }

            if (VmlinuxBtf.Value is null)
            {
                throw new KernelObjectException(program.Name, $"SEC(\"{section.SectionName}\") needs the kernel's BTF ({VmlinuxBtf.Path}), which this kernel does not provide");
            }

            int id = VmlinuxBtf.FindId(name, kind);
            return id > 0 ? (uint)id : throw new KernelObjectException(program.Name, $"SEC(\"{section.SectionName}\"): the kernel's BTF has no {kind} '{name}' to attach to");
        }
    }
}
