namespace SharpBpf;

/// <summary>The base of every error SharpBPF reports about a program, an object file or an execution.</summary>
public class BpfException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public BpfException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and the error that caused it.</summary>
    public BpfException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates an exception with no message.</summary>
    public BpfException() { }
}
