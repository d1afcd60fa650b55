namespace SharpBpf;

/// <summary>
/// The flags of a map element update (<c>BPF_ANY</c>, <c>BPF_NOEXIST</c>, <c>BPF_EXIST</c>, <c>BPF_F_LOCK</c>), the same
/// for the user-space maps and the kernel's.
/// </summary>
[Flags]
public enum MapUpdateFlags : ulong
{
    /// <summary>BPF_ANY: create the element or replace it.</summary>
    Any = 0,
    /// <summary>BPF_NOEXIST: create only; an existing key gives EEXIST.</summary>
    NoExist = 1,
    /// <summary>BPF_EXIST: replace only; a missing key gives ENOENT.</summary>
    Exist = 2,
    /// <summary>BPF_F_LOCK: copy the value under the value's bpf_spin_lock (maps whose value has one).</summary>
    Lock = 4,
}
