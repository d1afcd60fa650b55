using System.Buffers.Binary;
using SharpBpf.Btf;
using SharpBpf.Fuzzing;
using SharpBpf.Isa;

namespace SharpBpf.Linux;

/// <summary>
/// Loads generated programs into the running kernel with the log off (a second load with a log only to explain a
/// disagreement); the generator's maps are created once and handed to every load through the fd array.
/// </summary>
public sealed class KernelVerifierOracle : IDisposable
{
    private readonly List<KernelMap> _maps = [];
    private readonly KernelBtf _btf;

    /// <summary>Creates the generator's maps and the BTF in the kernel.</summary>
    /// <exception cref="BpfException">The kernel offers no privileged bpf() here.</exception>
    public KernelVerifierOracle()
    {
        if (KernelSupport.Status is { IsSupported: false } or { HasPrivilege: false })
        {
            throw new BpfException($"loading into the kernel needs privileged bpf(): {KernelSupport.Status.Reason}");
        }

        foreach (var map in VerifierProgramGenerator.Maps)
        {
            _maps.Add(KernelMap.Create(map.Type, (int)map.KeySize, (int)map.ValueSize, map.MaxEntries, map.Name));
        }

        // The kernel wants BTF func_info for programs with callbacks; global functions are verified from it.
        _btf = KernelBtf.Load(FuzzFunctionBtf.Bytes);
    }

    /// <summary>The kernel's verdict: accepted or not, or an error that is not a verdict (Accepted null).</summary>
    /// <param name="Accepted">Whether the kernel accepted the program; null when the load failed for another reason.</param>
    /// <param name="Error">The load's error message when it failed.</param>
    public sealed record Verdict(bool? Accepted, string? Error);

    /// <summary>Loads one program with the log off and unloads it: the kernel's verdict.</summary>
    public Verdict Load(VerifierFuzzCase fuzzCase, ProgramLoadFlags flags = ProgramLoadFlags.None)
    {
        try
        {
            using var program = KernelProgram.Load(Options(fuzzCase, logLevel: 0, flags));
            return new Verdict(true, null);
        }
        catch (BpfSyscallException e) when (e.ErrorNumber is Errno.EACCES or Errno.EINVAL or Errno.E2BIG or Errno.EFAULT or Errno.ENOTSUPP or Errno.EOPNOTSUPP)
        {
            return new Verdict(false, e.Message);
        }
        catch (BpfSyscallException e)
        {
            return new Verdict(null, e.Message);
        }
    }

    /// <summary>Loads again with a log to say why the kernel refused: its error line and the log's last lines at level 2.</summary>
    public string ErrorLine(VerifierFuzzCase fuzzCase, ProgramLoadFlags flags = ProgramLoadFlags.None)
    {
        try
        {
            using var program = KernelProgram.Load(Options(fuzzCase, logLevel: 2, flags));
            return "(accepted on the second load)";
        }
        catch (BpfSyscallException e)
        {
            var lines = (e.VerifierLog ?? e.Message).Split('\n', StringSplitOptions.RemoveEmptyEntries);
            int processed = Array.FindLastIndex(lines, l => l.StartsWith("processed ", StringComparison.Ordinal));
            string error = processed > 0 ? lines[processed - 1] : lines.LastOrDefault() ?? e.Message;
            return error + "\n  | " + string.Join("\n  | ", lines[Math.Max(0, lines.Length - 60)..]);
        }
    }

    private ProgramLoadOptions Options(VerifierFuzzCase fuzzCase, uint logLevel, ProgramLoadFlags flags)
    {
        var funcInfo = FuzzFunctionBtf.FunctionInfoRecords(FuzzFunctionBtf.FunctionInfo(fuzzCase.Instructions, fuzzCase.Functions));
        return new()
        {
            Type = fuzzCase.Type,
            Instructions = fuzzCase.Instructions,
            Name = "fuzz",
            Flags = flags,
            LogLevel = logLevel,
            LogOnFailure = false,
            FdArray = _maps.Select(m => (BpfFileDescriptor)m.Handle).ToList(),
            Btf = _btf.Handle,
            FuncInfo = funcInfo,
        };
    }

    /// <inheritdoc/>
    public void Dispose()
    {
        foreach (var map in _maps)
        {
            map.Dispose();
        }

        _btf.Dispose();
    }
}
