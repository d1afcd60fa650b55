namespace SharpBpf.Linux;

/// <summary>
/// A system call made for a BPF operation failed. Carries the errno (number and symbolic name), the operation
/// (the bpf() command such as BPF_PROG_LOAD, or another call such as mount) and, for program and BTF loads,
/// the kernel's verifier log.
/// </summary>
public class BpfSyscallException : BpfException
{
    /// <summary>Creates the exception for a failed call.</summary>
    /// <param name="operation">The kernel name of what failed, e.g. "BPF_MAP_CREATE" or "mount".</param>
    /// <param name="errno">The errno the call set.</param>
    /// <param name="detail">Extra context for the message (object name, path...), or null.</param>
    /// <param name="verifierLog">The verifier or BTF log, or null.</param>
    /// <param name="command">The bpf() command, when the call was bpf().</param>
    public BpfSyscallException(string operation, int errno, string? detail = null, string? verifierLog = null, BpfCommand? command = null)
        : base(Compose(operation, errno, detail, verifierLog))
    {
        Operation = operation;
        ErrorNumber = errno;
        ErrorName = Errno.NameOf(errno);
        Command = command;
        VerifierLog = verifierLog;
    }

    /// <summary>Creates an exception with no details (for serializers and tooling).</summary>
    public BpfSyscallException() : this("bpf", 0) { }

    /// <summary>Creates an exception with only a message.</summary>
    public BpfSyscallException(string message) : base(message)
    {
        Operation = "bpf";
        ErrorName = Errno.NameOf(0);
    }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public BpfSyscallException(string message, Exception innerException) : base(message, innerException)
    {
        Operation = "bpf";
        ErrorName = Errno.NameOf(0);
    }

    /// <summary>The kernel name of the failed operation, e.g. "BPF_MAP_UPDATE_ELEM".</summary>
    public string Operation { get; }

    /// <summary>The bpf() command, or null when the failed call was not bpf().</summary>
    public BpfCommand? Command { get; }

    /// <summary>The errno number.</summary>
    public int ErrorNumber { get; }

    /// <summary>The errno name, e.g. "EEXIST".</summary>
    public string ErrorName { get; }

    /// <summary>The verifier (or BTF) log the kernel wrote, for loads; null otherwise.</summary>
    public string? VerifierLog { get; }

    private static string Compose(string operation, int errno, string? detail, string? log)
    {
        string text = $"{operation} failed: {Errno.NameOf(errno)} ({errno}, {System.Runtime.InteropServices.Marshal.GetPInvokeErrorMessage(errno)})";
        if (!string.IsNullOrEmpty(detail))
        {
            text += $" [{detail}]";
        }

        if (!string.IsNullOrWhiteSpace(log))
        {
            text += Environment.NewLine + "verifier log:" + Environment.NewLine + log.TrimEnd();
        }

        return text;
    }
}
