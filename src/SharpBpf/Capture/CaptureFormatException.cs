namespace SharpBpf.Capture;

/// <summary>A capture file is malformed, truncated or of a kind the readers do not support.</summary>
public sealed class CaptureFormatException : BpfException
{
    /// <summary>Creates the exception for a problem at <paramref name="offset"/>.</summary>
    public CaptureFormatException(string message, long offset) : base($"capture offset {offset}: {message}")
    {
        Offset = offset;
    }

    /// <summary>Creates the exception.</summary>
    public CaptureFormatException(string message) : base(message) => Offset = -1;

    /// <summary>Creates the exception with its cause.</summary>
    public CaptureFormatException(string message, Exception innerException) : base(message, innerException) => Offset = -1;

    /// <summary>Creates the exception with no message.</summary>
    public CaptureFormatException() => Offset = -1;

    /// <summary>The byte offset in the file of the malformed structure, or -1.</summary>
    public long Offset { get; }
}
