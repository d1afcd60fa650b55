using SharpBpf.Btf;

namespace SharpBpf.Tests.Btf;

public class BtfValueFormatterTests
{
    [Fact]
    public void FormatsStructsArraysEnumsBitfieldsAndStrings()
    {
        var b = new BtfBuilder();
        int @int = b.AddInt("int", 4, BtfIntEncoding.Signed);
        int u8 = b.AddInt("unsigned char", 1);
        int @bool = b.AddInt("_Bool", 1, BtfIntEncoding.Bool);
        int chr = b.AddInt("char", 1, BtfIntEncoding.Signed);
        int arr = b.AddArray(@int, @int, 2);
        int name = b.AddArray(chr, @int, 6);
        int color = b.AddEnum("color", 4, false, new BtfEnumValueDefinition("RED", 0), new BtfEnumValueDefinition("BLUE", 2));
        int ptr = b.AddPointer(0);
        int inner = b.AddStruct("", 4, new BtfMemberDefinition("x", u8, 0), new BtfMemberDefinition("y", u8, 8));
        int s = b.AddStruct("v", 40,
            new BtfMemberDefinition("a", @int, 0),
            new BtfMemberDefinition("b", arr, 32),
            new BtfMemberDefinition("flag", @bool, 96),
            new BtfMemberDefinition("lo", @int, 104, 3),
            new BtfMemberDefinition("hi", @int, 107, 5),
            new BtfMemberDefinition("c", color, 128),
            new BtfMemberDefinition("name", name, 160),
            new BtfMemberDefinition("", inner, 208),
            new BtfMemberDefinition("p", ptr, 256));
        var btf = b.Build().Validate();

        byte[] value = new byte[40];
        value[0] = 2;                              // a = 2
        value[4] = 1; value[8] = 0xfe; value[9] = 0xff; value[10] = 0xff; value[11] = 0xff; // b = [1, -2]
        value[12] = 1;                             // flag
        value[13] = 0b1111_0_101;                  // signed 3-bit lo = 0b101 = -3, signed 5-bit hi = 0b11110 = -2
        value[16] = 2;                             // c = BLUE
        "bash\0\0"u8.CopyTo(value.AsSpan(20));     // name
        value[26] = 7; value[27] = 9;              // anonymous x, y
        value[32] = 0x10; value[33] = 0x20;        // p
        // bpftool's rules (checked byte for byte against bpftool in Hosting.MapDumpTests): bitfields in hex whatever their
        // sign, anonymous members under "", pointers in decimal in JSON and as %p in plain text.
        Assert.Equal(
            "{\"a\":2,\"b\":[1,-2],\"flag\":true,\"lo\":\"0x5\",\"hi\":\"0x1e\",\"c\":\"BLUE\",\"name\":\"bash\",\"\":{\"x\":7,\"y\":9},\"p\":8208}",
            BtfValueFormatter.Format(btf, s, value));
        Assert.EndsWith("\"p\": 0x2010\n}", BtfValueFormatter.Format(btf, s, value, BtfValueStyle.Plain));

        Assert.Equal("{\"key\":1,\"value\":[3,4]}",
            BtfValueFormatter.FormatEntry(btf, @int, [1, 0, 0, 0], arr, [3, 0, 0, 0, 4, 0, 0, 0]));
        Assert.Equal("7", BtfValueFormatter.Format(btf, color, [7, 0, 0, 0]));
        Assert.Throws<BtfFormatException>(() => BtfValueFormatter.Format(btf, s, new byte[39]));
        Assert.Throws<BtfFormatException>(() => BtfValueFormatter.Format(btf, 0, []));
    }
}
