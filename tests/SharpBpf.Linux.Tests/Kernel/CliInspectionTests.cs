using System.Text.Json;
using SharpBpf.Cli;
using SharpBpf.Linux.Objects;

namespace SharpBpf.Linux.Tests.Kernel;

/// <summary>The kernel-inspection verbs of sharpbpf against bpftool's JSON for the same objects.</summary>
public class CliInspectionTests
{
    private static JsonElement Sharpbpf(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        int code = CliApp.Run(args, output, error);
        Assert.True(code == 0, $"sharpbpf {string.Join(' ', args)} failed ({code}): {error}");
        using var doc = JsonDocument.Parse(output.ToString());
        return doc.RootElement.Clone();
    }

    private static string Text(params string[] args)
    {
        var output = new StringWriter();
        Assert.Equal(0, CliApp.Run(args, output, new StringWriter()));
        return output.ToString();
    }

    private static void SameFields(JsonElement expected, JsonElement actual, params string[] fields)
    {
        foreach (var field in fields)
        {
            bool inExpected = expected.TryGetProperty(field, out var e);
            bool inActual = actual.TryGetProperty(field, out var a);
            Assert.True(inExpected == inActual, $"field '{field}': bpftool {(inExpected ? "has" : "lacks")} it, sharpbpf {(inActual ? "has" : "lacks")} it");
            if (inExpected)
            {
                string left = e.ValueKind == JsonValueKind.Array ? string.Join(",", e.EnumerateArray().Select(x => x.ToString()).Order()) : e.ToString();
                string right = a.ValueKind == JsonValueKind.Array ? string.Join(",", a.EnumerateArray().Select(x => x.ToString()).Order()) : a.ToString();
                Assert.True(left == right, $"field '{field}': bpftool {left}, sharpbpf {right}");
            }
        }
    }

    [KernelFact(RequiresBpftool = true)]
    public void ProgShowAndListAgreeWithBpftool()
    {
        using var loaded = KernelObject.Load(ObjectLoadTests.ProjectObject("xdp_firewall.o"));
        using var tracing = AttachPoints.Load();
        using var link = tracing.Program("count_raw_sys_enter").AttachRawTracepoint("sys_enter");
        foreach (var program in new[] { loaded.Program("xdp_firewall"), tracing.Program("count_raw_sys_enter") })
        {
            string id = program.Id.ToString();
            var ours = Sharpbpf("prog", "show", id, "--json");
            var theirs = Bpftool.Json("prog", "show", "id", id);
            SameFields(theirs, ours, "id", "type", "name", "tag", "gpl_compatible", "uid", "bytes_xlated", "jited", "bytes_jited", "bytes_memlock", "map_ids", "btf_id");
            Assert.InRange(ours.GetProperty("loaded_at").GetInt64() - theirs.GetProperty("loaded_at").GetInt64(), -1, 1);
        }

        Assert.Equal(link.Link!.GetInfo().Id, Sharpbpf("prog", "show", tracing.Program("count_raw_sys_enter").Id.ToString(), "--json")
            .GetProperty("links")[0].GetProperty("id").GetUInt32());

        // Every program both listings saw (others may load or unload meanwhile) is described alike.
        var ourList = Sharpbpf("prog", "list", "--json").EnumerateArray().ToDictionary(p => p.GetProperty("id").GetUInt32());
        var theirList = Bpftool.Json("prog", "list").EnumerateArray().ToDictionary(p => p.GetProperty("id").GetUInt32());
        Assert.Contains(loaded.Program("xdp_firewall").Id, ourList.Keys);
        foreach (var id in ourList.Keys.Intersect(theirList.Keys))
        {
            SameFields(theirList[id], ourList[id], "type", "name", "tag", "map_ids");
        }
    }

    [KernelFact(RequiresBpftool = true)]
    public void ProgDumpXlatedShowsTheSourceLinesBpftoolShows()
    {
        using var loaded = KernelObject.Load(ObjectLoadTests.ProjectObject("xdp_firewall.o"));
        string id = loaded.Program("xdp_firewall").Id.ToString();
        var ours = Sharpbpf("prog", "dump", "xlated", id, "--json").EnumerateArray()
            .Where(i => i.TryGetProperty("src", out _)).Select(i => i.GetProperty("src").GetString()!).ToList();
        var theirs = Bpftool.Json("prog", "dump", "xlated", "id", id).EnumerateArray()
            .Where(i => i.TryGetProperty("src", out _)).Select(i => i.GetProperty("src").GetString()!.Trim()).ToList();
        Assert.NotEmpty(theirs);
        Assert.Equal(theirs, ours);
        Assert.Contains("xdp_firewall.c:", Text("prog", "dump", "xlated", id));
        Assert.Contains("push rbp", Text("prog", "dump", "jited", id));
    }

    [KernelFact(RequiresBpftool = true)]
    public void MapShowDumpLinkAndBtfAgreeWithBpftool()
    {
        using var loaded = KernelObject.Load(ObjectLoadTests.ProjectObject("xdp_firewall.o"));
        loaded.Map("fw_blocklist").Update(new byte[] { 1, 2, 3, 4 }, new byte[16]);
        foreach (var map in loaded.Maps)
        {
            string id = map.Map!.Id.ToString();
            SameFields(Bpftool.Json("map", "show", "id", id), Sharpbpf("map", "show", id, "--json"),
                "id", "type", "name", "flags", "bytes_key", "bytes_value", "max_entries", "bytes_memlock", "frozen", "btf_id");
        }

        var dump = Sharpbpf("map", "dump", loaded.Map("fw_blocklist").Id.ToString(), "--json");
        Assert.Equal(["0x01", "0x02", "0x03", "0x04"], dump[0].GetProperty("key").EnumerateArray().Select(e => e.GetString()));

        using var tracing = AttachPoints.Load();
        using var attachment = tracing.Program("count_raw_sys_enter").AttachRawTracepoint("sys_enter");
        string linkId = attachment.Link!.GetInfo().Id.ToString();
        SameFields(Bpftool.Json("link", "show", "id", linkId), Sharpbpf("link", "show", linkId, "--json"), "id", "type", "prog_id", "tp_name");

        string btfId = loaded.Btf!.GetInfo().Id.ToString();
        SameFields(Bpftool.Json("btf", "show", "id", btfId), Sharpbpf("btf", "show", btfId, "--json"), "id", "size", "prog_ids", "map_ids", "kernel");
    }

    [KernelFact(RequiresBpftool = true)]
    public void FeatureProbeAgreesWithBpftoolOnProgramAndMapTypes()
    {
        var ours = Sharpbpf("feature", "probe", "--json", "--no-helpers");
        var theirs = Bpftool.Json("feature", "probe", "kernel");
        foreach (var group in new[] { "program_types", "map_types" })
        {
            var mine = ours.GetProperty(group).EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetBoolean());
            int compared = 0;
            foreach (var entry in theirs.GetProperty(group).EnumerateObject())
            {
                if (mine.TryGetValue(entry.Name, out bool supported))
                {
                    Assert.True(entry.Value.GetBoolean() == supported, $"{entry.Name}: bpftool {entry.Value}, sharpbpf {supported}");
                    compared++;
                }
            }

            Assert.True(compared >= 25, $"only {compared} {group} in common with bpftool");
        }

        // Helpers: the kernel's own verdicts on two clear cases.
        Assert.True(KernelFeatures.IsHelperSupported(ProgramType.SocketFilter, 1)); // bpf_map_lookup_elem
        Assert.False(KernelFeatures.IsHelperSupported(ProgramType.SocketFilter, 44)); // bpf_xdp_adjust_head
        Assert.True(KernelFeatures.IsHelperSupported(ProgramType.Xdp, 44));
    }
}
