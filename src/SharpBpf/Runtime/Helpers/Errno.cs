namespace SharpBpf.Runtime.Helpers;

/// <summary>The negative Linux errno values helpers return (as <c>(ulong)value</c> in r0).</summary>
public static class Errno
{
    /// <summary>-EPERM.</summary>
    public const long EPERM = -1;

    /// <summary>-ENOENT.</summary>
    public const long ENOENT = -2;

    /// <summary>-E2BIG.</summary>
    public const long E2BIG = -7;

    /// <summary>-EACCES.</summary>
    public const long EACCES = -13;

    /// <summary>-EFAULT.</summary>
    public const long EFAULT = -14;

    /// <summary>-EBUSY.</summary>
    public const long EBUSY = -16;

    /// <summary>-EINVAL.</summary>
    public const long EINVAL = -22;

    /// <summary>-ENOSPC.</summary>
    public const long ENOSPC = -28;

    /// <summary>-ERANGE.</summary>
    public const long ERANGE = -34;

    /// <summary>-EOPNOTSUPP.</summary>
    public const long EOPNOTSUPP = -95;

    /// <summary>-ENOTSUPP (kernel-internal).</summary>
    public const long ENOTSUPP = -524;
}
