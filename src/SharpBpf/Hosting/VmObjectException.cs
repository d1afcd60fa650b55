namespace SharpBpf.Hosting;

/// <summary>An object cannot be set up in the VM, or a request names something it does not have.</summary>
public sealed class VmObjectException : BpfException
{
    /// <summary>Creates the exception.</summary>
    public VmObjectException(string message) : base(message) { }

    /// <summary>Creates the exception with its cause.</summary>
    public VmObjectException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with no message.</summary>
    public VmObjectException() { }
}
