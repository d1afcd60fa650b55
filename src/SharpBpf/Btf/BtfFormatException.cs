namespace SharpBpf.Btf;

/// <summary>BTF (or BTF.ext) data that breaks a rule of the format, with the type id or byte offset where it does.</summary>
public sealed class BtfFormatException : BpfException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="rule">What is wrong, without the location.</param>
    /// <param name="typeId">The offending type id, or -1.</param>
    /// <param name="offset">The byte offset in the data, or -1.</param>
    public BtfFormatException(string rule, int typeId = -1, long offset = -1)
        : base(Describe(rule, typeId, offset))
    {
        Rule = rule;
        TypeId = typeId;
        Offset = offset;
    }

    /// <summary>Creates an exception with no details.</summary>
    public BtfFormatException() : this("invalid BTF") { }

    /// <summary>Creates an exception with a message.</summary>
    public BtfFormatException(string message, Exception innerException) : base(message, innerException)
    {
        Rule = message;
        TypeId = -1;
        Offset = -1;
    }

    /// <summary>What is wrong, without the location.</summary>
    public string Rule { get; }

    /// <summary>The offending type id, or -1 when the error is not about one type.</summary>
    public int TypeId { get; }

    /// <summary>The byte offset in the BTF data (from the start of the header), or -1.</summary>
    public long Offset { get; }

    private static string Describe(string rule, int typeId, long offset)
    {
        var where = (typeId >= 0, offset >= 0) switch
        {
            (true, true) => $" [type {typeId} at offset {offset}]",
            (true, false) => $" [type {typeId}]",
            (false, true) => $" [at offset {offset}]",
            _ => "",
        };
        return $"invalid BTF{where}: {rule}";
    }
}
