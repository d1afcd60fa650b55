using System.CommandLine;
using System.Text.Json.Nodes;
using SharpBpf.Linux;

namespace SharpBpf.Cli.Commands;

/// <summary><c>sharpbpf feature probe [--json] [--no-helpers]</c>: what the running kernel supports, as bpftool feature probe reports it.</summary>
internal static class FeatureCommand
{
    public static Command Create()
    {
        var json = KernelCli.JsonOption();
        var noHelpers = new Option<bool>("--no-helpers") { Description = "Skip the helper probes (one program load per helper and program type)." };
        var probe = new Command("probe", "Probe the program types, map types and helpers of the running kernel (needs root).") { json, noHelpers };
        probe.SetAction(parse =>
        {
            var output = parse.InvocationConfiguration.Output;
            var programTypes = Enum.GetValues<ProgramType>().Where(t => t != ProgramType.Unspecified).ToList();
            var programs = new JsonObject();
            var maps = new JsonObject();
            var helpers = new JsonObject();
            bool asJson = parse.GetValue(json);
            if (!asJson)
            {
                output.WriteLine("Scanning eBPF program types...");
            }

            foreach (var type in programTypes)
            {
                bool supported = KernelFeatures.IsProgramTypeSupported(type);
                programs[$"have_{KernelNames.Of(type)}_prog_type"] = supported;
                if (!asJson)
                {
                    output.WriteLine($"eBPF program_type {KernelNames.Of(type)} is {(supported ? "" : "NOT ")}available");
                }
            }

            if (!asJson)
            {
                output.WriteLine();
                output.WriteLine("Scanning eBPF map types...");
            }

            foreach (var type in Enum.GetValues<MapType>().Where(t => t != MapType.Unspecified))
            {
                bool supported = KernelFeatures.IsMapTypeSupported(type);
                maps[$"have_{KernelNames.Of(type)}_map_type"] = supported;
                if (!asJson)
                {
                    output.WriteLine($"eBPF map_type {KernelNames.Of(type)} is {(supported ? "" : "NOT ")}available");
                }
            }

            if (!parse.GetValue(noHelpers))
            {
                var known = KernelFeatures.KnownHelpers();
                foreach (var type in programTypes)
                {
                    var available = KernelFeatures.IsProgramTypeSupported(type)
                        ? known.Where(h => KernelFeatures.IsHelperSupported(type, h.Id) == true).Select(h => h.Name).ToList()
                        : [];
                    helpers[$"{KernelNames.Of(type)}_available_helpers"] = new JsonArray([.. available.Select(n => (JsonNode)n)]);
                    if (!asJson)
                    {
                        output.WriteLine();
                        output.WriteLine($"eBPF helpers supported for program type {KernelNames.Of(type)}:");
                        foreach (var name in available)
                        {
                            output.WriteLine($"\t- {name}");
                        }
                    }
                }
            }

            if (asJson)
            {
                var o = new JsonObject { ["program_types"] = programs, ["map_types"] = maps };
                if (!parse.GetValue(noHelpers))
                {
                    o["helpers"] = helpers;
                }

                KernelCli.WriteJson(output, o);
            }

            return 0;
        });
        var command = new Command("feature", "Report what the running kernel supports.");
        command.Subcommands.Add(probe);
        return command;
    }
}
