namespace SharpBpf.Elf;

/// <summary>
/// A BPF object file is malformed or uses a feature SharpBPF does not support. The message says what was
/// wrong; <see cref="FileOffset"/> says where in the file (when a position is known).
/// </summary>
public sealed class ElfFormatException : BpfException
{
    /// <summary>Creates an exception for a problem at a byte offset of the file.</summary>
    /// <param name="fileOffset">The byte offset of the offending structure, or -1 if unknown.</param>
    /// <param name="problem">What was wrong, without the offset (it is added to the message).</param>
    public ElfFormatException(long fileOffset, string problem)
        : base(fileOffset >= 0 ? $"ELF file offset 0x{fileOffset:x}: {problem}" : problem)
    {
        FileOffset = fileOffset;
        Problem = problem;
    }

    /// <summary>Creates an exception with a message and no known offset.</summary>
    public ElfFormatException(string message) : this(-1, message) { }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public ElfFormatException(string message, Exception innerException) : base(message, innerException)
    {
        FileOffset = -1;
        Problem = message;
    }

    /// <summary>Creates an exception with no message.</summary>
    public ElfFormatException() : this(-1, "malformed ELF file") { }

    /// <summary>The byte offset in the file of the structure that was wrong, or -1 if no single place is to blame.</summary>
    public long FileOffset { get; }

    /// <summary>What was wrong, without the offset.</summary>
    public string Problem { get; }
}
