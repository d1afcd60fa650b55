using System.CommandLine;
using System.Text.Json.Nodes;
using SharpBpf.Linux;

namespace SharpBpf.Cli.Commands;

/// <summary>
/// <c>sharpbpf btf list|show [ID]</c>: the BTF objects in the kernel and the programs and maps using them. These verbs
/// join the <c>btf</c> command tree wherever it is built (another file adds <c>btf dump</c>).
/// </summary>
internal static class BtfListCommand
{
    /// <summary>Adds <c>list</c> and <c>show</c> to an existing <c>btf</c> command.</summary>
    public static void AddTo(Command btf)
    {
        btf.Subcommands.Add(ListOrShow("list", "List every BTF object in the kernel (needs root).", withId: false));
        btf.Subcommands.Add(ListOrShow("show", "Show one BTF object in the kernel, or all without an id (needs root).", withId: true));
    }

    /// <summary>A <c>btf</c> command holding only <c>list</c> and <c>show</c>.</summary>
    public static Command Create()
    {
        var btf = new Command("btf", "Inspect BTF type information.");
        AddTo(btf);
        return btf;
    }

    private static Command ListOrShow(string name, string description, bool withId) =>
        KernelCli.ListOrShow(name, description, withId, BpfObjectKind.Btf, KernelBtf.FromId, Users,
            (btf, users) =>
            {
                var info = btf.GetInfo();
                var o = new JsonObject
                {
                    ["id"] = info.Id, ["size"] = info.Size, ["prog_ids"] = KernelCli.IdArray(users.Programs.Where(u => u.BtfId == info.Id).Select(u => u.Id)),
                    ["map_ids"] = KernelCli.IdArray(users.Maps.Where(u => u.BtfId == info.Id).Select(u => u.Id)), ["kernel"] = info.IsKernelBtf,
                };
                if (info.Name.Length > 0)
                {
                    o["name"] = info.Name;
                }

                return o;
            },
            (output, btf, users) =>
            {
                var info = btf.GetInfo();
                var programs = users.Programs.Where(u => u.BtfId == info.Id).Select(u => u.Id).ToList();
                var maps = users.Maps.Where(u => u.BtfId == info.Id).Select(u => u.Id).ToList();
                output.WriteLine($"{info.Id}: name {(info.Name.Length > 0 ? $"[{info.Name}]" : "<anon>")}  size {info.Size}B" +
                    (programs.Count > 0 ? $"  prog_ids {KernelCli.Ids(programs)}" : "") + (maps.Count > 0 ? $"  map_ids {KernelCli.Ids(maps)}" : ""));
            });

    /// <summary>Which programs and maps use each BTF object: bpftool finds out the same way, by asking every one.</summary>
    private static (List<(uint BtfId, uint Id)> Programs, List<(uint BtfId, uint Id)> Maps) Users() =>
        ([.. KernelCli.OpenAll(BpfObjectKind.Program, KernelProgram.FromId).Select(p =>
        {
            using (p)
            {
                var info = p.GetInfo(includeArrays: false);
                return (info.BtfId, info.Id);
            }
        })],
        [.. KernelCli.OpenAll(BpfObjectKind.Map, KernelMap.FromId).Select(m =>
        {
            using (m)
            {
                var info = m.GetInfo();
                return (info.BtfId, info.Id);
            }
        })]);
}
