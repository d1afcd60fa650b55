using System.CommandLine;
using System.Text.Json.Nodes;
using SharpBpf.Linux;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf link list|show [ID]</c>: the BPF links in the kernel (what is attached where).</summary>
internal static class LinkCommand
{
    public static Command Create()
    {
        var command = new Command("link", "Inspect the BPF links in the running kernel (needs root).");
        command.Subcommands.Add(ListOrShow("list", "List every link.", withId: false));
        command.Subcommands.Add(ListOrShow("show", "Show one link, or all without an id.", withId: true));
        return command;
    }

    /// <summary>A link as bpftool -j describes it: id, type, prog_id and the type's own fields.</summary>
    public static JsonObject Describe(LinkInfo info)
    {
        var o = new JsonObject { ["id"] = info.Id, ["type"] = KernelNames.Of(info.Type), ["prog_id"] = info.ProgramId };
        if (info.TracepointName is not null)
        {
            o["tp_name"] = info.TracepointName;
        }

        if (info.Type == BpfLinkType.Cgroup)
        {
            o["cgroup_id"] = info.CgroupId;
        }

        if (info.Type is BpfLinkType.Xdp or BpfLinkType.Tcx or BpfLinkType.Netkit)
        {
            o["ifindex"] = info.IfIndex;
        }

        if (info.AttachType is { } attach)
        {
            o["attach_type"] = KernelNames.Of(attach);
        }

        if (info.Type == BpfLinkType.Tracing)
        {
            o["target_obj_id"] = info.TracingTarget.ObjectId;
            o["target_btf_id"] = info.TracingTarget.BtfId;
        }

        return o;
    }

    /// <summary>A one-line description: type and what it is attached to.</summary>
    public static string Summary(LinkInfo info) =>
        string.Join("  ", Describe(info).Where(p => p.Key is not "id").Select(p => p.Key == "type" ? p.Value!.ToString() : $"{p.Key} {p.Value}"));

    private static Command ListOrShow(string name, string description, bool withId) =>
        KernelCli.ListOrShow<KernelLink, object?>(name, description, withId, BpfObjectKind.Link, KernelLink.FromId, () => null,
            (link, _) => Describe(link.GetInfo()), (output, link, _) => output.WriteLine($"{link.GetInfo().Id}: {Summary(link.GetInfo())}"));
}
