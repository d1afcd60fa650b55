using SharpBpf.Capture;
using SharpBpf.Hosting;
using SharpBpf.Runtime.Contexts;

namespace SharpBpf.Tests.Hosting;

/// <summary>The VmObject example of README.md, kept honest.</summary>
public class ReadmeHostingExampleTests
{
    [Fact]
    public void TheReadmeExampleDoesWhatTheReadmeSays()
    {
        using var vm = VmObject.Load(ProjectSamples.ObjectPath("xdp_firewall.o"), new VmObjectOptions { Engine = EngineKind.Jit });
        vm.Map("fw_blocklist").Update([198, 51, 100, 66], new byte[16]);   // block 198.51.100.66
        using var capture = CaptureReader.Open(ProjectSamples.PcapPath("traffic.pcap"));
        var dropped = new List<long>();
        foreach (var packet in capture.ReadAll())
        {
            var result = vm.RunPacket("xdp_firewall", packet.Data);
            if (result.XdpAction == XdpAction.Drop)
            {
                dropped.Add(packet.Index);
            }
        }

        // 14 frames from 198.51.100.66 and the 7 malformed ones (the kernel's counts for this source and for malformed frames).
        Assert.Equal(21, dropped.Count);
        Assert.Equal(
            "[{\n        \"key\": 1113863110,\n        \"value\": {\n            \"drops\": 14,\n            \"bytes\": 746\n        }\n    }\n]\n",
            MapDump.Format(vm, vm.Map("fw_blocklist")));
        var records = vm.DrainEvents();
        Assert.Equal(21, records.Count);
        Assert.All(records, r => Assert.Equal("fw_events", r.MapName));
    }
}
