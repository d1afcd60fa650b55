namespace SharpBpf.Runtime;

/// <summary>
/// A helper function as the engines call it: r1-r5 in, r0 out. Helpers reach program memory through the
/// <see cref="BpfExecutionContext"/>, which checks every address against the regions.
/// </summary>
public delegate ulong BpfHelper(BpfExecutionContext context, ulong r1, ulong r2, ulong r3, ulong r4, ulong r5);

/// <summary>A registered helper: its id, name and implementation.</summary>
/// <param name="Id">The helper id (the immediate of <c>call</c>).</param>
/// <param name="Name">The name, for listings and errors.</param>
/// <param name="Function">The implementation.</param>
public sealed record HelperRegistration(int Id, string Name, BpfHelper Function);

/// <summary>
/// The helpers a host offers to programs, by id. Registration is not synchronised with running programs:
/// register everything before running.
/// </summary>
public sealed class HelperTable
{
    /// <summary>The largest helper id accepted; the kernel's ids are well below.</summary>
    public const int MaxId = 1 << 16;

    private HelperRegistration?[] _byId = new HelperRegistration?[256];

    /// <summary>Registers (or replaces) the helper with this id.</summary>
    public HelperTable Register(int id, string name, BpfHelper function)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(id);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(id, MaxId);
        ArgumentNullException.ThrowIfNull(function);
        if (id >= _byId.Length)
        {
            Array.Resize(ref _byId, Math.Max(id + 1, _byId.Length * 2));
        }

        _byId[id] = new HelperRegistration(id, name, function);
        return this;
    }

    /// <summary>The helper with this id, or null.</summary>
    public HelperRegistration? Find(long id) => id >= 0 && id < _byId.Length ? _byId[id] : null;

    /// <summary>Every registered helper, by id.</summary>
    public IEnumerable<HelperRegistration> All => _byId.OfType<HelperRegistration>();
}
