using System.CommandLine;
using System.Globalization;
using System.Text.Json.Nodes;
using SharpBpf.Linux;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf map list|show [ID]|dump ID</c>: the maps in the kernel, as bpftool shows them.</summary>
internal static class MapCommand
{
    public static Command Create()
    {
        var command = new Command("map", "Inspect the BPF maps in the running kernel (needs root).");
        command.Subcommands.Add(ListOrShow("list", "List every map.", withId: false));
        command.Subcommands.Add(ListOrShow("show", "Show one map, or all without an id.", withId: true));
        command.Subcommands.Add(Dump());
        return command;
    }

    private static Command ListOrShow(string name, string description, bool withId) =>
        KernelCli.ListOrShow<KernelMap, object?>(name, description, withId, BpfObjectKind.Map, KernelMap.FromId, () => null,
            (map, _) => Describe(map), (output, map, _) => WriteText(output, map));

    private static bool IsFrozen(KernelMap map) => KernelNames.FdInfo(map.Handle).TryGetValue("frozen", out var f) && f == "1";

    private static JsonObject Describe(KernelMap map)
    {
        var info = map.GetInfo();
        var o = new JsonObject
        {
            ["id"] = info.Id, ["type"] = KernelNames.Of(info.Type), ["name"] = info.Name, ["flags"] = (uint)info.Flags,
            ["bytes_key"] = info.KeySize, ["bytes_value"] = info.ValueSize, ["max_entries"] = info.MaxEntries,
        };
        if (KernelCli.Memlock(map.Handle) is { } memlock)
        {
            o["bytes_memlock"] = memlock;
        }

        o["frozen"] = IsFrozen(map) ? 1 : 0;
        if (info.BtfId != 0)
        {
            o["btf_id"] = info.BtfId;
        }

        return o;
    }

    private static void WriteText(TextWriter output, KernelMap map)
    {
        var info = map.GetInfo();
        bool frozen = IsFrozen(map);
        output.WriteLine($"{info.Id}: {KernelNames.Of(info.Type)}  name {info.Name}  flags 0x{(uint)info.Flags:x}");
        output.WriteLine($"\tkey {info.KeySize}B  value {info.ValueSize}B  max_entries {info.MaxEntries}" +
            (KernelCli.Memlock(map.Handle) is { } memlock ? $"  memlock {memlock}B" : ""));
        if (info.BtfId != 0 || frozen)
        {
            output.WriteLine($"\t{(info.BtfId != 0 ? $"btf_id {info.BtfId}" : "")}{(frozen ? "  frozen" : "")}");
        }
    }

    private static Command Dump()
    {
        var id = KernelCli.IdArgument("map");
        var json = KernelCli.JsonOption();
        var command = new Command("dump", "Print every element of a map (keys and values in hex; per-CPU values per CPU).") { id, json };
        command.SetAction(parse =>
        {
            using var map = KernelMap.FromId(parse.GetValue(id));
            var output = parse.InvocationConfiguration.Output;
            var array = new JsonArray();
            int count = 0;
            foreach (var key in map.Keys())
            {
                byte[]? value;
                try
                {
                    value = map.Lookup(key);
                }
                catch (BpfSyscallException)
                {
                    continue; // maps whose values user space cannot read (e.g. sockets) still list their keys
                }

                if (value is null)
                {
                    continue; // deleted since the key was listed
                }

                count++;
                int slot = (map.ValueSize + 7) & ~7;
                if (parse.GetValue(json))
                {
                    var o = new JsonObject { ["key"] = KernelCli.HexArray(key) };
                    if (map.IsPerCpu)
                    {
                        o["values"] = new JsonArray([.. Enumerable.Range(0, value.Length / slot).Select(cpu =>
                            (JsonNode)new JsonObject { ["cpu"] = cpu, ["value"] = KernelCli.HexArray(value.AsSpan(cpu * slot, map.ValueSize)) })]);
                    }
                    else
                    {
                        o["value"] = KernelCli.HexArray(value);
                    }

                    array.Add(o);
                }
                else if (map.IsPerCpu)
                {
                    output.WriteLine($"key: {KernelCli.Hex(key)}");
                    for (int cpu = 0; cpu < value.Length / slot; cpu++)
                    {
                        output.WriteLine($"\tvalue (CPU {cpu.ToString("00", CultureInfo.InvariantCulture)}): {KernelCli.Hex(value.AsSpan(cpu * slot, map.ValueSize))}");
                    }
                }
                else
                {
                    output.WriteLine($"key: {KernelCli.Hex(key)}  value: {KernelCli.Hex(value)}");
                }
            }

            if (parse.GetValue(json))
            {
                KernelCli.WriteJson(output, array);
            }
            else
            {
                output.WriteLine($"Found {count} element{(count == 1 ? "" : "s")}");
            }

            return 0;
        });
        return command;
    }
}
