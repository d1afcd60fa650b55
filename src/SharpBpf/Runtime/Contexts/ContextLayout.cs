using System.Collections.Frozen;
using System.Collections.Immutable;

namespace SharpBpf.Runtime.Contexts;

/// <summary>Which load and store sizes a context field accepts, as the kernel's <c>is_valid_access</c> callbacks decide.</summary>
public enum ContextAccessSizes
{
    /// <summary>Exactly the field's size.</summary>
    Exact,
    /// <summary>Reads of 1, 2 or 4 bytes aligned to their size inside a 4-byte field (the kernel's narrow loads); writes of 4.</summary>
    Narrow,
    /// <summary>Any power-of-two size up to 8, aligned to itself, inside the field (the <c>cb[]</c> scratch area).</summary>
    AnyAligned,
}

/// <summary>What a context field holds.</summary>
public enum ContextFieldKind
{
    /// <summary>A plain value stored in the context memory at its user-visible offset.</summary>
    Scalar,
    /// <summary>
    /// A 32-bit packet pointer field (<c>data</c>, <c>data_end</c>, <c>data_meta</c>): the program's 4-byte load is
    /// rewritten into an 8-byte load of the real pointer from the field's shadow slot, as the kernel's
    /// <c>convert_ctx_access</c> does.
    /// </summary>
    PacketPointer,
}

/// <summary>One field of a program context as programs see it (its <c>uapi</c> offset and size).</summary>
/// <param name="Name">The field's name in the kernel's structure.</param>
/// <param name="Offset">The byte offset programs use.</param>
/// <param name="Size">The field's size in bytes (for arrays, the whole array).</param>
/// <param name="Readable">Whether programs may load it.</param>
/// <param name="Writable">Whether programs may store to it.</param>
/// <param name="Sizes">Which access sizes are accepted.</param>
/// <param name="Kind">What the field holds.</param>
/// <param name="ShadowOffset">For packet pointers: the offset of the 8-byte slot holding the real pointer.</param>
public sealed record ContextField(
    string Name,
    int Offset,
    int Size,
    bool Readable,
    bool Writable,
    ContextAccessSizes Sizes = ContextAccessSizes.Exact,
    ContextFieldKind Kind = ContextFieldKind.Scalar,
    int ShadowOffset = -1)
{
    /// <summary>The offset one past the field.</summary>
    public int End => Offset + Size;
}

/// <summary>
/// The layout of a program context (<c>struct xdp_md</c>, <c>struct __sk_buff</c>, raw tracing bytes): its fields,
/// which accesses the kernel's verifier accepts for a program type, and where the VM keeps the real 64-bit packet
/// pointers that the kernel's context conversion would load.
/// </summary>
/// <remarks>
/// The context memory the VM hands to programs is <see cref="RegionSize"/> bytes: the user-visible structure
/// (<see cref="Size"/> bytes, with scalar fields at their <c>uapi</c> offsets), padded to 8 bytes, followed by one
/// 8-byte slot per packet pointer field. <see cref="ContextAccessRewriter"/> redirects the program's 4-byte loads
/// of pointer fields to those slots.
/// </remarks>
public sealed class ContextLayout
{
    /// <summary>Creates a layout.</summary>
    /// <param name="name">The structure's name, for messages (<c>xdp_md</c>...).</param>
    /// <param name="size">The user-visible size in bytes.</param>
    /// <param name="fields">The accessible fields; bytes outside every field are inaccessible.</param>
    /// <param name="anyAlignedAccess">
    /// When true (raw tracing contexts), any aligned read of 1, 2, 4 or 8 bytes inside <paramref name="size"/> is
    /// accepted and <paramref name="fields"/> must be empty.
    /// </param>
    public ContextLayout(string name, int size, IEnumerable<ContextField> fields, bool anyAlignedAccess = false)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(fields);
        ArgumentOutOfRangeException.ThrowIfNegative(size);
        Name = name;
        Size = size;
        AnyAlignedRead = anyAlignedAccess;
        var list = fields.OrderBy(f => f.Offset).ToImmutableArray();
        int pointerBase = (size + 7) & ~7;
        int pointers = 0;
        var placed = ImmutableArray.CreateBuilder<ContextField>(list.Length);
        int previousEnd = 0;
        foreach (var field in list)
        {
            if (field.Offset < previousEnd || field.End > size || field.Size <= 0)
            {
                throw new ArgumentException($"context {name}: field {field.Name} at {field.Offset} (+{field.Size}) overlaps another or lies outside {size} bytes", nameof(fields));
            }

            previousEnd = field.End;
            placed.Add(field.Kind == ContextFieldKind.PacketPointer
                ? field with { ShadowOffset = pointerBase + (8 * pointers++) }
                : field);
        }

        if (anyAlignedAccess && list.Length != 0)
        {
            throw new ArgumentException($"context {name}: a raw layout has no fields", nameof(fields));
        }

        Fields = placed.MoveToImmutable();
        _byName = Fields.ToFrozenDictionary(f => f.Name, StringComparer.Ordinal);
        RegionSize = Math.Max(pointerBase + (8 * pointers), 1);
        if (RegionSize > short.MaxValue)
        {
            throw new ArgumentException($"context {name}: {RegionSize} bytes is more than a load offset reaches", nameof(size));
        }
    }

    /// <summary>The structure's name.</summary>
    public string Name { get; }

    /// <summary>The size of the structure programs see.</summary>
    public int Size { get; }

    /// <summary>The size of the context memory the VM allocates (the structure plus the pointer slots).</summary>
    public int RegionSize { get; }

    /// <summary>The accessible fields, by offset.</summary>
    public ImmutableArray<ContextField> Fields { get; }

    // Contexts write their pointer fields by name on every run.
    private readonly FrozenDictionary<string, ContextField> _byName;

    /// <summary>Whether this is a raw layout: any aligned read inside <see cref="Size"/>, no writes.</summary>
    public bool AnyAlignedRead { get; }

    /// <summary>The field named <paramref name="name"/>.</summary>
    /// <exception cref="KeyNotFoundException">No such field.</exception>
    public ContextField this[string name] =>
        _byName.TryGetValue(name, out var field) ? field : throw new KeyNotFoundException($"context {Name} has no field '{name}'");

    /// <summary>A raw, read-only context of <paramref name="size"/> bytes (tracepoint records, <c>pt_regs</c>).</summary>
    public static ContextLayout Raw(string name, int size) => new(name, size, [], anyAlignedAccess: true);

    /// <summary>
    /// Checks one access as the kernel's verifier would; returns null when it is allowed (with the field, or null for
    /// raw layouts), else a message saying why not.
    /// </summary>
    /// <param name="offset">The byte offset from the context pointer.</param>
    /// <param name="size">The access size: 1, 2, 4 or 8.</param>
    /// <param name="write">True for stores.</param>
    /// <param name="signExtend">True for sign-extending loads.</param>
    /// <param name="field">The accessed field, when allowed and the layout has fields.</param>
    public string? CheckAccess(int offset, int size, bool write, bool signExtend, out ContextField? field)
    {
        field = null;
        if (offset < 0 || offset >= Size || offset + size > Size)
        {
            return $"offset {offset} size {size} is outside {Name} ({Size} bytes)";
        }

        if (offset % size != 0)
        {
            return $"offset {offset} is not aligned to the access size {size}";
        }

        if (AnyAlignedRead)
        {
            return write ? $"{Name} is read-only" : null;
        }

        foreach (var candidate in Fields)
        {
            if (offset >= candidate.Offset && offset < candidate.End)
            {
                field = candidate;
                break;
            }
        }

        if (field is null)
        {
            return $"offset {offset} of {Name} is not an accessible field";
        }

        if (write ? !field.Writable : !field.Readable)
        {
            return $"{Name}.{field.Name} may not be {(write ? "written" : "read")} by this program type";
        }

        if (offset + size > field.End)
        {
            return $"a {size}-byte access at {offset} runs past {Name}.{field.Name}";
        }

        if (field.Kind == ContextFieldKind.PacketPointer && signExtend)
        {
            return $"{Name}.{field.Name} may not be loaded with sign extension";
        }

        bool sizeOk = field.Sizes switch
        {
            ContextAccessSizes.Exact => size == field.Size && offset == field.Offset,
            ContextAccessSizes.Narrow => write ? size == 4 && offset == field.Offset : size <= 4,
            _ => true,
        };
        return sizeOk ? null : $"a {size}-byte {(write ? "store to" : "load of")} {Name}.{field.Name} (offset {offset}) has the wrong size";
    }
}
