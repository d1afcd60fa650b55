using System.Collections.Frozen;
using System.Globalization;
using System.Text;
using SharpBpf.Btf;

namespace SharpBpf.Linux;

/// <summary>
/// The short names bpftool and libbpf print for program, map, link and attach types ("sched_cls", "percpu_array",
/// "tcx_ingress"...), taken from the kernel's own enums in its BTF (the enumerator minus its prefix, lower case), so
/// that new kernels name new types without a table here. Without kernel BTF, the enum member name in snake case.
/// </summary>
public static class KernelNames
{
    private static readonly Lazy<FrozenDictionary<uint, string>> Programs = new(() => Read("bpf_prog_type", "BPF_PROG_TYPE_"));
    private static readonly Lazy<FrozenDictionary<uint, string>> Maps = new(() => Read("bpf_map_type", "BPF_MAP_TYPE_"));
    private static readonly Lazy<FrozenDictionary<uint, string>> Links = new(() => Read("bpf_link_type", "BPF_LINK_TYPE_"));
    private static readonly Lazy<FrozenDictionary<uint, string>> Attaches = new(() => Read("bpf_attach_type", "BPF_"));

    /// <summary>The name of a program type, e.g. "xdp", "sched_cls".</summary>
    public static string Of(ProgramType type) => Lookup(Programs.Value, (uint)type, type.ToString());

    /// <summary>The name of a map type, e.g. "percpu_array".</summary>
    public static string Of(MapType type) => Lookup(Maps.Value, (uint)type, type.ToString());

    /// <summary>The name of a link type, e.g. "raw_tracepoint".</summary>
    public static string Of(BpfLinkType type) => Lookup(Links.Value, (uint)type, type.ToString());

    /// <summary>The name of an attach type, e.g. "cgroup_inet_ingress".</summary>
    public static string Of(AttachType type) => Lookup(Attaches.Value, (uint)type, type.ToString());

    private static string Lookup(FrozenDictionary<uint, string> names, uint value, string fallback) =>
        names.TryGetValue(value, out var name) ? name : Snake(fallback);

    private static FrozenDictionary<uint, string> Read(string enumName, string prefix)
    {
        var result = new Dictionary<uint, string>();
        var btf = VmlinuxBtf.Value;
        int id = btf?.FindId(enumName, BtfKind.Enum) ?? -1;
        if (btf is null || id <= 0)
        {
            return result.ToFrozenDictionary();
        }

        foreach (var value in btf[id].GetEnumValues())
        {
            string name = value.Name;
            if (!name.StartsWith(prefix, StringComparison.Ordinal) || name.StartsWith("__", StringComparison.Ordinal) || name.EndsWith("MAX", StringComparison.Ordinal))
            {
                continue;
            }

            // Renamed values keep their old name as "..._DEPRECATED"; the first (current) name wins.
            string shortName = name[prefix.Length..].Replace("_DEPRECATED", "", StringComparison.Ordinal).ToLowerInvariant();
            result.TryAdd((uint)value.Value, shortName);
        }

        return result.ToFrozenDictionary();
    }

    private static string Snake(string pascal)
    {
        var text = new StringBuilder();
        for (int i = 0; i < pascal.Length; i++)
        {
            if (i > 0 && char.IsUpper(pascal[i]))
            {
                text.Append('_');
            }

            text.Append(char.ToLowerInvariant(pascal[i]));
        }

        return text.ToString();
    }

    /// <summary>The "key: value" lines of /proc/self/fdinfo for a descriptor (memlock, frozen, owner types...).</summary>
    public static IReadOnlyDictionary<string, string> FdInfo(BpfFileDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        using var lease = new FdLease(descriptor);
        string path = "/proc/self/fdinfo/" + lease.Fd.ToString(CultureInfo.InvariantCulture);
        foreach (var line in File.ReadLines(path))
        {
            int colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0)
            {
                result[line[..colon].Trim()] = line[(colon + 1)..].Trim();
            }
        }

        return result;
    }
}
