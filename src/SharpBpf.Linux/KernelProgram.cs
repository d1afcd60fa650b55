using SharpBpf.Isa;

namespace SharpBpf.Linux;

/// <summary>A program loaded into the kernel.</summary>
public sealed class KernelProgram : IDisposable
{
    private uint _id;

    private KernelProgram(ProgramHandle handle, ProgramType type, string name, string? verifierLog)
    {
        Handle = handle;
        Type = type;
        Name = name;
        VerifierLog = verifierLog;
    }

    /// <summary>The program's descriptor.</summary>
    public ProgramHandle Handle { get; }

    /// <summary>The program type.</summary>
    public ProgramType Type { get; }

    /// <summary>The object name.</summary>
    public string Name { get; }

    /// <summary>The verifier log of a load that asked for one (<see cref="ProgramLoadOptions.LogLevel"/> above 0); otherwise null.</summary>
    public string? VerifierLog { get; }

    /// <summary>The kernel-wide id.</summary>
    public uint Id => _id != 0 ? _id : _id = GetInfo(includeArrays: false).Id;

    /// <summary>Verifies and loads a program.</summary>
    /// <exception cref="BpfSyscallException">The kernel refused it; <see cref="BpfSyscallException.VerifierLog"/> says why.</exception>
    public static KernelProgram Load(ProgramLoadOptions options)
    {
        var handle = BpfSyscall.ProgramLoad(options, out string? log);
        return new KernelProgram(handle, options.Type, options.Name ?? "", log);
    }

    /// <summary>Loads instructions as a program of the given type.</summary>
    public static KernelProgram Load(ProgramType type, ReadOnlySpan<Instruction> instructions, string? name = null, string license = "GPL") =>
        Load(new ProgramLoadOptions { Type = type, Instructions = instructions.ToArray(), Name = name, License = license });

    /// <summary>Loads a validated program; its name is cut to 15 characters and stripped of characters the kernel refuses.</summary>
    public static KernelProgram Load(BpfProgram program, ProgramType type, string license = "GPL")
    {
        ArgumentNullException.ThrowIfNull(program);
        return Load(type, program.Instructions, KernelName(program.Name), license);
    }

    /// <summary>Wraps a program descriptor, taking ownership.</summary>
    public static KernelProgram FromHandle(ProgramHandle handle)
    {
        ArgumentNullException.ThrowIfNull(handle);
        try
        {
            var info = BpfObjectInfo.GetProgramInfo(handle, includeArrays: false);
            return new KernelProgram(handle, info.Type, info.Name, null) { _id = info.Id };
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    /// <summary>Opens a program by id.</summary>
    public static KernelProgram FromId(uint id) => FromHandle(BpfSyscall.ProgramGetFdById(id));

    /// <summary>Opens a program pinned on bpffs.</summary>
    public static KernelProgram FromPin(string path) => FromHandle(BpfSyscall.GetPinnedProgram(path));

    /// <summary>Runs the program <paramref name="repeat"/> times on <paramref name="data"/> with BPF_PROG_TEST_RUN.</summary>
    public TestRunResult TestRun(ReadOnlySpan<byte> data, uint repeat = 1) =>
        TestRun(new TestRunOptions { Data = data.ToArray(), Repeat = repeat });

    /// <summary>Runs the program with full control over input, context and repetition.</summary>
    public TestRunResult TestRun(TestRunOptions options) => BpfSyscall.ProgramTestRun(Handle, options);

    /// <summary>Asks the kernel for the program's description (with instruction, code and map id arrays unless told not to).</summary>
    public ProgramInfo GetInfo(bool includeArrays = true) => BpfObjectInfo.GetProgramInfo(Handle, includeArrays);

    /// <summary>Pins the program on bpffs.</summary>
    public void Pin(string path) => BpfSyscall.ObjectPin(Handle, path);

    /// <summary>Closes the descriptor (the kernel unloads the program when nothing else holds it).</summary>
    public void Dispose() => Handle.Dispose();

    /// <summary>Turns any name into one the kernel accepts: at most 15 characters of letters, digits, '_' and '.'.</summary>
    public static string KernelName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var chars = name.Where(c => char.IsAsciiLetterOrDigit(c) || c == '_' || c == '.').Take(15).ToArray();
        return new string(chars);
    }
}

/// <summary>A link in the kernel: an attachment that lasts while the link is open or pinned.</summary>
public sealed class KernelLink : IDisposable
{
    private KernelLink(LinkHandle handle) => Handle = handle;

    /// <summary>The link's descriptor.</summary>
    public LinkHandle Handle { get; }

    /// <summary>Attaches with BPF_LINK_CREATE.</summary>
    public static KernelLink Create(LinkCreateOptions options) => new(BpfSyscall.LinkCreate(options));

    /// <summary>Attaches a raw tracepoint program with BPF_RAW_TRACEPOINT_OPEN.</summary>
    public static KernelLink AttachRawTracepoint(KernelProgram program, string tracepoint, ulong cookie = 0)
    {
        ArgumentNullException.ThrowIfNull(program);
        return new(BpfSyscall.RawTracepointOpen(tracepoint, program.Handle, cookie));
    }

    /// <summary>Opens a link by id.</summary>
    public static KernelLink FromId(uint id) => new(BpfSyscall.LinkGetFdById(id));

    /// <summary>Opens a link pinned on bpffs.</summary>
    public static KernelLink FromPin(string path) => new(BpfSyscall.GetPinnedLink(path));

    /// <summary>Replaces the attached program (only if it is <paramref name="expected"/>, when given).</summary>
    public void Update(KernelProgram replacement, KernelProgram? expected = null)
    {
        ArgumentNullException.ThrowIfNull(replacement);
        BpfSyscall.LinkUpdate(Handle, replacement.Handle, expected?.Handle);
    }

    /// <summary>Detaches the program while keeping the link open.</summary>
    public void Detach() => BpfSyscall.LinkDetach(Handle);

    /// <summary>Asks the kernel for the link's description.</summary>
    public LinkInfo GetInfo() => BpfObjectInfo.GetLinkInfo(Handle);

    /// <summary>Pins the link on bpffs so that the attachment outlives the process.</summary>
    public void Pin(string path) => BpfSyscall.ObjectPin(Handle, path);

    /// <summary>Closes the descriptor (detaching unless pinned or otherwise held).</summary>
    public void Dispose() => Handle.Dispose();
}

/// <summary>BTF type information loaded into the kernel.</summary>
public sealed class KernelBtf : IDisposable
{
    private KernelBtf(BtfHandle handle, string? log)
    {
        Handle = handle;
        Log = log;
    }

    /// <summary>The BTF object's descriptor.</summary>
    public BtfHandle Handle { get; }

    /// <summary>The kernel's BTF log, when a log level was requested.</summary>
    public string? Log { get; }

    /// <summary>Loads raw BTF (header, type and string sections).</summary>
    /// <exception cref="BpfSyscallException">The kernel rejected the BTF; the exception carries the BTF verifier log.</exception>
    public static KernelBtf Load(ReadOnlySpan<byte> btf, uint logLevel = 0)
    {
        var handle = BpfSyscall.BtfLoad(btf, out string? log, logLevel);
        return new KernelBtf(handle, log);
    }

    /// <summary>Opens a BTF object by id (id 1 is normally vmlinux).</summary>
    public static KernelBtf FromId(uint id) => new(BpfSyscall.BtfGetFdById(id), null);

    /// <summary>Asks the kernel for the object's description, optionally with the raw BTF.</summary>
    public BtfInfo GetInfo(bool includeData = false) => BpfObjectInfo.GetBtfInfo(Handle, includeData);

    /// <summary>Closes the descriptor.</summary>
    public void Dispose() => Handle.Dispose();
}
