using System.Collections.Frozen;

namespace SharpBpf.Linux;

/// <summary>Linux errno numbers and their symbolic names (the generic table used by x86_64 and arm64).</summary>
public static class Errno
{
    /// <summary>Operation not permitted.</summary>
    public const int EPERM = 1;
    /// <summary>No such file, element or object.</summary>
    public const int ENOENT = 2;
    /// <summary>Interrupted system call.</summary>
    public const int EINTR = 4;
    /// <summary>Argument list (or attribute) too long.</summary>
    public const int E2BIG = 7;
    /// <summary>Bad file descriptor.</summary>
    public const int EBADF = 9;
    /// <summary>Try again.</summary>
    public const int EAGAIN = 11;
    /// <summary>Out of memory.</summary>
    public const int ENOMEM = 12;
    /// <summary>Permission denied.</summary>
    public const int EACCES = 13;
    /// <summary>Bad address.</summary>
    public const int EFAULT = 14;
    /// <summary>Device or resource busy.</summary>
    public const int EBUSY = 16;
    /// <summary>Already exists.</summary>
    public const int EEXIST = 17;
    /// <summary>Invalid argument.</summary>
    public const int EINVAL = 22;
    /// <summary>No space left (for bpf: a buffer, such as the verifier log, is too small).</summary>
    public const int ENOSPC = 28;
    /// <summary>Function not implemented.</summary>
    public const int ENOSYS = 38;
    /// <summary>Operation not supported.</summary>
    public const int EOPNOTSUPP = 95;
    /// <summary>The kernel-internal "not supported" that bpf() lets escape to user space.</summary>
    public const int ENOTSUPP = 524;

    private static readonly FrozenDictionary<int, string> Names = new Dictionary<int, string>
    {
        [1] = "EPERM", [2] = "ENOENT", [3] = "ESRCH", [4] = "EINTR", [5] = "EIO", [6] = "ENXIO", [7] = "E2BIG",
        [8] = "ENOEXEC", [9] = "EBADF", [10] = "ECHILD", [11] = "EAGAIN", [12] = "ENOMEM", [13] = "EACCES",
        [14] = "EFAULT", [15] = "ENOTBLK", [16] = "EBUSY", [17] = "EEXIST", [18] = "EXDEV", [19] = "ENODEV",
        [20] = "ENOTDIR", [21] = "EISDIR", [22] = "EINVAL", [23] = "ENFILE", [24] = "EMFILE", [25] = "ENOTTY",
        [26] = "ETXTBSY", [27] = "EFBIG", [28] = "ENOSPC", [29] = "ESPIPE", [30] = "EROFS", [31] = "EMLINK",
        [32] = "EPIPE", [33] = "EDOM", [34] = "ERANGE", [35] = "EDEADLK", [36] = "ENAMETOOLONG", [37] = "ENOLCK",
        [38] = "ENOSYS", [39] = "ENOTEMPTY", [40] = "ELOOP", [42] = "ENOMSG", [43] = "EIDRM", [61] = "ENODATA",
        [62] = "ETIME", [67] = "ENOLINK", [71] = "EPROTO", [74] = "EBADMSG", [75] = "EOVERFLOW", [77] = "EBADFD", [84] = "EILSEQ",
        [88] = "ENOTSOCK", [90] = "EMSGSIZE", [92] = "ENOPROTOOPT", [93] = "EPROTONOSUPPORT", [95] = "EOPNOTSUPP",
        [97] = "EAFNOSUPPORT", [98] = "EADDRINUSE", [99] = "EADDRNOTAVAIL", [100] = "ENETDOWN",
        [101] = "ENETUNREACH", [103] = "ECONNABORTED", [104] = "ECONNRESET", [105] = "ENOBUFS", [106] = "EISCONN",
        [107] = "ENOTCONN", [110] = "ETIMEDOUT", [111] = "ECONNREFUSED", [113] = "EHOSTUNREACH", [114] = "EALREADY",
        [115] = "EINPROGRESS", [116] = "ESTALE", [122] = "EDQUOT", [125] = "ECANCELED", [130] = "EOWNERDEAD",
        [512] = "ERESTARTSYS", [524] = "ENOTSUPP", [525] = "ETOOSMALL", [527] = "EBADTYPE",
    }.ToFrozenDictionary();

    /// <summary>The symbolic name of an errno number, such as "EINVAL", or "E#n" for numbers not in the table.</summary>
    public static string NameOf(int errno) => Names.TryGetValue(errno, out var name) ? name : $"E#{errno}";
}
